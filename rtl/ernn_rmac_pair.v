/*

E-RNN toolkit: two real multiply-accumulate lanes on one packed multiply

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Two real lanes (ernn_cmac REAL) that read the same input bin, exactly:
 *
 *   acc_a = sum over a run of x * w_a,   acc_b = sum over a run of x * w_b
 *
 * x is a purely real input-spectrum bin (bin 0 or K/2 of a real FFT), Q(X_W, D) (fft_out);
 * w_a and w_b are the real parts of two weight-spectrum bins, Q(W_W, S) (weight_spectrum); the
 * sums are Q(ACC_W, D + S) (accumulator). In the PE, the lanes of bin 0 (and of bin K/2) of
 * every row block of a round multiply the same x: two of them share one multiply
 * x (w_b 2**(X_W + W_W) + w_a), whose low field is x w_a and whose high field, with the low
 * field's sign added back, is x w_b (the split of ernn_cmul PACK, the same integers). One
 * DSP48E2 then serves two real lanes instead of one: it needs X_W + 2 W_W + 1 <= 27 (the packed
 * pair on the 27-bit port) and X_W <= 18, the widths ernn_cmac DSP_PACK needs; a wider
 * configuration is refused at elaboration.
 *
 * Run control, timing and ROUND_SHIFT are those of ernn_cmac REAL = 1 (3 + MREG clocks from
 * the operands to acc_valid; a run's sums start at 2**(ROUND_SHIFT-1)); x_im is not an input,
 * and the instantiating module checks that the bin is real.
 */
module ernn_rmac_pair #
(
    // x (input spectrum) word
    parameter X_W = 12,
    // w (weight spectrum) word
    parameter W_W = 7,
    // accumulator word, >= X_W + W_W + 1
    parameter ACC_W = 25,
    // 1: register the multiplier output (one more clock of latency)
    parameter MREG = 0,
    // > 0: every run's sums start at 2**(ROUND_SHIFT-1) (ernn_cmac ROUND_SHIFT)
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
    input  wire [X_W-1:0]   x,
    input  wire [W_W-1:0]   w_a,
    input  wire [W_W-1:0]   w_b,

    output wire             acc_valid,
    output wire [ACC_W-1:0] acc_a,
    output wire [ACC_W-1:0] acc_b
);

// exact product word
localparam PROD_W = X_W + W_W + 1;
// low field of the packed product: one X_W x W_W product
localparam S = X_W + W_W;
// packed pair w_b 2**S + w_a: S + W_W + 1 bits hold its extremes
localparam PK_W = S + W_W + 1;
// packed product
localparam M_W = PK_W + X_W;
// DSP48E2 multiplier ports
localparam DSP_A_W = 27;
localparam DSP_B_W = 18;

initial begin
    if (ACC_W < PROD_W) begin
        $error("Error: ernn_rmac_pair ACC_W (%0d) must be >= X_W + W_W + 1 = %0d", ACC_W, PROD_W);
        $finish;
    end
    if (PK_W > DSP_A_W || X_W > DSP_B_W) begin
        $error("Error: ernn_rmac_pair needs X_W + 2 W_W + 1 <= %0d and X_W <= %0d (one DSP48E2 per packed multiply), got X_W=%0d W_W=%0d: %0d bits",
            DSP_A_W, DSP_B_W, X_W, W_W, PK_W);
        $finish;
    end
    if (MREG != 0 && MREG != 1) begin
        $error("Error: ernn_rmac_pair MREG must be 0 or 1 (got %0d)", MREG);
        $finish;
    end
end

// level 1: operands, the pair packed from the registered weights
reg [X_W-1:0] x_reg;
reg [W_W-1:0] w_a_reg;
reg [W_W-1:0] w_b_reg;

wire signed [X_W-1:0] xs = x_reg;
wire signed [PK_W-1:0] wa_ext = {{(PK_W-W_W){w_a_reg[W_W-1]}}, w_a_reg};
wire signed [PK_W-1:0] wb_ext = {{(PK_W-W_W){w_b_reg[W_W-1]}}, w_b_reg};
wire signed [PK_W-1:0] pair = (wb_ext <<< S) + wa_ext;
// one multiply (PK_W x X_W): exact at M_W bits
wire signed [M_W-1:0] m_comb = xs * pair;

// level 2 (MREG = 1): the multiplier output
wire [M_W-1:0] m;

generate
if (MREG) begin : g_mreg
    reg [M_W-1:0] m_reg;
    always @(posedge clk) begin
        if (en) begin
            m_reg <= m_comb;
        end
    end
    assign m = m_reg;
end else begin : g_comb
    assign m = m_comb;
end
endgenerate

// split: low = the signed S-bit field (x w_a), high = the rest plus the low field's sign (x w_b)
wire [PROD_W-1:0] prod_a = {m[S-1], m[S-1:0]};
wire [PROD_W-1:0] prod_b = m[M_W-1:S] + {{(PROD_W-1){1'b0}}, m[S-1]};

// level 2 + MREG: products; level 3 + MREG: accumulators
reg [PROD_W-1:0] prod_a_reg;
reg [PROD_W-1:0] prod_b_reg;
reg [ACC_W-1:0] acc_a_reg;
reg [ACC_W-1:0] acc_b_reg;
reg acc_valid_reg;

wire valid_2;
wire first_2;
wire zero_2;
wire last_2;

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

localparam [ACC_W-1:0] ACC_ONE = {{(ACC_W-1){1'b0}}, 1'b1};
localparam [ACC_W-1:0] ACC_START = ROUND_SHIFT > 0 ? ACC_ONE << (ROUND_SHIFT - 1) : {ACC_W{1'b0}};

wire [ACC_W-1:0] prod_a_ext;
wire [ACC_W-1:0] prod_b_ext;

generate
if (ACC_W > PROD_W) begin : g_extend
    assign prod_a_ext = {{(ACC_W-PROD_W){prod_a_reg[PROD_W-1]}}, prod_a_reg};
    assign prod_b_ext = {{(ACC_W-PROD_W){prod_b_reg[PROD_W-1]}}, prod_b_reg};
end else begin : g_same
    // ACC_W = PROD_W (a narrower accumulator is refused above)
    assign prod_a_ext = prod_a_reg[ACC_W-1:0];
    assign prod_b_ext = prod_b_reg[ACC_W-1:0];
end
endgenerate

always @(posedge clk) begin
    if (en) begin
        x_reg <= x;
        w_a_reg <= w_a;
        w_b_reg <= w_b;

        prod_a_reg <= prod_a;
        prod_b_reg <= prod_b;

        if (valid_2) begin
            acc_a_reg <= (first_2 ? (zero_2 ? {ACC_W{1'b0}} : ACC_START) : acc_a_reg) + prod_a_ext;
            acc_b_reg <= (first_2 ? (zero_2 ? {ACC_W{1'b0}} : ACC_START) : acc_b_reg) + prod_b_ext;
        end
        acc_valid_reg <= valid_2 && last_2;
    end

    if (rst) begin
        acc_valid_reg <= 1'b0;
    end
end

assign acc_valid = acc_valid_reg;
assign acc_a = acc_a_reg;
assign acc_b = acc_b_reg;

endmodule

`resetall
