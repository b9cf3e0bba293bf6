/*

E-RNN toolkit: properties of ernn_rmac_pair (formal only)

*/

// Language: Verilog 2001 with Yosys -formal immediate assertions

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Two real MAC lanes on one packed multiply, for every input sequence, enable pattern and
 * reset: a ghost pipeline runs beside the DUT (levels 1 .. 3 + MREG, moving with en, its valid
 * bits cleared by rst) and sums the plain products x w_a and x w_b (one full-width multiply
 * each, no packing) of each run from in_first to in_last, starting at the rounding constant
 * START = 2**(ROUND_SHIFT-1) (0 for ROUND_SHIFT = 0):
 *
 *   acc_sum_a, acc_sum_b   once a run has started, acc = START + the sum of the run's products
 *                          so far, modulo 2**ACC_W
 *   exact_a, exact_b       for a run of at most 2**RUN_LOG2 products the accumulator is that
 *                          integer (a wider ghost word): no wrap. |x w| <= 2**(X_W+W_W-2) (the
 *                          corner -2**(X_W-1) -2**(W_W-1)), so RUN_LOG2 = ACC_W - X_W - W_W keeps
 *                          |sum| <= 2**(ACC_W-2); START <= 2**(ACC_W-3) (ROUND_SHIFT <= ACC_W - 2)
 *                          leaves room for the rounding constant
 *   acc_valid_timing       acc_valid pulses exactly 3 + MREG advances of en after a valid
 *                          in_last, and never otherwise (ernn_cmac's rule, reset included)
 *
 * The solver covers every operand at these small widths, so acc_sum_b holding means the packed
 * multiply's high field plus the low field's sign is x w_b for every x, w_a, w_b.
 *
 * Lemmas for k-induction (the driver taps the DUT's registers and, with MREG = 1, its split
 * wires): the run-control registers equal the ghost's (inv_valid), a valid level needs the
 * advances that fill it (inv_order), the operand registers hold the ghost's operands
 * (inv_operands), with MREG = 1 the split of the registered packed product is the two plain
 * products of the operands one advance back, in range (inv_split), the product registers hold the
 * ghost's products (inv_product) and are in range (inv_product_range), the exact sums' low bits
 * are the accumulators (inv_wide), and |acc - START| <= run 2**(X_W+W_W-2) within the contract
 * (inv_bound). Every lemma reads the DUT, so each can fail on a mutant. The ghost's products
 * take the DUT's level-1 operand registers as operands (inv_operands proves them the delayed
 * inputs), so the solver compares the packed multiply with the plain ones on the same signals.
 */
module ernn_rmac_pair_props #
(
    // the parameters of ernn_rmac_pair
    parameter X_W = 4,
    parameter W_W = 3,
    parameter ACC_W = 9,
    parameter MREG = 0,
    parameter ROUND_SHIFT = 0
)
(
    input wire           clk,
    input wire           rst,
    input wire           en,
    input wire           in_valid,
    input wire           in_first,
    input wire           in_last,
    input wire [X_W-1:0] x,
    input wire [W_W-1:0] w_a,
    input wire [W_W-1:0] w_b
);

localparam PROD_W = X_W + W_W + 1;
// DUT levels: operands, (MREG) multiplier output, products; then the accumulator
localparam DEPTH = 2 + MREG;
localparam LEVELS = DEPTH + 1;
// runs of at most 2**RUN_LOG2 products must not wrap (header)
localparam RUN_LOG2 = ACC_W - X_W - W_W;
localparam RUN_OK = 1 << RUN_LOG2;
// run length counter, saturating at RUN_OK + 1
localparam RUN_W = RUN_LOG2 + 2;
// exact ghost sum: the contract's sums need ACC_W - 1 bits and a sign; room to spare
localparam WIDE_W = ACC_W + 4;
localparam OP_W = X_W + 2 * W_W;

wire acc_valid;
wire [ACC_W-1:0] acc_a;
wire [ACC_W-1:0] acc_b;

