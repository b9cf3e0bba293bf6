/*

E-RNN toolkit: properties of ernn_cmac (formal only)

*/

// Language: Verilog 2001 with Yosys -formal immediate assertions

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * One MAC lane for every input sequence, enable pattern and reset: a ghost lane runs beside
 * the DUT (levels 1-3, moving with en, its valid bits cleared by rst) and sums the textbook
 * products (ernn_formal_cmul_ref) of each run from in_first to in_last:
 *
 *   acc_sum_re, acc_sum_im  once a run has started, acc = the sum of the run's products so
 *                           far, modulo 2**ACC_W (the accumulator's two's complement word)
 *   acc_valid_timing        acc_valid pulses exactly LEVELS = 3 advances after in_last
 *   exact_re, exact_im      for a run of at most 2**RUN_LOG2 products the accumulator equals
 *                           the exact integer sum (kept on a wider ghost word): no wrap.
 *                           RUN_LOG2 = ACC_W - X_W - W_W - 1 holds for every w; the width rule
 *                           of ernn_pe and golden accumulator_word (RUN_LOG2 = ACC_W - X_W - W_W)
 *                           needs W_SYMMETRIC: with w = x = -2**(W-1) (1 + j) each imaginary
 *                           product is +2**(X_W+W_W-1), and 2**RUN_LOG2 of them wrap
 *
 * Lemmas for k-induction (the driver taps the DUT's registers): the operand, product and
 * run-control registers equal the ghost's (inv_valid, inv_operands, inv_product), a valid
 * level needs the advances that fill it (inv_order), products are in range
 * (inv_product_range), the
 * exact sum's low bits are the accumulator (inv_wide) and |acc| <= run * 2**(X_W+W_W-1)
 * within the contract (inv_bound). Every lemma reads the DUT, so each can fail on a mutant. The ghost's product takes the DUT's level-1 operand registers as its operands
 * (proven equal to the delayed inputs by inv_operands), so the solver compares multipliers
 * on the same signals.
 */
module ernn_cmac_props #
(
    // the parameters of ernn_cmac
    parameter X_W = 3,
    parameter W_W = 3,
    parameter ACC_W = 8,
    parameter CMUL_3M = 0,
    // runs of at most 2**RUN_LOG2 products must not wrap
    parameter RUN_LOG2 = 1,
    // 1: w never holds the most negative code (the exported weight spectra: fit_frac keeps
    // |w| <= 2**(W_W-1) - 1), so |product| <= 2**(X_W+W_W-1) - 2**X_W
    parameter W_SYMMETRIC = 0
)
(
    input wire           clk,
    input wire           rst,
    input wire           en,
    input wire           in_valid,
    input wire           in_first,
    input wire           in_last,
    input wire [X_W-1:0] x_re,
    input wire [X_W-1:0] x_im,
    input wire [W_W-1:0] w_re,
    input wire [W_W-1:0] w_im
);

localparam PROD_W = X_W + W_W + 1;
// exact ghost sum: room for 2**RUN_LOG2 + 1 products and a sign
localparam WIDE_W = PROD_W + RUN_LOG2 + 3;
localparam RUN_OK = 1 << RUN_LOG2;
// run length counter, saturating at RUN_OK + 1
localparam RUN_W = RUN_LOG2 + 2;
localparam XW_W = 2 * X_W + 2 * W_W;

wire acc_valid;
wire [ACC_W-1:0] acc_re;
wire [ACC_W-1:0] acc_im;

ernn_cmac #(
    .X_W(X_W),
    .W_W(W_W),
    .ACC_W(ACC_W),
    .CMUL_3M(CMUL_3M)
)
dut (
    .clk(clk),
    .rst(rst),
    .en(en),
    .in_valid(in_valid),
    .in_first(in_first),
    .in_zero_start(1'b0),  // ROUND_SHIFT = 0 here: a run starts at 0 either way
    .in_last(in_last),
    .x_re(x_re),
    .x_im(x_im),
    .w_re(w_re),
    .w_im(w_im),
    .acc_valid(acc_valid),
    .acc_re(acc_re),
    .acc_im(acc_im)
);

// the DUT's registers, driven by the driver's taps
(* keep *) wire [X_W-1:0] tap_x_re;
(* keep *) wire [X_W-1:0] tap_x_im;
(* keep *) wire [W_W-1:0] tap_w_re;
(* keep *) wire [W_W-1:0] tap_w_im;
(* keep *) wire [PROD_W-1:0] tap_prod_re;
(* keep *) wire [PROD_W-1:0] tap_prod_im;
(* keep *) wire [1:0] tap_valid;
(* keep *) wire [3:0] tap_control;

// textbook product of the level-1 operands
wire [PROD_W-1:0] prod_re;
wire [PROD_W-1:0] prod_im;

ernn_formal_cmul_ref #(
    .X_W(X_W),
    .C_W(W_W),
    .CONJ(0)
)
ref_inst (
    .x_re(tap_x_re),
    .x_im(tap_x_im),
    .c_re(tap_w_re),
    .c_im(tap_w_im),
    .p_re(prod_re),
    .p_im(prod_im)
);

// the environment starts with a reset (the valid registers have no initial value)
reg past_valid = 1'b0;
always @(posedge clk) begin
    past_valid <= 1'b1;
