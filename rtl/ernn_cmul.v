/*

E-RNN toolkit: exact complex multiplier

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Exact complex product p = x * c (CONJ = 0) or p = x * conj(c) (CONJ = 1), combinational.
 *
 * Operands are two's complement: x (X_W bits per component, e.g. an FFT bin or a butterfly
 * input) and c (C_W bits, a weight spectrum bin or a twiddle factor). The product is exact
 * (no rounding): the fraction bits add, the caller rounds. Each component of the product
 * lies in [-2**(X_W+C_W-1), 2**(X_W+C_W-1)] and is returned in P_W = X_W + C_W + 1 bits
 * (the extra bit holds the single corner (-2**(X_W-1)) * (-2**(C_W-1)) * 2 of the
 * conjugate form).
 *
 * MUL3 = 1 uses the three-multiplier form (Gauss) with the pre-adders on both sides:
 *     k1 = cr (xr + xi)
 *     k2 = xr (ci - cr)        conj: k2 = xr (cr + ci)
 *     k3 = xi (cr + ci)        conj: k3 = xi (cr - ci)
 *     re = k1 - k3             im = k1 + k2      (conj: im = k1 - k2)
 * Products are (X_W+1) x C_W and X_W x (C_W+1) bits, e.g. 21 x 16 and 20 x 17 for the
 * 16-bit defaults: each fits one DSP48E2 (27 x 18) multiplier. MUL3 = 0 is the plain
 * four-multiplier form. Both give the same integers (the sums are exact), so the choice
 * only trades a multiplier for three adders.
 */
module ernn_cmul #
(
    // x operand word (per component)
    parameter X_W = 20,
    // c operand word (per component)
    parameter C_W = 16,
    // 1: multiply by conj(c)
    parameter CONJ = 0,
    // 1: three multipliers and pre-adders, 0: four multipliers
    parameter MUL3 = 1,
    // 1: two multipliers, each forming the two products of one x component (packed c pair)
    parameter PACK = 0,
    // product word (derived; do not override)
    parameter P_W = X_W + C_W + 1
)
(
    input  wire [X_W-1:0] x_re,
    input  wire [X_W-1:0] x_im,
    input  wire [C_W-1:0] c_re,
    input  wire [C_W-1:0] c_im,
    output wire [P_W-1:0] p_re,
    output wire [P_W-1:0] p_im
);

initial begin
    if (X_W < 2 || C_W < 2) begin
        $error("Error: ernn_cmul needs X_W >= 2 and C_W >= 2 (got %0d, %0d)", X_W, C_W);
        $finish;
    end
    if (P_W != X_W + C_W + 1) begin
        $error("Error: ernn_cmul P_W is derived and must equal X_W + C_W + 1 = %0d", X_W + C_W + 1);
        $finish;
    end
end

// operands as signed numbers of their natural widths: Verilog evaluates each product at the
// (wider) result width, so every product below is exact; synthesis sees the true operand
// widths (X_W x C_W, X_W+1 x C_W, X_W x C_W+1) when it maps the multipliers to DSPs
wire signed [X_W-1:0] xr = x_re;
wire signed [X_W-1:0] xi = x_im;
wire signed [C_W-1:0] cr = c_re;
wire signed [C_W-1:0] ci = c_im;

// low field of a packed product: one X_W x C_W product (its magnitude is at most 2**(S-2))
localparam S = X_W + C_W;
// packed pair c_hi 2**S + c_lo: S + C_W + 1 bits hold its extremes (c_hi, c_lo both minimal)
localparam PK_W = S + C_W + 1;
// packed product
localparam M_W = PK_W + X_W;

generate

if (PACK) begin : g_pack
    // the pairs, built at their full width from the sign-extended operands
    wire signed [PK_W-1:0] ci_ext = {{(PK_W-C_W){ci[C_W-1]}}, ci};
    wire signed [PK_W-1:0] cr_ext = {{(PK_W-C_W){cr[C_W-1]}}, cr};
    wire signed [PK_W-1:0] pair_r = (ci_ext <<< S) + cr_ext;
    wire signed [PK_W-1:0] pair_i = (cr_ext <<< S) + ci_ext;
    // one multiply each (PK_W x X_W): exact at M_W bits
    wire signed [M_W-1:0] mr = xr * pair_r;
    wire signed [M_W-1:0] mi = xi * pair_i;
    // split: low = the signed S-bit field, high = the rest plus the low field's sign (P_W = M_W - S
    // bits hold it; the P_W-bit sums are exact as in the other forms)
    wire [P_W-1:0] lo_r = {mr[S-1], mr[S-1:0]};                              // xr cr
    wire [P_W-1:0] lo_i = {mi[S-1], mi[S-1:0]};                              // xi ci
    wire [P_W-1:0] hi_r = mr[M_W-1:S] + {{(P_W-1){1'b0}}, mr[S-1]};          // xr ci
    wire [P_W-1:0] hi_i = mi[M_W-1:S] + {{(P_W-1){1'b0}}, mi[S-1]};          // xi cr
    assign p_re = CONJ ? lo_r + lo_i : lo_r - lo_i;
    assign p_im = CONJ ? hi_i - hi_r : hi_i + hi_r;
end else if (MUL3) begin : g_mul3
    // pre-adders: one extra bit each
    wire signed [X_W:0] x_sum = xr + xi;
    wire signed [C_W:0] c_k2 = CONJ ? cr + ci : ci - cr;
    wire signed [C_W:0] c_k3 = CONJ ? cr - ci : cr + ci;
    wire signed [P_W-1:0] k1 = cr * x_sum;
    wire signed [P_W-1:0] k2 = xr * c_k2;
    wire signed [P_W-1:0] k3 = xi * c_k3;
    // the results fit P_W bits, so the P_W-bit (modular) sums are exact
    assign p_re = k1 - k3;
    assign p_im = CONJ ? k1 - k2 : k1 + k2;
end else begin : g_mul4
    wire signed [P_W-1:0] rr = xr * cr;
    wire signed [P_W-1:0] ii = xi * ci;
    wire signed [P_W-1:0] ri = xr * ci;
    wire signed [P_W-1:0] ir = xi * cr;
    assign p_re = CONJ ? rr + ii : rr - ii;
    assign p_im = CONJ ? ir - ri : ir + ri;
end

endgenerate

endmodule

`resetall
