/*

E-RNN toolkit: front stage of the LSTM / GRU cells (round, bias, saturate, first activations)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * The part of ernn_lstm_cell and ernn_gru_cell that is the same in both: four gates x = 0..3
 * per hidden unit (LSTM i, f, g, o; GRU r, z, in, hn), LANES units per beat, bit-exact with
 * ernn.golden.cells (gate_preact; docs/numerics.md sections 9-10). With I = IFFT_OUT_F,
 * Bf = BIAS_F, G = GATE_F, P = PEEPHOLE_F, C = CELL_F, rnd = round half up, sat_G = clamp to
 * Q(GATE_W, G) (never wrap):
 *
 *   s_x     = rnd(y_x, I - G) + rnd(b_x, Bf - G)       exact, SUM_W bits, frac G  (R5, R6)
 *   pre_x   = sat_G( s_x [+ rnd(p_x c, P + C - G)] )   x = 0, 1; peephole term: PEEPHOLE = 1 (R7)
 *   out_sig = sigmoid(pre_0), sigmoid(pre_1)           Q(act), ernn_act_pwl (R8)
 *   LSTM = 1:  out_mid = tanh(sat_G(s_2))  (g, Q(act)),   out_sum = s_3  (o, finished after c_t)
 *   LSTM = 0:  out_mid = sat_G(s_3)        (hn, Q(gate)), out_sum = s_2  (in, r hn added later)
 *
 * in_pass (c_{t-1}, h_{t-1}, peepholes that are needed later: the cell's choice) and in_user
 * ride along unchanged, so that everything the cell's back end needs leaves on one clock.
 *
 * Interface (ports, lane u at the lowest index first, fields LSB first):
 *   in_y    y[x][u]  at (x*LANES + u)*IFFT_OUT_W     Q(ifft_out), the gates' matvec outputs
 *   in_b    b[x][u]  at (x*LANES + u)*BIAS_W         Q(bias)
 *   in_p    p[x][u]  at (x*LANES + u)*PEEPHOLE_W     Q(peephole), x = 0, 1 (PEEPHOLE = 1)
 *   in_c    c[u]     at u*CELL_W                     Q(cell), peephole operand (PEEPHOLE = 1)
 *   in_pass, in_user, in_valid                       carried to out_pass, out_user, out_valid
 *   out_sig sigmoid(pre_x)[u] at (x*LANES + u)*ACT_W Q(act), x = 0, 1
 *   out_mid [u] at u*MID_W                           MID_W = ACT_W (LSTM = 1), GATE_W (LSTM = 0)
 *   out_sum s[u] at u*SUM_W                          frac G, exact
 * SUM_W is derived (the exact word of s_x) and must equal max(rnd_w(IFFT_OUT_W, I - G),
 * rnd_w(BIAS_W, Bf - G)) + 1 with rnd_w of ernn_cell_rnd; the cells pass their own value and
 * elaboration stops if the two disagree.
 *
 * Pipeline: LATENCY 6 clocks of ce (stall-all clock enable; data registers are not reset,
 * rst clears the valid bits): 1 exact sums s_x, peephole products p_x c; 2 pre_0, pre_1
 * and the saturated third gate; 3-6 the activations (ernn_act_pwl, LATENCY 4), whose
 * sideband carries out_sum, out_pass, out_user (and out_mid for LSTM = 0). valid and the
 * sideband of levels 1-2 are an ernn_delay.
 *
 * Resources per lane: 2 x (ACT_SLOPE_W x (B + 1)) interpolation multipliers for the
 * sigmoids, one more for the tanh (LSTM = 1), 2 x PEEPHOLE_W x CELL_W with PEEPHOLE = 1;
 * tables: LANES sigmoid copies (two lanes of out_sig per dual-port copy), ceil(LANES/2)
 * tanh copies (LSTM = 1).
 */
