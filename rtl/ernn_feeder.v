/*

E-RNN toolkit: accelerator cell feeder — complete gate-buffer blocks to the cell unit

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Walks the stages of the exporter's job table (port `job`: the first job of the stage
 * being fed; next_stage moves on) and, for each hidden block b = 0..last_blk of the stage,
 * once the gate buffer holds it completely (y_full), reads in one clock (rd_en)
 *
 *   y[0..3][b]             four slots, Q(IFFT_OUT_W, IFFT_F)         (ernn_gate_buf)
 *   merged biases          c_base + b of BIAS_FILE, Q(BIAS_W, BIAS_F), slot s unit n at
 *                          [(s*K + n)*BIAS_W +: BIAS_W]
 *   peepholes (PEEPHOLE)   c_base + b of PEEP_FILE, Q(PEEP_W, PEEP_F), (i/f/o, unit)
 *   state                  LSTM c_{t-1} at c_base + b, Q(CELL_W, CELL_F);
 *                          GRU h_{t-1} at h_base + b, Q(DATA_W, DATA_F)     (ernn_state_mem)
 *
 * and hands the block to the cell unit as K / CELL_LANES beats of CELL_LANES units
 * (m_axis_tdata: the ernn_lstm_cell / ernn_gru_cell input fields, beat u holding units
 * u*CELL_LANES ..), the state zero on the first frame of a sequence (step_first of the
 * stage's step parity). With LAYER_SKEW (layers pipelined across steps, ernn_cmd) the
 * stage, its first flag and its step parity come from the command side's ring entry of
 * this unit's stage counter (stage_*), and a GRU's h_{t-1} from the h copy of the other
 * parity (H_PAR_OFF words away). The memories' registered outputs hold the block while the beats
 * go out; the next block is read during the last beat, so the cell unit can take a beat
 * every clock.
 */
module ernn_feeder #
(
    // 1: layers pipelined across steps (stage_* from the command side's ring)
    parameter LAYER_SKEW = 0,
    // stage counter width (ernn_cmd)
    parameter STAGE_W = 2,
    // LAYER_SKEW: h-memory words between the two step-parity copies
    parameter H_PAR_OFF = 0,
    // 1: LSTM (gates i, f, g, o), 0: GRU (gates r, z, n)
    parameter CELL_LSTM = 1,
    // 1: LSTM diagonal peepholes
    parameter PEEPHOLE = 0,
    // block size K
    parameter K = 8,
    // hidden units per cell-unit beat (divides K)
    parameter CELL_LANES = 2,
    // data word (GRU h_{t-1}), Q(DATA_W, DATA_F)
    parameter DATA_W = 16,
    // matvec output word, Q(IFFT_OUT_W, IFFT_F)
    parameter IFFT_OUT_W = 19,
    // merged-bias word, Q(BIAS_W, BIAS_F)
    parameter BIAS_W = 16,
    // peephole word, Q(PEEP_W, PEEP_F)
    parameter PEEP_W = 16,
    // LSTM cell-state word, Q(CELL_W, CELL_F)
    parameter CELL_W = 24,
    // words of the bias and peephole memories (hidden blocks of all layers; >= 2)
    parameter C_DEPTH = 4,
    // $readmemh merged biases per (layer, block) (mem/cell_bias.mem)
    parameter BIAS_FILE = "",
    // $readmemh peepholes per (layer, block) (mem/cell_peephole.mem; PEEPHOLE = 1 only)
    parameter PEEP_FILE = "",
    // job-table row index width
    parameter JOB_W = 1,
    // block index width
    parameter IDX_W = 4,
    // gate-buffer block address width
    parameter Y_ADDR_W = 2,
    // h-memory address width
    parameter H_ADDR_W = 2,
    // bias / peephole / c address width
    parameter C_ADDR_W = 2,
    // state read address width: c (LSTM) or h (GRU) (derived; do not override)
    parameter ST_ADDR_W = CELL_LSTM ? C_ADDR_W : H_ADDR_W,
    // state word: K samples of Q(cell) (LSTM) or Q(data) (GRU) (derived; do not override)
    parameter ST_W = CELL_LSTM ? K * CELL_W : K * DATA_W,
    // cell-unit input width (derived; do not override)
    parameter CELL_IN_W = CELL_LSTM
        ? 4 * CELL_LANES * (IFFT_OUT_W + BIAS_W) + CELL_LANES * CELL_W + PEEPHOLE * 3 * CELL_LANES * PEEP_W
        : 4 * CELL_LANES * (IFFT_OUT_W + BIAS_W) + CELL_LANES * DATA_W
)
(
    input  wire                      clk,
    input  wire                      rst,

    // job-table read port (ernn_job_table): the first job of the stage being fed
    output wire [JOB_W-1:0]          job,
    input  wire [IDX_W-1:0]          job_last_blk,
    input  wire                      job_last_layer,
    input  wire [JOB_W-1:0]          job_next_stage,
    input  wire [H_ADDR_W-1:0]       job_h_base,
    input  wire [C_ADDR_W-1:0]       job_c_base,

    // per step parity: the step starts a sequence (zero state)
    input  wire [1:0]                step_first,

    // LAYER_SKEW: this unit's stage counter and its ring entry (first job, first frame of a
    // sequence, step parity)
    output wire [STAGE_W-1:0]        stage,
    input  wire [JOB_W-1:0]          stage_job,
    input  wire                      stage_first,
    input  wire                      stage_par,

    // one read of everything a block needs: gate buffer, biases, peepholes, state
    output wire                      rd_en,
    // gate-buffer read port (ernn_gate_buf)
    output wire [Y_ADDR_W-1:0]       y_rd_blk,
    input  wire                      y_full,
    input  wire [4*K*IFFT_OUT_W-1:0] y_rd_data,
    // state read port (ernn_state_mem): c_{t-1} (LSTM) or h_{t-1} (GRU) of the block
    output wire [ST_ADDR_W-1:0]      st_rd_addr,
    input  wire [ST_W-1:0]           st_rd_data,

    // cell-unit input beats (ernn_lstm_cell / ernn_gru_cell s_axis_tdata)
    output wire [CELL_IN_W-1:0]      m_axis_tdata,
    output wire                      m_axis_tvalid,
    input  wire                      m_axis_tready
);

