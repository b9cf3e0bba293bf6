/*

E-RNN toolkit: accelerator command side — input frames, PE job commands and their input blocks

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Steps through the exporter's job table (ernn_job_table port `job`) one PE job at a time,
 * time step after time step, and for each job
 *
 *   1. issues the PE command (m_cmd_*: load_count blocks into spectrum slots from 0,
 *      read_count slots from read_base, rows row blocks, weights from w_base: the table's
 *      fields as they are);
 *   2. streams the job's load_count input blocks into the PE (m_axis, one block of K
 *      Q(DATA_W, DATA_F) samples per beat, sample n at [n*DATA_W +: DATA_W]): a projection
 *      loads m_t; otherwise the first x_blocks blocks are x_t (layer 0: the frame register,
 *      zero-padded to whole blocks; later layers: the layer below's h_t at x_base) and the
 *      rest h_{t-1} of this layer at h_base (zero on the first frame of a sequence).
 *
 * With LAYER_SKEW the slot of step t issues layer l's stage of step t - l instead (the
 * section "LAYER_SKEW" below: shift register of steps per layer, drain slots, skipped
 * stages, the ring of issued stages, per-layer producer progress). With INTERLEAVE as well (an
 * LSTM with a projection, every stage a gate job then a projection) a slot issues every
 * layer's gate job, then every layer's projection (the section "INTERLEAVE" below): each
 * issued job goes into a queue (iss_*) from which the PE writer takes its rows' jobs, and a
 * projection's m blocks are checked against its layer's m progress (ml_done, ml_count).
 *
 * A block is requested as soon as its producer writes it (h_stage_now/h_count: the stage
 * (mod 4) the h producer is writing and its blocks so far, with the layers in order this
 * clock's write included and h, m read write-first (ernn_state_mem FORWARD); m_tag/m_count
 * likewise for m; pipelined, FORWARD compares the write ports with an h_{t-1} or m block), so
 * the next job's FFTs overlap the current job's tail; a stage's first job waits until
 * the stage two back has written all of its h (the 2-bit tags never alias) and, in layer 0,
 * for its frame. Requests go through a registered read (memory or block select) into a
 * 4-entry FIFO that feeds the PE, one block per clock, or past it when it is empty (the
 * block goes to the PE in the clock it is read); a credit count keeps it from overflowing.
 * With EARLY_LOAD a job's first block is requested in the clock its command is taken, so it
 * reaches the PE a clock after the command (not at a pipelined slot's opening command, whose
 * step enters the shift register at that edge).
 *
 * s_axis: one frame x_t per beat (INPUT_SIZE samples of Q(DATA_W, DATA_F), sample n at
 * [n*DATA_W +: DATA_W], zero-padded to whole bytes); tlast = last frame of a sequence.
 * tready is high while the frame register is free: from the request of the frame's last
 * block to the next accepted frame. The first frame's and tlast flags are kept per step
 * parity (step_first, step_last) for the feeder and the output vector.
 */
