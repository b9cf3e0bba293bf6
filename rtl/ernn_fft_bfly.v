/*

E-RNN toolkit: radix-2 decimation-in-time butterfly (pipelined)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * One radix-2 DIT butterfly of ernn.golden.fft, bit for bit:
 *
 *   t  = round_half_up(W * b / 2**TW_F)   (conj(W) for the inverse), per component
 *   forward:  p = sat(a + t),             m = sat(a - t)
 *   inverse:  p = sat((a + t + 1) >> 1),  m = sat((a - t + 1) >> 1)   (round half up)
 *
 * a, b: W_IN bits; p, m: W_OUT bits, saturated (never wrapped). The twiddle product is
 * exact (ernn_cmul) and rounded once by TW_F; trivial twiddles skip the multiplier:
 * TW_KIND = 0 is W = 1 (t = b), TW_KIND = 1 is W = -j (t = (b_im, -b_re); the inverse uses
 * conj(-j) = +j: t = (-b_im, b_re)). Both equal the rounded product exactly.
 * Widths: t needs T_W bits (one more than b for the negation, and
 * W_IN + TW_W + 2 - TW_F for a general product); a +- t needs T_W + 1 bits before the
 * halving/saturation.
 *
 * Pipeline: LEVELS = 1 registers the outputs only; LEVELS = 2 first registers a and the
 * exact product, then rounds, adds and saturates; LEVELS = 3 registers the multiplier outputs
 * before that (ernn_cmul MREG, the DSP48E2's MREG: the multiply and the post-adder no longer
 * share a clock period). Without a multiplier (TW_KIND 0, 1) the levels are plain registers,
 * so that every butterfly of a stage has the same latency, LEVELS clocks.
 *
 * Inverse with LEVELS = 3: the halving's rounding constant is folded into a. The level-1
 * register holds a + 1 (W_IN + 1 bits, computed from the MREG level's a register, so the
 * increment has a period of its own) instead of a, and the outputs are
 *   p = sat(((a + 1) + t) >> 1),  m = sat(((a + 1) - t) >> 1)
 * with >> the arithmetic shift (floor), i.e. dropping the sum's LSB: the same integers as
 * sat(floor((a +- t + 1) / 2)) on every input, since (a + 1) + t = a + t + 1 and
 * (a + 1) - t = a - t + 1 exactly. No bit is lost: |a + 1| <= 2**(W_IN-1) and
 * |t| <= 2**(T_W-1) with W_IN < T_W, so (a + 1) +- t fits S_W = T_W + 1 bits, and the
 * shifted word (S_W - 1 bits) holds floor(s / 2) exactly before the same clamp to W_OUT.
 * This removes the separate round-half-up increment (a second carry chain after a +- t)
 * from the period after the product register, the longest path of the default model.
 * LEVELS 1 and 2 are unchanged (no register of a of their own to take the increment from).
 * All registers advance on en (the global pipeline enable of the transform); data
 * registers are not reset.
 *
 * OUT_PLUS / OUT_MINUS / OUT_IMAG prune outputs that a pruned last stage does not need
 * (bins k/2+1..k-1 of the forward transform, the imaginary part of the inverse): their
 * ports are driven with zeros and no logic is generated for them.
 */
module ernn_fft_bfly #
(
    // input word of a and b (per component)
    parameter W_IN = 16,
    // output word of p and m (per component, saturating)
    parameter W_OUT = 17,
    // twiddle word
    parameter TW_W = 18,
    // twiddle fraction bits: the product is rounded by this many bits
    parameter TW_F = 16,
    // 0: W = 1, 1: W = -j, 2: general twiddle (multiplier)
    parameter TW_KIND = 2,
    // 1: inverse butterfly (conj(W), outputs halved with round-half-up)
    parameter INVERSE = 0,
    // register levels: 1, 2 or 3 (3: multiplier output register too)
    parameter LEVELS = 2,
    // generate p = a + t
    parameter OUT_PLUS = 1,
    // generate m = a - t
    parameter OUT_MINUS = 1,
    // generate imaginary parts
    parameter OUT_IMAG = 1,
    // complex multiplier form (1: three multipliers)
    parameter CMUL_3M = 1
)
(
    input  wire              clk,
    input  wire              en,

    input  wire [W_IN-1:0]   a_re,
    input  wire [W_IN-1:0]   a_im,
    input  wire [W_IN-1:0]   b_re,
    input  wire [W_IN-1:0]   b_im,
    input  wire [TW_W-1:0]   w_re,   // twiddle, Q(TW_W.TW_F); used when TW_KIND = 2
    input  wire [TW_W-1:0]   w_im,

    output wire [W_OUT-1:0]  p_re,
    output wire [W_OUT-1:0]  p_im,
    output wire [W_OUT-1:0]  m_re,
    output wire [W_OUT-1:0]  m_im
);