module ernn_cell_front #
(
    // hidden units per beat
    parameter LANES = 1,
    // gate roles: 1 LSTM (i, f, g, o), 0 GRU (r, z, in, hn)
    parameter LSTM = 1,
    // 1: add the peephole terms rnd(p_x c) to gates 0 and 1
    parameter PEEPHOLE = 0,
    // matvec output y (ifft_out format, e.g. Q19.14)
    parameter IFFT_OUT_W = 19,
    parameter IFFT_OUT_F = 14,
    // biases (bias format, e.g. Q16.11)
    parameter BIAS_W = 16,
    parameter BIAS_F = 11,
    // gate pre-activation = activation input (gate format, e.g. Q16.11)
    parameter GATE_W = 16,
    parameter GATE_F = 11,
    // activation output word (act format, e.g. Q16.14)
    parameter ACT_W = 16,
    // activation slope table (act_slope format, e.g. Q18.13)
    parameter ACT_SLOPE_W = 18,
    parameter ACT_SLOPE_F = 13,
    // peephole weights (peephole format, e.g. Q16.12), read with PEEPHOLE = 1
    parameter PEEPHOLE_W = 16,
    parameter PEEPHOLE_F = 12,
    // peephole operand c (cell format, e.g. Q24.16), read with PEEPHOLE = 1
    parameter CELL_W = 24,
    parameter CELL_F = 16,
    // sigmoid table: input range 2**RANGE_LOG2, 2**SEG_BITS segments, $readmemh files
    parameter SIGMOID_RANGE_LOG2 = 4,
    parameter SIGMOID_SEG_BITS = 10,
    parameter SIGMOID_VALUE_FILE = "",
    parameter SIGMOID_SLOPE_FILE = "",
    // tanh table (LSTM = 1)
    parameter TANH_RANGE_LOG2 = 3,
    parameter TANH_SEG_BITS = 10,
    parameter TANH_VALUE_FILE = "",
    parameter TANH_SLOPE_FILE = "",
    // word of the data carried from in_pass to out_pass
    parameter PASS_W = 1,
    // sideband carried from in_user to out_user
    parameter USER_W = 1,
    // exact sum word s_x (derived: 18 at the default formats; the cells pass their value)
    parameter SUM_W = 18,
    // out_mid word (derived; do not override)
    parameter MID_W = LSTM ? ACT_W : GATE_W
)
(
    input  wire                          clk,
    input  wire                          rst,
    input  wire                          ce,

    input  wire [4*LANES*IFFT_OUT_W-1:0] in_y,
    input  wire [4*LANES*BIAS_W-1:0]     in_b,
    input  wire [2*LANES*PEEPHOLE_W-1:0] in_p,
    input  wire [LANES*CELL_W-1:0]       in_c,
    input  wire [PASS_W-1:0]             in_pass,
    input  wire                          in_valid,
    input  wire [USER_W-1:0]             in_user,

    output wire [2*LANES*ACT_W-1:0]      out_sig,
    output wire [LANES*MID_W-1:0]        out_mid,
    output wire [LANES*SUM_W-1:0]        out_sum,
    output wire [PASS_W-1:0]             out_pass,
    output wire                          out_valid,
    output wire [USER_W-1:0]             out_user
);

function integer max2(input integer a, input integer b);
    begin
        max2 = a > b ? a : b;
    end
endfunction

// exact word of rnd(v, s) for a w-bit v (ernn_cell_rnd)
function integer rnd_w(input integer w, input integer s);
    begin
        rnd_w = s > 0 ? max2(w, s + 1) + 1 - s : w - s;
    end
endfunction

