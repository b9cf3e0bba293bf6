/*

E-RNN toolkit: one complex multiply-accumulate lane

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * acc = sum over a run of x * w, exact (ernn.golden.matvec.cmac for one accumulator):
 *
 *   acc_re = sum (xr wr - xi wi),   acc_im = sum (xr wi + xi wr)
 *
 * x is an input-spectrum bin, Q(X_W, D) (fft_out), w a weight-spectrum bin, Q(W_W, S)
 * (weight_spectrum); the accumulator is Q(ACC_W, D + S) (accumulator). One product
 * component needs X_W + W_W bits and a sum of Q products X_W + W_W + clog2(Q) bits; the
 * instantiating module checks ACC_W against the most products it sums, so the two's
 * complement sum never wraps (the contract proves the width instead of saturating).
 *
 * A run is a sequence of valid inputs from in_first to in_last (they may be the same beat,
 * and may have bubbles between them); acc_valid pulses with the finished sum, which then
 * stays on acc_re/acc_im until the next in_first reaches the accumulator.
 *
 * Pipeline (3 + MREG clocks, all on en, DSP48-friendly): input registers (operands, pre-adders
 * of the 3-multiplier form), with MREG = 1 the multiplier output register (ernn_cmul MREG: the
 * post-adder k1 - k3 / k1 + k2 gets a clock of its own), product register, accumulator register.
 *
 * DSP_PACK = 1 forms the product with two packed multiplies (ernn_cmul PACK: x_re and x_im
 * each times a {w_hi, w_lo} pair), the same integers with two DSP48E2 instead of three. It
 * needs X_W + 2 W_W + 1 <= 27 (the packed pair on the 27-bit multiplier port) and
 * X_W <= 18 (x on the 18-bit port); a wider configuration is refused at elaboration, since
 * its multiplies would each take several DSPs and the packing would save nothing.
 *
 * ROUND_SHIFT > 0 starts every run's sum at 2**(ROUND_SHIFT-1) (acc = C + sum of products), so
 * that the rounding shift behind the lane needs no adder (ernn_round_sat PRE_ROUNDED); a real
 * lane's acc_im stays 0 (0 truncates to 0 as it rounds to 0). A run whose in_first beat has
 * in_zero_start starts at 0 instead: a partial sum that the PE adds to another lane's, which
 * holds C already (ernn_pe SPLIT); the DSP48E2's W multiplexer selects RND or 0 per clock.
 *
 * REAL = 1 is a lane for the purely real bins 0 and K/2 of a real FFT: x_im is 0 there (the
 * PE's FFT makes it exactly 0; simulation stops with $fatal if a valid input breaks that), so
 * acc_re = sum xr wr with one multiply, and acc_im is held at 0 instead of sum xr wi: the
 * Hermitian IFFT never reads the imaginary parts of those bins (ernn_ifft).
 */
module ernn_cmac #
(
    // x (input spectrum) word
    parameter X_W = 20,
    // w (weight spectrum) word
    parameter W_W = 16,
    // accumulator word, >= X_W + W_W + 1
    parameter ACC_W = 43,
    // complex multiplier form (1: three multipliers)
    parameter CMUL_3M = 1,
    // 1: two packed multiplies per complex product (DSP48E2 packing; CMUL_3M is then not used)
    parameter DSP_PACK = 0,
    // 1: real lane (bins 0 and K/2): one multiply xr wr, acc_im = 0; x_im must be 0
    parameter REAL = 0,
    // 1: register the multiplier outputs (one more clock of latency)
    parameter MREG = 0,
    // > 0: every run's sum starts at 2**(ROUND_SHIFT-1) instead of 0 (the rounding constant of
    // a later shift by ROUND_SHIFT, which then only truncates: ernn_round_sat PRE_ROUNDED); the
    // instantiating module proves the accumulator has room for it
    parameter ROUND_SHIFT = 0
)
(
    input  wire             clk,
    input  wire             rst,
    input  wire             en,

    input  wire             in_valid,
    input  wire             in_first,
    // with in_first: 1 starts this run's sum at 0, not at the rounding constant (a partial sum that is
    // added to another lane's, which holds the constant: ernn_pe SPLIT)
    input  wire             in_zero_start,
    input  wire             in_last,
    input  wire [X_W-1:0]   x_re,
    input  wire [X_W-1:0]   x_im,
    input  wire [W_W-1:0]   w_re,
    input  wire [W_W-1:0]   w_im,

    output wire             acc_valid,
    output wire [ACC_W-1:0] acc_re,
    output wire [ACC_W-1:0] acc_im
);