// exact twiddle product word
localparam PROD_W = W_IN + TW_W + 1;
// word of level-1 t (exact product, or the trivially rotated b)
localparam T1_W = TW_KIND == 2 ? PROD_W : W_IN + 1;
// word of the rounded t
localparam T_W = TW_KIND == 2 ? PROD_W + 1 - TW_F : W_IN + 1;
// word of a +- t
localparam S_W = T_W + 1;
// inverse with LEVELS = 3: the level-1 register holds a + 1 (the halving's rounding constant)
localparam FOLD = INVERSE && LEVELS == 3 ? 1 : 0;
// word of the level-1 a register
localparam A2_W = FOLD ? W_IN + 1 : W_IN;
// word into the output rounding and saturation: the sum, or with FOLD the sum without its LSB
localparam FIN_W = FOLD ? S_W - 1 : S_W;
// the output rounding shift: the inverse's halving, unless FOLD has already added its constant
localparam FIN_SHIFT = INVERSE && !FOLD ? 1 : 0;

initial begin
    if (LEVELS < 1 || LEVELS > 3) begin
        $error("Error: ernn_fft_bfly LEVELS must be 1, 2 or 3 (got %0d)", LEVELS);
        $finish;
    end
    if (TW_KIND < 0 || TW_KIND > 2) begin
        $error("Error: ernn_fft_bfly TW_KIND must be 0, 1 or 2 (got %0d)", TW_KIND);
        $finish;
    end
    if (TW_F < 1 || TW_F > TW_W - 2) begin
        $error("Error: ernn_fft_bfly TW_F must be in [1, TW_W - 2] (got %0d)", TW_F);
        $finish;
    end
end

// inputs that a pruned or multiplier-free configuration does not read
/* verilator lint_off UNUSEDSIGNAL */
wire unused_inputs = &{1'b0, a_im, b_re, b_im, w_re, w_im};
/* verilator lint_on UNUSEDSIGNAL */

// level 1: t before rounding (from the inputs, and with LEVELS = 3 one clock later)
wire [T1_W-1:0] t1_re;
wire [T1_W-1:0] t1_im;
// a beside it (a1m: at the MREG level; a1 below: what the level-1 register takes)
wire [W_IN-1:0] a1m_re;
wire [W_IN-1:0] a1m_im;
// with LEVELS = 3, the register level before the product register (the multiplier's MREG)
localparam MREG = LEVELS == 3 ? 1 : 0;

generate

if (TW_KIND == 2) begin : g_mul
    ernn_cmul #(
        .X_W(W_IN),
        .C_W(TW_W),
        .CONJ(INVERSE),
        .MUL3(CMUL_3M),
        .MREG(MREG)
    )
    cmul_inst (
        .clk(clk),
        .en(en),
        .x_re(b_re),
        .x_im(b_im),
        .c_re(w_re),
        .c_im(w_im),
        .p_re(t1_re),
        .p_im(t1_im)
    );