// R5: y -> gate frac
localparam SH_Y = IFFT_OUT_F - GATE_F;
localparam YA_W = rnd_w(IFFT_OUT_W, SH_Y);
// R6: bias -> gate frac
localparam SH_B = BIAS_F - GATE_F;
localparam BA_W = rnd_w(BIAS_W, SH_B);
// exact sum rnd(y) + rnd(b), gate frac
localparam YB_W = max2(YA_W, BA_W) + 1;
// R7: peephole product p * c (frac P + C) -> gate frac
localparam PC_W = PEEPHOLE_W + CELL_W;
localparam SH_P = PEEPHOLE_F + CELL_F - GATE_F;
localparam PT_W = rnd_w(PC_W, SH_P);
// pre-activation sum of gates 0 and 1 before saturation
localparam PRE_W = PEEPHOLE ? max2(YB_W, PT_W) + 1 : YB_W;
// gate carried unsaturated (LSTM o, GRU in) and gate saturated for out_mid (LSTM g, GRU hn)
localparam SUM_GATE = LSTM ? 3 : 2;
localparam MID_GATE = LSTM ? 2 : 3;
// register levels before the activations
localparam PRE_LEVELS = 2;
// word of one lane's level-2 data carried through the sigmoid unit: s (and the GRU's hn)
localparam LANE_SIDE_W = SUM_W + (LSTM ? 0 : GATE_W);
// sideband of the sigmoid unit: {lanes' s [and hn], pass, user}
localparam SIDE_W = USER_W + PASS_W + LANES * LANE_SIDE_W;

// check configuration
initial begin
    if (LANES < 1 || USER_W < 1 || PASS_W < 1) begin
        $error("Error: ernn_cell_front needs LANES, USER_W, PASS_W >= 1 (got %0d, %0d, %0d)", LANES, USER_W, PASS_W);
        $finish;
    end
    if (LSTM != 0 && LSTM != 1) begin
        $error("Error: ernn_cell_front LSTM must be 0 or 1 (got %0d)", LSTM);
        $finish;
    end
    if (PEEPHOLE != 0 && PEEPHOLE != 1) begin
        $error("Error: ernn_cell_front PEEPHOLE must be 0 or 1 (got %0d)", PEEPHOLE);
        $finish;
    end
    if (GATE_W < 4 || GATE_F < 0 || GATE_F > GATE_W - 2) begin
        $error("Error: ernn_cell_front GATE_F (%0d) must be in [0, GATE_W - 2] with GATE_W >= 4 (got GATE_W=%0d)",
            GATE_F, GATE_W);
        $finish;
    end
    if (IFFT_OUT_W < 2 || BIAS_W < 2 || PEEPHOLE_W < 2 || CELL_W < 2) begin
        $error("Error: ernn_cell_front IFFT_OUT_W, BIAS_W, PEEPHOLE_W, CELL_W must be >= 2 (got %0d, %0d, %0d, %0d)",
            IFFT_OUT_W, BIAS_W, PEEPHOLE_W, CELL_W);
        $finish;
    end
    if (SUM_W != YB_W) begin
        $error("Error: ernn_cell_front SUM_W (%0d) must be the exact word of rnd(y) + rnd(b) = %0d", SUM_W, YB_W);
        $finish;
    end
    if (MID_W != (LSTM ? ACT_W : GATE_W)) begin
        $error("Error: ernn_cell_front MID_W is derived; do not override it");
        $finish;
    end
end

// the peephole inputs are read only with PEEPHOLE = 1
/* verilator lint_off UNUSEDSIGNAL */
wire unused_peephole = &{1'b0, in_p, in_c};
/* verilator lint_on UNUSEDSIGNAL */

// valid, pass and user at level 2
wire valid_2;
wire [PASS_W-1:0] pass_2;
wire [USER_W-1:0] user_2;

ernn_delay #(
    .DEPTH(PRE_LEVELS),
    .WIDTH(PASS_W + USER_W)
)
delay_inst (
    .clk(clk),
    .rst(rst),
    .en(ce),
    .in_valid(in_valid),
    .in_data({in_pass, in_user}),
    .out_valid(valid_2),
    .out_data({pass_2, user_2})
);

// activation inputs, lane-packed, and the sigmoid unit's sideband
wire [2*LANES*GATE_W-1:0] pre_sig_2;  // {pre_1, pre_0}, Q(gate)
wire [LANES*GATE_W-1:0] pre_mid_2;    // sat_G(s_MID_GATE), Q(gate)
wire [SIDE_W-1:0] side_2, side_6;

