/*

E-RNN toolkit: rounding shift and saturation (one datapath rounding point)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Round-half-up arithmetic shift followed by saturation (combinational).
 *
 *   out = sat_OUT_W( floor((in + 2**(SHIFT-1)) / 2**SHIFT) )     SHIFT > 0
 *   out = sat_OUT_W( in )                                         SHIFT = 0
 *   out = sat_OUT_W( in * 2**(-SHIFT) )                           SHIFT < 0 (exact left shift)
 *
 * With PRE_ROUNDED = 1 (SHIFT > 0) the caller has already added 2**(SHIFT-1) to in, exactly
 * and without overflow, and out = sat_OUT_W( floor(in / 2**SHIFT) ): the same integers for the
 * value before the addition, with no adder here (ernn_pe's MAC lanes, ernn_cmac ROUND_SHIFT).
 *
 * This is ernn.golden.ops.round_shift followed by ernn.golden.ops.saturate: the rounding
 * constant is added at full width (IN_W + 1 bits, so it cannot overflow), the fraction
 * bits below the rounding point are dropped, and the result is clamped to
 * [-2**(OUT_W-1), 2**(OUT_W-1) - 1], or with SYMMETRIC = 1 to
 * [-(2**(OUT_W-1) - 1), 2**(OUT_W-1) - 1] (saturate(..., symmetric=True): the most negative
 * code is excluded so that the value can be negated); nothing wraps. With SH_W < OUT_W the
 * result is just sign-extended (no clamp logic is generated). The binary point is
 * implicit: the caller knows that the output has SHIFT fewer fraction bits than the input.
 */
module ernn_round_sat #
(
    // input word (two's complement)
    parameter IN_W = 32,
    // right shift with round-half-up (> 0), none (0) or exact left shift (< 0)
    parameter SHIFT = 0,
    // output word (two's complement, saturating)
    parameter OUT_W = 16,
    // 1: clamp to the symmetric range (no most negative code)
    parameter SYMMETRIC = 0,
    // 1 (SHIFT > 0): the input already holds the rounding constant 2**(SHIFT-1) (a MAC lane
    // starts its accumulator at it, ernn_cmac ROUND_SHIFT), so the shift only truncates
    parameter PRE_ROUNDED = 0
)
(
    input  wire [IN_W-1:0]  in,
    output wire [OUT_W-1:0] out
);

// word after the shift, before saturation
localparam SH_W = SHIFT > 0 ? IN_W + 1 - SHIFT : IN_W - SHIFT;

// check configuration
initial begin
    if (IN_W < 1 || OUT_W < 2) begin
        $error("Error: ernn_round_sat needs IN_W >= 1 and OUT_W >= 2 (got IN_W=%0d OUT_W=%0d)", IN_W, OUT_W);
        $finish;
    end
    if (SHIFT > IN_W - 1) begin
        $error("Error: ernn_round_sat SHIFT=%0d must be <= IN_W - 1 = %0d", SHIFT, IN_W - 1);
        $finish;
    end
end

wire [SH_W-1:0] shifted;

generate

if (SHIFT > 0 && PRE_ROUNDED != 0) begin : g_truncate
    // in = value + 2**(SHIFT-1) already: floor(in / 2**SHIFT) is the rounded value; the
    // fraction bits below the rounding point are dropped on purpose
    /* verilator lint_off UNUSEDSIGNAL */
    wire [IN_W-1:0] in_all = in;
    /* verilator lint_on UNUSEDSIGNAL */
    assign shifted = {in_all[IN_W-1], in_all[IN_W-1:SHIFT]};
end else if (SHIFT > 0) begin : g_round
    // 2**(SHIFT-1): one half of the output LSB
    localparam [IN_W:0] HALF = {{IN_W{1'b0}}, 1'b1} << (SHIFT - 1);
    // the fraction bits below the rounding point are dropped on purpose
    /* verilator lint_off UNUSEDSIGNAL */
    wire [IN_W:0] sum = {in[IN_W-1], in} + HALF;
    /* verilator lint_on UNUSEDSIGNAL */
    assign shifted = sum[IN_W:SHIFT];
end else if (SHIFT == 0) begin : g_none
    assign shifted = in;
end else begin : g_left
    assign shifted = {in, {(-SHIFT){1'b0}}};
end

// the clamp's condition and its value, from the shifted word alone (no step waits on the clamp):
// out of range, or with SYMMETRIC the most negative code itself, which takes its neighbour
if (SH_W < OUT_W) begin : g_extend
    // a sign-extended narrower value is in range and never reaches the most negative code
    assign out = {{(OUT_W-SH_W){shifted[SH_W-1]}}, shifted};
end else begin : g_clamp
    wire sign = shifted[SH_W-1];
    // in range when every bit from OUT_W-1 up equals the sign bit (none above: always)
    wire over;
    if (SH_W > OUT_W) begin : g_over
        assign over = shifted[SH_W-1:OUT_W-1] != {(SH_W-OUT_W+1){sign}};
    end else begin : g_fits
        assign over = 1'b0;
    end
    // in range and exactly -2**(OUT_W-1); an out-of-range negative value clamps to it as well
    wire most_negative = SYMMETRIC != 0 && shifted[OUT_W-1:0] == {1'b1, {(OUT_W-1){1'b0}}};
    // the clamped code: the largest, or the most negative (+1 with SYMMETRIC)
    wire [OUT_W-1:0] limit = sign ? {1'b1, {(OUT_W-2){1'b0}}, SYMMETRIC != 0 ? 1'b1 : 1'b0}
                                  : {1'b0, {(OUT_W-1){1'b1}}};
    // in range, the most negative code and its symmetric clamp differ in bit 0 alone: the wide
    // compare sets that bit and drives no other (selecting limit with it, Yosys's ABC copied the
    // compare into every output bit: 87 LUTs where 38 were at IN_W 38, SHIFT 13, OUT_W 22)
    wire [OUT_W-1:0] kept = {shifted[OUT_W-1:1], shifted[0] | most_negative};
    assign out = over ? limit : kept;
end

endgenerate

endmodule

`resetall
