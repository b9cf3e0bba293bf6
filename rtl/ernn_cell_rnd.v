/*

E-RNN toolkit: rounding shift and saturation for any shift (cell datapath helper)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * out = sat_OUT_W( rnd(in, SHIFT) ), rnd = round half up (ernn.golden.ops.round_shift), for any
 * SHIFT, including shifts of more bits than the input has: the input is first sign-extended
 * to SHIFT + 1 bits, so that ernn_round_sat (which needs SHIFT <= IN_W - 1) applies. That
 * happens only for unusual formats (e.g. a peephole product of narrow words with a large
 * fraction drop); the default formats never extend. Combinational.
 *
 * The result is exact (never clamped) when OUT_W >= RND_W with
 *   RND_W = max(IN_W, SHIFT + 1) + 1 - SHIFT   (SHIFT > 0),   IN_W - SHIFT   (SHIFT <= 0),
 * which the cell modules compute with the same formula (their function rnd_w).
 */
module ernn_cell_rnd #
(
    // input word (two's complement)
    parameter IN_W = 32,
    // right shift with round-half-up (> 0), none (0) or exact left shift (< 0)
    parameter SHIFT = 0,
    // output word (two's complement, saturating)
    parameter OUT_W = 16
)
(
    input  wire [IN_W-1:0]  in,
    output wire [OUT_W-1:0] out
);

// input word after sign extension: a rounding shift of SHIFT bits needs SHIFT + 1 bits
localparam EXT_W = SHIFT > IN_W - 1 ? SHIFT + 1 : IN_W;

// check configuration
initial begin
    if (IN_W < 1 || OUT_W < 2) begin
        $error("Error: ernn_cell_rnd needs IN_W >= 1 and OUT_W >= 2 (got IN_W=%0d OUT_W=%0d)", IN_W, OUT_W);
        $finish;
    end
end

wire [EXT_W-1:0] ext = {{(EXT_W-IN_W){in[IN_W-1]}}, in};

ernn_round_sat #(.IN_W(EXT_W), .SHIFT(SHIFT), .OUT_W(OUT_W))
round_sat_inst (.in(ext), .out(out));

endmodule

`resetall
