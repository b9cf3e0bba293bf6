/*

E-RNN toolkit: LSTM cell update (element-wise, after the circulant matvecs), pipelined

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * LANES hidden units per beat, bit-exact with ernn.golden.cells.lstm_cell (PyTorch nn.LSTM,
 * gate order i, f, g, o; docs/numerics.md sections 9-11). With I = IFFT_OUT_F, Bf = BIAS_F,
 * G = GATE_F, A = ACT_F, C = CELL_F, P = PEEPHOLE_F, D = DATA_F, rnd = round half up,
 * sat_X = clamp to format X (never wrap):
 *
 *   pre_x = sat_G( rnd(y_x, I - G) + rnd(b_x, Bf - G) [+ rnd(p_x * c, P + C - G)] )   (R5, R6, R7)
 *           c = c_{t-1} for i and f, c = c_t for o; the peephole term only with PEEPHOLE = 1
 *   i, f, o = sigmoid(pre_i, pre_f, pre_o),  g = tanh(pre_g)                          (Q(act), R8)
 *   c_t   = sat_C( rnd( (f c_{t-1}) << (F - A - C) + (i g) << (F - 2A), F - C ) ),
 *           F = max(A + C, 2A): both exact products summed, one rounding               (R9)
 *   h_t   = sat_D( rnd( o * tanh( sat_G(rnd(c_t, C - G)) ), 2A - D ) )                (R10, R11)
 *
 * h_t is m_t of the golden model (the projection, if any, is another circulant matvec).
 * sigmoid and tanh are ernn_act_pwl units reading the exporter's tables.
 *
 * Interface (AXI-Stream, one beat = LANES units u = 0..LANES-1; fields packed LSB first):
 *   s_axis_tdata  y[x][u]    at  (x*LANES + u)*IFFT_OUT_W             Q(ifft_out), x = i, f, g, o
 *                 b[x][u]    at  B_OFF + (x*LANES + u)*BIAS_W         Q(bias), merged b_ih + b_hh
 *                 c[u]       at  C_OFF + u*CELL_W                     Q(cell), c_{t-1}
 *                 p[x][u]    at  P_OFF + (x*LANES + u)*PEEPHOLE_W     Q(peephole), x = i, f, o
 *                                                                     (PEEPHOLE = 1 only)
 *   m_axis_tdata  h[u]       at  u*DATA_W                             Q(data), h_t
 *                 c[u]       at  LANES*DATA_W + u*CELL_W              Q(cell), c_t
 *   s_axis_tuser -> m_axis_tuser: sideband (unit index, last flag, ...) carried along.
 * Widths: s_axis_tdata 4 LANES (IFFT_OUT_W + BIAS_W) + LANES CELL_W [+ 3 LANES PEEPHOLE_W],
 * m_axis_tdata LANES (DATA_W + CELL_W); the field offsets are the localparams B_OFF, C_OFF, P_OFF.
 *
 * Pipeline: initiation interval 1, LATENCY = 16 clocks (for both PEEPHOLE settings):
 *   1  exact sums rnd(y) + rnd(b); peephole products p_i c, p_f c
 *   2  pre_i, pre_f, pre_g (add the peephole terms, saturate)
 *   3-6  sigmoid(i, f), tanh(g)                    (ernn_act_pwl, LATENCY 4)
 *      (levels 1-6: ernn_cell_front with LSTM = 1, the front stage shared with ernn_gru_cell)
 *   7  products f c_{t-1}, i g
 *   8  c_t (one rounding, saturation)
 *   9  peephole product p_o c_t
 *   10 pre_o; tanh input sat_G(rnd(c_t))
 *   11-14 sigmoid(o), tanh(c_t)                    (ernn_act_pwl)
 *   15 product o tanh(c_t)
 *   16 h_t (one rounding, saturation)
 * Stall-all flow control: every register advances while m_axis_tready || !m_axis_tvalid,
 * and s_axis_tready is that enable. Data registers are not reset; rst clears the valid bits
 * (valid and tuser of levels 7-10 and 15-16, with c_t in 15-16, are ernn_delay lines).
 *
 * Resources per lane: multipliers f*c (ACT_W x CELL_W), i*g and o*tanh (ACT_W x ACT_W),
 * with PEEPHOLE three more (PEEPHOLE_W x CELL_W), plus one SLOPE_W x (B + 1) multiplier
 * per activation lookup (five lookups: 3 sigmoid, 2 tanh); at the 16-bit default 16x24,
 * 16x16, 16x16 (+ 3 x 16x24) and 5 x 18x7. Tables (each 2**SEG_BITS x (ACT_W + ACT_SLOPE_W)
 * bits, dual-port ROM shared by two lookups): sigmoid i/f LANES copies, sigmoid o
 * ceil(LANES/2), tanh g ceil(LANES/2), tanh c ceil(LANES/2); LANES = 1: 2 sigmoid + 2 tanh.
 */