module ernn_cmd #
(
    // features per input frame
    parameter INPUT_SIZE = 12,
    // stacked layers (L)
    parameter NUM_LAYERS = 1,
    // block size K
    parameter K = 8,
    // data word, Q(DATA_W, DATA_F)
    parameter DATA_W = 16,
    // job-table row index width
    parameter JOB_W = 1,
    // block index / count width
    parameter IDX_W = 4,
    // spectrum-slot count width (PE command)
    parameter CNT_W = 3,
    // spectrum-slot address width (PE command)
    parameter XBUF_ADDR_W = 3,
    // row-block count width (PE command)
    parameter ROWS_W = 5,
    // PE weight-memory address width
    parameter W_ADDR_W = 6,
    // h-memory address width
    parameter H_ADDR_W = 2,
    // m-memory address width
    parameter M_ADDR_W = 2,
    // 1: layers pipelined across steps (ernn_params.vh ERNN_LAYER_SKEW): in the slot of step t
    // layer l's stage of step t - l is issued (see below); 0: layers in order
    parameter LAYER_SKEW = 0,
    // stage counter width: 2 in order; LAYER_SKEW: clog2(L + 2) (the stages in flight, the ring)
    parameter STAGE_W = 2,
    // LAYER_SKEW: step number width (mod 2**TAG_W) of the per-layer producer progress
    parameter TAG_W = 1,
    // layer index width (job_layer)
    parameter LAYER_W = 1,
    // LAYER_SKEW: h-memory words between the two step-parity copies (L q_h)
    parameter H_PAR_OFF = 0,
    // 1: with LAYER_SKEW, a slot's gate jobs first, then its projections (ernn_params.vh
    // ERNN_INTERLEAVE; an LSTM with a projection: the table's stages are [gate, proj])
    parameter INTERLEAVE = 0,
    // 1: with LAYER_SKEW, an h_{t-1} or m block is also available in the clock its layer writes it
    // (the write ports h_wr_* / m_wr_* compared with the block awaited; h and m read write-first,
    // ernn_state_mem FORWARD); the layers in order get this from h_stage_now/h_count instead
    parameter FORWARD = 0,
    // 1: a loading job's first block is requested in the clock its command is taken (not the clock
    // after, from the load state), except at a slot's opening, whose step is not in place yet
    parameter EARLY_LOAD = 0,
    // s_axis_tdata width: INPUT_SIZE samples padded to whole bytes (derived; do not override)
    parameter IN_TDATA_W = ((INPUT_SIZE * DATA_W + 7) / 8) * 8
)
(
    input  wire                   clk,
    input  wire                   rst,

    // input frames x_t, Q(DATA_W, DATA_F) samples; tlast = last frame of a sequence
    input  wire [IN_TDATA_W-1:0]  s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,
    input  wire                   s_axis_tlast,

    // job-table read port (ernn_job_table): the job being issued or loaded, and its fields
    output wire [JOB_W-1:0]       job,
    input  wire [1:0]             job_kind,
    input  wire [LAYER_W-1:0]     job_layer,
    input  wire                   job_first_layer,
    input  wire                   job_last_layer,
    input  wire                   job_stage_first,
    input  wire                   job_stage_last,
    input  wire                   job_step_last,
    input  wire [JOB_W-1:0]       job_next_stage,
    input  wire [CNT_W-1:0]       job_load_count,
    input  wire [IDX_W-1:0]       job_load_last,
    input  wire [IDX_W-1:0]       job_x_blocks,
    input  wire [XBUF_ADDR_W-1:0] job_read_base,
    input  wire [CNT_W-1:0]       job_read_count,
    input  wire [ROWS_W-1:0]      job_rows,
    input  wire [W_ADDR_W-1:0]    job_w_base,
    input  wire [H_ADDR_W-1:0]    job_x_base,
    input  wire [H_ADDR_W-1:0]    job_h_base,
    // INTERLEAVE: m-memory word of block 0 of the job's layer (the table's c_base, layer * p)
    input  wire [M_ADDR_W-1:0]    job_m_base,

    // PE job command (ernn_pe s_cmd_*)
    output wire                   m_cmd_valid,
    input  wire                   m_cmd_ready,
    output wire [CNT_W-1:0]       m_cmd_load_count,
    output wire [XBUF_ADDR_W-1:0] m_cmd_read_base,
    output wire [CNT_W-1:0]       m_cmd_read_count,
    output wire [ROWS_W-1:0]      m_cmd_rows,
    output wire [W_ADDR_W-1:0]    m_cmd_w_base,

    // PE input blocks, K samples of Q(DATA_W, DATA_F)
    output wire [K*DATA_W-1:0]    m_axis_tdata,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready,

    // h memory read port (registered: data one clock after rd_en), Q(DATA_W, DATA_F) blocks
    output wire                   h_rd_en,
    output wire [H_ADDR_W-1:0]    h_rd_addr,
    input  wire [K*DATA_W-1:0]    h_rd_data,
    // m memory read port (LSTM projection input), Q(DATA_W, DATA_F) blocks
    output wire                   m_rd_en,
    output wire [M_ADDR_W-1:0]    m_rd_addr,
    input  wire [K*DATA_W-1:0]    m_rd_data,

    // progress of the h producer: stage (mod 2**STAGE_W) being written as of the last clock (the
    // command issue) and for the loads (h_stage_now), blocks of it written so far; with the layers in
    // order both include this clock's write (a block is requested in the clock it is written:
    // ernn_state_mem FORWARD), pipelined they are the registered counts
    input  wire [STAGE_W-1:0]     h_stage,
    input  wire [STAGE_W-1:0]     h_stage_now,
    input  wire [IDX_W-1:0]       h_count,
    // LAYER_SKEW: per layer l (at [l*TAG_W +: TAG_W] / [l*IDX_W +: IDX_W]) the steps whose h is
    // complete (mod 2**TAG_W) and the blocks written of the next one
    input  wire [NUM_LAYERS*TAG_W-1:0] hl_done,
    input  wire [NUM_LAYERS*IDX_W-1:0] hl_count,
    // progress of the m writer: stage (mod 2**STAGE_W) of the last m block written, blocks so far
    input  wire [STAGE_W-1:0]     m_tag,
    input  wire [IDX_W-1:0]       m_count,
    // INTERLEAVE: per layer the steps whose m is complete and the m blocks written of the next
    input  wire [NUM_LAYERS*TAG_W-1:0] ml_done,
    input  wire [NUM_LAYERS*IDX_W-1:0] ml_count,
    // LAYER_SKEW with FORWARD: the h and m write ports of this clock (block of a layer), which
    // the registered per-layer progress above counts from the next clock on
    input  wire                   h_wr_en,
    input  wire [LAYER_W-1:0]     h_wr_layer,
    input  wire [IDX_W-1:0]       h_wr_blk,
    input  wire                   m_wr_en,
    input  wire [LAYER_W-1:0]     m_wr_layer,
    input  wire [IDX_W-1:0]       m_wr_blk,

    // INTERLEAVE: every issued job, in issue order, for the PE writer (ernn_issue_q):
    // {job, step parity, tlast}; iss_full holds the next command
    output wire                   iss_push,
    output wire [JOB_W+1:0]       iss_entry,
    input  wire                   iss_full,

    // per step parity: the step starts a sequence (zero state), its frame had tlast (layers in order)
    output wire [1:0]             step_first,
    output wire [1:0]             step_last,
    // LAYER_SKEW: the stages issued, entry (stage mod 2**STAGE_W) at [e*RING_W +: RING_W]:
    // {first job, step (mod 2**TAG_W; bit 0 its parity), first frame of a sequence, tlast}
    output wire [(1<<STAGE_W)*(JOB_W+TAG_W+2)-1:0] ring
);