assign side_2[USER_W + PASS_W - 1:0] = {pass_2, user_2};
assign out_user = side_6[USER_W-1:0];
assign out_pass = side_6[USER_W +: PASS_W];

genvar l, x;

generate

for (l = 0; l < LANES; l = l + 1) begin : g_lane
    // ---- level 1: exact sums of the four gates ----------------------------------------------
    for (x = 0; x < 4; x = x + 1) begin : g_gate
        wire [YA_W-1:0] ya;  // rnd(y_x, I - G), gate frac
        wire [BA_W-1:0] ba;  // rnd(b_x, Bf - G), gate frac
        ernn_cell_rnd #(.IN_W(IFFT_OUT_W), .SHIFT(SH_Y), .OUT_W(YA_W))
        y_rnd_inst (.in(in_y[(x*LANES + l)*IFFT_OUT_W +: IFFT_OUT_W]), .out(ya));
        ernn_cell_rnd #(.IN_W(BIAS_W), .SHIFT(SH_B), .OUT_W(BA_W))
        b_rnd_inst (.in(in_b[(x*LANES + l)*BIAS_W +: BIAS_W]), .out(ba));

        reg [YB_W-1:0] yb_1_reg;  // rnd(y_x) + rnd(b_x), exact, gate frac

        always @(posedge clk) begin
            if (ce) begin
                yb_1_reg <= $signed({{(YB_W-YA_W){ya[YA_W-1]}}, ya})
                          + $signed({{(YB_W-BA_W){ba[BA_W-1]}}, ba});
            end
        end
    end

    // ---- level 2: pre_0, pre_1 (peephole terms added), the saturated mid gate ----------------
    wire [2*PRE_W-1:0] pre_sum;  // {gate 1, gate 0} sums before saturation, gate frac

    for (x = 0; x < 2; x = x + 1) begin : g_sig_gate
        wire [YB_W-1:0] yb = g_gate[x].yb_1_reg;

        if (PEEPHOLE) begin : g_peep
            wire [CELL_W-1:0] c = in_c[l*CELL_W +: CELL_W];                              // Q(cell)
            wire [PEEPHOLE_W-1:0] p = in_p[(x*LANES + l)*PEEPHOLE_W +: PEEPHOLE_W];      // Q(peephole)
            wire [PC_W-1:0] c_x = {{PEEPHOLE_W{c[CELL_W-1]}}, c};
            wire [PC_W-1:0] p_x = {{CELL_W{p[PEEPHOLE_W-1]}}, p};
            reg [PC_W-1:0] pc_1_reg;  // p_x c, frac P + C
            wire [PT_W-1:0] pt;       // rnd(p_x c, P + C - G), gate frac

            always @(posedge clk) begin
                if (ce) begin
                    pc_1_reg <= $signed(p_x) * $signed(c_x);
                end
            end

            ernn_cell_rnd #(.IN_W(PC_W), .SHIFT(SH_P), .OUT_W(PT_W))
            p_rnd_inst (.in(pc_1_reg), .out(pt));

            assign pre_sum[x*PRE_W +: PRE_W] = $signed({{(PRE_W-YB_W){yb[YB_W-1]}}, yb})
                                             + $signed({{(PRE_W-PT_W){pt[PT_W-1]}}, pt});
        end else begin : g_plain
            assign pre_sum[x*PRE_W +: PRE_W] = yb;
        end
    end

    wire [GATE_W-1:0] pre_0, pre_1, pre_mid;  // Q(gate)
    ernn_cell_rnd #(.IN_W(PRE_W), .SHIFT(0), .OUT_W(GATE_W))
    pre_0_inst (.in(pre_sum[0 +: PRE_W]), .out(pre_0));
    ernn_cell_rnd #(.IN_W(PRE_W), .SHIFT(0), .OUT_W(GATE_W))
    pre_1_inst (.in(pre_sum[PRE_W +: PRE_W]), .out(pre_1));
    ernn_cell_rnd #(.IN_W(YB_W), .SHIFT(0), .OUT_W(GATE_W))
    pre_mid_inst (.in(g_gate[MID_GATE].yb_1_reg), .out(pre_mid));

    reg [GATE_W-1:0] pre_0_2_reg, pre_1_2_reg, pre_mid_2_reg;  // Q(gate)
    reg [YB_W-1:0] sum_2_reg;                                  // s_SUM_GATE, gate frac

    always @(posedge clk) begin
        if (ce) begin
            pre_0_2_reg <= pre_0;
            pre_1_2_reg <= pre_1;
            pre_mid_2_reg <= pre_mid;
            sum_2_reg <= g_gate[SUM_GATE].yb_1_reg;
        end
    end

    assign pre_sig_2[l*GATE_W +: GATE_W] = pre_0_2_reg;
    assign pre_sig_2[(LANES + l)*GATE_W +: GATE_W] = pre_1_2_reg;
    assign pre_mid_2[l*GATE_W +: GATE_W] = pre_mid_2_reg;

    // ---- levels 3-6: the lane's share of the sigmoid unit's sideband --------------------------
    localparam SIDE_OFF = USER_W + PASS_W + l * LANE_SIDE_W;
    assign side_2[SIDE_OFF +: SUM_W] = sum_2_reg;
    assign out_sum[l*SUM_W +: SUM_W] = side_6[SIDE_OFF +: SUM_W];
    if (!LSTM) begin : g_mid_side
        // GRU: hn rides along to the back end
        assign side_2[SIDE_OFF + SUM_W +: GATE_W] = pre_mid_2[l*GATE_W +: GATE_W];
        assign out_mid[l*MID_W +: MID_W] = side_6[SIDE_OFF + SUM_W +: GATE_W];
    end