// cell-unit beats per block
localparam SPLIT = K / CELL_LANES;
localparam SUB_W = SPLIT > 1 ? $clog2(SPLIT) : 1;
localparam integer SPLIT_LAST_I = SPLIT - 1;
localparam [SUB_W-1:0] SPLIT_LAST = SPLIT_LAST_I[SUB_W-1:0];
localparam CL = CELL_LANES;
localparam YBLK_W = K * IFFT_OUT_W;
localparam BIAS_WORD_W = 4 * K * BIAS_W;    // (slot, unit) of one block, Q(bias)
localparam PEEP_WORD_W = 3 * K * PEEP_W;    // (i/f/o, unit) of one block, Q(peephole)

// check configuration
initial begin
    if (CELL_LANES < 1 || K % CELL_LANES != 0) begin
        $error("Error: ernn_feeder CELL_LANES must divide K = %0d (got %0d)", K, CELL_LANES);
        $finish;
    end
    if (BIAS_FILE == "" || (PEEPHOLE && PEEP_FILE == "")) begin
        $error("Error: ernn_feeder needs BIAS_FILE (and PEEP_FILE with peepholes)");
        $finish;
    end
    if (ST_ADDR_W != (CELL_LSTM ? C_ADDR_W : H_ADDR_W) || ST_W != (CELL_LSTM ? K * CELL_W : K * DATA_W)) begin
        $error("Error: ernn_feeder ST_ADDR_W and ST_W are derived; do not override them");
        $finish;
    end
end

reg hold_reg;                   // the memories' output registers hold a block
reg [SUB_W-1:0] sub_reg;        // next beat of that block
reg [IDX_W-1:0] blk_reg;        // next block to read
reg [JOB_W-1:0] job_reg;        // first job of its stage
reg par_reg;
reg zero_reg;                   // the held block starts a sequence: c_{t-1} = h_{t-1} = 0
reg [STAGE_W-1:0] stage_reg;    // LAYER_SKEW: stages fed so far (mod 2**STAGE_W)

localparam integer H_PAR_OFF_I = H_PAR_OFF;
localparam [H_ADDR_W-1:0] PAR_OFF = H_PAR_OFF_I[H_ADDR_W-1:0];

assign job = LAYER_SKEW != 0 ? stage_job : job_reg;
assign stage = stage_reg;

wire sub_last = sub_reg == SPLIT_LAST;
wire free = !hold_reg || (sub_last && m_axis_tready);
assign rd_en = free && y_full;
assign y_rd_blk = blk_reg[Y_ADDR_W-1:0];
wire [C_ADDR_W-1:0] c_addr = job_c_base + blk_reg[C_ADDR_W-1:0];

