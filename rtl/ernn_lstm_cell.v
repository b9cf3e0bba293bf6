/*

E-RNN toolkit: LSTM cell update (element-wise, after the circulant matvecs), pipelined

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * LANES hidden units per beat, bit-exact with ernn.fixed.cells.lstm_cell (PyTorch nn.LSTM,
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
 *   7  products f c_{t-1}, i g
 *   8  c_t (one rounding, saturation)
 *   9  peephole product p_o c_t
 *   10 pre_o; tanh input sat_G(rnd(c_t))
 *   11-14 sigmoid(o), tanh(c_t)                    (ernn_act_pwl)
 *   15 product o tanh(c_t)
 *   16 h_t (one rounding, saturation)
 * Stall-all flow control: every register advances while m_axis_tready || !m_axis_tvalid,
 * and s_axis_tready is that enable. Data registers are not reset; rst clears the valid bits.
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
// exact sum rnd(y) + rnd(b), gate frac
localparam YB_W = max2(YA_W, BA_W) + 1;
// R7: peephole product p * c (frac P + C) -> gate frac
localparam PC_W = PEEPHOLE_W + CELL_W;
localparam SH_P = PEEPHOLE_F + CELL_F - GATE_F;
localparam PT_W = rnd_w(PC_W, SH_P);
// pre-activation sum before saturation
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
// peephole field word inside the pipeline (1 when absent: the registers are then unused)
localparam PW = PEEPHOLE ? PEEPHOLE_W : 1;
// sideband through the first activation stage: {p_o, rnd(y_o) + rnd(b_o), c_{t-1}, user}
localparam U1_W = USER_W + LANES * (CELL_W + YB_W + PW);
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

// valid and sideband of the register levels outside the activation units
reg valid_1_reg, valid_2_reg, valid_7_reg, valid_8_reg, valid_9_reg, valid_10_reg, valid_15_reg, valid_16_reg;
reg [USER_W-1:0] user_1_reg, user_2_reg, user_7_reg, user_8_reg, user_9_reg, user_10_reg, user_15_reg, user_16_reg;

// activation stage outputs: valid and sideband
wire valid_6, valid_14;
wire [U1_W-1:0] side_2, side_6;
wire [U2_W-1:0] side_10, side_14;

// activation inputs and outputs, lane-packed
wire [2*LANES*GATE_W-1:0] pre_if_2;   // {pre_f, pre_i}, Q(gate)
wire [LANES*GATE_W-1:0] pre_g_2;      // Q(gate)
wire [2*LANES*ACT_W-1:0] act_if_6;    // {f, i}, Q(act)
wire [LANES*ACT_W-1:0] act_g_6;       // Q(act)
wire [LANES*GATE_W-1:0] pre_o_10;     // Q(gate)
wire [LANES*GATE_W-1:0] tanh_in_10;   // sat_G(rnd(c_t)), Q(gate)
wire [LANES*ACT_W-1:0] act_o_14;      // Q(act)
wire [LANES*ACT_W-1:0] act_tc_14;     // tanh(c_t), Q(act)

always @(posedge clk) begin
    if (en) begin
        valid_1_reg <= s_axis_tvalid;
        valid_2_reg <= valid_1_reg;
        valid_7_reg <= valid_6;
        valid_8_reg <= valid_7_reg;
        valid_9_reg <= valid_8_reg;
        valid_10_reg <= valid_9_reg;
        valid_15_reg <= valid_14;
        valid_16_reg <= valid_15_reg;
        user_1_reg <= s_axis_tuser;
        user_2_reg <= user_1_reg;
        user_7_reg <= side_6[USER_W-1:0];
        user_8_reg <= user_7_reg;
        user_9_reg <= user_8_reg;
        user_10_reg <= user_9_reg;
        user_15_reg <= side_14[USER_W-1:0];
        user_16_reg <= user_15_reg;
    end

    if (rst) begin
        valid_1_reg <= 1'b0;
        valid_2_reg <= 1'b0;
        valid_7_reg <= 1'b0;
        valid_8_reg <= 1'b0;
        valid_9_reg <= 1'b0;
        valid_10_reg <= 1'b0;
        valid_15_reg <= 1'b0;
        valid_16_reg <= 1'b0;
    end
end

assign side_2[USER_W-1:0] = user_2_reg;
assign side_10[USER_W-1:0] = user_10_reg;
assign m_axis_tvalid = valid_16_reg;
assign m_axis_tuser = user_16_reg;

genvar l, x;

generate

for (l = 0; l < LANES; l = l + 1) begin : g_lane
    // ---- levels 1-2: gate pre-activations i, f, g and the o sum ------------------------------
    wire [CELL_W-1:0] c_in = s_axis_tdata[C_OFF + l*CELL_W +: CELL_W];  // c_{t-1}, Q(cell)

    reg [CELL_W-1:0] c_1_reg;       // c_{t-1}, Q(cell)
    reg [YB_W-1:0] yb_o_2_reg;      // rnd(y_o) + rnd(b_o), gate frac
    reg [CELL_W-1:0] c_2_reg;       // c_{t-1}, Q(cell)

    for (x = 0; x < 4; x = x + 1) begin : g_gate
        wire [YA_W-1:0] ya;  // rnd(y_x, I - G), gate frac
        wire [BA_W-1:0] ba;  // rnd(b_x, Bf - G), gate frac
        ernn_cell_rnd #(.IN_W(IFFT_OUT_W), .SHIFT(SH_Y), .OUT_W(YA_W))
        y_rnd_inst (.in(s_axis_tdata[(x*LANES + l)*IFFT_OUT_W +: IFFT_OUT_W]), .out(ya));
        ernn_cell_rnd #(.IN_W(BIAS_W), .SHIFT(SH_B), .OUT_W(BA_W))
        b_rnd_inst (.in(s_axis_tdata[B_OFF + (x*LANES + l)*BIAS_W +: BIAS_W]), .out(ba));

        reg [YB_W-1:0] yb_1_reg;  // rnd(y_x) + rnd(b_x), exact, gate frac

        always @(posedge clk) begin
            if (en) begin
                yb_1_reg <= $signed({{(YB_W-YA_W){ya[YA_W-1]}}, ya})
                             + $signed({{(YB_W-BA_W){ba[BA_W-1]}}, ba});
            end
        end
    end

    always @(posedge clk) begin
        if (en) begin
            c_1_reg <= c_in;
            c_2_reg <= c_1_reg;
            yb_o_2_reg <= g_gate[3].yb_1_reg;
        end
    end

    // pre_i, pre_f: sat_G(sum [+ rnd(p c_{t-1})]); pre_g: sat_G(sum)
    wire [2*PRE_W-1:0] pre_sum_if;  // {f, i} sums before saturation, gate frac
    wire [PW-1:0] p_o_1;  // Q(peephole) (unused without peepholes)

    if (PEEPHOLE) begin : g_peep_if
        reg [PW-1:0] p_o_1_reg;         // Q(peephole)
        wire [PC_W-1:0] c_x = {{PEEPHOLE_W{c_in[CELL_W-1]}}, c_in};

        for (x = 0; x < 2; x = x + 1) begin : g_peep_gate
            wire [PEEPHOLE_W-1:0] p = s_axis_tdata[P_OFF + (x*LANES + l)*PEEPHOLE_W +: PEEPHOLE_W];
            wire [PC_W-1:0] p_x = {{CELL_W{p[PEEPHOLE_W-1]}}, p};
            wire [YB_W-1:0] yb = g_gate[x].yb_1_reg;
            reg [PC_W-1:0] pc_1_reg;  // p_x c_{t-1}, frac P + C
            wire [PT_W-1:0] pt;       // rnd(p_x c_{t-1}, P + C - G), gate frac

            always @(posedge clk) begin
                if (en) begin
                    pc_1_reg <= $signed(p_x) * $signed(c_x);
                end
            end

            ernn_cell_rnd #(.IN_W(PC_W), .SHIFT(SH_P), .OUT_W(PT_W))
            p_rnd_inst (.in(pc_1_reg), .out(pt));

            assign pre_sum_if[x*PRE_W +: PRE_W] = $signed({{(PRE_W-YB_W){yb[YB_W-1]}}, yb})
                                                + $signed({{(PRE_W-PT_W){pt[PT_W-1]}}, pt});
        end

        always @(posedge clk) begin
            if (en) begin
                p_o_1_reg <= s_axis_tdata[P_OFF + (2*LANES + l)*PEEPHOLE_W +: PEEPHOLE_W];
            end
        end
        assign p_o_1 = p_o_1_reg;
    end else begin : g_no_peep_if
        for (x = 0; x < 2; x = x + 1) begin : g_sum_gate
            wire [YB_W-1:0] yb = g_gate[x].yb_1_reg;
            assign pre_sum_if[x*PRE_W +: PRE_W] = {{(PRE_W-YB_W){yb[YB_W-1]}}, yb};
        end
        assign p_o_1 = {PW{1'b0}};
    end

    wire [GATE_W-1:0] pre_i, pre_f, pre_g;  // Q(gate)
    ernn_cell_rnd #(.IN_W(PRE_W), .SHIFT(0), .OUT_W(GATE_W))
    pre_i_inst (.in(pre_sum_if[0 +: PRE_W]), .out(pre_i));
    ernn_cell_rnd #(.IN_W(PRE_W), .SHIFT(0), .OUT_W(GATE_W))
    pre_f_inst (.in(pre_sum_if[PRE_W +: PRE_W]), .out(pre_f));
    ernn_cell_rnd #(.IN_W(YB_W), .SHIFT(0), .OUT_W(GATE_W))
    pre_g_inst (.in(g_gate[2].yb_1_reg), .out(pre_g));

    reg [GATE_W-1:0] pre_i_2_reg, pre_f_2_reg, pre_g_2_reg;  // Q(gate)
    reg [PW-1:0] p_o_2_reg;                                  // Q(peephole)

    always @(posedge clk) begin
        if (en) begin
            pre_i_2_reg <= pre_i;
            pre_f_2_reg <= pre_f;
            pre_g_2_reg <= pre_g;
            p_o_2_reg <= p_o_1;
        end
    end

    assign pre_if_2[l*GATE_W +: GATE_W] = pre_i_2_reg;
    assign pre_if_2[(LANES + l)*GATE_W +: GATE_W] = pre_f_2_reg;
    assign pre_g_2[l*GATE_W +: GATE_W] = pre_g_2_reg;
    assign side_2[USER_W + l*(CELL_W + YB_W + PW) +: CELL_W + YB_W + PW] = {p_o_2_reg, yb_o_2_reg, c_2_reg};

    // ---- levels 7-8: c_t ------------------------------------------------------------------------
    wire [ACT_W-1:0] i_6 = act_if_6[l*ACT_W +: ACT_W];            // Q(act)
    wire [ACT_W-1:0] f_6 = act_if_6[(LANES + l)*ACT_W +: ACT_W];  // Q(act)
    wire [ACT_W-1:0] g_6 = act_g_6[l*ACT_W +: ACT_W];             // Q(act)
    wire [CELL_W-1:0] c_prev_6;                                   // c_{t-1}, Q(cell)
    wire [YB_W-1:0] yb_o_6;                                       // gate frac
    wire [PW-1:0] p_o_6;                                          // Q(peephole)
    assign {p_o_6, yb_o_6, c_prev_6} = side_6[USER_W + l*(CELL_W + YB_W + PW) +: CELL_W + YB_W + PW];

    wire [FC_W-1:0] f_x = {{CELL_W{f_6[ACT_W-1]}}, f_6};
    wire [FC_W-1:0] c_prev_x = {{ACT_W{c_prev_6[CELL_W-1]}}, c_prev_6};
    wire [IG_W-1:0] i_x = {{ACT_W{i_6[ACT_W-1]}}, i_6};
    wire [IG_W-1:0] g_x = {{ACT_W{g_6[ACT_W-1]}}, g_6};

    reg [FC_W-1:0] fc_7_reg;     // f c_{t-1}, frac A + C
    reg [IG_W-1:0] ig_7_reg;     // i g, frac 2A
    reg [YB_W-1:0] yb_o_7_reg;   // gate frac
    reg [PW-1:0] p_o_7_reg;      // Q(peephole)

    always @(posedge clk) begin
        if (en) begin
            fc_7_reg <= $signed(f_x) * $signed(c_prev_x);
            ig_7_reg <= $signed(i_x) * $signed(g_x);
            yb_o_7_reg <= yb_o_6;
            p_o_7_reg <= p_o_6;
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
    reg [PW-1:0] p_o_8_reg;

    always @(posedge clk) begin
        if (en) begin
            c_8_reg <= c_new;
            yb_o_8_reg <= yb_o_7_reg;
            p_o_8_reg <= p_o_7_reg;
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
        // p_o is a 1-bit zero placeholder here
        /* verilator lint_off UNUSEDSIGNAL */
        wire unused_p_o = p_o_8_reg[0];
        /* verilator lint_on UNUSEDSIGNAL */
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
    reg [CELL_W-1:0] c_15_reg;  // c_t, Q(cell)

    always @(posedge clk) begin
        if (en) begin
            ot_15_reg <= $signed(o_x) * $signed(tc_x);
            c_15_reg <= side_14[USER_W + l*CELL_W +: CELL_W];
        end
    end

    wire [DATA_W-1:0] h_new;  // h_t, Q(data)
    ernn_cell_rnd #(.IN_W(OT_W), .SHIFT(SH_H), .OUT_W(DATA_W))
    h_rnd_inst (.in(ot_15_reg), .out(h_new));

    reg [DATA_W-1:0] h_16_reg;  // Q(data)
    reg [CELL_W-1:0] c_16_reg;  // Q(cell)

    always @(posedge clk) begin
        if (en) begin
            h_16_reg <= h_new;
            c_16_reg <= c_15_reg;
        end
    end

    assign m_axis_tdata[l*DATA_W +: DATA_W] = h_16_reg;
    assign m_axis_tdata[LANES*DATA_W + l*CELL_W +: CELL_W] = c_16_reg;
