/*

E-RNN toolkit: properties of ernn_fft_bfly (formal only)

*/

// Language: Verilog 2001 with Yosys -formal immediate assertions

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * The butterfly of ernn.golden.fft for every input and every pattern of the enable en:
 *
 *   t = round_half_up(W b / 2**TW_F)  (conj(W) for the inverse; W = 1 or -j exactly for
 *                                      TW_KIND 0 and 1, no rounding)
 *   forward:  p = sat(a + t),               m = sat(a - t)
 *   inverse:  p = sat(floor((a + t + 1) / 2)), m = sat(floor((a - t + 1) / 2))
 *
 * written as integer arithmetic on a wide word (R_W bits). A ghost pipeline moves with en: at
 * each advance it takes a and the exact t of the inputs (the textbook product of
 * ernn_formal_cmul_ref, of the same inputs in the same clock as the DUT's multiplier, so the
 * solver compares like with like); g1 holds the last advance, g2 the one before. Once LEVELS
 * advances have happened the outputs must equal the reference of the entry LEVELS back:
 *
 *   plus_re, plus_im, minus_re, minus_im   each output (zero when pruned by OUT_*)
 *   inv_level1 (LEVELS = 2)                the level-1 registers hold a and the exact t of g1
 *                                          (a lemma for k-induction; the driver taps them)
 */
module ernn_fft_bfly_props #
(
    // the parameters of ernn_fft_bfly
    parameter W_IN = 4,
    parameter W_OUT = 5,
    parameter TW_W = 5,
    parameter TW_F = 3,
    parameter TW_KIND = 2,
    parameter INVERSE = 0,
    parameter LEVELS = 1,
    parameter OUT_PLUS = 1,
    parameter OUT_MINUS = 1,
    parameter OUT_IMAG = 1,
    parameter CMUL_3M = 0
)
(
    input wire            clk,
    input wire            en,
    input wire [W_IN-1:0] a_re,
    input wire [W_IN-1:0] a_im,
    input wire [W_IN-1:0] b_re,
    input wire [W_IN-1:0] b_im,
    input wire [TW_W-1:0] w_re,
    input wire [TW_W-1:0] w_im
);

localparam PROD_W = W_IN + TW_W + 1;
// word of the exact t (as ernn_fft_bfly's level-1 register)
localparam T1_W = TW_KIND == 2 ? PROD_W : W_IN + 1;
// reference word
localparam R_W = PROD_W + 4;
// one ghost entry: a (re, im) and the exact t (re, im)
localparam G_W = 2 * W_IN + 2 * T1_W;

wire [W_OUT-1:0] p_re;
wire [W_OUT-1:0] p_im;
wire [W_OUT-1:0] m_re;
wire [W_OUT-1:0] m_im;

ernn_fft_bfly #(
    .W_IN(W_IN),
    .W_OUT(W_OUT),
    .TW_W(TW_W),
    .TW_F(TW_F),
    .TW_KIND(TW_KIND),
    .INVERSE(INVERSE),
    .LEVELS(LEVELS),
    .OUT_PLUS(OUT_PLUS),
    .OUT_MINUS(OUT_MINUS),
    .OUT_IMAG(OUT_IMAG),
    .CMUL_3M(CMUL_3M)
)
dut (
    .clk(clk),
    .en(en),
    .a_re(a_re),
    .a_im(a_im),
    .b_re(b_re),
    .b_im(b_im),
    .w_re(w_re),
    .w_im(w_im),
    .p_re(p_re),
    .p_im(p_im),
    .m_re(m_re),
    .m_im(m_im)
);

// the level-1 registers of the DUT (LEVELS = 2), driven by the driver's taps
(* keep *) wire [W_IN-1:0] tap_a_re;
(* keep *) wire [W_IN-1:0] tap_a_im;
(* keep *) wire [T1_W-1:0] tap_t_re;
(* keep *) wire [T1_W-1:0] tap_t_im;