function integer cdiv(input integer a, input integer b);
    begin
        cdiv = (a + b - 1) / b;
    end
endfunction

// input blocks of the frame (layer 0's x_t)
localparam QX0 = cdiv(INPUT_SIZE, K);
localparam BLK_W = K * DATA_W;
localparam FRAME_W = INPUT_SIZE * DATA_W;
localparam FRAME_PAD_W = QX0 * BLK_W;
localparam integer QX0_LAST_I = QX0 - 1;
localparam [IDX_W-1:0] QX0_LAST = QX0_LAST_I[IDX_W-1:0];

// job kinds (ernn_job_table)
localparam [1:0] JOB_GATE = 2'd0;
localparam [1:0] JOB_PROJ = 2'd3;

// load sources
localparam [1:0] SRC_ZERO = 2'd0;
localparam [1:0] SRC_FRAME = 2'd1;
localparam [1:0] SRC_H = 2'd2;
localparam [1:0] SRC_M = 2'd3;

// check configuration
initial begin
    if (INPUT_SIZE < 1 || NUM_LAYERS < 1 || K < 1) begin
        $error("Error: ernn_cmd needs INPUT_SIZE, NUM_LAYERS, K >= 1 (got %0d, %0d, %0d)", INPUT_SIZE, NUM_LAYERS, K);
        $finish;
    end
    if (IN_TDATA_W != ((INPUT_SIZE * DATA_W + 7) / 8) * 8) begin
        $error("Error: ernn_cmd IN_TDATA_W is derived; do not override it");
        $finish;
    end
    if (LAYER_SKEW != 0 && (NUM_LAYERS < 2 || (1 << STAGE_W) < NUM_LAYERS + 2 || (1 << (TAG_W - 1)) < NUM_LAYERS + 2)) begin
        $error("Error: ernn_cmd LAYER_SKEW needs NUM_LAYERS >= 2 (got %0d; one layer has nothing to pipeline) and STAGE_W, TAG_W for L + 2 stages in flight (got %0d, %0d)",
            NUM_LAYERS, STAGE_W, TAG_W);
        $finish;
    end
    if (INTERLEAVE != 0 && (LAYER_SKEW == 0 || JOB_W < 2)) begin
        $error("Error: ernn_cmd INTERLEAVE needs LAYER_SKEW (the stages of a slot must not feed each other) and gate and projection jobs (got LAYER_SKEW = %0d, JOB_W = %0d)",
            LAYER_SKEW, JOB_W);
        $finish;
    end
    if (LAYER_SKEW == 0 && STAGE_W != 2) begin
        $error("Error: ernn_cmd STAGE_W is 2 with the layers in order (got %0d)", STAGE_W);
        $finish;
    end
end

// ---------------------------------------------------------------------------------------
// input frame register

reg [FRAME_W-1:0] frame_reg;    // x_t, Q(data) samples
reg frame_valid_reg;
reg frame_first_reg;            // first frame of a sequence: zero state
reg frame_last_reg;             // tlast: last frame of a sequence
reg next_first_reg;             // the next accepted frame starts a sequence

wire frame_free;                // the last block of the frame has been requested

assign s_axis_tready = !frame_valid_reg;

always @(posedge clk) begin
    if (frame_free) begin
        frame_valid_reg <= 1'b0;
    end
    if (s_axis_tvalid && s_axis_tready) begin
        frame_reg <= s_axis_tdata[FRAME_W-1:0];
        frame_valid_reg <= 1'b1;
        frame_first_reg <= next_first_reg;
        frame_last_reg <= s_axis_tlast;
        next_first_reg <= s_axis_tlast;
    end

    if (rst) begin
        frame_valid_reg <= 1'b0;
        next_first_reg <= 1'b1;
    end