end else begin : g_nomul
    wire [T1_W-1:0] t0_re;
    wire [T1_W-1:0] t0_im;
    if (TW_KIND == 1) begin : g_rot
        // -j b = (b_im, -b_re); inverse: +j b = (-b_im, b_re)
        wire signed [W_IN:0] br = {b_re[W_IN-1], b_re};
        wire signed [W_IN:0] bi = {b_im[W_IN-1], b_im};
        assign t0_re = INVERSE ? -bi : bi;
        assign t0_im = INVERSE ? br : -br;
    end else begin : g_one
        assign t0_re = {b_re[W_IN-1], b_re};
        assign t0_im = {b_im[W_IN-1], b_im};
    end
    // the multiplier's MREG level as a plain register
    if (MREG) begin : g_mreg
        reg [T1_W-1:0] t0_re_reg;
        reg [T1_W-1:0] t0_im_reg;
        always @(posedge clk) begin
            if (en) begin
                t0_re_reg <= t0_re;
                t0_im_reg <= t0_im;
            end
        end
        assign t1_re = t0_re_reg;
        assign t1_im = t0_im_reg;
    end else begin : g_comb
        assign t1_re = t0_re;
        assign t1_im = t0_im;
    end
end

// a, delayed with t
if (MREG) begin : g_a_mreg
    reg [W_IN-1:0] a0_re_reg;
    reg [W_IN-1:0] a0_im_reg;
    always @(posedge clk) begin
        if (en) begin
            a0_re_reg <= a_re;
            a0_im_reg <= a_im;
        end
    end
    assign a1m_re = a0_re_reg;
    assign a1m_im = a0_im_reg;
end else begin : g_a_comb
    assign a1m_re = a_re;
    assign a1m_im = a_im;
end

endgenerate

// optional product register level
wire [T1_W-1:0] t2_re;
wire [T1_W-1:0] t2_im;
wire [A2_W-1:0] a2_re;
wire [A2_W-1:0] a2_im;
// what the level-1 a register takes: a, or with FOLD a + 1 (at W_IN + 1 bits: no wrap)
wire [A2_W-1:0] a1_re;
wire [A2_W-1:0] a1_im;

generate

