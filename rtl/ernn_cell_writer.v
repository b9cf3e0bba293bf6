/*

E-RNN toolkit: accelerator cell writer — the cell unit's beats back into whole state blocks

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Collects the cell unit's K / CELL_LANES beats of a hidden block (s_axis_tdata: CELL_LANES
 * units of h_t (m_t with a projection), Q(DATA_W, DATA_F), and for an LSTM c_t,
 * Q(CELL_W, CELL_F), above them: the ernn_lstm_cell / ernn_gru_cell output fields) and
 * writes the block in one clock (we) on its last beat:
 *
 *   h_data  K samples of h_t (m_t), Q(DATA_W, DATA_F); units past HIDDEN_SIZE of the
 *           last block are written as zeros (the padding the next matvec's FFT expects);
 *           to the h memory at h_addr = h_base + blk, or with a projection to m at blk
 *   c_data  K samples of c_t, Q(CELL_W, CELL_F) (LSTM; zero for a GRU), at c_base + blk
 *
 * Blocks follow the stages of the exporter's job table (port `job`: the first job of the
 * stage; next_stage moves on), whose fields give the addresses. stage counts stages mod
 * 2**STAGE_W (the tag of the m blocks the command side waits for). With LAYER_SKEW (layers
 * pipelined across steps, ernn_cmd) the stage and its step parity come from the command
 * side's ring entry of that counter (stage_job, stage_par), and h_t goes to the h copy of
 * the step's parity (H_PAR_OFF words up for odd steps). Without a projection the last
 * layer's h_t also fills the output vector, so the cell unit is stalled while that waits
 * on m_axis (out_full).
 */
module ernn_cell_writer #
(
    // 1: layers pipelined across steps (stage_* from the command side's ring)
    parameter LAYER_SKEW = 0,
    // stage counter width (ernn_cmd)
    parameter STAGE_W = 2,
    // LAYER_SKEW: h-memory words between the two step-parity copies
    parameter H_PAR_OFF = 0,
    // 1: LSTM (h and c), 0: GRU (h)
    parameter CELL_LSTM = 1,
    // 1: LSTM projection (h_t is m_t, which goes to the m memory)
    parameter HAS_PROJ = 0,
    // hidden units per layer (H): the valid units of the last block
    parameter HIDDEN_SIZE = 32,
    // block size K
    parameter K = 8,
    // hidden units per cell-unit beat (divides K)
    parameter CELL_LANES = 2,
    // data word, Q(DATA_W, DATA_F)
    parameter DATA_W = 16,
    // LSTM cell-state word, Q(CELL_W, CELL_F)
    parameter CELL_W = 24,
    // job-table row index width
    parameter JOB_W = 1,
    // block index width
    parameter IDX_W = 4,
    // h-memory address width
    parameter H_ADDR_W = 2,
    // c-memory address width
    parameter C_ADDR_W = 2,
    // cell-unit output width (derived; do not override)
    parameter CELL_OUT_W = CELL_LSTM ? CELL_LANES * (DATA_W + CELL_W) : CELL_LANES * DATA_W
)
(
    input  wire                  clk,
    input  wire                  rst,

    // job-table read port (ernn_job_table): the first job of the stage being written
    output wire [JOB_W-1:0]      job,
    input  wire [IDX_W-1:0]      job_last_blk,
    input  wire                  job_last_layer,
    input  wire [JOB_W-1:0]      job_next_stage,
    input  wire [H_ADDR_W-1:0]   job_h_base,
    input  wire [C_ADDR_W-1:0]   job_c_base,
    // LAYER_SKEW: the ring entry of `stage` (its first job, its step parity)
    input  wire [JOB_W-1:0]      stage_job,
    input  wire                  stage_par,

    // cell-unit output beats (ernn_lstm_cell / ernn_gru_cell m_axis_tdata)
    input  wire [CELL_OUT_W-1:0] s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,

    // the output vector is complete and waits for m_axis
    input  wire                  out_full,
    // take no beat (the projection engine cannot take a layer's last m block yet, ernn_proj_pe)
    input  wire                  hold,

    // one block written
    output wire                  we,
    output wire [IDX_W-1:0]      blk,
    output wire                  blk_last,   // the stage's last block
    output wire [H_ADDR_W-1:0]   h_addr,
    output wire [K*DATA_W-1:0]   h_data,
    output wire [C_ADDR_W-1:0]   c_addr,
    output wire [K*CELL_W-1:0]   c_data,
    output wire [STAGE_W-1:0]    stage,      // stage of the block, mod 2**STAGE_W
    output wire                  last_layer, // the block is the last layer's
    output wire                  par         // step parity of the block
);

// cell-unit beats per block
localparam SPLIT = K / CELL_LANES;
localparam SUB_W = SPLIT > 1 ? $clog2(SPLIT) : 1;
localparam integer SPLIT_LAST_I = SPLIT - 1;
localparam [SUB_W-1:0] SPLIT_LAST = SPLIT_LAST_I[SUB_W-1:0];
localparam CL = CELL_LANES;
localparam BLK_W = K * DATA_W;
localparam CBLK_W = K * CELL_W;
// valid units of the last hidden block
localparam H_TAIL = HIDDEN_SIZE - ((HIDDEN_SIZE + K - 1) / K - 1) * K;
// the earlier beats of a block wait in a shift register, the first beat lowest
localparam H_ASM_W = (SPLIT - 1) * CL * DATA_W;
localparam C_ASM_W = (SPLIT - 1) * CL * CELL_W;