end
always @* begin
    if (!past_valid) begin
        assume (rst);
    end
end

// the most negative w code
wire [W_W-1:0] W_MIN = {1'b1, {(W_W-1){1'b0}}};

generate
if (W_SYMMETRIC) begin : g_w_symmetric
    always @* begin
        assume (w_re != W_MIN && w_im != W_MIN);
    end
end
endgenerate

// ghost lane; advances of en seen (saturating)
reg [1:0] advances = 2'd0;
reg [XW_W-1:0] g1_xw;
reg g1_valid = 1'b0;
reg g1_first;
reg g1_last;
reg signed [PROD_W-1:0] g2_re;
reg signed [PROD_W-1:0] g2_im;
reg g2_valid = 1'b0;
reg g2_first;
reg g2_last;
reg [ACC_W-1:0] g_acc_re;
reg [ACC_W-1:0] g_acc_im;
reg signed [WIDE_W-1:0] g_wide_re;
reg signed [WIDE_W-1:0] g_wide_im;
reg [RUN_W-1:0] g_run;
reg g_started = 1'b0;
reg g_acc_valid = 1'b0;

wire signed [ACC_W-1:0] g2_re_acc = g2_re;
wire signed [ACC_W-1:0] g2_im_acc = g2_im;
wire signed [WIDE_W-1:0] g2_re_wide = g2_re;
wire signed [WIDE_W-1:0] g2_im_wide = g2_im;

always @(posedge clk) begin
    if (en) begin
        if (advances != 2'd3) begin
            advances <= advances + 2'd1;
        end
        g1_xw <= {x_re, x_im, w_re, w_im};
        g1_valid <= in_valid;
        g1_first <= in_first;
        g1_last <= in_last;
        g2_re <= prod_re;
        g2_im <= prod_im;
        g2_valid <= g1_valid;
        g2_first <= g1_first;
        g2_last <= g1_last;
        if (g2_valid) begin
            g_acc_re <= g2_first ? g2_re_acc : g_acc_re + g2_re_acc;
            g_acc_im <= g2_first ? g2_im_acc : g_acc_im + g2_im_acc;
            g_wide_re <= g2_first ? g2_re_wide : g_wide_re + g2_re_wide;
            g_wide_im <= g2_first ? g2_im_wide : g_wide_im + g2_im_wide;
            g_run <= g2_first ? 1 : (g_run > RUN_OK ? g_run : g_run + 1'b1);
            if (g2_first) begin
                g_started <= 1'b1;
            end
        end
        g_acc_valid <= g2_valid && g2_last;
    end
    if (rst) begin
        g1_valid <= 1'b0;
        g2_valid <= 1'b0;
        g_acc_valid <= 1'b0;
    end
end

// largest |product component|, and |exact sum| <= run * that
wire signed [WIDE_W+RUN_W:0] pmax = W_SYMMETRIC ? (1 <<< (X_W + W_W - 1)) - (1 <<< X_W) : 1 <<< (X_W + W_W - 1);
wire signed [WIDE_W+RUN_W:0] bound = $signed({1'b0, g_run}) * pmax;
wire signed [PROD_W:0] bound1 = pmax;
// a run has reached the accumulator (only possible after three advances: inv_order)
wire started = g_started;
wire in_contract = started && g_run <= RUN_OK;

always @* begin
    if (past_valid) begin
        acc_valid_timing: assert (acc_valid == g_acc_valid);
    end
    if (started) begin
        acc_sum_re: assert (acc_re == g_acc_re);
        acc_sum_im: assert (acc_im == g_acc_im);
    end
    if (in_contract) begin
        exact_re: assert ($signed(acc_re) == g_wide_re);
        exact_im: assert ($signed(acc_im) == g_wide_im);
    end
    if (past_valid) begin
        inv_valid: assert (tap_valid == {g2_valid, g1_valid});
    end
    if (past_valid) begin
        inv_order: assert ((!tap_valid[0] || advances >= 2'd1) && (!tap_valid[1] || advances >= 2'd2)
                           && (!g_started || advances == 2'd3));
    end
    if (advances >= 2'd1) begin
        inv_operands: assert ({tap_x_re, tap_x_im, tap_w_re, tap_w_im} == g1_xw && tap_control[1:0] == {g1_first, g1_last}
                              && (!W_SYMMETRIC || (tap_w_re != W_MIN && tap_w_im != W_MIN)));
    end
    if (advances >= 2'd2) begin
        inv_product: assert ({tap_prod_re, tap_prod_im} == {g2_re, g2_im} && tap_control[3:2] == {g2_first, g2_last});
        inv_product_range: assert ($signed(tap_prod_re) <= bound1 && $signed(tap_prod_re) >= -bound1
                                   && $signed(tap_prod_im) <= bound1 && $signed(tap_prod_im) >= -bound1);
    end
    if (started) begin
        inv_wide: assert (g_wide_re[ACC_W-1:0] == acc_re && g_wide_im[ACC_W-1:0] == acc_im);
    end
    if (in_contract) begin
        inv_bound: assert ($signed(acc_re) <= bound && $signed(acc_re) >= -bound
                           && $signed(acc_im) <= bound && $signed(acc_im) >= -bound);
    end
end

endmodule

`resetall