module ernn_lstm_cell #
(
    // hidden units per beat
    parameter LANES = 1,
    // 1: diagonal peepholes p_i, p_f (on c_{t-1}) and p_o (on c_t)
    parameter PEEPHOLE = 0,
    // h_t word and fraction bits (data format, e.g. Q16.12)
    parameter DATA_W = 16,
    parameter DATA_F = 12,
    // matvec output y (ifft_out format, e.g. Q19.14)
    parameter IFFT_OUT_W = 19,
    parameter IFFT_OUT_F = 14,
    // merged biases (bias format, e.g. Q16.11)
    parameter BIAS_W = 16,
    parameter BIAS_F = 11,
    // gate pre-activation = activation input (gate format, e.g. Q16.11)
    parameter GATE_W = 16,
    parameter GATE_F = 11,
    // activation output (act format, e.g. Q16.14)
    parameter ACT_W = 16,
    parameter ACT_F = 14,
    // activation slope table (act_slope format, e.g. Q18.13)
    parameter ACT_SLOPE_W = 18,
    parameter ACT_SLOPE_F = 13,
    // peephole weights (peephole format, e.g. Q16.12)
    parameter PEEPHOLE_W = 16,
    parameter PEEPHOLE_F = 12,
    // cell state (cell format, e.g. Q24.16)
    parameter CELL_W = 24,
    parameter CELL_F = 16,
    // sigmoid table: input range 2**RANGE_LOG2, 2**SEG_BITS segments, $readmemh files
    parameter SIGMOID_RANGE_LOG2 = 4,
    parameter SIGMOID_SEG_BITS = 10,
    parameter SIGMOID_VALUE_FILE = "",
    parameter SIGMOID_SLOPE_FILE = "",
    // tanh table
    parameter TANH_RANGE_LOG2 = 3,
    parameter TANH_SEG_BITS = 10,
    parameter TANH_VALUE_FILE = "",
    parameter TANH_SLOPE_FILE = "",
    // sideband carried from s_axis_tuser to m_axis_tuser
    parameter USER_W = 1
)
(
    input  wire                        clk,
    input  wire                        rst,

    input  wire [4*LANES*(IFFT_OUT_W+BIAS_W)+LANES*CELL_W+PEEPHOLE*3*LANES*PEEPHOLE_W-1:0] s_axis_tdata,
    input  wire [USER_W-1:0]           s_axis_tuser,
    input  wire                        s_axis_tvalid,
    output wire                        s_axis_tready,

    output wire [LANES*(DATA_W+CELL_W)-1:0] m_axis_tdata,
    output wire [USER_W-1:0]           m_axis_tuser,
    output wire                        m_axis_tvalid,
    input  wire                        m_axis_tready
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

// input fields (see the header)
localparam B_OFF = 4 * LANES * IFFT_OUT_W;
localparam C_OFF = B_OFF + 4 * LANES * BIAS_W;
localparam P_OFF = C_OFF + LANES * CELL_W;

// clocks from s_axis to m_axis: documents the stage list of the header for instantiating code
// (the levels are spelled out below, so nothing here reads it)
/* verilator lint_off UNUSEDPARAM */
localparam LATENCY = 16;
/* verilator lint_on UNUSEDPARAM */

// R5: y -> gate frac
localparam SH_Y = IFFT_OUT_F - GATE_F;
localparam YA_W = rnd_w(IFFT_OUT_W, SH_Y);
// R6: bias -> gate frac
localparam SH_B = BIAS_F - GATE_F;
localparam BA_W = rnd_w(BIAS_W, SH_B);
// exact sum rnd(y) + rnd(b), gate frac (ernn_cell_front's SUM_W)
localparam YB_W = max2(YA_W, BA_W) + 1;
// R7: peephole product p * c (frac P + C) -> gate frac
localparam PC_W = PEEPHOLE_W + CELL_W;
localparam SH_P = PEEPHOLE_F + CELL_F - GATE_F;
localparam PT_W = rnd_w(PC_W, SH_P);
// pre_o sum before saturation
localparam PRE_W = max2(YB_W, PT_W) + 1;
// R9: f c_{t-1} (frac A + C) and i g (frac 2A) at the common frac F = max(A + C, 2A)
localparam TOP_F = max2(ACT_F + CELL_F, 2 * ACT_F);
localparam FC_W = ACT_W + CELL_W;
localparam IG_W = 2 * ACT_W;
localparam FCS_W = FC_W + TOP_F - ACT_F - CELL_F;
localparam IGS_W = IG_W + TOP_F - 2 * ACT_F;
localparam CS_W = max2(FCS_W, IGS_W) + 1;
localparam SH_C = TOP_F - CELL_F;
// R10: c_t -> gate frac (tanh input)
localparam SH_T = CELL_F - GATE_F;
// R11: o * tanh(c) (frac 2A) -> data frac
localparam OT_W = 2 * ACT_W;
localparam SH_H = 2 * ACT_F - DATA_F;
// data carried through the front stage, per lane: {p_o (PEEPHOLE = 1 only), c_{t-1}}
localparam LANE_PASS_W = CELL_W + PEEPHOLE * PEEPHOLE_W;
localparam PASS_W = LANES * LANE_PASS_W;
// sideband through the second activation stage: {c_t, user}
localparam U2_W = USER_W + LANES * CELL_W;

// check configuration
initial begin
    if (LANES < 1) begin
        $error("Error: ernn_lstm_cell LANES must be >= 1 (got %0d)", LANES);
        $finish;
    end
    if (PEEPHOLE != 0 && PEEPHOLE != 1) begin
        $error("Error: ernn_lstm_cell PEEPHOLE must be 0 or 1 (got %0d)", PEEPHOLE);
        $finish;
    end
    if (USER_W < 1) begin
        $error("Error: ernn_lstm_cell USER_W must be >= 1 (got %0d)", USER_W);
        $finish;
    end
    if (GATE_W < 4 || GATE_F < 0 || GATE_F > GATE_W - 2) begin
        $error("Error: ernn_lstm_cell GATE_F (%0d) must be in [0, GATE_W - 2] with GATE_W >= 4 (got GATE_W=%0d)",
            GATE_F, GATE_W);
        $finish;
    end
    if (ACT_W < 4 || ACT_F < 1 || ACT_F > ACT_W - 2) begin
        $error("Error: ernn_lstm_cell ACT_F (%0d) must be in [1, ACT_W - 2] with ACT_W >= 4 (got ACT_W=%0d; +-1.0 must be exact)",
            ACT_F, ACT_W);
        $finish;
    end
    if (CELL_W < 4 || CELL_F < 0 || CELL_F > CELL_W - 2) begin
        $error("Error: ernn_lstm_cell CELL_F (%0d) must be in [0, CELL_W - 2] with CELL_W >= 4 (got CELL_W=%0d)",
            CELL_F, CELL_W);
        $finish;
    end
    if (DATA_W < 2 || IFFT_OUT_W < 2 || BIAS_W < 2 || PEEPHOLE_W < 2) begin
        $error("Error: ernn_lstm_cell DATA_W, IFFT_OUT_W, BIAS_W, PEEPHOLE_W must be >= 2 (got %0d, %0d, %0d, %0d)",
            DATA_W, IFFT_OUT_W, BIAS_W, PEEPHOLE_W);
        $finish;
    end
end

// global pipeline enable: stall everything while the output is held
wire en = m_axis_tready || !m_axis_tvalid;

assign s_axis_tready = en;

// ---- levels 1-6: gate pre-activations, sigmoid(i), sigmoid(f), tanh(g) (ernn_cell_front) ----------
wire [PASS_W-1:0] pass_0;            // {p_o, c_{t-1}} per lane
wire [2*LANES*PEEPHOLE_W-1:0] p_if;  // {p_f, p_i}, Q(peephole) (zero without peepholes)
wire [2*LANES*ACT_W-1:0] act_if_6;   // {f, i}, Q(act)
wire [LANES*ACT_W-1:0] act_g_6;      // Q(act)
wire [LANES*YB_W-1:0] yb_o_6;        // rnd(y_o) + rnd(b_o), gate frac
wire [PASS_W-1:0] pass_6;
wire valid_6;
wire [USER_W-1:0] user_6;

ernn_cell_front #(
    .LANES(LANES),
    .LSTM(1),
    .PEEPHOLE(PEEPHOLE),
    .IFFT_OUT_W(IFFT_OUT_W),
    .IFFT_OUT_F(IFFT_OUT_F),
    .BIAS_W(BIAS_W),
    .BIAS_F(BIAS_F),
    .GATE_W(GATE_W),
    .GATE_F(GATE_F),
    .ACT_W(ACT_W),
    .ACT_SLOPE_W(ACT_SLOPE_W),
    .ACT_SLOPE_F(ACT_SLOPE_F),
    .PEEPHOLE_W(PEEPHOLE_W),
    .PEEPHOLE_F(PEEPHOLE_F),
    .CELL_W(CELL_W),
    .CELL_F(CELL_F),
    .SIGMOID_RANGE_LOG2(SIGMOID_RANGE_LOG2),
    .SIGMOID_SEG_BITS(SIGMOID_SEG_BITS),
    .SIGMOID_VALUE_FILE(SIGMOID_VALUE_FILE),
    .SIGMOID_SLOPE_FILE(SIGMOID_SLOPE_FILE),
    .TANH_RANGE_LOG2(TANH_RANGE_LOG2),
    .TANH_SEG_BITS(TANH_SEG_BITS),
    .TANH_VALUE_FILE(TANH_VALUE_FILE),
    .TANH_SLOPE_FILE(TANH_SLOPE_FILE),
    .PASS_W(PASS_W),
    .USER_W(USER_W),
    .SUM_W(YB_W)
)
front_inst (
    .clk(clk),
    .rst(rst),
    .ce(en),
    .in_y(s_axis_tdata[0 +: 4*LANES*IFFT_OUT_W]),
    .in_b(s_axis_tdata[B_OFF +: 4*LANES*BIAS_W]),
    .in_p(p_if),
    .in_c(s_axis_tdata[C_OFF +: LANES*CELL_W]),
    .in_pass(pass_0),
    .in_valid(s_axis_tvalid),
    .in_user(s_axis_tuser),
    .out_sig(act_if_6),
    .out_mid(act_g_6),
    .out_sum(yb_o_6),
    .out_pass(pass_6),
    .out_valid(valid_6),
    .out_user(user_6)
);