ernn_rmac_pair #(
    .X_W(X_W),
    .W_W(W_W),
    .ACC_W(ACC_W),
    .MREG(MREG),
    .ROUND_SHIFT(ROUND_SHIFT)
)
dut (
    .clk(clk),
    .rst(rst),
    .en(en),
    .in_valid(in_valid),
    .in_first(in_first),
    // held at 0: every run starts at the rounding constant (the start at 0 of ernn_pe SPLIT's second
    // lane group is checked bit-exact in simulation, tb/ernn_pe); inv_zero keeps the line at 0
    .in_zero_start(1'b0),
    .in_last(in_last),
    .x(x),
    .w_a(w_a),
    .w_b(w_b),
    .acc_valid(acc_valid),
    .acc_a(acc_a),
    .acc_b(acc_b)
);

// the DUT's registers (and, MREG = 1, the split of its multiplier register), driven by the taps
(* keep *) wire [X_W-1:0] tap_x;
(* keep *) wire [W_W-1:0] tap_w_a;
(* keep *) wire [W_W-1:0] tap_w_b;
(* keep *) wire [PROD_W-1:0] tap_split_a;
(* keep *) wire [PROD_W-1:0] tap_split_b;
(* keep *) wire [PROD_W-1:0] tap_prod_a;
(* keep *) wire [PROD_W-1:0] tap_prod_b;
(* keep *) wire [DEPTH-1:0] tap_valid;
(* keep *) wire [2*DEPTH-1:0] tap_control;
(* keep *) wire [DEPTH-1:0] tap_zero;

// plain products of the level-1 operands, each one full-width multiply: the reference
wire signed [PROD_W-1:0] xs = $signed(tap_x);
wire signed [PROD_W-1:0] was = $signed(tap_w_a);
wire signed [PROD_W-1:0] wbs = $signed(tap_w_b);
wire signed [PROD_W-1:0] ref_a = xs * was;
wire signed [PROD_W-1:0] ref_b = xs * wbs;

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

localparam [ACC_W-1:0] ACC_ONE = {{(ACC_W-1){1'b0}}, 1'b1};
localparam [ACC_W-1:0] START = ROUND_SHIFT > 0 ? ACC_ONE << (ROUND_SHIFT - 1) : {ACC_W{1'b0}};
wire signed [WIDE_W-1:0] start_wide = {{(WIDE_W-ACC_W){1'b0}}, START};

// ghost pipeline; advances of en seen (saturating at LEVELS)
reg [2:0] advances = 3'd0;
reg [OP_W-1:0] g1_op;
reg g1_valid = 1'b0;
reg g1_first;
reg g1_last;
reg signed [PROD_W-1:0] gm_a;
reg signed [PROD_W-1:0] gm_b;
reg gm_valid = 1'b0;
reg gm_first;
reg gm_last;
reg signed [PROD_W-1:0] g2_a;
reg signed [PROD_W-1:0] g2_b;
reg g2_valid = 1'b0;
reg g2_first;
reg g2_last;
reg [ACC_W-1:0] g_acc_a;
reg [ACC_W-1:0] g_acc_b;
reg signed [WIDE_W-1:0] g_wide_a;
reg signed [WIDE_W-1:0] g_wide_b;
reg [RUN_W-1:0] g_run;
reg g_started = 1'b0;
reg g_acc_valid = 1'b0;

// the product level's inputs: the multiplier register's products (MREG = 1) or the operands'
wire signed [PROD_W-1:0] g2_a_next = MREG ? gm_a : ref_a;
wire signed [PROD_W-1:0] g2_b_next = MREG ? gm_b : ref_b;
wire g2_valid_next = MREG ? gm_valid : g1_valid;
wire g2_first_next = MREG ? gm_first : g1_first;
wire g2_last_next = MREG ? gm_last : g1_last;

wire signed [ACC_W-1:0] g2_a_acc = g2_a;
wire signed [ACC_W-1:0] g2_b_acc = g2_b;
wire signed [WIDE_W-1:0] g2_a_wide = g2_a;
wire signed [WIDE_W-1:0] g2_b_wide = g2_b;

always @(posedge clk) begin
    if (en) begin
        if (advances != LEVELS) begin
            advances <= advances + 3'd1;
        end
        g1_op <= {x, w_a, w_b};
        g1_valid <= in_valid;
        g1_first <= in_first;
        g1_last <= in_last;
        gm_a <= ref_a;
        gm_b <= ref_b;
        gm_valid <= g1_valid;
        gm_first <= g1_first;
        gm_last <= g1_last;
        g2_a <= g2_a_next;
        g2_b <= g2_b_next;
        g2_valid <= g2_valid_next;
        g2_first <= g2_first_next;
        g2_last <= g2_last_next;
        if (g2_valid) begin
            g_acc_a <= (g2_first ? START : g_acc_a) + g2_a_acc;
            g_acc_b <= (g2_first ? START : g_acc_b) + g2_b_acc;
            g_wide_a <= (g2_first ? start_wide : g_wide_a) + g2_a_wide;
            g_wide_b <= (g2_first ? start_wide : g_wide_b) + g2_b_wide;
            g_run <= g2_first ? 1 : (g_run > RUN_OK ? g_run : g_run + 1'b1);
            if (g2_first) begin
                g_started <= 1'b1;
            end
        end
        g_acc_valid <= g2_valid && g2_last;
    end
    if (rst) begin
        g1_valid <= 1'b0;
        gm_valid <= 1'b0;
        g2_valid <= 1'b0;
        g_acc_valid <= 1'b0;
    end
end

// the ghost's run control at the DUT's levels 1 .. DEPTH (MREG = 0: the ternary widens the two-level
// word with a zero on top, and the assignment cuts it back to DEPTH bits)
wire [DEPTH-1:0] g_valid = MREG ? {g2_valid, gm_valid, g1_valid} : {g2_valid, g1_valid};
wire [2*DEPTH-1:0] g_control = MREG ? {g2_first, g2_last, gm_first, gm_last, g1_first, g1_last}
                                    : {g2_first, g2_last, g1_first, g1_last};

// largest |x w| (the corner -2**(X_W-1) -2**(W_W-1)), and |exact sum - START| <= run * that
localparam signed [PROD_W:0] PMAX = 1 <<< (X_W + W_W - 2);
wire signed [WIDE_W+RUN_W:0] bound = $signed({1'b0, g_run}) * PMAX;
wire signed [WIDE_W+RUN_W:0] acc_a_off = $signed(acc_a) - $signed({1'b0, START});
wire signed [WIDE_W+RUN_W:0] acc_b_off = $signed(acc_b) - $signed({1'b0, START});
wire in_contract = g_started && g_run <= RUN_OK;

always @* begin
    if (past_valid) begin
        acc_valid_timing: assert (acc_valid == g_acc_valid);
    end
    if (g_started) begin
        acc_sum_a: assert (acc_a == g_acc_a);
        acc_sum_b: assert (acc_b == g_acc_b);
    end
    if (in_contract) begin
        exact_a: assert ($signed(acc_a) == g_wide_a);
        exact_b: assert ($signed(acc_b) == g_wide_b);
    end
    if (past_valid) begin
        inv_valid: assert (tap_valid == g_valid);
        // the zero-start line (no reset, like the operand registers) holds the input's 0 at every
        // level the advances have filled
        inv_zero: assert ((advances < 3'd1 || !tap_zero[0]) && (advances < 3'd2 || !tap_zero[1])
                          && (advances < DEPTH || !tap_zero[DEPTH-1]));
        // level d (0-based) is valid only after d + 1 advances; a started run has filled them all
        inv_order: assert (advances <= LEVELS && (!tap_valid[0] || advances >= 3'd1) && (!tap_valid[1] || advances >= 3'd2)
                           && (!tap_valid[DEPTH-1] || advances >= DEPTH) && (!g_started || advances == LEVELS));
    end
    if (advances >= 3'd1) begin
        inv_operands: assert ({tap_x, tap_w_a, tap_w_b} == g1_op && tap_control[1:0] == {g1_first, g1_last});
    end
    if (advances >= DEPTH) begin
        inv_product: assert ({tap_prod_a, tap_prod_b} == {g2_a, g2_b}
                             && tap_control[2*DEPTH-1 -: 2] == {g2_first, g2_last});
        inv_product_range: assert ($signed(tap_prod_a) <= PMAX && $signed(tap_prod_a) >= -PMAX
                                   && $signed(tap_prod_b) <= PMAX && $signed(tap_prod_b) >= -PMAX);
    end
    if (g_started) begin
        inv_wide: assert (g_wide_a[ACC_W-1:0] == acc_a && g_wide_b[ACC_W-1:0] == acc_b);
    end
    if (in_contract) begin
        inv_bound: assert (acc_a_off <= bound && acc_a_off >= -bound && acc_b_off <= bound && acc_b_off >= -bound);
    end
end

generate
if (MREG) begin : g_split_lemma
    always @* begin
        if (advances >= 3'd2) begin
            inv_split: assert ({tap_split_a, tap_split_b} == {gm_a, gm_b} && tap_control[3:2] == {gm_first, gm_last}
                               && $signed(tap_split_a) <= PMAX && $signed(tap_split_a) >= -PMAX
                               && $signed(tap_split_b) <= PMAX && $signed(tap_split_b) >= -PMAX);
        end
    end
end
endgenerate

endmodule

`resetall