// exact product word
localparam PROD_W = X_W + W_W + 1;
// DSP48E2 multiplier ports: the packed weight pair goes on the wide one, x on the narrow one
localparam DSP_A_W = 27;
localparam DSP_B_W = 18;
// the packed pair w_hi 2**(X_W + W_W) + w_lo (ernn_cmul PACK)
localparam PACK_W = X_W + 2 * W_W + 1;

initial begin
    if (ACC_W < PROD_W) begin
        $error("Error: ernn_cmac ACC_W (%0d) must be >= X_W + W_W + 1 = %0d", ACC_W, PROD_W);
        $finish;
    end
    if (DSP_PACK && (PACK_W > DSP_A_W || X_W > DSP_B_W)) begin
        $error("Error: ernn_cmac DSP_PACK needs X_W + 2 W_W + 1 <= %0d and X_W <= %0d (one DSP48E2 per packed multiply), got X_W=%0d W_W=%0d: %0d bits",
            DSP_A_W, DSP_B_W, X_W, W_W, PACK_W);
        $finish;
    end
    if (MREG != 0 && MREG != 1) begin
        $error("Error: ernn_cmac MREG must be 0 or 1 (got %0d)", MREG);
        $finish;
    end
end

// level 1: operands
reg [X_W-1:0] x_re_reg;
reg [X_W-1:0] x_im_reg;
reg [W_W-1:0] w_re_reg;
reg [W_W-1:0] w_im_reg;

// level 2 + MREG: exact product (MREG = 1: level 2 registers the multiplier outputs)
wire [PROD_W-1:0] prod_re;
wire [PROD_W-1:0] prod_im;
reg [PROD_W-1:0] prod_re_reg;
reg [PROD_W-1:0] prod_im_reg;
// run control (valid, first, last) of levels 1 .. 2 + MREG, beside the operand and product registers
wire valid_2;
wire first_2;
wire zero_2;
wire last_2;