always @(posedge clk) begin
    if (hold_reg && m_axis_tready) begin
        sub_reg <= sub_reg + 1'b1;
        if (sub_last) begin
            hold_reg <= 1'b0;
        end
    end
    if (rd_en) begin
        hold_reg <= 1'b1;
        sub_reg <= {SUB_W{1'b0}};
        zero_reg <= LAYER_SKEW != 0 ? stage_first : step_first[par_reg];
        if (blk_reg == job_last_blk) begin
            blk_reg <= {IDX_W{1'b0}};
            job_reg <= job_next_stage;
            stage_reg <= stage_reg + 1'b1;
            if (job_last_layer) begin
                par_reg <= !par_reg;
            end
        end else begin
            blk_reg <= blk_reg + 1'b1;
        end
    end

    if (rst) begin
        hold_reg <= 1'b0;
        sub_reg <= {SUB_W{1'b0}};
        blk_reg <= {IDX_W{1'b0}};
        job_reg <= {JOB_W{1'b0}};
        par_reg <= 1'b0;
        stage_reg <= {STAGE_W{1'b0}};
    end
end

assign m_axis_tvalid = hold_reg;

// merged biases (gate, unit) of the block, Q(bias)
wire [BIAS_WORD_W-1:0] bias_rd_data;

ernn_rom #(
    .WIDTH(BIAS_WORD_W),
    .DEPTH(C_DEPTH),
    .INIT_FILE(BIAS_FILE)
)
bias_rom_inst (
    .clk(clk),
    .en(rd_en),
    .addr(c_addr),
    .rdata(bias_rd_data)
);

// beat sub_reg of the held block: units sub_reg * CELL_LANES .. + CELL_LANES - 1
// (ernn_sel: a mux, not a shifter)
wire [4*CL*IFFT_OUT_W-1:0] y_f;  // Q(ifft_out)
wire [4*CL*BIAS_W-1:0] b_f;      // Q(bias)

genvar s;

generate
for (s = 0; s < 4; s = s + 1) begin : g_gate
    ernn_sel #(.N(SPLIT), .W(CL * IFFT_OUT_W), .SEL_W(SUB_W))
    y_sel_inst (.in(y_rd_data[s*YBLK_W +: YBLK_W]), .sel(sub_reg), .out(y_f[s*CL*IFFT_OUT_W +: CL*IFFT_OUT_W]));
    ernn_sel #(.N(SPLIT), .W(CL * BIAS_W), .SEL_W(SUB_W))
    b_sel_inst (.in(bias_rd_data[s*K*BIAS_W +: K*BIAS_W]), .sel(sub_reg), .out(b_f[s*CL*BIAS_W +: CL*BIAS_W]));
end

if (CELL_LSTM) begin : g_lstm
    // c_{t-1} of the block, zero on the first frame of a sequence, Q(cell)
    wire [CL*CELL_W-1:0] c_sub;
    wire [CL*CELL_W-1:0] c_f = zero_reg ? {CL*CELL_W{1'b0}} : c_sub;

    ernn_sel #(.N(SPLIT), .W(CL * CELL_W), .SEL_W(SUB_W))
    c_sel_inst (.in(st_rd_data), .sel(sub_reg), .out(c_sub));

    assign st_rd_addr = c_addr;

    // the GRU's h_{t-1} address is not used
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_h_base = &{1'b0, job_h_base, stage_par};
    /* verilator lint_on UNUSEDSIGNAL */

    if (PEEPHOLE) begin : g_peep
        // peepholes (i, f, o; unit) per (layer, hidden block), Q(peephole)
        wire [PEEP_WORD_W-1:0] peep_rd_data;
        wire [3*CL*PEEP_W-1:0] p_f;

        ernn_rom #(
            .WIDTH(PEEP_WORD_W),
            .DEPTH(C_DEPTH),
            .INIT_FILE(PEEP_FILE)
        )
        peep_rom_inst (
            .clk(clk),
            .en(rd_en),
            .addr(c_addr),
            .rdata(peep_rd_data)
        );

        for (s = 0; s < 3; s = s + 1) begin : g_pgate
            ernn_sel #(.N(SPLIT), .W(CL * PEEP_W), .SEL_W(SUB_W))
            p_sel_inst (.in(peep_rd_data[s*K*PEEP_W +: K*PEEP_W]), .sel(sub_reg), .out(p_f[s*CL*PEEP_W +: CL*PEEP_W]));
        end

        assign m_axis_tdata = {p_f, c_f, b_f, y_f};
    end else begin : g_no_peep
        assign m_axis_tdata = {c_f, b_f, y_f};
    end
end else begin : g_gru
    // h_{t-1} of the block, zero on the first frame of a sequence, Q(data)
    wire [CL*DATA_W-1:0] h_sub;
    wire [CL*DATA_W-1:0] h_f = zero_reg ? {CL*DATA_W{1'b0}} : h_sub;

    ernn_sel #(.N(SPLIT), .W(CL * DATA_W), .SEL_W(SUB_W))
    h_sel_inst (.in(st_rd_data), .sel(sub_reg), .out(h_sub));

    // h_{t-1}: with the layers pipelined, the copy of the previous step's parity
    assign st_rd_addr = job_h_base + blk_reg[H_ADDR_W-1:0]
        + (LAYER_SKEW != 0 && !stage_par ? PAR_OFF : {H_ADDR_W{1'b0}});
    assign m_axis_tdata = {h_f, b_f, y_f};
end
endgenerate

endmodule

`resetall
