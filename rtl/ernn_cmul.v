/*

E-RNN toolkit: exact complex multiplier

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Exact complex product p = x * c (CONJ = 0) or p = x * conj(c) (CONJ = 1): combinational
 * (MREG = 0), or with the multiplier outputs registered (MREG = 1, one clock of en).
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
 *
 * MREG = 1 registers the raw products (k1..k3, the four products, or the two packed ones)
 * between the multipliers and the post-adders: a DSP48E2's MREG. The pre-adders, the
 * multiply and the post-adders then no longer share one clock period (on the Xilinx
 * netlist the multiply alone is about half of a 5 ns period, docs/performance.md "Clock
 * evidence"); p follows x and c by one advance of en. MREG = 0 ignores clk and en.
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
    // 1: register the multiplier outputs (one clock of latency), 0: combinational
    parameter MREG = 0,
    // product word (derived; do not override)
    parameter P_W = X_W + C_W + 1
)
(
    // used only with MREG = 1
    input  wire           clk,
    input  wire           en,

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
    if (MREG != 0 && MREG != 1) begin
        $error("Error: ernn_cmul MREG must be 0 or 1 (got %0d)", MREG);
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
// the multiplier outputs of the form: 2 packed products, 3 (Gauss) or 4, MUL_W bits each
localparam MUL_N = PACK ? 2 : (MUL3 ? 3 : 4);
localparam MUL_W = PACK ? M_W : P_W;

// multiplier outputs (mul_m) and what the post-adders read (mul_q): the same, or registered
wire [MUL_N*MUL_W-1:0] mul_m;
wire [MUL_N*MUL_W-1:0] mul_q;

generate

if (MREG) begin : g_mreg
    reg [MUL_N*MUL_W-1:0] mul_reg;
    always @(posedge clk) begin
        if (en) begin
            mul_reg <= mul_m;
        end
    end
    assign mul_q = mul_reg;
end else begin : g_comb
    assign mul_q = mul_m;
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_clk = &{1'b0, clk, en};
    /* verilator lint_on UNUSEDSIGNAL */
end

endgenerate

generate

if (PACK) begin : g_pack
    // the pairs, built at their full width from the sign-extended operands
    wire signed [PK_W-1:0] ci_ext = {{(PK_W-C_W){ci[C_W-1]}}, ci};
    wire signed [PK_W-1:0] cr_ext = {{(PK_W-C_W){cr[C_W-1]}}, cr};
    wire signed [PK_W-1:0] pair_r = (ci_ext <<< S) + cr_ext;
    wire signed [PK_W-1:0] pair_i = (cr_ext <<< S) + ci_ext;
    // one multiply each (PK_W x X_W): exact at M_W bits
    wire signed [M_W-1:0] mr_m = xr * pair_r;
    wire signed [M_W-1:0] mi_m = xi * pair_i;
    assign mul_m = {mi_m, mr_m};
    wire [M_W-1:0] mr = mul_q[0 +: M_W];
    wire [M_W-1:0] mi = mul_q[M_W +: M_W];
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
    wire signed [P_W-1:0] k1_m = cr * x_sum;
    wire signed [P_W-1:0] k2_m = xr * c_k2;
    wire signed [P_W-1:0] k3_m = xi * c_k3;
    assign mul_m = {k3_m, k2_m, k1_m};
    wire [P_W-1:0] k1 = mul_q[0 +: P_W];
    wire [P_W-1:0] k2 = mul_q[P_W +: P_W];
    wire [P_W-1:0] k3 = mul_q[2*P_W +: P_W];
    // the results fit P_W bits, so the P_W-bit (modular) sums are exact
    assign p_re = k1 - k3;
    assign p_im = CONJ ? k1 - k2 : k1 + k2;
end else begin : g_mul4
    wire signed [P_W-1:0] rr_m = xr * cr;
    wire signed [P_W-1:0] ii_m = xi * ci;
    wire signed [P_W-1:0] ri_m = xr * ci;
    wire signed [P_W-1:0] ir_m = xi * cr;
    assign mul_m = {ir_m, ri_m, ii_m, rr_m};
    wire [P_W-1:0] rr = mul_q[0 +: P_W];
    wire [P_W-1:0] ii = mul_q[P_W +: P_W];
    wire [P_W-1:0] ri = mul_q[2*P_W +: P_W];
    wire [P_W-1:0] ir = mul_q[3*P_W +: P_W];
    assign p_re = CONJ ? rr + ii : rr - ii;
    assign p_im = CONJ ? ir - ri : ir + ri;
end

endgenerate

endmodule

`resetall