end

generate
if (IN_TDATA_W > FRAME_W) begin : g_in_pad
    // byte padding of the input bus
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_in_pad = &{1'b0, s_axis_tdata[IN_TDATA_W-1:FRAME_W]};
    /* verilator lint_on UNUSEDSIGNAL */
end
endgenerate

// frame zero-padded to QX0 whole blocks
wire [FRAME_PAD_W-1:0] frame_pad;   // Q(data) samples, QX0 K of them

generate
if (FRAME_PAD_W > FRAME_W) begin : g_frame_pad
    assign frame_pad = {{(FRAME_PAD_W-FRAME_W){1'b0}}, frame_reg};
end else begin : g_frame_nopad
    assign frame_pad = frame_reg;
end
endgenerate

reg [1:0] step_first_reg;
reg [1:0] step_last_reg;

assign step_first = step_first_reg;
assign step_last = step_last_reg;

// ---------------------------------------------------------------------------------------
// job sequencing

localparam [1:0] CMD_ISSUE = 2'd0;
localparam [1:0] CMD_LOAD = 2'd1;

reg [1:0] cmd_state_reg;
reg [JOB_W-1:0] cmd_job_reg;    // job-table row
reg [STAGE_W-1:0] cmd_stage_reg;  // stage index mod 2**STAGE_W (stages issued)
reg cmd_par_reg;                // step parity
reg cmd_first_reg;              // this step starts a sequence
reg [IDX_W-1:0] ld_idx_reg;     // input block of the job being sent

assign job = cmd_job_reg;

// ---------------------------------------------------------------------------------------
// LAYER_SKEW: the slot of step t issues layer l's stage of step t - l. A shift register
// holds, per layer, the step that layer works on in the current slot (valid, its number,
// first frame of a sequence, tlast); it shifts by one layer when a slot opens (at job 0),
// layer 0 taking the waiting frame. With no frame waiting but steps still owed by layers
// above, the slot opens as a drain slot (layer 0 idle) so the last output never waits for
// a frame that may not come. A stage whose layer has no step (before the first frame has
// reached it, behind a drain slot) is skipped: it is not issued and no unit sees it, so the
// stage counters of all units count the same (issued) stages. Every issued stage is
// recorded in the ring (first job, step, flags), which the units behind the PE read by
// their own stage counter: a stage's h goes to the copy of its step's parity, x_t is read
// from the layer below's copy of the same step, h_{t-1} from this layer's other copy.

localparam RING_D = 1 << STAGE_W;
localparam RING_W = JOB_W + TAG_W + 2;
localparam integer L_I = NUM_LAYERS;
localparam [STAGE_W-1:0] INFLIGHT_MAX = L_I[STAGE_W-1:0];
localparam integer H_PAR_OFF_I = H_PAR_OFF;
localparam [H_ADDR_W-1:0] PAR_OFF = H_PAR_OFF_I[H_ADDR_W-1:0];

// the current stage's step (ring / shift register below)
wire sr_valid;                  // the stage's layer has a step in this slot
wire sr_first;                  // it is the first of a sequence
wire sr_last;                   // its frame had tlast
wire [TAG_W-1:0] sr_step;       // its number
wire sr_owed;                   // a layer above layer 0 still owes a step
wire [TAG_W-1:0] step_ctr;      // number of the next frame's step
reg slot_open_reg;              // the current slot's shift register is in place
// the producer progress of the layer below (x_t) and of this layer (h_{t-1}): complete, or
// being written (blocks so far)
wire x_done;
wire x_now;
wire [IDX_W-1:0] x_count;
wire r_done;
wire r_now;
wire [IDX_W-1:0] r_count;
// INTERLEAVE: the m progress of this layer (its step complete, or being written)
wire m_l_done;
wire m_l_now;
wire [IDX_W-1:0] m_l_count;
// FORWARD: the block awaited (h_{t-1}, m) is written this clock, by its layer (of the step being
// written: *_now; the writes of a layer come in block order, so the block written is the count). A
// layer's input x, the layer below's h of the same step, is not compared: it is written in the slot
// before, under the jobs of the lower layers that come first in this one, and forwarding it changed no
// clock on any shape measured (docs/performance.md, "Forwarded loads in the pipelined designs")
wire r_fwd;
wire m_fwd;

// the job is the first of a slot (layer 0's first) that has not opened yet
wire slot_opening = LAYER_SKEW != 0 && job_first_layer && job_stage_first && !slot_open_reg;
// the stage being issued: its step and flags
wire [TAG_W-1:0] iss_step = slot_opening ? step_ctr : sr_step;
wire iss_first = slot_opening ? frame_first_reg : sr_first;
wire iss_last = slot_opening ? frame_last_reg : sr_last;
wire iss_par = sr_step[0];
// h_{t-1} is zero: the first frame of a sequence (with the layers in order, in the clock that issues
// a step's first job, EARLY_LOAD, the frame's flag: cmd_first_reg takes it at that command)
wire step_issue = cmd_state_reg == CMD_ISSUE && job_stage_first && job_first_layer;
wire rec_zero = LAYER_SKEW != 0 ? sr_first : (step_issue ? frame_first_reg : cmd_first_reg);

// where input block ld_idx comes from and whether its producer has written it
reg [1:0] ld_src;
reg [H_ADDR_W-1:0] ld_haddr;
reg ld_avail;

// this stage minus the stage the h producer is writing: 0 = every earlier stage is written;
// 1 = the previous stage is being written (h_count blocks so far); 2 = two back (no start)
wire [STAGE_W-1:0] hp_diff = cmd_stage_reg - h_stage;
// the same for the loads (with FORWARD this clock's write included)
wire [STAGE_W-1:0] hp_diff_ld = cmd_stage_reg - h_stage_now;
wire [IDX_W-1:0] ld_hidx = ld_idx_reg - job_x_blocks;   // recurrent block index

always @* begin
    ld_src = SRC_ZERO;
    ld_haddr = job_h_base + ld_hidx[H_ADDR_W-1:0];
    ld_avail = 1'b1;
    if (job_kind == JOB_PROJ) begin
        ld_src = SRC_M;
        if (INTERLEAVE != 0) begin
            // the layer's m of the same step (other layers' cells may have written theirs since)
            ld_avail = m_l_done || (m_l_now && (m_l_count > ld_idx_reg || m_fwd));
        end else begin
            ld_avail = m_tag == cmd_stage_reg && m_count > ld_idx_reg;
        end
    end else if (ld_idx_reg < job_x_blocks) begin
        // x_t: the frame, or h_t of the layer below (the previous stage)
        if (job_first_layer) begin
            ld_src = SRC_FRAME;
            ld_avail = frame_valid_reg;
        end else if (LAYER_SKEW != 0) begin
            // the layer below's h of the same step, in the copy of its parity
            ld_src = SRC_H;
            ld_haddr = job_x_base + ld_idx_reg[H_ADDR_W-1:0] + (iss_par ? PAR_OFF : {H_ADDR_W{1'b0}});
            ld_avail = x_done || (x_now && x_count > ld_idx_reg);
        end else begin
            ld_src = SRC_H;
            ld_haddr = job_x_base + ld_idx_reg[H_ADDR_W-1:0];
            ld_avail = hp_diff_ld == {STAGE_W{1'b0}} || h_count > ld_idx_reg;
        end
    end else if (!rec_zero) begin
        ld_src = SRC_H;
        if (LAYER_SKEW != 0) begin
            // this layer's h of the previous step, in the other copy
            ld_haddr = job_h_base + ld_hidx[H_ADDR_W-1:0] + (iss_par ? {H_ADDR_W{1'b0}} : PAR_OFF);
            ld_avail = r_done || (r_now && (r_count > ld_hidx || r_fwd));
        end else begin
            // h_{t-1} of this layer: stage - L, the previous stage when L = 1
            ld_avail = NUM_LAYERS > 1 || hp_diff_ld == {STAGE_W{1'b0}} || h_count > ld_hidx;
        end
    end
end

// load pipeline: request -> memory read / block select -> FIFO -> PE s_axis; a block read while the
// FIFO is empty goes to the PE in the clock it is read (fall-through), one clock sooner
localparam LD_FIFO_DEPTH = 4;

reg ld_pend_reg;                // a request made last clock arrives now
reg [1:0] ld_pend_src_reg;
reg [BLK_W-1:0] ld_frame_blk_reg;              // K samples, Q(data)
reg [BLK_W-1:0] ld_fifo_reg [0:LD_FIFO_DEPTH-1];  // input blocks for the PE, K samples of Q(data)
reg [1:0] ld_wr_ptr_reg;
reg [1:0] ld_rd_ptr_reg;
reg [2:0] ld_count_reg;

wire ld_credit = ld_count_reg + {2'b00, ld_pend_reg} < 3'd4;
// EARLY_LOAD: block 0 with the command (ld_idx_reg is 0 between jobs); cmd_fire is declared below
wire ld_early;
wire ld_req = (cmd_state_reg == CMD_LOAD || ld_early) && ld_avail && ld_credit;
wire ld_last = ld_idx_reg == job_load_last;
wire ld_pop = ld_count_reg != 3'd0 && m_axis_tready;
// the block read last clock (ld_data) passes through to the PE: the FIFO is empty and the PE takes it
wire ld_through = ld_pend_reg && ld_count_reg == 3'd0 && m_axis_tready;
wire ld_push = ld_pend_reg && !ld_through;

// the frame is released by the gate job, its last reader: a GRU stage issued in the order in, rz,
// hn (the exporter's gru_in_first) loads x_t in the in job and again in the rz job
assign frame_free = ld_req && ld_src == SRC_FRAME && ld_idx_reg == QX0_LAST && job_kind == JOB_GATE;

assign h_rd_en = ld_req && ld_src == SRC_H;
assign h_rd_addr = ld_haddr;
assign m_rd_en = ld_req && ld_src == SRC_M;
assign m_rd_addr = (INTERLEAVE != 0 ? job_m_base : {M_ADDR_W{1'b0}}) + ld_idx_reg[M_ADDR_W-1:0];

reg [BLK_W-1:0] ld_data;        // K samples, Q(data)

always @* begin
    case (ld_pend_src_reg)
        SRC_FRAME: ld_data = ld_frame_blk_reg;
        SRC_H: ld_data = h_rd_data;
        SRC_M: ld_data = m_rd_data;
        default: ld_data = {BLK_W{1'b0}};
    endcase
end

// the frame's input block ld_idx (ernn_sel: a mux, not a shifter)
wire [BLK_W-1:0] ld_frame_blk;

ernn_sel #(.N(QX0), .W(BLK_W), .SEL_W(IDX_W))
frame_sel_inst (.in(frame_pad), .sel(ld_idx_reg), .out(ld_frame_blk));

always @(posedge clk) begin
    ld_pend_reg <= ld_req;
    if (ld_req) begin
        ld_pend_src_reg <= ld_src;
        ld_frame_blk_reg <= ld_frame_blk;
    end
    if (ld_push) begin
        ld_fifo_reg[ld_wr_ptr_reg] <= ld_data;
        ld_wr_ptr_reg <= ld_wr_ptr_reg + 1'b1;
    end
    if (ld_pop) begin
        ld_rd_ptr_reg <= ld_rd_ptr_reg + 1'b1;
    end
    ld_count_reg <= ld_count_reg + {2'b00, ld_push} - {2'b00, ld_pop};

    if (rst) begin
        ld_pend_reg <= 1'b0;
        ld_wr_ptr_reg <= 2'd0;
        ld_rd_ptr_reg <= 2'd0;
        ld_count_reg <= 3'd0;
    end
end

// the FIFO's oldest block first; with the FIFO empty, the block read last clock
assign m_axis_tdata = ld_count_reg != 3'd0 ? ld_fifo_reg[ld_rd_ptr_reg] : ld_data;
assign m_axis_tvalid = ld_count_reg != 3'd0 || ld_pend_reg;

// command issue: a stage starts once the stage two back has written all of its h
// (hp_diff < 2) and, for layer 0, once its frame is here. LAYER_SKEW: once at most L
// stages are in flight (so the ring and the stage tags never alias), with a step for its
// layer; a stage without one is skipped, and a slot without a frame opens as a drain slot
// only if a layer above still owes a step (else the command side waits for a frame).
wire inflight_ok = hp_diff <= INFLIGHT_MAX;
wire cmd_start_ok = LAYER_SKEW != 0
    ? !job_stage_first || (inflight_ok && (slot_opening ? frame_valid_reg : sr_valid))
    : !job_stage_first || (hp_diff != 2'd2 && (!job_first_layer || frame_valid_reg));
wire drain_open = slot_opening && !frame_valid_reg && sr_owed && inflight_ok;
wire stage_skip = cmd_state_reg == CMD_ISSUE && LAYER_SKEW != 0 && job_stage_first
    && (slot_opening ? drain_open : !sr_valid);
// INTERLEAVE: the slot issues its projections (after every layer's gate job); a projection
// whose layer has no step in the slot is skipped as its gate job was
reg proj_phase_reg;
wire proj_skip = INTERLEAVE != 0 && cmd_state_reg == CMD_ISSUE && proj_phase_reg && !sr_valid;
assign m_cmd_valid = cmd_state_reg == CMD_ISSUE && cmd_start_ok && !proj_skip && !(INTERLEAVE != 0 && iss_full);
assign m_cmd_load_count = job_load_count;
assign m_cmd_read_base = job_read_base;
assign m_cmd_read_count = job_read_count;
assign m_cmd_rows = job_rows;
assign m_cmd_w_base = job_w_base;

wire cmd_fire = m_cmd_valid && m_cmd_ready;
assign ld_early = EARLY_LOAD != 0 && cmd_fire && job_load_count != {CNT_W{1'b0}} && !slot_opening;
// the job's command and loads are done: next job, next stage
wire cmd_next = (cmd_fire && job_load_count == {CNT_W{1'b0}}) || (ld_req && ld_last);

// INTERLEAVE: the queue of issued jobs (the PE writer's order), and the rows of the slot's
// first projection and of the next stage's projection (every stage is [gate, proj])
assign iss_push = INTERLEAVE != 0 && cmd_fire;
assign iss_entry = {cmd_job_reg, iss_step[0], iss_last};
localparam [JOB_W-1:0] JOB_ONE = {{(JOB_W-1){1'b0}}, 1'b1};
wire [JOB_W-1:0] next_proj = job_next_stage + JOB_ONE;

always @(posedge clk) begin
    if (cmd_fire) begin
        if (job_stage_first && job_first_layer) begin
            step_first_reg[cmd_par_reg] <= frame_first_reg;
            step_last_reg[cmd_par_reg] <= frame_last_reg;
            cmd_first_reg <= frame_first_reg;
        end
        if (job_load_count != {CNT_W{1'b0}}) begin
            cmd_state_reg <= CMD_LOAD;
            ld_idx_reg <= {IDX_W{1'b0}};
        end
    end

    if (ld_req) begin
        ld_idx_reg <= ld_idx_reg + 1'b1;
    end
    // the next job's block 0 may be requested with its command (EARLY_LOAD)
    if (cmd_next) begin
        ld_idx_reg <= {IDX_W{1'b0}};
    end

    if (cmd_next && INTERLEAVE == 0) begin
        cmd_state_reg <= CMD_ISSUE;
        if (job_stage_last) begin
            cmd_stage_reg <= cmd_stage_reg + 1'b1;
        end
        if (job_step_last) begin
            cmd_job_reg <= {JOB_W{1'b0}};
            cmd_par_reg <= !cmd_par_reg;
            slot_open_reg <= 1'b0;
        end else begin
            cmd_job_reg <= cmd_job_reg + 1'b1;
        end
    end
    // INTERLEAVE: a gate job counts its stage and moves to the next layer's gate job, after
    // the last layer's to the projections; a projection moves to the next layer's, after the
    // last layer's the slot closes
    if (cmd_next && INTERLEAVE != 0) begin
        cmd_state_reg <= CMD_ISSUE;
        if (!proj_phase_reg) begin
            cmd_stage_reg <= cmd_stage_reg + 1'b1;
        end
    end
    if ((cmd_next || proj_skip) && INTERLEAVE != 0) begin
        if (!proj_phase_reg) begin
            if (job_last_layer) begin
                cmd_job_reg <= JOB_ONE;
                proj_phase_reg <= 1'b1;
            end else begin
                cmd_job_reg <= job_next_stage;
            end
        end else if (job_step_last) begin
            cmd_job_reg <= {JOB_W{1'b0}};
            proj_phase_reg <= 1'b0;
            slot_open_reg <= 1'b0;
        end else begin
            cmd_job_reg <= next_proj;
        end
    end

    // LAYER_SKEW: open a slot, skip a stage without a step
    if ((cmd_fire || stage_skip) && slot_opening) begin
        slot_open_reg <= 1'b1;
    end
    if (stage_skip) begin
        if (job_last_layer && INTERLEAVE != 0) begin
            cmd_job_reg <= JOB_ONE;
            proj_phase_reg <= 1'b1;
        end else if (job_last_layer) begin
            cmd_job_reg <= {JOB_W{1'b0}};
            slot_open_reg <= 1'b0;
        end else begin
            cmd_job_reg <= job_next_stage;
        end
    end

    if (rst) begin
        cmd_state_reg <= CMD_ISSUE;
        cmd_job_reg <= {JOB_W{1'b0}};
        cmd_stage_reg <= {STAGE_W{1'b0}};
        cmd_par_reg <= 1'b0;
        cmd_first_reg <= 1'b1;
        ld_idx_reg <= {IDX_W{1'b0}};
        slot_open_reg <= 1'b0;
        proj_phase_reg <= 1'b0;
    end
end

// LAYER_SKEW: the shift register of steps per layer, the step counter and the ring
generate
if (LAYER_SKEW != 0) begin : g_skew
    reg [NUM_LAYERS-1:0] sr_valid_reg;
    reg [NUM_LAYERS-1:0] sr_first_reg;
    reg [NUM_LAYERS-1:0] sr_last_reg;
    reg [NUM_LAYERS*TAG_W-1:0] sr_step_reg;
    reg [TAG_W-1:0] step_ctr_reg;
    reg [RING_D*RING_W-1:0] ring_reg;
    integer re;

    wire [LAYER_W-1:0] below = job_layer - 1'b1;
    // steps complete past x's step and past h_{t-1}'s (positive: complete; the tags are wide
    // enough that the difference never wraps)
    wire [TAG_W-1:0] x_diff = hl_done[below*TAG_W +: TAG_W] - sr_step;
    wire [TAG_W-1:0] r_diff = hl_done[job_layer*TAG_W +: TAG_W] - sr_step + 1'b1;

    assign sr_valid = sr_valid_reg[job_layer];
    assign sr_first = sr_first_reg[job_layer];
    assign sr_last = sr_last_reg[job_layer];
    assign sr_step = sr_step_reg[job_layer*TAG_W +: TAG_W];
    assign sr_owed = |sr_valid_reg[NUM_LAYERS-2:0];
    assign step_ctr = step_ctr_reg;
    assign x_done = x_diff != {TAG_W{1'b0}} && !x_diff[TAG_W-1];
    assign x_now = x_diff == {TAG_W{1'b0}};
    assign x_count = hl_count[below*IDX_W +: IDX_W];
    assign r_done = r_diff != {TAG_W{1'b0}} && !r_diff[TAG_W-1];
    assign r_now = r_diff == {TAG_W{1'b0}};
    assign r_count = hl_count[job_layer*IDX_W +: IDX_W];
    assign ring = ring_reg;

    // INTERLEAVE: this layer's m of the stage's step, complete or being written
    wire [TAG_W-1:0] m_diff = ml_done[job_layer*TAG_W +: TAG_W] - sr_step;
    assign m_l_done = m_diff != {TAG_W{1'b0}} && !m_diff[TAG_W-1];
    assign m_l_now = m_diff == {TAG_W{1'b0}};
    assign m_l_count = ml_count[job_layer*IDX_W +: IDX_W];

    // FORWARD: equality compares against the write ports only (no adder, no per-layer select on
    // the write's path: forwarding through the per-layer progress made SR1's longest path)
    assign r_fwd = FORWARD != 0 && h_wr_en && h_wr_layer == job_layer && h_wr_blk == ld_hidx;
    assign m_fwd = FORWARD != 0 && INTERLEAVE != 0 && m_wr_en && m_wr_layer == job_layer
        && m_wr_blk == ld_idx_reg;

    always @(posedge clk) begin
        // a slot opens: every step moves up a layer, layer 0 takes the frame (if any)
        if ((cmd_fire || stage_skip) && slot_opening) begin
            sr_valid_reg <= {sr_valid_reg[NUM_LAYERS-2:0], frame_valid_reg};
            sr_first_reg <= {sr_first_reg[NUM_LAYERS-2:0], frame_first_reg};
            sr_last_reg <= {sr_last_reg[NUM_LAYERS-2:0], frame_last_reg};
            sr_step_reg <= {sr_step_reg[(NUM_LAYERS-1)*TAG_W-1:0], step_ctr_reg};
            if (frame_valid_reg) begin
                step_ctr_reg <= step_ctr_reg + 1'b1;
            end
        end
        // each entry decoded against its constant index: a write at a variable index made Yosys 0.23
        // build a 32-bit bounds compare in front of the ring (9 CARRY4 at SR1, docs/performance.md)
        for (re = 0; re < RING_D; re = re + 1) begin
            if (cmd_fire && job_stage_first && {{(32-STAGE_W){1'b0}}, cmd_stage_reg} == re) begin
                ring_reg[re*RING_W +: RING_W] <= {cmd_job_reg, iss_step, iss_first, iss_last};
            end
        end

        if (rst) begin
            sr_valid_reg <= {NUM_LAYERS{1'b0}};
            step_ctr_reg <= {TAG_W{1'b0}};
        end
    end
end else begin : g_in_order
    assign sr_valid = 1'b0;
    assign sr_first = 1'b0;
    assign sr_last = 1'b0;
    assign sr_step = {TAG_W{1'b0}};
    assign sr_owed = 1'b0;
    assign step_ctr = {TAG_W{1'b0}};
    assign x_done = 1'b0;
    assign x_now = 1'b0;
    assign x_count = {IDX_W{1'b0}};
    assign r_done = 1'b0;
    assign r_now = 1'b0;
    assign r_count = {IDX_W{1'b0}};
    assign ring = {(RING_D*RING_W){1'b0}};
    assign m_l_done = 1'b0;
    assign m_l_now = 1'b0;
    assign m_l_count = {IDX_W{1'b0}};
    assign r_fwd = 1'b0;
    assign m_fwd = 1'b0;

    // the skewed order's inputs (the layers in order are forwarded by h_stage_now and h_count)
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_skew = &{1'b0, hl_done, hl_count, ml_done, ml_count, job_layer, job_last_layer, job_next_stage,
        iss_step, iss_first, iss_last, h_wr_en, h_wr_layer, h_wr_blk, m_wr_en, m_wr_layer, m_wr_blk};
    /* verilator lint_on UNUSEDSIGNAL */
end
endgenerate

endmodule

`resetall