// check configuration
initial begin
    if (CELL_LANES < 1 || K % CELL_LANES != 0 || HIDDEN_SIZE < 1) begin
        $error("Error: ernn_cell_writer CELL_LANES must divide K = %0d (got %0d), HIDDEN_SIZE >= 1", K, CELL_LANES);
        $finish;
    end
    if (CELL_OUT_W != (CELL_LSTM ? CELL_LANES * (DATA_W + CELL_W) : CELL_LANES * DATA_W)) begin
        $error("Error: ernn_cell_writer CELL_OUT_W is derived; do not override it");
        $finish;
    end
end

reg [SUB_W-1:0] sub_reg;
reg [IDX_W-1:0] blk_reg;
reg [JOB_W-1:0] job_reg;
reg par_reg;
reg [STAGE_W-1:0] stage_reg;

localparam integer H_PAR_OFF_I = H_PAR_OFF;
localparam [H_ADDR_W-1:0] PAR_OFF = H_PAR_OFF_I[H_ADDR_W-1:0];

assign job = LAYER_SKEW != 0 ? stage_job : job_reg;

wire sub_last = sub_reg == SPLIT_LAST;
assign blk_last = blk_reg == job_last_blk;
// the cell writer writes the output vector (last layer, no projection)
assign s_axis_tready = !hold && (HAS_PROJ || !(job_last_layer && out_full));
wire fire = s_axis_tvalid && s_axis_tready;
assign we = fire && sub_last;

// h_t (m_t) and c_t of the whole block: this beat and the earlier ones
wire [BLK_W-1:0] h_blk;         // K samples of h_t (m_t), Q(data)
wire [CBLK_W-1:0] c_blk;        // K samples of c_t, Q(cell)
wire [CL*DATA_W-1:0] cell_h = s_axis_tdata[CL*DATA_W-1:0];  // Q(data)

generate
if (SPLIT > 2) begin : g_h_asm
    reg [H_ASM_W-1:0] h_asm_reg;  // Q(data)
    always @(posedge clk) begin
        if (fire) begin
            h_asm_reg <= {cell_h, h_asm_reg[H_ASM_W-1:CL*DATA_W]};
        end
    end
    assign h_blk = {cell_h, h_asm_reg};
end else if (SPLIT == 2) begin : g_h_asm2
    reg [H_ASM_W-1:0] h_asm_reg;
    always @(posedge clk) begin
        if (fire) begin
            h_asm_reg <= cell_h;
        end
    end
    assign h_blk = {cell_h, h_asm_reg};
end else begin : g_h_one
    assign h_blk = cell_h;
end

if (CELL_LSTM) begin : g_c
    wire [CL*CELL_W-1:0] cell_c = s_axis_tdata[CL*DATA_W +: CL*CELL_W];  // Q(cell)
    if (SPLIT > 2) begin : g_asm
        reg [C_ASM_W-1:0] c_asm_reg;
        always @(posedge clk) begin
            if (fire) begin
                c_asm_reg <= {cell_c, c_asm_reg[C_ASM_W-1:CL*CELL_W]};
            end
        end
        assign c_blk = {cell_c, c_asm_reg};
    end else if (SPLIT == 2) begin : g_asm2
        reg [C_ASM_W-1:0] c_asm_reg;
        always @(posedge clk) begin
            if (fire) begin
                c_asm_reg <= cell_c;
            end
        end
        assign c_blk = {cell_c, c_asm_reg};
    end else begin : g_one
        assign c_blk = cell_c;
    end
end else begin : g_no_c
    assign c_blk = {CBLK_W{1'b0}};

    // a GRU has no cell state
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_c_base = &{1'b0, job_c_base};
    /* verilator lint_on UNUSEDSIGNAL */
end
endgenerate

// padding units of the last hidden block are written as zeros
genvar n;

generate
for (n = 0; n < K; n = n + 1) begin : g_mask
    if (n >= H_TAIL) begin : g_tail
        assign h_data[n*DATA_W +: DATA_W] = blk_last ? {DATA_W{1'b0}} : h_blk[n*DATA_W +: DATA_W];
    end else begin : g_keep
        assign h_data[n*DATA_W +: DATA_W] = h_blk[n*DATA_W +: DATA_W];
    end
end
endgenerate

always @(posedge clk) begin
    if (fire) begin
        sub_reg <= sub_reg + 1'b1;
        if (sub_last) begin
            sub_reg <= {SUB_W{1'b0}};
            if (blk_last) begin
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
    end

    if (rst) begin
        sub_reg <= {SUB_W{1'b0}};
        blk_reg <= {IDX_W{1'b0}};
        job_reg <= {JOB_W{1'b0}};
        par_reg <= 1'b0;
        stage_reg <= {STAGE_W{1'b0}};
    end
end

assign blk = blk_reg;
assign h_addr = job_h_base + blk_reg[H_ADDR_W-1:0] + (LAYER_SKEW != 0 && stage_par ? PAR_OFF : {H_ADDR_W{1'b0}});
assign c_addr = job_c_base + blk_reg[C_ADDR_W-1:0];
assign c_data = c_blk;
assign stage = stage_reg;
assign last_layer = job_last_layer;
assign par = LAYER_SKEW != 0 ? stage_par : par_reg;

endmodule

`resetall
