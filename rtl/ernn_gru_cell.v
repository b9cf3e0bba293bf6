/*

E-RNN toolkit: GRU cell update (element-wise, after the circulant matvecs), pipelined

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * LANES hidden units per beat, bit-exact with ernn.golden.cells.gru_cell (PyTorch nn.GRU,
 * gate order r, z, n, reset applied after the hidden matvec; docs/numerics.md sections 9-11).
 * With I = IFFT_OUT_F, Bf = BIAS_F, G = GATE_F, A = ACT_F, D = DATA_F, rnd = round half up,
 * sat_X = clamp to format X (never wrap):
 *
 *   r   = sigmoid( sat_G( rnd(y_r, I - G) + rnd(b_r, Bf - G) ) )        y_r = W_ir x + W_hr h
 *   z   = sigmoid( sat_G( rnd(y_z, I - G) + rnd(b_z, Bf - G) ) )        y_z = W_iz x + W_hz h
 *   hn  = sat_G( rnd(y_hn, I - G) + rnd(b_hn, Bf - G) )                 y_hn = W_hn h
 *   n   = tanh( sat_G( rnd(y_in, I - G) + rnd(b_in, Bf - G) + rnd(r * hn, A) ) )   (R13)
 *   h_t = sat_D( rnd( (n' << A) + z (h' - n'), F + A - D ) )                       (R14)
 *         F = max(A, D), n' = n << (F - A), h' = h_{t-1} << (F - D)
 *
 * i.e. h_t = (1 - z) n + z h_{t-1} with one rounding. sigmoid and tanh are ernn_act_pwl units.
 *
 * Interface (AXI-Stream, one beat = LANES units u = 0..LANES-1; fields packed LSB first):
 *   s_axis_tdata  y[x][u]    at  (x*LANES + u)*IFFT_OUT_W           Q(ifft_out), x = r, z, in, hn
 *                 b[x][u]    at  B_OFF + (x*LANES + u)*BIAS_W       Q(bias), x = r, z, in, hn
 *                                                                   (b_ir + b_hr, b_iz + b_hz, b_in, b_hn)
 *                 h[u]       at  H_OFF + u*DATA_W                   Q(data), h_{t-1}
 *   m_axis_tdata  h[u]       at  u*DATA_W                           Q(data), h_t
 *   s_axis_tuser -> m_axis_tuser: sideband carried along.
 * Widths: s_axis_tdata 4 LANES (IFFT_OUT_W + BIAS_W) + LANES DATA_W, m_axis_tdata LANES DATA_W.
 *
 * Pipeline: initiation interval 1, LATENCY = 15 clocks:
 *   1  exact sums rnd(y) + rnd(b) for r, z, in, hn
 *   2  pre_r, pre_z, hn (saturate)
 *   3-6  sigmoid(r, z)                              (ernn_act_pwl, LATENCY 4)
 *      (levels 1-6: ernn_cell_front with LSTM = 0, the front stage shared with ernn_lstm_cell)
 *   7  product r hn
 *   8  pre_n (add rnd(r hn), saturate)
 *   9-12 tanh(pre_n)                                (ernn_act_pwl)
 *   13 difference h' - n'
 *   14 product z (h' - n')
 *   15 h_t (add n' << A, one rounding, saturation)
 * Stall-all flow control: every register advances while m_axis_tready || !m_axis_tvalid,
 * and s_axis_tready is that enable. Data registers are not reset; rst clears the valid bits
 * (valid and tuser of levels 7-8, with z and h_{t-1}, and of 13-15 are ernn_delay lines).
 *
 * Resources per lane: multipliers r*hn (ACT_W x GATE_W) and z*(h' - n') (ACT_W x
 * (max(ACT_W + F - A, DATA_W + F - D) + 1)), 16x16 and 16x19 at the 16-bit default, plus
 * one ACT_SLOPE_W x (B + 1) multiplier per activation lookup (3: 2 sigmoid, 1 tanh).
 * Tables (2**SEG_BITS x (ACT_W + ACT_SLOPE_W) bits, dual-port ROM shared by two lookups):
 * LANES sigmoid copies (r and z) and ceil(LANES/2) tanh copies.
 */