end

endgenerate

// ---- activations --------------------------------------------------------------------------------
ernn_act_pwl #(
    .LANES(2 * LANES),
    .IN_W(GATE_W),
    .IN_F(GATE_F),
    .OUT_W(ACT_W),
    .SLOPE_W(ACT_SLOPE_W),
    .SLOPE_F(ACT_SLOPE_F),
    .RANGE_LOG2(SIGMOID_RANGE_LOG2),
    .SEG_BITS(SIGMOID_SEG_BITS),
    .VALUE_FILE(SIGMOID_VALUE_FILE),
    .SLOPE_FILE(SIGMOID_SLOPE_FILE),
    .USER_W(SIDE_W)
)
sigmoid_inst (
    .clk(clk),
    .rst(rst),
    .ce(ce),
    .in_x(pre_sig_2),
    .in_valid(valid_2),
    .in_user(side_2),
    .out_y(out_sig),
    .out_valid(out_valid),
    .out_user(side_6)
);

generate

if (LSTM) begin : g_tanh
    // the sigmoid unit carries valid and the sideband; its tanh twin runs in lockstep (same
    // enable, same valid), so the twin's valid and sideband outputs are not needed
    /* verilator lint_off UNUSEDSIGNAL */
    wire tanh_valid;
    wire tanh_user;
    /* verilator lint_on UNUSEDSIGNAL */

    ernn_act_pwl #(
        .LANES(LANES),
        .IN_W(GATE_W),
        .IN_F(GATE_F),
        .OUT_W(ACT_W),
        .SLOPE_W(ACT_SLOPE_W),
        .SLOPE_F(ACT_SLOPE_F),
        .RANGE_LOG2(TANH_RANGE_LOG2),
        .SEG_BITS(TANH_SEG_BITS),
        .VALUE_FILE(TANH_VALUE_FILE),
        .SLOPE_FILE(TANH_SLOPE_FILE),
        .USER_W(1)
    )
    tanh_inst (
        .clk(clk),
        .rst(rst),
        .ce(ce),
        .in_x(pre_mid_2),
        .in_valid(valid_2),
        .in_user(1'b0),
        .out_y(out_mid),
        .out_valid(tanh_valid),
        .out_user(tanh_user)
    );
end

endgenerate

endmodule

`resetall