// valid and sideband of levels 7-10 (c_t joins the sideband at level 10)
wire valid_10;
wire [USER_W-1:0] user_10;

ernn_delay #(
    .DEPTH(4),
    .WIDTH(USER_W)
)
mid_delay_inst (
    .clk(clk),
    .rst(rst),
    .en(en),
    .in_valid(valid_6),
    .in_data(user_6),
    .out_valid(valid_10),
    .out_data(user_10)
);

// second activation stage: inputs, outputs and sideband {c_t, user}
wire [LANES*GATE_W-1:0] pre_o_10;     // Q(gate)
wire [LANES*GATE_W-1:0] tanh_in_10;   // sat_G(rnd(c_t)), Q(gate)
wire [LANES*ACT_W-1:0] act_o_14;      // Q(act)
wire [LANES*ACT_W-1:0] act_tc_14;     // tanh(c_t), Q(act)
wire valid_14;
wire [U2_W-1:0] side_10, side_14, side_16;

assign side_10[USER_W-1:0] = user_10;

// valid and sideband of levels 15-16: c_t rides to the output beside o tanh(c_t)
ernn_delay #(
    .DEPTH(2),
    .WIDTH(U2_W)
)
out_delay_inst (
    .clk(clk),
    .rst(rst),
    .en(en),
    .in_valid(valid_14),
    .in_data(side_14),
    .out_valid(m_axis_tvalid),
    .out_data(side_16)
);