// level 3 + MREG: accumulator; a run starts from ACC_START (0, or the rounding constant: the
// DSP48E2's W multiplexer adds such a constant, RND, beside the accumulation)
localparam [ACC_W-1:0] ACC_ONE = {{(ACC_W-1){1'b0}}, 1'b1};
localparam [ACC_W-1:0] ACC_START = ROUND_SHIFT > 0 ? ACC_ONE << (ROUND_SHIFT - 1) : {ACC_W{1'b0}};
reg [ACC_W-1:0] acc_re_reg;
reg [ACC_W-1:0] acc_im_reg;
reg acc_valid_reg;

generate

if (REAL) begin : g_real
    // one real product: x_im = 0 on this lane, so re = xr wr exactly (the imaginary part is unused)
    wire signed [X_W-1:0] xr = x_re_reg;
    wire signed [W_W-1:0] wr = w_re_reg;
    wire signed [PROD_W-1:0] p_rr = xr * wr;
    if (MREG) begin : g_mreg
        reg [PROD_W-1:0] p_rr_reg;
        always @(posedge clk) begin
            if (en) begin
                p_rr_reg <= p_rr;
            end
        end
        assign prod_re = p_rr_reg;
    end else begin : g_comb
        assign prod_re = p_rr;
    end
    assign prod_im = {PROD_W{1'b0}};
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_im = &{1'b0, x_im_reg, w_im_reg};
    /* verilator lint_on UNUSEDSIGNAL */
end else begin : g_complex
    ernn_cmul #(
        .X_W(X_W),
        .C_W(W_W),
        .CONJ(0),
        .MUL3(CMUL_3M),
        .PACK(DSP_PACK),
        .MREG(MREG)
    )
    cmul_inst (
        .clk(clk),
        .en(en),
        .x_re(x_re_reg),
        .x_im(x_im_reg),
        .c_re(w_re_reg),
        .c_im(w_im_reg),
        .p_re(prod_re),
        .p_im(prod_im)
    );
end

endgenerate

ernn_delay #(
    .DEPTH(2 + MREG),
    .WIDTH(2)
)
ctrl_delay_inst (
    .clk(clk),
    .rst(rst),
    .en(en),
    .in_valid(in_valid),
    .in_data({in_first, in_last}),
    .out_valid(valid_2),
    .out_data({first_2, last_2})
);

// in_zero_start beside the run control (a line of its own, so that the run-control word the formal
// driver taps keeps its layout); no valid flag of its own (VALID = 0: out_valid stays 0)
/* verilator lint_off UNUSEDSIGNAL */
wire zero_valid;
/* verilator lint_on UNUSEDSIGNAL */
ernn_delay #(
    .DEPTH(2 + MREG),
    .WIDTH(1),
    .VALID(0)
)
zero_delay_inst (
    .clk(clk),
    .rst(rst),
    .en(en),
    .in_valid(1'b0),
    .in_data(in_zero_start),
    .out_valid(zero_valid),
    .out_data(zero_2)
);

// products sign-extended to the accumulator
wire [ACC_W-1:0] prod_re_ext;
wire [ACC_W-1:0] prod_im_ext;

generate

if (ACC_W > PROD_W) begin : g_extend
    assign prod_re_ext = {{(ACC_W-PROD_W){prod_re_reg[PROD_W-1]}}, prod_re_reg};
    assign prod_im_ext = {{(ACC_W-PROD_W){prod_im_reg[PROD_W-1]}}, prod_im_reg};
end else if (ACC_W == PROD_W) begin : g_same
    assign prod_re_ext = prod_re_reg;
    assign prod_im_ext = prod_im_reg;
end else begin : g_invalid
    // rejected by the parameter check above; this branch only lets elaboration reach it
    assign prod_re_ext = prod_re_reg[ACC_W-1:0];
    assign prod_im_ext = prod_im_reg[ACC_W-1:0];
end

endgenerate

always @(posedge clk) begin
    if (en) begin
        x_re_reg <= x_re;
        x_im_reg <= x_im;
        w_re_reg <= w_re;
        w_im_reg <= w_im;

        prod_re_reg <= prod_re;
        prod_im_reg <= prod_im;

        if (valid_2) begin
            acc_re_reg <= (first_2 ? (zero_2 ? {ACC_W{1'b0}} : ACC_START) : acc_re_reg) + prod_re_ext;
            acc_im_reg <= (first_2 ? (zero_2 ? {ACC_W{1'b0}} : ACC_START) : acc_im_reg) + prod_im_ext;
        end
        acc_valid_reg <= valid_2 && last_2;
    end

    // synthesis translate_off
    // a real lane's bins have no imaginary part: anything else would be summed wrongly
    if (REAL && en && in_valid && x_im != {X_W{1'b0}}) begin
        $fatal(1, "Error: ernn_cmac REAL lane got x_im = %0d (bins 0 and K/2 of a real FFT are real)", $signed(x_im));
    end
    // synthesis translate_on

    if (rst) begin
        acc_valid_reg <= 1'b0;
    end
end

assign acc_valid = acc_valid_reg;
assign acc_re = acc_re_reg;
// a real lane's imaginary sum is 0 by definition (its register then drives nothing and goes)
assign acc_im = REAL ? {ACC_W{1'b0}} : acc_im_reg;

endmodule

`resetall