module ernn_gru_cell #
(
    // hidden units per beat
    parameter LANES = 1,
    // h word and fraction bits (data format, e.g. Q16.12)
    parameter DATA_W = 16,
    parameter DATA_F = 12,
    // matvec outputs y (ifft_out format, e.g. Q19.14)
    parameter IFFT_OUT_W = 19,
    parameter IFFT_OUT_F = 14,
    // biases (bias format, e.g. Q16.11)
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
    input  wire                                        clk,
    input  wire                                        rst,

    input  wire [4*LANES*(IFFT_OUT_W+BIAS_W)+LANES*DATA_W-1:0] s_axis_tdata,
    input  wire [USER_W-1:0]                           s_axis_tuser,
    input  wire                                        s_axis_tvalid,
    output wire                                        s_axis_tready,

    output wire [LANES*DATA_W-1:0]                     m_axis_tdata,
    output wire [USER_W-1:0]                           m_axis_tuser,
    output wire                                        m_axis_tvalid,
    input  wire                                        m_axis_tready
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
localparam H_OFF = B_OFF + 4 * LANES * BIAS_W;

// clocks from s_axis to m_axis: documents the stage list of the header for instantiating code
// (the levels are spelled out below, so nothing here reads it)
/* verilator lint_off UNUSEDPARAM */
localparam LATENCY = 15;
/* verilator lint_on UNUSEDPARAM */

// R5: y -> gate frac
localparam SH_Y = IFFT_OUT_F - GATE_F;
localparam YA_W = rnd_w(IFFT_OUT_W, SH_Y);
// R6: bias -> gate frac
localparam SH_B = BIAS_F - GATE_F;
localparam BA_W = rnd_w(BIAS_W, SH_B);
// exact sum rnd(y) + rnd(b), gate frac (ernn_cell_front's SUM_W)
localparam YB_W = max2(YA_W, BA_W) + 1;
// R13: r * hn (frac A + G) -> gate frac
localparam RH_W = ACT_W + GATE_W;
localparam RT_W = rnd_w(RH_W, ACT_F);
// pre_n sum before saturation
localparam PRE_W = max2(YB_W, RT_W) + 1;
// R14: n' and h' at the common frac F = max(A, D)
localparam TOP_F = max2(ACT_F, DATA_F);
localparam ND_W = ACT_W + TOP_F - ACT_F;
localparam HD_W = DATA_W + TOP_F - DATA_F;
// h' - n'
localparam DIFF_W = max2(ND_W, HD_W) + 1;
// z (h' - n'), frac F + A
localparam ZD_W = ACT_W + DIFF_W;
// n' << A, frac F + A
localparam NS_W = ND_W + ACT_F;
// n' << A + z (h' - n') before the rounding
localparam HS_W = max2(NS_W, ZD_W) + 1;
localparam SH_H = TOP_F + ACT_F - DATA_F;
// sideband through the tanh stage: {h_{t-1}, z, user}
localparam U2_W = USER_W + LANES * (ACT_W + DATA_W);
// the front's peephole operands are not used in a GRU: 2-bit placeholders, tied to zero
localparam NO_PEEP_W = 2;

// check configuration
initial begin
    if (LANES < 1) begin
        $error("Error: ernn_gru_cell LANES must be >= 1 (got %0d)", LANES);
        $finish;
    end
    if (USER_W < 1) begin
        $error("Error: ernn_gru_cell USER_W must be >= 1 (got %0d)", USER_W);
        $finish;
    end
    if (GATE_W < 4 || GATE_F < 0 || GATE_F > GATE_W - 2) begin
        $error("Error: ernn_gru_cell GATE_F (%0d) must be in [0, GATE_W - 2] with GATE_W >= 4 (got GATE_W=%0d)",
            GATE_F, GATE_W);
        $finish;
    end
    if (ACT_W < 4 || ACT_F < 1 || ACT_F > ACT_W - 2) begin
        $error("Error: ernn_gru_cell ACT_F (%0d) must be in [1, ACT_W - 2] with ACT_W >= 4 (got ACT_W=%0d; +-1.0 must be exact)",
            ACT_F, ACT_W);
        $finish;
    end
    if (DATA_W < 2 || DATA_F < 0 || DATA_F > DATA_W - 1) begin
        $error("Error: ernn_gru_cell DATA_F (%0d) must be in [0, DATA_W - 1] with DATA_W >= 2 (got DATA_W=%0d)",
            DATA_F, DATA_W);
        $finish;
    end
    if (IFFT_OUT_W < 2 || BIAS_W < 2) begin
        $error("Error: ernn_gru_cell IFFT_OUT_W and BIAS_W must be >= 2 (got %0d, %0d)", IFFT_OUT_W, BIAS_W);
        $finish;
    end
end

// global pipeline enable: stall everything while the output is held
wire en = m_axis_tready || !m_axis_tvalid;

assign s_axis_tready = en;

// ---- levels 1-6: pre_r, pre_z, hn, sigmoid(r), sigmoid(z) (ernn_cell_front) ----------------------
wire [2*LANES*ACT_W-1:0] act_rz_6;   // {z, r}, Q(act)
wire [LANES*GATE_W-1:0] hn_6;        // Q(gate)
wire [LANES*YB_W-1:0] yb_in_6;       // rnd(y_in) + rnd(b_in), gate frac
wire [LANES*DATA_W-1:0] h_6;         // h_{t-1}, Q(data)
wire valid_6;
wire [USER_W-1:0] user_6;

ernn_cell_front #(
    .LANES(LANES),
    .LSTM(0),
    .PEEPHOLE(0),
    .IFFT_OUT_W(IFFT_OUT_W),
    .IFFT_OUT_F(IFFT_OUT_F),
    .BIAS_W(BIAS_W),
    .BIAS_F(BIAS_F),
    .GATE_W(GATE_W),
    .GATE_F(GATE_F),
    .ACT_W(ACT_W),
    .ACT_SLOPE_W(ACT_SLOPE_W),
    .ACT_SLOPE_F(ACT_SLOPE_F),
    .PEEPHOLE_W(NO_PEEP_W),
    .CELL_W(NO_PEEP_W),
    .SIGMOID_RANGE_LOG2(SIGMOID_RANGE_LOG2),
    .SIGMOID_SEG_BITS(SIGMOID_SEG_BITS),
    .SIGMOID_VALUE_FILE(SIGMOID_VALUE_FILE),
    .SIGMOID_SLOPE_FILE(SIGMOID_SLOPE_FILE),
    .PASS_W(LANES * DATA_W),
    .USER_W(USER_W),
    .SUM_W(YB_W)
)
front_inst (
    .clk(clk),
    .rst(rst),
    .ce(en),
    .in_y(s_axis_tdata[0 +: 4*LANES*IFFT_OUT_W]),
    .in_b(s_axis_tdata[B_OFF +: 4*LANES*BIAS_W]),
    .in_p({2*LANES*NO_PEEP_W{1'b0}}),
    .in_c({LANES*NO_PEEP_W{1'b0}}),
    .in_pass(s_axis_tdata[H_OFF +: LANES*DATA_W]),
    .in_valid(s_axis_tvalid),
    .in_user(s_axis_tuser),
    .out_sig(act_rz_6),
    .out_mid(hn_6),
    .out_sum(yb_in_6),
    .out_pass(h_6),
    .out_valid(valid_6),
    .out_user(user_6)
);

// levels 7-8: valid, user, z and h_{t-1} ride to the tanh unit, whose sideband they are
wire [U2_W-1:0] side_6, side_8, side_12;
wire valid_8, valid_12;
wire [LANES*GATE_W-1:0] pre_n_8;     // Q(gate)
wire [LANES*ACT_W-1:0] act_n_12;     // Q(act)

assign side_6[USER_W-1:0] = user_6;

ernn_delay #(
    .DEPTH(2),
    .WIDTH(U2_W)
)
mid_delay_inst (
    .clk(clk),
    .rst(rst),
    .en(en),
    .in_valid(valid_6),
    .in_data(side_6),
    .out_valid(valid_8),
    .out_data(side_8)
);

// valid and sideband of levels 13-15
ernn_delay #(
    .DEPTH(3),
    .WIDTH(USER_W)
)
out_delay_inst (
    .clk(clk),
    .rst(rst),
    .en(en),
    .in_valid(valid_12),
    .in_data(side_12[USER_W-1:0]),
    .out_valid(m_axis_tvalid),
    .out_data(m_axis_tuser)
);

genvar l;

generate

for (l = 0; l < LANES; l = l + 1) begin : g_lane
    // ---- levels 7-8: pre_n = sat_G(sum_in + rnd(r hn, A)) ---------------------------------------
    wire [ACT_W-1:0] r_6 = act_rz_6[l*ACT_W +: ACT_W];            // Q(act)
    wire [ACT_W-1:0] z_6 = act_rz_6[(LANES + l)*ACT_W +: ACT_W];  // Q(act)
    wire [GATE_W-1:0] hn_l_6 = hn_6[l*GATE_W +: GATE_W];          // Q(gate)

    assign side_6[USER_W + l*(ACT_W + DATA_W) +: ACT_W + DATA_W] = {h_6[l*DATA_W +: DATA_W], z_6};

    wire [RH_W-1:0] r_x = {{GATE_W{r_6[ACT_W-1]}}, r_6};
    wire [RH_W-1:0] hn_x = {{ACT_W{hn_l_6[GATE_W-1]}}, hn_l_6};

    reg [RH_W-1:0] rh_7_reg;     // r hn, frac A + G
    reg [YB_W-1:0] yb_in_7_reg;  // gate frac

    always @(posedge clk) begin
        if (en) begin
            rh_7_reg <= $signed(r_x) * $signed(hn_x);
            yb_in_7_reg <= yb_in_6[l*YB_W +: YB_W];
        end
    end

    wire [RT_W-1:0] rt;  // rnd(r hn, A), gate frac
    ernn_cell_rnd #(.IN_W(RH_W), .SHIFT(ACT_F), .OUT_W(RT_W))
    rt_inst (.in(rh_7_reg), .out(rt));

    wire [PRE_W-1:0] pre_sum_n = $signed({{(PRE_W-YB_W){yb_in_7_reg[YB_W-1]}}, yb_in_7_reg})
                               + $signed({{(PRE_W-RT_W){rt[RT_W-1]}}, rt});
    wire [GATE_W-1:0] pre_n;  // Q(gate)
    ernn_cell_rnd #(.IN_W(PRE_W), .SHIFT(0), .OUT_W(GATE_W))
    pre_n_inst (.in(pre_sum_n), .out(pre_n));

    reg [GATE_W-1:0] pre_n_8_reg;  // Q(gate)

    always @(posedge clk) begin
        if (en) begin
            pre_n_8_reg <= pre_n;
        end
    end

    assign pre_n_8[l*GATE_W +: GATE_W] = pre_n_8_reg;

    // ---- levels 13-15: h_t = sat_D(rnd((n' << A) + z (h' - n'), F + A - D)) ----------------------
    wire [ACT_W-1:0] n_12 = act_n_12[l*ACT_W +: ACT_W];  // Q(act)
    wire [ACT_W-1:0] z_12;                               // Q(act)
    wire [DATA_W-1:0] h_12;                              // h_{t-1}, Q(data)
    assign {h_12, z_12} = side_12[USER_W + l*(ACT_W + DATA_W) +: ACT_W + DATA_W];

    // n' = n << (F - A), h' = h << (F - D), both frac F, sign-extended to the difference word
    wire [DIFF_W-1:0] nd_x = {{(DIFF_W-ND_W){n_12[ACT_W-1]}}, n_12, {(TOP_F-ACT_F){1'b0}}};
    wire [DIFF_W-1:0] hd_x = {{(DIFF_W-HD_W){h_12[DATA_W-1]}}, h_12, {(TOP_F-DATA_F){1'b0}}};

    reg [DIFF_W-1:0] diff_13_reg;  // h' - n', frac F
    reg [ND_W-1:0] nd_13_reg;      // n', frac F
    reg [ACT_W-1:0] z_13_reg;      // Q(act)

    always @(posedge clk) begin
        if (en) begin
            diff_13_reg <= hd_x - nd_x;
            nd_13_reg <= nd_x[ND_W-1:0];
            z_13_reg <= z_12;
        end
    end

    wire [ZD_W-1:0] z_x = {{DIFF_W{z_13_reg[ACT_W-1]}}, z_13_reg};
    wire [ZD_W-1:0] diff_x = {{ACT_W{diff_13_reg[DIFF_W-1]}}, diff_13_reg};

    reg [ZD_W-1:0] zd_14_reg;  // z (h' - n'), frac F + A
    reg [ND_W-1:0] nd_14_reg;  // n', frac F

    always @(posedge clk) begin
        if (en) begin
            zd_14_reg <= $signed(z_x) * $signed(diff_x);
            nd_14_reg <= nd_13_reg;
        end
    end

    wire [HS_W-1:0] h_sum = $signed({{(HS_W-NS_W){nd_14_reg[ND_W-1]}}, nd_14_reg, {ACT_F{1'b0}}})
                          + $signed({{(HS_W-ZD_W){zd_14_reg[ZD_W-1]}}, zd_14_reg});
    wire [DATA_W-1:0] h_new;  // h_t, Q(data)
    ernn_cell_rnd #(.IN_W(HS_W), .SHIFT(SH_H), .OUT_W(DATA_W))
    h_rnd_inst (.in(h_sum), .out(h_new));

    reg [DATA_W-1:0] h_15_reg;  // Q(data)

    always @(posedge clk) begin
        if (en) begin
            h_15_reg <= h_new;
        end
    end

    assign m_axis_tdata[l*DATA_W +: DATA_W] = h_15_reg;
end

endgenerate

// ---- activation of levels 9-12 ------------------------------------------------------------------
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
    .USER_W(U2_W)
)
tanh_n_inst (
    .clk(clk),
    .rst(rst),
    .ce(en),
    .in_x(pre_n_8),
    .in_valid(valid_8),
    .in_user(side_8),
    .out_y(act_n_12),
    .out_valid(valid_12),
    .out_user(side_12)
);

endmodule

`resetall