// exact t of the current inputs: W b, conj(W) b for the inverse; -j b and +j b for TW_KIND = 1
wire [PROD_W-1:0] prod_re;
wire [PROD_W-1:0] prod_im;

ernn_formal_cmul_ref #(
    .X_W(W_IN),
    .C_W(TW_W),
    .CONJ(INVERSE)
)
ref_inst (
    .x_re(b_re),
    .x_im(b_im),
    .c_re(w_re),
    .c_im(w_im),
    .p_re(prod_re),
    .p_im(prod_im)
);

wire signed [T1_W-1:0] br = $signed(b_re);
wire signed [T1_W-1:0] bi = $signed(b_im);
wire [T1_W-1:0] t_now_re = TW_KIND == 2 ? prod_re : (TW_KIND == 1 ? (INVERSE ? -bi : bi) : br);
wire [T1_W-1:0] t_now_im = TW_KIND == 2 ? prod_im : (TW_KIND == 1 ? (INVERSE ? br : -br) : bi);

// ghost pipeline: g1 at the last advance of en, g2 at the one before; advances seen (saturating)
reg [G_W-1:0] g1;
reg [G_W-1:0] g2;
reg [1:0] advances = 2'd0;

always @(posedge clk) begin
    if (en) begin
        g1 <= {a_re, a_im, t_now_re, t_now_im};
        g2 <= g1;
        if (advances != 2'd3) begin
            advances <= advances + 2'd1;
        end
    end
end

// the reference acts on the entry LEVELS advances back
wire [G_W-1:0] g = LEVELS == 2 ? g2 : g1;
wire signed [R_W-1:0] ar = $signed(g[G_W-1 -: W_IN]);
wire signed [R_W-1:0] ai = $signed(g[G_W-W_IN-1 -: W_IN]);
wire signed [R_W-1:0] tr_exact = $signed(g[2*T1_W-1 -: T1_W]);
wire signed [R_W-1:0] ti_exact = $signed(g[T1_W-1 -: T1_W]);

wire signed [R_W-1:0] one = 1;
wire signed [R_W-1:0] tw_half = one <<< (TW_F - 1);
// round half up by TW_F bits (the general twiddle); the trivial twiddles are exact
wire signed [R_W-1:0] t_re = TW_KIND == 2 ? (tr_exact + tw_half) >>> TW_F : tr_exact;
wire signed [R_W-1:0] t_im = TW_KIND == 2 ? (ti_exact + tw_half) >>> TW_F : ti_exact;

wire signed [R_W-1:0] hi = (one <<< (W_OUT - 1)) - one;
wire signed [R_W-1:0] lo = -hi - one;

// halve with round half up (inverse), then clamp to W_OUT bits
function signed [R_W-1:0] finish(input signed [R_W-1:0] s);
    reg signed [R_W-1:0] v;
    begin
        v = INVERSE ? (s + 1) >>> 1 : s;
        finish = v > hi ? hi : (v < lo ? lo : v);
    end
endfunction

wire signed [R_W-1:0] exp_p_re = OUT_PLUS ? finish(ar + t_re) : 0;
wire signed [R_W-1:0] exp_p_im = OUT_PLUS && OUT_IMAG ? finish(ai + t_im) : 0;
wire signed [R_W-1:0] exp_m_re = OUT_MINUS ? finish(ar - t_re) : 0;
wire signed [R_W-1:0] exp_m_im = OUT_MINUS && OUT_IMAG ? finish(ai - t_im) : 0;

always @* begin
    if (advances >= LEVELS) begin
        plus_re: assert ($signed(p_re) == exp_p_re);
        plus_im: assert ($signed(p_im) == exp_p_im);
        minus_re: assert ($signed(m_re) == exp_m_re);
        minus_im: assert ($signed(m_im) == exp_m_im);
    end
end

generate
if (LEVELS == 2) begin : g_lemma
    always @* begin
        if (advances >= 1) begin
            inv_level1: assert ({tap_a_re, tap_a_im, tap_t_re, tap_t_im} == g1);
        end
    end
end
endgenerate

endmodule

`resetall
