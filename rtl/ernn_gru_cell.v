/*

E-RNN toolkit: GRU cell update (element-wise, after the circulant matvecs), pipelined

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * LANES hidden units per beat, bit-exact with ernn.fixed.cells.gru_cell (PyTorch nn.GRU,
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
 *   7  product r hn
 *   8  pre_n (add rnd(r hn), saturate)
 *   9-12 tanh(pre_n)                                (ernn_act_pwl)
 *   13 difference h' - n'
 *   14 product z (h' - n')
 *   15 h_t (add n' << A, one rounding, saturation)
 * Stall-all flow control: every register advances while m_axis_tready || !m_axis_tvalid,
 * and s_axis_tready is that enable. Data registers are not reset; rst clears the valid bits.
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
// exact sum rnd(y) + rnd(b), gate frac
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
// sideband through the sigmoid stage: {h_{t-1}, rnd(y_in) + rnd(b_in), hn, user}
localparam U1_W = USER_W + LANES * (GATE_W + YB_W + DATA_W);
// sideband through the tanh stage: {h_{t-1}, z, user}
localparam U2_W = USER_W + LANES * (ACT_W + DATA_W);

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

// valid and sideband of the register levels outside the activation units
reg valid_1_reg, valid_2_reg, valid_7_reg, valid_8_reg, valid_13_reg, valid_14_reg, valid_15_reg;
reg [USER_W-1:0] user_1_reg, user_2_reg, user_7_reg, user_8_reg, user_13_reg, user_14_reg, user_15_reg;

// activation stage outputs: valid and sideband
wire valid_6, valid_12;
wire [U1_W-1:0] side_2, side_6;
wire [U2_W-1:0] side_8, side_12;

// activation inputs and outputs, lane-packed
wire [2*LANES*GATE_W-1:0] pre_rz_2;  // {pre_z, pre_r}, Q(gate)
wire [2*LANES*ACT_W-1:0] act_rz_6;   // {z, r}, Q(act)
wire [LANES*GATE_W-1:0] pre_n_8;     // Q(gate)
wire [LANES*ACT_W-1:0] act_n_12;     // Q(act)

always @(posedge clk) begin
    if (en) begin
        valid_1_reg <= s_axis_tvalid;
        valid_2_reg <= valid_1_reg;
        valid_7_reg <= valid_6;
        valid_8_reg <= valid_7_reg;
        valid_13_reg <= valid_12;
        valid_14_reg <= valid_13_reg;
        valid_15_reg <= valid_14_reg;
        user_1_reg <= s_axis_tuser;
        user_2_reg <= user_1_reg;
        user_7_reg <= side_6[USER_W-1:0];
        user_8_reg <= user_7_reg;
        user_13_reg <= side_12[USER_W-1:0];
        user_14_reg <= user_13_reg;
        user_15_reg <= user_14_reg;
    end

    if (rst) begin
        valid_1_reg <= 1'b0;
        valid_2_reg <= 1'b0;
        valid_7_reg <= 1'b0;
        valid_8_reg <= 1'b0;
        valid_13_reg <= 1'b0;
        valid_14_reg <= 1'b0;
        valid_15_reg <= 1'b0;
    end
end

assign side_2[USER_W-1:0] = user_2_reg;
assign side_8[USER_W-1:0] = user_8_reg;
assign m_axis_tvalid = valid_15_reg;
assign m_axis_tuser = user_15_reg;

genvar l, x;

generate

for (l = 0; l < LANES; l = l + 1) begin : g_lane
    // ---- levels 1-2: pre_r, pre_z, hn and the n sum ---------------------------------------------
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

    reg [DATA_W-1:0] h_1_reg, h_2_reg;  // h_{t-1}, Q(data)
    reg [YB_W-1:0] yb_in_2_reg;         // rnd(y_in) + rnd(b_in), gate frac

    always @(posedge clk) begin
        if (en) begin
            h_1_reg <= s_axis_tdata[H_OFF + l*DATA_W +: DATA_W];
            h_2_reg <= h_1_reg;
            yb_in_2_reg <= g_gate[2].yb_1_reg;
        end
    end

    wire [GATE_W-1:0] pre_r, pre_z, hn;  // Q(gate)
    ernn_cell_rnd #(.IN_W(YB_W), .SHIFT(0), .OUT_W(GATE_W))
    pre_r_inst (.in(g_gate[0].yb_1_reg), .out(pre_r));
    ernn_cell_rnd #(.IN_W(YB_W), .SHIFT(0), .OUT_W(GATE_W))
    pre_z_inst (.in(g_gate[1].yb_1_reg), .out(pre_z));
    ernn_cell_rnd #(.IN_W(YB_W), .SHIFT(0), .OUT_W(GATE_W))
    hn_inst (.in(g_gate[3].yb_1_reg), .out(hn));

    reg [GATE_W-1:0] pre_r_2_reg, pre_z_2_reg, hn_2_reg;  // Q(gate)

    always @(posedge clk) begin
        if (en) begin
            pre_r_2_reg <= pre_r;
            pre_z_2_reg <= pre_z;
            hn_2_reg <= hn;
        end
    end

    assign pre_rz_2[l*GATE_W +: GATE_W] = pre_r_2_reg;
    assign pre_rz_2[(LANES + l)*GATE_W +: GATE_W] = pre_z_2_reg;
    assign side_2[USER_W + l*(GATE_W + YB_W + DATA_W) +: GATE_W + YB_W + DATA_W] = {h_2_reg, yb_in_2_reg, hn_2_reg};

    // ---- levels 7-8: pre_n = sat_G(sum_in + rnd(r hn, A)) ---------------------------------------
    wire [ACT_W-1:0] r_6 = act_rz_6[l*ACT_W +: ACT_W];            // Q(act)
    wire [ACT_W-1:0] z_6 = act_rz_6[(LANES + l)*ACT_W +: ACT_W];  // Q(act)
    wire [GATE_W-1:0] hn_6;                                       // Q(gate)
    wire [YB_W-1:0] yb_in_6;                                      // gate frac
    wire [DATA_W-1:0] h_6;                                        // h_{t-1}, Q(data)
    assign {h_6, yb_in_6, hn_6} = side_6[USER_W + l*(GATE_W + YB_W + DATA_W) +: GATE_W + YB_W + DATA_W];

    wire [RH_W-1:0] r_x = {{GATE_W{r_6[ACT_W-1]}}, r_6};
    wire [RH_W-1:0] hn_x = {{ACT_W{hn_6[GATE_W-1]}}, hn_6};

    reg [RH_W-1:0] rh_7_reg;     // r hn, frac A + G
    reg [YB_W-1:0] yb_in_7_reg;  // gate frac
    reg [ACT_W-1:0] z_7_reg;     // Q(act)
    reg [DATA_W-1:0] h_7_reg;    // Q(data)

    always @(posedge clk) begin
        if (en) begin
            rh_7_reg <= $signed(r_x) * $signed(hn_x);
            yb_in_7_reg <= yb_in_6;
            z_7_reg <= z_6;
            h_7_reg <= h_6;
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
    reg [ACT_W-1:0] z_8_reg;       // Q(act)
    reg [DATA_W-1:0] h_8_reg;      // Q(data)

    always @(posedge clk) begin
        if (en) begin
            pre_n_8_reg <= pre_n;
            z_8_reg <= z_7_reg;
            h_8_reg <= h_7_reg;
        end
    end

    assign pre_n_8[l*GATE_W +: GATE_W] = pre_n_8_reg;
    assign side_8[USER_W + l*(ACT_W + DATA_W) +: ACT_W + DATA_W] = {h_8_reg, z_8_reg};

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

// ---- activations ------------------------------------------------------------------------------
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
sigmoid_rz_inst (
    .clk(clk),
    .rst(rst),
    .ce(en),
    .in_x(pre_rz_2),
    .in_valid(valid_2_reg),
    .in_user(side_2),
    .out_y(act_rz_6),
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
    .USER_W(U2_W)
)
tanh_n_inst (
    .clk(clk),
    .rst(rst),
    .ce(en),
    .in_x(pre_n_8),
    .in_valid(valid_8_reg),
    .in_user(side_8),
    .out_y(act_n_12),
    .out_valid(valid_12),
    .out_user(side_12)
);

endmodule

`resetall
