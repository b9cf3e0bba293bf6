/*

E-RNN toolkit: properties of ernn_round_sat (formal only)

*/

// Language: Verilog 2001 with Yosys -formal immediate assertions

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Combinational, so one solver call covers every input word (ernn.verify.formal runs it at
 * several (IN_W, SHIFT, OUT_W, SYMMETRIC) sets; SHIFT = RIGHT, or -LEFT for a left shift):
 *
 *   round_sat_exact  out = clamp(floor((in + 2**(SHIFT-1)) / 2**SHIFT), lo, hi)   (SHIFT > 0)
 *                    out = clamp(in * 2**(-SHIFT), lo, hi)                        (SHIFT <= 0)
 *   no_wrap          a rounded value above hi gives hi, one below lo gives lo (where the
 *                    shifted word is wider than OUT_W, the only sets that can overflow)
 *   pre_rounded_same the PRE_ROUNDED form given in + 2**(SHIFT-1) (where that fits IN_W bits,
 *                    as ernn_pe proves for its MAC lanes) gives the same out as this one given in
 *
 * with hi = 2**(OUT_W-1) - 1 and lo = -hi - 1 (SYMMETRIC = 0) or -hi (SYMMETRIC = 1). The
 * reference is written as plain integer arithmetic on a word wide enough for every input
 * (R_W bits), not as the module's bit slicing.
 */
module ernn_round_sat_props #
(
    // input word
    parameter IN_W = 8,
    // rounding right shift (> 0) or none (0)
    parameter RIGHT = 3,
    // exact left shift (> 0; the module's SHIFT = -LEFT); chparam cannot set a negative value
    parameter LEFT = 0,
    // output word
    parameter OUT_W = 4,
    // 1: symmetric clamp
    parameter SYMMETRIC = 0
)
(
    input wire [IN_W-1:0] in
);

// as integers: chparam's values are unsigned, and the module compares SHIFT with IN_W - 1 signed
localparam integer SHIFT = LEFT > 0 ? -$signed(LEFT) : $signed(RIGHT);
localparam integer IN_W_I = IN_W;
localparam integer OUT_W_I = OUT_W;
// reference word: the input, a left shift and the rounding carry all fit
localparam LSH = SHIFT < 0 ? -SHIFT : 0;
localparam RSH = SHIFT > 0 ? SHIFT : 0;
localparam HALF_SH = SHIFT > 0 ? SHIFT - 1 : 0;
localparam R_W = IN_W + OUT_W + LSH + 4;
// ernn_round_sat's word after the shift
localparam SH_W = SHIFT > 0 ? IN_W + 1 - SHIFT : IN_W - SHIFT;

wire [OUT_W-1:0] out;

ernn_round_sat #(
    .IN_W(IN_W_I),
    .SHIFT(SHIFT),
    .OUT_W(OUT_W_I),
    .SYMMETRIC(SYMMETRIC)
)
dut (
    .in(in),
    .out(out)
);

wire signed [R_W-1:0] one = 1;
wire signed [R_W-1:0] x = $signed(in);
wire signed [R_W-1:0] half = SHIFT > 0 ? one <<< HALF_SH : 0;
wire signed [R_W-1:0] rounded = ((x <<< LSH) + half) >>> RSH;
wire signed [R_W-1:0] hi = (one <<< (OUT_W - 1)) - one;
wire signed [R_W-1:0] lo = SYMMETRIC ? -hi : -hi - one;
wire signed [R_W-1:0] expected = rounded > hi ? hi : (rounded < lo ? lo : rounded);
wire signed [R_W-1:0] out_value = $signed(out);

always @* begin
    round_sat_exact: assert (out_value == expected);
end

// the PRE_ROUNDED form (ernn_pe's MAC lanes start their sums at the rounding constant): fed
// in + half, which the caller guarantees fits the word, it must give the same output
wire signed [R_W-1:0] in_max = (one <<< (IN_W - 1)) - one;
wire signed [R_W-1:0] x_pre = x + half;
wire pre_fits = x_pre <= in_max;
wire [IN_W-1:0] in_pre = x_pre[IN_W-1:0];
wire [OUT_W-1:0] out_pre;

ernn_round_sat #(
    .IN_W(IN_W_I),
    .SHIFT(SHIFT),
    .OUT_W(OUT_W_I),
    .SYMMETRIC(SYMMETRIC),
    .PRE_ROUNDED(1)
)
dut_pre (
    .in(in_pre),
    .out(out_pre)
);

// (for SHIFT <= 0 the two forms are the same module: nothing to prove)
generate
if (SHIFT > 0) begin : g_pre
    always @* begin
        if (pre_fits) begin
            pre_rounded_same: assert (out_pre == out);
        end
    end
end
endgenerate

// a value out of range exists only when the shifted word is wider than the output
generate
if (SH_W > OUT_W) begin : g_clamps
    always @* begin
        no_wrap: assert ((rounded <= hi || out_value == hi) && (rounded >= lo || out_value == lo));
    end
end
endgenerate

endmodule

`resetall