end

endgenerate

// ---- activations ------------------------------------------------------------------------------
// the sigmoid unit of each stage carries valid and the sideband; its tanh twin runs in lockstep
// (same enable, same valid), so the twin's valid and sideband outputs are not needed
/* verilator lint_off UNUSEDSIGNAL */
wire tanh_g_valid, tanh_c_valid;
wire tanh_g_user, tanh_c_user;
/* verilator lint_on UNUSEDSIGNAL */

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
    .USER_W(U1_W)
)
sigmoid_if_inst (
    .clk(clk),
    .rst(rst),
    .ce(en),
    .in_x(pre_if_2),
    .in_valid(valid_2_reg),
    .in_user(side_2),
    .out_y(act_if_6),
    .out_valid(valid_6),
    .out_user(side_6)
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
tanh_g_inst (
    .clk(clk),
    .rst(rst),
    .ce(en),
    .in_x(pre_g_2),
    .in_valid(valid_2_reg),
    .in_user(1'b0),
    .out_y(act_g_6),
    .out_valid(tanh_g_valid),
    .out_user(tanh_g_user)
);

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
    .in_valid(valid_10_reg),
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
    .in_valid(valid_10_reg),
    .in_user(1'b0),
    .out_y(act_tc_14),
    .out_valid(tanh_c_valid),
    .out_user(tanh_c_user)
);

endmodule

`resetall