if (FOLD) begin : g_fold
    assign a1_re = {a1m_re[W_IN-1], a1m_re} + {{W_IN{1'b0}}, 1'b1};
    assign a1_im = {a1m_im[W_IN-1], a1m_im} + {{W_IN{1'b0}}, 1'b1};
end else begin : g_nofold
    assign a1_re = a1m_re;
    assign a1_im = a1m_im;
end

if (LEVELS >= 2) begin : g_level1
    reg [T1_W-1:0] t_re_reg;
    reg [T1_W-1:0] t_im_reg;
    reg [A2_W-1:0] a_re_reg;
    reg [A2_W-1:0] a_im_reg;

    always @(posedge clk) begin
        if (en) begin
            t_re_reg <= t1_re;
            t_im_reg <= t1_im;
            a_re_reg <= a1_re;
            a_im_reg <= a1_im;
        end
    end

    assign t2_re = t_re_reg;
    assign t2_im = t_im_reg;
    assign a2_re = a_re_reg;
    assign a2_im = a_im_reg;
end else begin : g_level0
    assign t2_re = t1_re;
    assign t2_im = t1_im;
    assign a2_re = a1_re;
    assign a2_im = a1_im;
end

endgenerate

// rounded t, Q(T_W) at the data fraction
wire [T_W-1:0] t_re;
wire [T_W-1:0] t_im;

generate

if (TW_KIND == 2) begin : g_tround
    ernn_round_sat #(.IN_W(PROD_W), .SHIFT(TW_F), .OUT_W(T_W)) round_re_inst (.in(t2_re), .out(t_re));
    ernn_round_sat #(.IN_W(PROD_W), .SHIFT(TW_F), .OUT_W(T_W)) round_im_inst (.in(t2_im), .out(t_im));
end else begin : g_texact
    assign t_re = t2_re;
    assign t_im = t2_im;
end

endgenerate

// a +- t at full precision (with FOLD: a + 1 +- t), then halve (inverse) and saturate
wire signed [S_W-1:0] a_re_s = {{(S_W-A2_W){a2_re[A2_W-1]}}, a2_re};
wire signed [S_W-1:0] a_im_s = {{(S_W-A2_W){a2_im[A2_W-1]}}, a2_im};
wire signed [S_W-1:0] t_re_s = {t_re[T_W-1], t_re};
wire signed [S_W-1:0] t_im_s = {t_im[T_W-1], t_im};
// the imaginary path is not read when OUT_IMAG = 0
/* verilator lint_off UNUSEDSIGNAL */
wire unused_imag = &{1'b0, a_im_s, t_im_s};
/* verilator lint_on UNUSEDSIGNAL */

generate

if (OUT_PLUS) begin : g_plus
    // with FOLD the LSB is the dropped half (the sum already holds the rounding constant)
    /* verilator lint_off UNUSEDSIGNAL */
    wire [S_W-1:0] sum_re = a_re_s + t_re_s;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [W_OUT-1:0] sat_re;
    reg  [W_OUT-1:0] p_re_reg;
    ernn_round_sat #(.IN_W(FIN_W), .SHIFT(FIN_SHIFT), .OUT_W(W_OUT)) sat_re_inst (.in(sum_re[S_W-1:S_W-FIN_W]), .out(sat_re));
    always @(posedge clk) begin
        if (en) begin
            p_re_reg <= sat_re;
        end
    end
    assign p_re = p_re_reg;
    if (OUT_IMAG) begin : g_imag
        // with FOLD the LSB is the dropped half (the sum already holds the rounding constant)
        /* verilator lint_off UNUSEDSIGNAL */
        wire [S_W-1:0] sum_im = a_im_s + t_im_s;
        /* verilator lint_on UNUSEDSIGNAL */
        wire [W_OUT-1:0] sat_im;
        reg  [W_OUT-1:0] p_im_reg;
        ernn_round_sat #(.IN_W(FIN_W), .SHIFT(FIN_SHIFT), .OUT_W(W_OUT)) sat_im_inst (.in(sum_im[S_W-1:S_W-FIN_W]), .out(sat_im));
        always @(posedge clk) begin
            if (en) begin
                p_im_reg <= sat_im;
            end
        end
        assign p_im = p_im_reg;
    end else begin : g_noimag
        assign p_im = {W_OUT{1'b0}};
    end
end else begin : g_noplus
    assign p_re = {W_OUT{1'b0}};
    assign p_im = {W_OUT{1'b0}};
end

if (OUT_MINUS) begin : g_minus
    // with FOLD the LSB is the dropped half (the sum already holds the rounding constant)
    /* verilator lint_off UNUSEDSIGNAL */
    wire [S_W-1:0] dif_re = a_re_s - t_re_s;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [W_OUT-1:0] sat_re;
    reg  [W_OUT-1:0] m_re_reg;
    ernn_round_sat #(.IN_W(FIN_W), .SHIFT(FIN_SHIFT), .OUT_W(W_OUT)) sat_re_inst (.in(dif_re[S_W-1:S_W-FIN_W]), .out(sat_re));
    always @(posedge clk) begin
        if (en) begin
            m_re_reg <= sat_re;
        end
    end
    assign m_re = m_re_reg;
    if (OUT_IMAG) begin : g_imag
        // with FOLD the LSB is the dropped half (the sum already holds the rounding constant)
        /* verilator lint_off UNUSEDSIGNAL */
        wire [S_W-1:0] dif_im = a_im_s - t_im_s;
        /* verilator lint_on UNUSEDSIGNAL */
        wire [W_OUT-1:0] sat_im;
        reg  [W_OUT-1:0] m_im_reg;
        ernn_round_sat #(.IN_W(FIN_W), .SHIFT(FIN_SHIFT), .OUT_W(W_OUT)) sat_im_inst (.in(dif_im[S_W-1:S_W-FIN_W]), .out(sat_im));
        always @(posedge clk) begin
            if (en) begin
                m_im_reg <= sat_im;
            end
        end
        assign m_im = m_im_reg;
    end else begin : g_noimag
        assign m_im = {W_OUT{1'b0}};
    end
end else begin : g_nominus
    assign m_re = {W_OUT{1'b0}};
    assign m_im = {W_OUT{1'b0}};
end

endgenerate

endmodule

`resetall