assign m_axis_tuser = side_16[USER_W-1:0];

genvar l;

generate

if (PEEPHOLE) begin : g_p_if
    assign p_if = s_axis_tdata[P_OFF +: 2*LANES*PEEPHOLE_W];
end else begin : g_no_p_if
    assign p_if = {2*LANES*PEEPHOLE_W{1'b0}};
end

for (l = 0; l < LANES; l = l + 1) begin : g_lane
    // ---- data carried through the front: c_{t-1} [and p_o] ------------------------------------
    assign pass_0[l*LANE_PASS_W +: CELL_W] = s_axis_tdata[C_OFF + l*CELL_W +: CELL_W];
    if (PEEPHOLE) begin : g_pass_p_o
        assign pass_0[l*LANE_PASS_W + CELL_W +: PEEPHOLE_W] =
            s_axis_tdata[P_OFF + (2*LANES + l)*PEEPHOLE_W +: PEEPHOLE_W];
    end

    // ---- levels 7-8: c_t ------------------------------------------------------------------------
    wire [ACT_W-1:0] i_6 = act_if_6[l*ACT_W +: ACT_W];                // Q(act)
    wire [ACT_W-1:0] f_6 = act_if_6[(LANES + l)*ACT_W +: ACT_W];      // Q(act)
    wire [ACT_W-1:0] g_6 = act_g_6[l*ACT_W +: ACT_W];                 // Q(act)
    wire [CELL_W-1:0] c_prev_6 = pass_6[l*LANE_PASS_W +: CELL_W];     // c_{t-1}, Q(cell)

    wire [FC_W-1:0] f_x = {{CELL_W{f_6[ACT_W-1]}}, f_6};
    wire [FC_W-1:0] c_prev_x = {{ACT_W{c_prev_6[CELL_W-1]}}, c_prev_6};
    wire [IG_W-1:0] i_x = {{ACT_W{i_6[ACT_W-1]}}, i_6};
    wire [IG_W-1:0] g_x = {{ACT_W{g_6[ACT_W-1]}}, g_6};

    reg [FC_W-1:0] fc_7_reg;     // f c_{t-1}, frac A + C
    reg [IG_W-1:0] ig_7_reg;     // i g, frac 2A
    reg [YB_W-1:0] yb_o_7_reg;   // gate frac

    always @(posedge clk) begin
        if (en) begin
            fc_7_reg <= $signed(f_x) * $signed(c_prev_x);
            ig_7_reg <= $signed(i_x) * $signed(g_x);
            yb_o_7_reg <= yb_o_6[l*YB_W +: YB_W];
        end
    end

    // both products at frac F, summed exactly, one rounding to C
    wire [CS_W-1:0] fc_s = {{(CS_W-FCS_W){fc_7_reg[FC_W-1]}}, fc_7_reg, {(TOP_F-ACT_F-CELL_F){1'b0}}};
    wire [CS_W-1:0] ig_s = {{(CS_W-IGS_W){ig_7_reg[IG_W-1]}}, ig_7_reg, {(TOP_F-2*ACT_F){1'b0}}};
    wire [CS_W-1:0] c_sum = fc_s + ig_s;
    wire [CELL_W-1:0] c_new;  // c_t, Q(cell)
    ernn_cell_rnd #(.IN_W(CS_W), .SHIFT(SH_C), .OUT_W(CELL_W))
    c_rnd_inst (.in(c_sum), .out(c_new));

    reg [CELL_W-1:0] c_8_reg;    // c_t, Q(cell)
    reg [YB_W-1:0] yb_o_8_reg;

    always @(posedge clk) begin
        if (en) begin
            c_8_reg <= c_new;
            yb_o_8_reg <= yb_o_7_reg;
        end
    end

    // ---- levels 9-10: pre_o (peephole on c_t) and the tanh input --------------------------------
    reg [CELL_W-1:0] c_9_reg;    // c_t, Q(cell)
    reg [YB_W-1:0] yb_o_9_reg;
    wire [PRE_W-1:0] pre_sum_o;

    always @(posedge clk) begin
        if (en) begin
            c_9_reg <= c_8_reg;
            yb_o_9_reg <= yb_o_8_reg;
        end
    end

    if (PEEPHOLE) begin : g_peep_o
        reg [PEEPHOLE_W-1:0] p_o_7_reg, p_o_8_reg;  // Q(peephole)

        always @(posedge clk) begin
            if (en) begin
                p_o_7_reg <= pass_6[l*LANE_PASS_W + CELL_W +: PEEPHOLE_W];
                p_o_8_reg <= p_o_7_reg;
            end
        end

        wire [PC_W-1:0] p_x = {{CELL_W{p_o_8_reg[PEEPHOLE_W-1]}}, p_o_8_reg};
        wire [PC_W-1:0] c_x = {{PEEPHOLE_W{c_8_reg[CELL_W-1]}}, c_8_reg};
        reg [PC_W-1:0] pc_9_reg;  // p_o c_t, frac P + C
        wire [PT_W-1:0] pt;       // rnd(p_o c_t, P + C - G), gate frac

        always @(posedge clk) begin
            if (en) begin
                pc_9_reg <= $signed(p_x) * $signed(c_x);
            end
        end

        ernn_cell_rnd #(.IN_W(PC_W), .SHIFT(SH_P), .OUT_W(PT_W))
        p_rnd_inst (.in(pc_9_reg), .out(pt));

        assign pre_sum_o = $signed({{(PRE_W-YB_W){yb_o_9_reg[YB_W-1]}}, yb_o_9_reg})
                         + $signed({{(PRE_W-PT_W){pt[PT_W-1]}}, pt});
    end else begin : g_no_peep_o
        assign pre_sum_o = {{(PRE_W-YB_W){yb_o_9_reg[YB_W-1]}}, yb_o_9_reg};
    end

    wire [GATE_W-1:0] pre_o;    // Q(gate)
    wire [GATE_W-1:0] tanh_in;  // sat_G(rnd(c_t, C - G)), Q(gate)
    ernn_cell_rnd #(.IN_W(PRE_W), .SHIFT(0), .OUT_W(GATE_W))
    pre_o_inst (.in(pre_sum_o), .out(pre_o));
    ernn_cell_rnd #(.IN_W(CELL_W), .SHIFT(SH_T), .OUT_W(GATE_W))
    tanh_in_inst (.in(c_9_reg), .out(tanh_in));

    reg [GATE_W-1:0] pre_o_10_reg, tanh_in_10_reg;  // Q(gate)
    reg [CELL_W-1:0] c_10_reg;                      // c_t, Q(cell)

    always @(posedge clk) begin
        if (en) begin
            pre_o_10_reg <= pre_o;
            tanh_in_10_reg <= tanh_in;
            c_10_reg <= c_9_reg;
        end
    end

    assign pre_o_10[l*GATE_W +: GATE_W] = pre_o_10_reg;
    assign tanh_in_10[l*GATE_W +: GATE_W] = tanh_in_10_reg;
    assign side_10[USER_W + l*CELL_W +: CELL_W] = c_10_reg;

    // ---- levels 15-16: h_t = o tanh(c_t) --------------------------------------------------------
    wire [ACT_W-1:0] o_14 = act_o_14[l*ACT_W +: ACT_W];    // Q(act)
    wire [ACT_W-1:0] tc_14 = act_tc_14[l*ACT_W +: ACT_W];  // Q(act)
    wire [OT_W-1:0] o_x = {{ACT_W{o_14[ACT_W-1]}}, o_14};
    wire [OT_W-1:0] tc_x = {{ACT_W{tc_14[ACT_W-1]}}, tc_14};

    reg [OT_W-1:0] ot_15_reg;   // o tanh(c_t), frac 2A

    always @(posedge clk) begin
        if (en) begin
            ot_15_reg <= $signed(o_x) * $signed(tc_x);
        end
    end

    wire [DATA_W-1:0] h_new;  // h_t, Q(data)
    ernn_cell_rnd #(.IN_W(OT_W), .SHIFT(SH_H), .OUT_W(DATA_W))
    h_rnd_inst (.in(ot_15_reg), .out(h_new));

    reg [DATA_W-1:0] h_16_reg;  // Q(data)

    always @(posedge clk) begin
        if (en) begin
            h_16_reg <= h_new;
        end
    end

    assign m_axis_tdata[l*DATA_W +: DATA_W] = h_16_reg;
    assign m_axis_tdata[LANES*DATA_W + l*CELL_W +: CELL_W] = side_16[USER_W + l*CELL_W +: CELL_W];  // c_t
end

endgenerate

// ---- activations of levels 11-14 ----------------------------------------------------------------
// the sigmoid unit carries valid and the sideband; its tanh twin runs in lockstep (same enable,
// same valid), so the twin's valid and sideband outputs are not needed
/* verilator lint_off UNUSEDSIGNAL */
wire tanh_c_valid;
wire tanh_c_user;
/* verilator lint_on UNUSEDSIGNAL */

ernn_act_pwl #(
    .LANES(LANES),
    .IN_W(GATE_W),
    .IN_F(GATE_F),
    .OUT_W(ACT_W),
    .SLOPE_W(ACT_SLOPE_W),
    .SLOPE_F(ACT_SLOPE_F),
    .RANGE_LOG2(SIGMOID_RANGE_LOG2),
    .SEG_BITS(SIGMOID_SEG_BITS),
    .VALUE_FILE(SIGMOID_VALUE_FILE),
    .SLOPE_FILE(SIGMOID_SLOPE_FILE),
    .USER_W(U2_W)
)
sigmoid_o_inst (
    .clk(clk),
    .rst(rst),
    .ce(en),
    .in_x(pre_o_10),
    .in_valid(valid_10),
    .in_user(side_10),
    .out_y(act_o_14),
    .out_valid(valid_14),
    .out_user(side_14)
);

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
tanh_c_inst (
    .clk(clk),
    .rst(rst),
    .ce(en),
    .in_x(tanh_in_10),
    .in_valid(valid_10),
    .in_user(1'b0),
    .out_y(act_tc_14),
    .out_valid(tanh_c_valid),
    .out_user(tanh_c_user)
);

endmodule

`resetall
