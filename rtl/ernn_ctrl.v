/*

E-RNN toolkit: accelerator core — the controller's units around the circulant PE and the cell unit

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Runs stacked block-circulant LSTM/GRU layers on one ernn_pe, bit-exact with
 * ernn.golden.network.GoldenNetwork.run_stream (docs/accelerator.md, docs/numerics.md 12).
 * Every name below is a block of K samples; p = ceil(H / K) hidden blocks, q_x / q_h
 * input / recurrent blocks, p_r = ceil(PROJ_SIZE / K).
 *
 * One *stage* is one layer at one time step; stages run in order (layer 0..L-1 of step t,
 * then step t + 1), or with LAYER_SKEW (layers pipelined across steps) the slot of step t
 * runs layer l's stage of step t - l: h has two copies by step parity, the h producer's
 * progress is kept per layer, and the units behind the PE take each stage's first job,
 * step parity and flags from the command side's ring (ernn_cmd; a GRU stage may be one fused
 * job of r, z, W_in x, W_hn h rows, ernn_job_table); with INTERLEAVE as well a slot
 * issues every layer's gate job, then every layer's projection (LSTM with a projection): the
 * PE writer takes its jobs from a queue of the issued ones (ernn_issue_q) and m has a region
 * and a progress count per layer. What each stage's PE jobs are (LSTM gate[, proj]; GRU rz, in, hn), their
 * rows, input blocks, spectrum slots, weight offsets and operand addresses is the exporter's
 * job table (JOB_TABLE = ernn_params.vh ERNN_JOB_TABLE, ernn.export.schedule): this core
 * holds no copy of the schedule. Each unit below walks that table with its own read port
 * (ernn_job_table; the command side's port checks the table at elaboration):
 *
 *   ernn_cmd          input frame register; issues the jobs and streams their input
 *                     blocks (the frame, h of the layer below, h_{t-1}, m) into the PE as
 *                     soon as their producers have written them
 *   ernn_pe           FFT -> spectra -> P complex MAC lanes -> N_IFFT IFFTs, up to N_IFFT
 *                     row blocks per beat
 *   ernn_pe_writer    row blocks -> gate buffer y[gate][block] (Q(ifft_out)), or for the
 *                     projection rnd(y, I - D) saturated to Q(data) (R12) -> h memory
 *   ernn_gate_buf     y[slot][block] with a full flag per block
 *   ernn_feeder       complete blocks of y with the merged biases, peepholes and c_{t-1}
 *                     (GRU: h_{t-1}) -> cell unit, CELL_LANES units per beat
 *   ernn_lstm_cell /  the element-wise cell update
 *   ernn_gru_cell
 *   ernn_cell_writer  h_t (or m_t) and c_t per block -> state memories, output vector
 *   ernn_proj_pe      PROJ_ENGINE: the projection h_t = W_hr m_t on the cell writer's m
 *                     blocks (its own FFT, MACs, IFFT, R12) -> h memory, output vector; the
 *                     job table then has no projection jobs and there is no m memory
 *   ernn_state_mem    h, c, m of every layer and the h producer's progress
 *   ernn_out_vec      the last layer's h_t (or projection), held on m_axis
 *
 * Hazards are resolved by the order plus three checks: a y block is not overwritten before
 * the feeder has read it (full flags); an input block is not sent before its producer wrote
 * it (2-bit stage tags, block counts); a stage starts only when the stage two back has
 * written all of its h (so the tags never alias). Padding units of a partial last block (H
 * or PROJ_SIZE not a multiple of K) are computed and written as zeros, which is the zero
 * padding the next matvec's FFT expects.
 *
 * Input: one frame x_t per s_axis beat (INPUT_SIZE samples of Q(DATA_W, DATA_F), sample n
 * at tdata[n*DATA_W +: DATA_W]); s_axis_tlast ends a sequence and the state is zero for
 * the next frame. Output: one vector per time step on m_axis, the last layer's h_t (or
 * projection), same packing, tlast mirrored. A synchronous rst drops everything in
 * flight; the next frame starts a new sequence.
 */

module ernn_ctrl #
(
    // 1: LSTM (gates i, f, g, o), 0: GRU (gates r, z, n)
    parameter CELL_LSTM = 1,
    // features per input frame
    parameter INPUT_SIZE = 12,
    // hidden units per layer (H)
    parameter HIDDEN_SIZE = 32,
    // LSTM projection size (0: none)
    parameter PROJ_SIZE = 0,
    // stacked layers (L)
    parameter NUM_LAYERS = 1,
    // 1: LSTM diagonal peepholes
    parameter PEEPHOLE = 0,
    // block size K: power of two, 4..64
    parameter K = 8,
    // complex MAC lanes of the PE
    parameter P = 8,
    // hidden units per cell-unit beat (divides K)
    parameter CELL_LANES = 2,
    // IFFTs side by side in the PE: row blocks per clock into the gate buffer (1, 2, 4 or 8)
    parameter N_IFFT = 1,
    // 1: layers pipelined across steps (ernn_params.vh ERNN_LAYER_SKEW; NUM_LAYERS >= 2): the
    // slot of step t issues layer l's stage of step t - l (ernn_cmd); 0: layers in order
    parameter LAYER_SKEW = 0,
    // 1: with LAYER_SKEW, a slot issues every layer's gate job, then every layer's projection
    // (ernn_params.vh ERNN_INTERLEAVE; an LSTM with a projection; ernn_cmd)
    parameter INTERLEAVE = 0,
    // 1: the PE splits a job's last round of at most about P / 2 units over two lane groups (ernn_params.vh
    // ERNN_SPLIT, with the exporter's weight layout for it; ernn_pe SPLIT, docs/pe.md)
    parameter SPLIT = 0,
    // 1: the feeder reads a gate-buffer block in the clock the PE writer completes it (ernn_params.vh
    // ERNN_GATE_FORWARD; ernn_gate_buf FORWARD): a clock sooner per block where the cell waits on the PE,
    // at the cost of a longer loop through the flags (the exporter takes it where the step gets faster)
    parameter GATE_FORWARD = 0,
    // 1: an LSTM projection runs on the projection engine beside the PE (ernn_params.vh
    // ERNN_PROJ_ENGINE; ernn_proj_pe): the job table has no projection jobs, the cell writer's m
    // blocks go to the engine and the engine writes h (the exporter takes it where the PE's
    // projection passes keep the step over 1.25 times the ideal)
    parameter PROJ_ENGINE = 0,
    // 1: the PE's lanes of bins 0 and k/2 multiply real parts only (ernn_params.vh ERNN_REAL_BINS;
    // needs P a multiple of K/2 + 1; bit-exact either way, fewer multipliers: docs/pe.md)
    parameter REAL_BINS = 0,
    // 1: each MAC multiply of the PE forms two weight products (one DSP48E2 for two: ernn_params.vh
    // ERNN_DSP_PACK; needs FFT_W + 2 WS_W + 1 <= 27, ernn_cmac checks; bit-exact either way, docs/pe.md)
    parameter DSP_PACK = 0,
    // data word: x_t, h_t, m_t, Q(DATA_W, DATA_F)
    parameter DATA_W = 16,
    // data fraction bits
    parameter DATA_F = 12,
    // twiddle word, Q(TW_W, TW_F)
    parameter TW_W = 18,
    // twiddle fraction bits
    parameter TW_F = 16,
    // forward FFT output word, Q(FFT_W, DATA_F) (fft_out)
    parameter FFT_W = 19,
    // weight-spectrum word, Q(WS_W, WS_F)
    parameter WS_W = 16,
    // weight-spectrum fraction bits
    parameter WS_F = 13,
    // frequency-domain accumulator word (accumulator)
    parameter ACC_W = 38,
    // IFFT word, Q(IFFT_W, IFFT_F)
    parameter IFFT_W = 22,
    // IFFT fraction bits (also the matvec output's)
    parameter IFFT_F = 14,
    // matvec output word, Q(IFFT_OUT_W, IFFT_F) (ifft_out)
    parameter IFFT_OUT_W = 19,
    // merged-bias word, Q(BIAS_W, BIAS_F)
    parameter BIAS_W = 16,
    // merged-bias fraction bits
    parameter BIAS_F = 11,
    // gate pre-activation word, Q(GATE_W, GATE_F)
    parameter GATE_W = 16,
    // gate pre-activation fraction bits
    parameter GATE_F = 11,
    // activation output word, Q(ACT_W, ACT_F)
    parameter ACT_W = 16,
    // activation output fraction bits
    parameter ACT_F = 14,
    // activation slope word, Q(ACT_SLOPE_W, ACT_SLOPE_F)
    parameter ACT_SLOPE_W = 18,
    // activation slope fraction bits
    parameter ACT_SLOPE_F = 13,
    // peephole word, Q(PEEP_W, PEEP_F)
    parameter PEEP_W = 16,
    // peephole fraction bits
    parameter PEEP_F = 12,
    // LSTM cell-state word, Q(CELL_W, CELL_F)
    parameter CELL_W = 24,
    // cell-state fraction bits
    parameter CELL_F = 16,
    // sigmoid table: input range 2**SIGMOID_RANGE_LOG2
    parameter SIGMOID_RANGE_LOG2 = 4,
    // sigmoid table: 2**SIGMOID_SEG_BITS segments
    parameter SIGMOID_SEG_BITS = 10,
    // tanh table: input range 2**TANH_RANGE_LOG2
    parameter TANH_RANGE_LOG2 = 3,
    // tanh table: 2**TANH_SEG_BITS segments
    parameter TANH_SEG_BITS = 10,
    // PE weight-memory depth written by the exporter (checked against the job table)
    parameter W_DEPTH = 64,
    // PE spectrum slots (ernn_params.vh ERNN_XBUF_DEPTH; checked against the job table)
    parameter XBUF_DEPTH = 6,
    // PE jobs per time step (ernn_params.vh ERNN_JOBS)
    parameter JOBS = 1,
    // fields per job-table row (ernn_params.vh ERNN_JOB_FIELDS)
    parameter JOB_FIELDS = 12,
    // the job table (ernn_params.vh ERNN_JOB_TABLE, ernn.export.schedule; ernn_job_table)
    parameter [JOBS*JOB_FIELDS*32-1:0] JOB_TABLE = {(JOBS*JOB_FIELDS*32){1'b0}},
    // $readmemh twiddles (mem/twiddle.mem)
    parameter TW_FILE = "",
    // $readmemh PE weight memory (mem/pe_weights.mem, ernn.export.layout)
    parameter W_FILE = "",
    // $readmemh projection engine weights (mem/proj_weights.mem; PROJ_ENGINE only)
    parameter PROJ_W_FILE = "",
    // $readmemh merged biases per (layer, block) (mem/cell_bias.mem)
    parameter BIAS_FILE = "",
    // $readmemh peepholes per (layer, block) (mem/cell_peephole.mem; PEEPHOLE = 1 only)
    parameter PEEP_FILE = "",
    // $readmemh sigmoid VALUE table
    parameter SIGMOID_VALUE_FILE = "",
    // $readmemh sigmoid SLOPE table
    parameter SIGMOID_SLOPE_FILE = "",
    // $readmemh tanh VALUE table
    parameter TANH_VALUE_FILE = "",
    // $readmemh tanh SLOPE table
    parameter TANH_SLOPE_FILE = "",
    // matvec unit: 0 the circulant PE (ernn_pe), 1 the CSB unit (ernn_csb_unit; docs/csb.md), which
    // reads the CSB_* parameters below (ernn_params.vh ERNN_CSB_*) instead of the PE's
    parameter CSB = 0,
    parameter CSB_BLOCK = 4,
    parameter CSB_RED_ROWS = 1,
    parameter CSB_GRID_K = 1,
    parameter CSB_GRID_L = 1,
    parameter CSB_GRID_P = 1,
    parameter CSB_GRID_Q = 1,
    parameter CSB_UNIT_FIELDS = 8,
    parameter [JOBS*CSB_UNIT_FIELDS*32-1:0] CSB_UNIT_TABLE = {(JOBS*CSB_UNIT_FIELDS*32){1'b0}},
    parameter CSB_MEM_DIR = "mem",
    // s_axis_tdata width: INPUT_SIZE samples padded to whole bytes (derived; do not override)
    parameter IN_TDATA_W = ((INPUT_SIZE * DATA_W + 7) / 8) * 8,
    // m_axis_tdata width: output samples padded to whole bytes (derived; do not override)
    parameter OUT_TDATA_W = (((PROJ_SIZE > 0 ? PROJ_SIZE : HIDDEN_SIZE) * DATA_W + 7) / 8) * 8
)
(
    input  wire                   clk,
    input  wire                   rst,

    // input frames x_t, Q(DATA_W, DATA_F) samples; tlast = last frame of a sequence
    input  wire [IN_TDATA_W-1:0]  s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,
    input  wire                   s_axis_tlast,

    // output vectors (last layer's h_t), Q(DATA_W, DATA_F) samples; tlast mirrored
    output wire [OUT_TDATA_W-1:0] m_axis_tdata,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready,
    output wire                   m_axis_tlast
);


function integer max2(input integer a, input integer b);
    begin
        max2 = a > b ? a : b;
    end
endfunction

function integer cdiv(input integer a, input integer b);
    begin
        cdiv = (a + b - 1) / b;
    end
endfunction

// the most spectrum slots one job of the table reads (field 7, read_count): the longest sum of an
// accumulator, which sets its width; XBUF_DEPTH may hold more (the exporter's load-ahead slots)
function integer max_read_count(input integer n);
    integer j;
    begin
        max_read_count = 1;
        for (j = 0; j < n; j = j + 1) begin
            max_read_count = max2(max_read_count,
                JOB_TABLE[((JOBS - 1 - j) * JOB_FIELDS + JOB_FIELDS - 1 - 7) * 32 +: 32]);
        end
    end
endfunction
localparam integer READ_MAX = JOB_FIELDS > 7 ? max_read_count(JOBS) : XBUF_DEPTH;

// 1 when the exporter placed some loading job's slots away from slot 0 (ernn.export.jobs.place_apart:
// the slots in two banks, where its timing model says the PE's load ahead pays); tables with every load
// at slot 0 keep the PE's command hand-over of before, clock for clock
function integer banks_placed(input integer n);
    integer j;
    begin
        banks_placed = 0;
        for (j = 0; j < n; j = j + 1) begin
            if (JOB_TABLE[((JOBS - 1 - j) * JOB_FIELDS + JOB_FIELDS - 1 - 4) * 32 +: 32] != 0
                    && JOB_TABLE[((JOBS - 1 - j) * JOB_FIELDS + JOB_FIELDS - 1 - 6) * 32 +: 32] != 0) begin
                banks_placed = 1;
            end
        end
    end
endfunction
localparam integer LOAD_AHEAD = JOB_FIELDS > 7 ? banks_placed(JOBS) : 0;

// ---------------------------------------------------------------------------------------
// geometry: the memories and the widths of the job-table fields (the schedule itself is
// the job table's)

// output size of every layer (projection or hidden)
localparam OUT_SIZE = PROJ_SIZE > 0 ? PROJ_SIZE : HIDDEN_SIZE;
// 1: LSTM projection W_hr
localparam HAS_PROJ = PROJ_SIZE > 0 ? 1 : 0;
// the projection: PE jobs (the PE writer writes h), or the projection engine (it writes h)
localparam PROJ_JOBS = HAS_PROJ != 0 && PROJ_ENGINE == 0 ? 1 : 0;
localparam ENGINE = HAS_PROJ != 0 && PROJ_ENGINE != 0 ? 1 : 0;
// hidden blocks p
localparam PB = cdiv(HIDDEN_SIZE, K);
// blocks of a layer output: recurrent input blocks q_h, also q_x of layers > 0
localparam QH = cdiv(OUT_SIZE, K);
// input blocks of layer 0
localparam QX0 = cdiv(INPUT_SIZE, K);
// the most row blocks of a job: the gate job's (block, gate) rows (LSTM i, f, g, o; GRU r, z)
// (a GRU stage fused into one job, one table row per layer: r, z, W_in x, W_hn h, ernn_job_table)
localparam ROWS_MAX = (CELL_LSTM || JOBS == NUM_LAYERS ? 4 : 2) * PB;

// memory geometry: h per (layer, block); c, biases, peepholes per (layer, hidden block);
// the gate buffer and m per hidden block
// (layers pipelined: two copies of h by step parity, the second H_PAR_OFF words up)
localparam H_PAR_OFF = LAYER_SKEW != 0 ? NUM_LAYERS * QH : 0;
localparam H_DEPTH = max2(2, (LAYER_SKEW != 0 ? 2 : 1) * NUM_LAYERS * QH);
localparam C_DEPTH = max2(2, NUM_LAYERS * PB);
localparam Y_DEPTH = max2(2, PB);
localparam H_ADDR_W = $clog2(H_DEPTH);
localparam C_ADDR_W = $clog2(C_DEPTH);
localparam Y_ADDR_W = $clog2(Y_DEPTH);
// m: one region of p blocks, or with INTERLEAVE one per layer (at the layer's c address)
localparam M_DEPTH = INTERLEAVE != 0 ? C_DEPTH : Y_DEPTH;
localparam M_ADDR_W = $clog2(M_DEPTH);

// PE command field widths (the PE derives the same)
localparam XBUF_ADDR_W = $clog2(XBUF_DEPTH);
localparam CNT_W = $clog2(XBUF_DEPTH + 1);
localparam W_ADDR_W = $clog2(W_DEPTH);
localparam ROWS_W = $clog2(ROWS_MAX + 1);
// job-table row index width
localparam JOB_W = JOBS > 1 ? $clog2(JOBS) : 1;
// block / load index width: every block count (<= XBUF_DEPTH) and every memory address fits
localparam IDX_W = max2(CNT_W, max2(H_ADDR_W, C_ADDR_W));
// the feeder's state port: c (LSTM) or h (GRU)
localparam ST_ADDR_W = CELL_LSTM ? C_ADDR_W : H_ADDR_W;

// stage counters: 2 bits in order (at most two stages in flight); pipelined, L + 1 stages
// may be in flight and a stage's step number (TAG_W) is compared with each layer's progress
localparam STAGE_W = LAYER_SKEW != 0 ? $clog2(NUM_LAYERS + 2) : 2;
localparam TAG_W = $clog2(NUM_LAYERS + 2) + 2;
localparam LAYER_W = NUM_LAYERS > 1 ? $clog2(NUM_LAYERS) : 1;
// the command side's ring of issued stages: {first job, step, first frame, tlast} per entry
localparam RING_D = 1 << STAGE_W;
localparam RING_W = JOB_W + TAG_W + 2;

// the PE's row count per output beat
localparam ROWS_OUT_W = $clog2(N_IFFT + 1);

// word widths
localparam BLK_W = K * DATA_W;          // one block of Q(data) samples
localparam YBLK_W = K * IFFT_OUT_W;     // one row block of the PE, Q(ifft_out)
localparam CBLK_W = K * CELL_W;         // one block of c, Q(cell)
localparam ST_W = CELL_LSTM ? CBLK_W : BLK_W;
// cell unit ports
localparam CL = CELL_LANES;
localparam LSTM_IN_W = 4 * CL * (IFFT_OUT_W + BIAS_W) + CL * CELL_W + PEEPHOLE * 3 * CL * PEEP_W;
localparam GRU_IN_W = 4 * CL * (IFFT_OUT_W + BIAS_W) + CL * DATA_W;
localparam CELL_IN_W = CELL_LSTM ? LSTM_IN_W : GRU_IN_W;
localparam CELL_OUT_W = CELL_LSTM ? CL * (DATA_W + CELL_W) : CL * DATA_W;

// check configuration (the job table is checked by the command side's ernn_job_table)
initial begin
    if (CELL_LSTM != 0 && CELL_LSTM != 1) begin
        $error("Error: ernn_ctrl CELL_LSTM must be 0 (GRU) or 1 (LSTM) (got %0d)", CELL_LSTM);
        $finish;
    end
    if (K < 4 || K > 64 || (K & (K - 1)) != 0) begin
        $error("Error: ernn_ctrl K must be a power of two in [4, 64] (got %0d)", K);
        $finish;
    end
    if (INPUT_SIZE < 1 || HIDDEN_SIZE < 1 || NUM_LAYERS < 1 || P < 1) begin
        $error("Error: ernn_ctrl needs INPUT_SIZE, HIDDEN_SIZE, NUM_LAYERS, P >= 1 (got %0d, %0d, %0d, %0d)",
            INPUT_SIZE, HIDDEN_SIZE, NUM_LAYERS, P);
        $finish;
    end
    if (PROJ_SIZE < 0 || PROJ_SIZE >= HIDDEN_SIZE || (!CELL_LSTM && PROJ_SIZE != 0)) begin
        $error("Error: ernn_ctrl PROJ_SIZE must be 0, or in [1, HIDDEN_SIZE - 1] for an LSTM (got %0d)", PROJ_SIZE);
        $finish;
    end
    if ((PEEPHOLE != 0 && PEEPHOLE != 1) || (!CELL_LSTM && PEEPHOLE != 0)) begin
        $error("Error: ernn_ctrl PEEPHOLE must be 0, or 1 for an LSTM (got %0d)", PEEPHOLE);
        $finish;
    end
    if (CELL_LANES < 1 || K % CELL_LANES != 0) begin
        $error("Error: ernn_ctrl CELL_LANES must divide K = %0d (got %0d)", K, CELL_LANES);
        $finish;
    end
    if (LAYER_SKEW != 0 && (LAYER_SKEW != 1 || NUM_LAYERS < 2)) begin
        $error("Error: ernn_ctrl LAYER_SKEW = 1 pipelines two or more layers (got LAYER_SKEW = %0d, NUM_LAYERS = %0d)",
            LAYER_SKEW, NUM_LAYERS);
        $finish;
    end
    if (PROJ_ENGINE != 0 && (PROJ_ENGINE != 1 || !HAS_PROJ || !CELL_LSTM || INTERLEAVE != 0)) begin
        $error("Error: ernn_ctrl PROJ_ENGINE = 1 is an LSTM's projection, without INTERLEAVE (got PROJ_ENGINE = %0d, PROJ_SIZE = %0d, CELL_LSTM = %0d, INTERLEAVE = %0d)",
            PROJ_ENGINE, PROJ_SIZE, CELL_LSTM, INTERLEAVE);
        $finish;
    end
    if (INTERLEAVE != 0 && (INTERLEAVE != 1 || LAYER_SKEW == 0 || !PROJ_JOBS || JOBS != 2 * NUM_LAYERS)) begin
        $error("Error: ernn_ctrl INTERLEAVE = 1 needs LAYER_SKEW and an LSTM with a projection, a gate job and a projection per layer (got INTERLEAVE = %0d, LAYER_SKEW = %0d, PROJ_SIZE = %0d, JOBS = %0d)",
            INTERLEAVE, LAYER_SKEW, PROJ_SIZE, JOBS);
        $finish;
    end
    if (XBUF_DEPTH < 2 || JOBS < 1) begin
        $error("Error: ernn_ctrl needs XBUF_DEPTH >= 2 and JOBS >= 1 (got %0d, %0d)", XBUF_DEPTH, JOBS);
        $finish;
    end
    if (IN_TDATA_W != ((INPUT_SIZE * DATA_W + 7) / 8) * 8 || OUT_TDATA_W != ((OUT_SIZE * DATA_W + 7) / 8) * 8) begin
        $error("Error: ernn_ctrl IN_TDATA_W and OUT_TDATA_W are derived; do not override them");
        $finish;
    end
    if (BIAS_FILE == "" || W_FILE == "" || (PEEPHOLE && PEEP_FILE == "")) begin
        $error("Error: ernn_ctrl needs W_FILE, BIAS_FILE (and PEEP_FILE with peepholes)");
        $finish;
    end
end

// ---------------------------------------------------------------------------------------
// command side: job table port (checks the table), frame register, job commands, loads

wire [JOB_W-1:0] cmd_job;
wire [1:0] cmd_kind;
wire [LAYER_W-1:0] cmd_layer;
wire cmd_first_layer;
wire cmd_last_layer;
wire [JOB_W-1:0] cmd_next_stage;
wire cmd_stage_first;
wire cmd_stage_last;
wire cmd_step_last;
wire [CNT_W-1:0] cmd_load_count;
wire [IDX_W-1:0] cmd_load_last;
wire [IDX_W-1:0] cmd_x_blocks;
wire [XBUF_ADDR_W-1:0] cmd_read_base;
wire [CNT_W-1:0] cmd_read_count;
wire [ROWS_W-1:0] cmd_rows;
wire [W_ADDR_W-1:0] cmd_w_base;
wire [H_ADDR_W-1:0] cmd_x_base;
wire [H_ADDR_W-1:0] cmd_h_base;
wire [C_ADDR_W-1:0] cmd_c_base;
// the m region's base (INTERLEAVE: the layer's c address); without it, or where m is shallower
// than c, not all of it
/* verilator lint_off UNUSEDSIGNAL */
wire unused_cmd_c_base = &{1'b0, cmd_c_base};
/* verilator lint_on UNUSEDSIGNAL */

// a unit reads only some of its port's fields
/* verilator lint_off PINCONNECTEMPTY */
ernn_job_table #(
    .JOBS(JOBS),
    .LAYERS(NUM_LAYERS),
    .FIELDS(JOB_FIELDS),
    .TABLE(JOB_TABLE),
    .CHECK(1),
    .CELL_LSTM(CELL_LSTM),
    .HAS_PROJ(PROJ_JOBS),
    .K(K),
    .P(P),
    .PB(PB),
    .QH(QH),
    .QX0(QX0),
    .XBUF_DEPTH(XBUF_DEPTH),
    .W_DEPTH(W_DEPTH),
    .SPLIT(SPLIT),
    .H_DEPTH(H_DEPTH),
    .C_DEPTH(C_DEPTH),
    .JOB_W(JOB_W),
    .IDX_W(IDX_W),
    .CNT_W(CNT_W),
    .XBUF_ADDR_W(XBUF_ADDR_W),
    .ROWS_W(ROWS_W),
    .W_ADDR_W(W_ADDR_W),
    .H_ADDR_W(H_ADDR_W),
    .C_ADDR_W(C_ADDR_W),
    .LAYER_W(LAYER_W)
)
cmd_job_inst (
    .job(cmd_job),
    .kind(cmd_kind),
    .layer(cmd_layer),
    .first_layer(cmd_first_layer),
    .last_layer(cmd_last_layer),
    .stage_first(cmd_stage_first),
    .stage_last(cmd_stage_last),
    .step_last(cmd_step_last),
    .next_stage(cmd_next_stage),
    .gates_last(),
    .rows(cmd_rows),
    .last_blk(),
    .load_count(cmd_load_count),
    .load_last(cmd_load_last),
    .x_blocks(cmd_x_blocks),
    .read_base(cmd_read_base),
    .read_count(cmd_read_count),
    .w_base(cmd_w_base),
    .x_base(cmd_x_base),
    .h_base(cmd_h_base),
    .c_base(cmd_c_base)
);
/* verilator lint_on PINCONNECTEMPTY */

wire pe_s_cmd_valid;
wire pe_s_cmd_ready;
wire [CNT_W-1:0] pe_s_cmd_load_count;
wire [XBUF_ADDR_W-1:0] pe_s_cmd_read_base;
wire [CNT_W-1:0] pe_s_cmd_read_count;
wire [ROWS_W-1:0] pe_s_cmd_rows;
wire [W_ADDR_W-1:0] pe_s_cmd_w_base;
wire [BLK_W-1:0] pe_s_axis_tdata;   // K samples, Q(data)
wire pe_s_axis_tvalid;
wire pe_s_axis_tready;

wire h_rd_en;
wire [H_ADDR_W-1:0] h_rd_addr;
wire [BLK_W-1:0] h_rd_data;         // K samples of h, Q(data)
wire m_rd_en;
wire [M_ADDR_W-1:0] m_rd_addr;
wire [BLK_W-1:0] m_rd_data;         // K samples of m, Q(data)
wire [STAGE_W-1:0] hp_stage;
wire [STAGE_W-1:0] hp_stage_now;
wire [IDX_W-1:0] hp_count;
wire [NUM_LAYERS*TAG_W-1:0] hl_done;
wire [NUM_LAYERS*IDX_W-1:0] hl_count;
wire [STAGE_W-1:0] m_tag;
wire [IDX_W-1:0] m_count;
wire [NUM_LAYERS*TAG_W-1:0] ml_done;
wire [NUM_LAYERS*IDX_W-1:0] ml_count;
// INTERLEAVE: the issued jobs, {job, step parity, tlast}, for the PE writer
wire iss_push;
wire [JOB_W+1:0] iss_entry;
wire iss_full;
wire [JOB_W+1:0] iss_head;
wire [JOB_W+1:0] iss_next;
wire iss_pop;
wire [1:0] step_first;
wire [1:0] step_last;
wire [RING_D*RING_W-1:0] ring;  // issued stages: {first job, step, first frame, tlast}
// the write ports of the h producer and of the cell writer (m), declared here for the command
// side's forwarded loads; driven below
wire h_we;
wire [IDX_W-1:0] h_wr_blk;
wire [LAYER_W-1:0] h_wr_layer;
wire cw_we;
wire [IDX_W-1:0] cw_blk;
wire [LAYER_W-1:0] cw_layer;

ernn_cmd #(
    .INPUT_SIZE(INPUT_SIZE),
    .NUM_LAYERS(NUM_LAYERS),
    .K(K),
    .DATA_W(DATA_W),
    .JOB_W(JOB_W),
    .IDX_W(IDX_W),
    .CNT_W(CNT_W),
    .XBUF_ADDR_W(XBUF_ADDR_W),
    .ROWS_W(ROWS_W),
    .W_ADDR_W(W_ADDR_W),
    .H_ADDR_W(H_ADDR_W),
    .M_ADDR_W(M_ADDR_W),
    .LAYER_SKEW(LAYER_SKEW),
    .STAGE_W(STAGE_W),
    .TAG_W(TAG_W),
    .LAYER_W(LAYER_W),
    .H_PAR_OFF(H_PAR_OFF),
    .INTERLEAVE(INTERLEAVE),
    // pipelined layers: loads forwarded from the write ports (the layers in order: ernn_state_mem)
    .FORWARD(1),
    // a job's first block requested with its command
    .EARLY_LOAD(1)
)
cmd_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .s_axis_tlast(s_axis_tlast),
    .job(cmd_job),
    .job_kind(cmd_kind),
    .job_layer(cmd_layer),
    .job_first_layer(cmd_first_layer),
    .job_last_layer(cmd_last_layer),
    .job_stage_first(cmd_stage_first),
    .job_stage_last(cmd_stage_last),
    .job_step_last(cmd_step_last),
    .job_next_stage(cmd_next_stage),
    .job_load_count(cmd_load_count),
    .job_load_last(cmd_load_last),
    .job_x_blocks(cmd_x_blocks),
    .job_read_base(cmd_read_base),
    .job_read_count(cmd_read_count),
    .job_rows(cmd_rows),
    .job_w_base(cmd_w_base),
    .job_x_base(cmd_x_base),
    .job_h_base(cmd_h_base),
    .job_m_base(INTERLEAVE != 0 ? cmd_c_base[M_ADDR_W-1:0] : {M_ADDR_W{1'b0}}),
    .m_cmd_valid(pe_s_cmd_valid),
    .m_cmd_ready(pe_s_cmd_ready),
    .m_cmd_load_count(pe_s_cmd_load_count),
    .m_cmd_read_base(pe_s_cmd_read_base),
    .m_cmd_read_count(pe_s_cmd_read_count),
    .m_cmd_rows(pe_s_cmd_rows),
    .m_cmd_w_base(pe_s_cmd_w_base),
    .m_axis_tdata(pe_s_axis_tdata),
    .m_axis_tvalid(pe_s_axis_tvalid),
    .m_axis_tready(pe_s_axis_tready),
    .h_rd_en(h_rd_en),
    .h_rd_addr(h_rd_addr),
    .h_rd_data(h_rd_data),
    .m_rd_en(m_rd_en),
    .m_rd_addr(m_rd_addr),
    .m_rd_data(m_rd_data),
    .h_stage(hp_stage),
    .h_stage_now(hp_stage_now),
    .h_count(hp_count),
    .hl_done(hl_done),
    .hl_count(hl_count),
    .m_tag(m_tag),
    .m_count(m_count),
    .ml_done(ml_done),
    .ml_count(ml_count),
    .h_wr_en(h_we),
    .h_wr_layer(h_wr_layer),
    .h_wr_blk(h_wr_blk),
    .m_wr_en(cw_we),
    .m_wr_layer(cw_layer),
    .m_wr_blk(cw_blk),
    .iss_push(iss_push),
    .iss_entry(iss_entry),
    .iss_full(iss_full),
    .step_first(step_first),
    .step_last(step_last),
    .ring(ring)
);

// INTERLEAVE: the queue of issued jobs, in the PE's row order, for the PE writer
generate
if (INTERLEAVE != 0) begin : g_issue_q
    /* verilator lint_off PINCONNECTEMPTY */
    ernn_issue_q #(
        .W(JOB_W + 2),
        .DEPTH(8)
    )
    issue_q_inst (
        .clk(clk),
        .rst(rst),
        .push(iss_push),
        .push_data(iss_entry),
        .full(iss_full),
        .pop(iss_pop),
        .head(iss_head),
        .next(iss_next),
        .empty()
    );
    /* verilator lint_on PINCONNECTEMPTY */
end else begin : g_no_issue_q
    assign iss_full = 1'b0;
    assign iss_head = {(JOB_W+2){1'b0}};
    assign iss_next = {(JOB_W+2){1'b0}};
    // the PE writer steps through the table (or the ring) itself
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_iss = &{1'b0, iss_push, iss_entry, iss_pop};
    /* verilator lint_on UNUSEDSIGNAL */
end
endgenerate

// ---------------------------------------------------------------------------------------
// circulant PE

wire [N_IFFT*YBLK_W-1:0] pe_m_rows;  // up to N_IFFT row blocks, Q(ifft_out)
wire [ROWS_OUT_W-1:0] pe_m_axis_tuser; // row blocks in the beat
/* verilator lint_off UNUSEDSIGNAL */
wire [YBLK_W-1:0] pe_m_axis_tdata;   // the beat's first row block (ernn.sim.rtl's probe reads it)
/* verilator lint_on UNUSEDSIGNAL */
wire pe_m_axis_tvalid;
wire pe_m_axis_tready;
wire pe_m_axis_tlast;

generate
if (CSB != 0) begin : csb_unit
    ernn_csb_unit #(
        .K(K),
        .DATA_W(DATA_W),
        .W_W(WS_W),
        .ACC_W(ACC_W),
        .OUT_W(IFFT_OUT_W),
        .SHIFT(DATA_F + WS_F - IFFT_F),
        .BLOCK(CSB_BLOCK),
        .RED_ROWS(CSB_RED_ROWS),
        .INDEX_W(CSB_BLOCK > 2 ? $clog2(CSB_BLOCK) : 1),
        .GRID_K(CSB_GRID_K),
        .GRID_L(CSB_GRID_L),
        .GRID_P(CSB_GRID_P),
        .GRID_Q(CSB_GRID_Q),
        .XBUF_DEPTH(XBUF_DEPTH),
        .W_DEPTH(W_DEPTH),
        .ROWS_W(ROWS_W),
        .JOBS(JOBS),
        .UNIT_FIELDS(CSB_UNIT_FIELDS),
        .UNIT_TABLE(CSB_UNIT_TABLE),
        .MEM_DIR(CSB_MEM_DIR)
    )
    pe_inst (
        .clk(clk),
        .rst(rst),
        .s_cmd_valid(pe_s_cmd_valid),
        .s_cmd_ready(pe_s_cmd_ready),
        .s_cmd_load_base(pe_s_cmd_read_base),  // a loading job's loads start at its read_base (below)
        .s_cmd_load_count(pe_s_cmd_load_count),
        .s_cmd_read_base(pe_s_cmd_read_base),
        .s_cmd_read_count(pe_s_cmd_read_count),
        .s_cmd_rows(pe_s_cmd_rows),
        .s_cmd_w_base(pe_s_cmd_w_base),
        .s_axis_tdata(pe_s_axis_tdata),
        .s_axis_tvalid(pe_s_axis_tvalid),
        .s_axis_tready(pe_s_axis_tready),
        .m_axis_tdata(pe_m_rows),
        .m_axis_tuser(pe_m_axis_tuser),
        .m_axis_tlast(pe_m_axis_tlast),
        .m_axis_tvalid(pe_m_axis_tvalid),
        .m_axis_tready(pe_m_axis_tready)
    );
end else begin : circulant
ernn_pe #(
    .K(K),
    .P(P),
    .DATA_W(DATA_W),
    .DATA_F(DATA_F),
    .FFT_W(FFT_W),
    .TW_W(TW_W),
    .TW_F(TW_F),
    .TW_FILE(TW_FILE),
    .WS_W(WS_W),
    .WS_F(WS_F),
    .ACC_W(ACC_W),
    .IFFT_W(IFFT_W),
    .IFFT_F(IFFT_F),
    .OUT_W(IFFT_OUT_W),
    .XBUF_DEPTH(XBUF_DEPTH),
    .READ_MAX(READ_MAX > XBUF_DEPTH ? XBUF_DEPTH : READ_MAX),
    .LOAD_AHEAD(LOAD_AHEAD),
    .W_DEPTH(W_DEPTH),
    .W_FILE(W_FILE),
    .ROWS_W(ROWS_W),
    .CMUL_3M(1),
    .REAL_BINS(REAL_BINS),
    .DSP_PACK(DSP_PACK),
    .N_IFFT(N_IFFT),
    .SPLIT(SPLIT)
)
pe_inst (
    .clk(clk),
    .rst(rst),
    .s_cmd_valid(pe_s_cmd_valid),
    .s_cmd_ready(pe_s_cmd_ready),
    // a loading job reads exactly the slots it loads (ernn_job_table checks it): its loads start at
    // read_base, which the exporter places apart from the job before's slots where that pays
    .s_cmd_load_base(pe_s_cmd_read_base),
    .s_cmd_load_count(pe_s_cmd_load_count),
    .s_cmd_read_base(pe_s_cmd_read_base),
    .s_cmd_read_count(pe_s_cmd_read_count),
    .s_cmd_rows(pe_s_cmd_rows),
    .s_cmd_w_base(pe_s_cmd_w_base),
    .s_axis_tdata(pe_s_axis_tdata),
    .s_axis_tvalid(pe_s_axis_tvalid),
    .s_axis_tready(pe_s_axis_tready),
    .m_axis_tdata(pe_m_rows),
    .m_axis_tuser(pe_m_axis_tuser),
    .m_axis_tlast(pe_m_axis_tlast),
    .m_axis_tvalid(pe_m_axis_tvalid),
    .m_axis_tready(pe_m_axis_tready)
);
end
endgenerate

assign pe_m_axis_tdata = pe_m_rows[0 +: YBLK_W];

// the PE writer counts row blocks itself; tlast (end of a job) carries no extra information
/* verilator lint_off UNUSEDSIGNAL */
wire unused_pe_tlast = pe_m_axis_tlast;
/* verilator lint_on UNUSEDSIGNAL */

// ---------------------------------------------------------------------------------------
// layers pipelined across steps (LAYER_SKEW): each unit behind the PE reads the command
// side's ring entry of its own stage counter (the stage's first job, step, flags)

wire [STAGE_W-1:0] pw_stage;
wire [STAGE_W-1:0] fd_stage;
wire [STAGE_W-1:0] cw_stage;
wire [RING_W-1:0] pw_entry;
wire [RING_W-1:0] fd_entry;
wire [RING_W-1:0] cw_entry;

ernn_sel #(.N(RING_D), .W(RING_W), .SEL_W(STAGE_W))
pw_ring_inst (.in(ring), .sel(pw_stage), .out(pw_entry));
// the PE writer's next stage's entry (its next job's fields are looked up ahead, ernn_pe_writer)
wire [STAGE_W-1:0] pw_next_stage;
wire [RING_W-1:0] pw_next_entry;
ernn_sel #(.N(RING_D), .W(RING_W), .SEL_W(STAGE_W))
pw_next_ring_inst (.in(ring), .sel(pw_next_stage), .out(pw_next_entry));
wire [JOB_W-1:0] pw_next_stage_job = INTERLEAVE != 0 ? iss_next[JOB_W+1 -: JOB_W] : pw_next_entry[RING_W-1 -: JOB_W];
// the next entry's flags: its fields are looked up, its parity and tlast read when it is the head
/* verilator lint_off UNUSEDSIGNAL */
wire unused_iss_next = &{1'b0, iss_next[1:0]};
/* verilator lint_on UNUSEDSIGNAL */
ernn_sel #(.N(RING_D), .W(RING_W), .SEL_W(STAGE_W))
fd_ring_inst (.in(ring), .sel(fd_stage), .out(fd_entry));
ernn_sel #(.N(RING_D), .W(RING_W), .SEL_W(STAGE_W))
cw_ring_inst (.in(ring), .sel(cw_stage), .out(cw_entry));

// entry fields: [0] tlast, [1] first frame of a sequence, [2] step parity, job at the top
// INTERLEAVE: the PE writer's job and its parity from the issue queue's head ({job, parity, tlast})
wire [JOB_W-1:0] pw_stage_job = INTERLEAVE != 0 ? iss_head[JOB_W+1 -: JOB_W] : pw_entry[RING_W-1 -: JOB_W];
wire pw_stage_par = INTERLEAVE != 0 ? iss_head[1] : pw_entry[2];
wire [JOB_W-1:0] fd_stage_job = fd_entry[RING_W-1 -: JOB_W];
wire fd_stage_first = fd_entry[1];
wire fd_stage_par = fd_entry[2];
wire [JOB_W-1:0] cw_stage_job = cw_entry[RING_W-1 -: JOB_W];
wire cw_stage_par = cw_entry[2];
// the output's tlast: the h producer's stage's
wire eng_tlast;                 // the projection engine's h blocks: their stage's tlast
wire skew_out_tlast = INTERLEAVE != 0 ? iss_head[0] : ENGINE ? eng_tlast : PROJ_JOBS ? pw_entry[0] : cw_entry[0];
// the step numbers are the command side's; a unit needs only their parity
/* verilator lint_off UNUSEDSIGNAL */
wire unused_entries = &{1'b0, pw_entry, pw_next_entry, fd_entry, cw_entry};
/* verilator lint_on UNUSEDSIGNAL */

// ---------------------------------------------------------------------------------------
// PE writer: row blocks -> gate buffer, or (projection) -> h

wire [JOB_W-1:0] pw_job;
wire [LAYER_W-1:0] pw_layer;
wire pw_stage_last;
wire [1:0] pw_kind;
wire [1:0] pw_gates_last;
wire [IDX_W-1:0] pw_last_blk;
wire pw_last_layer;
wire pw_step_last;
wire [H_ADDR_W-1:0] pw_h_base;

// a unit reads only some of its port's fields
/* verilator lint_off PINCONNECTEMPTY */
ernn_job_table #(
    .JOBS(JOBS),
    .LAYERS(NUM_LAYERS),
    .FIELDS(JOB_FIELDS),
    .TABLE(JOB_TABLE),
    .JOB_W(JOB_W),
    .IDX_W(IDX_W),
    .CNT_W(CNT_W),
    .XBUF_ADDR_W(XBUF_ADDR_W),
    .ROWS_W(ROWS_W),
    .W_ADDR_W(W_ADDR_W),
    .H_ADDR_W(H_ADDR_W),
    .C_ADDR_W(C_ADDR_W),
    .LAYER_W(LAYER_W)
)
pw_job_inst (
    .job(pw_job),
    .layer(pw_layer),
    .kind(pw_kind),
    .first_layer(),
    .last_layer(pw_last_layer),
    .stage_first(),
    .stage_last(pw_stage_last),
    .step_last(pw_step_last),
    .next_stage(),
    .gates_last(pw_gates_last),
    .rows(),
    .last_blk(pw_last_blk),
    .load_count(),
    .load_last(),
    .x_blocks(),
    .read_base(),
    .read_count(),
    .w_base(),
    .x_base(),
    .h_base(pw_h_base),
    .c_base()
);
/* verilator lint_on PINCONNECTEMPTY */

// the writer's second port: the job after its current one
wire [JOB_W-1:0] pw_next_job;
wire [1:0] pw_next_kind;
wire [1:0] pw_next_gates_last;
wire [IDX_W-1:0] pw_next_last_blk;
wire pw_next_last_layer;

/* verilator lint_off PINCONNECTEMPTY */
ernn_job_table #(
    .JOBS(JOBS),
    .LAYERS(NUM_LAYERS),
    .FIELDS(JOB_FIELDS),
    .TABLE(JOB_TABLE),
    .JOB_W(JOB_W),
    .IDX_W(IDX_W),
    .CNT_W(CNT_W),
    .XBUF_ADDR_W(XBUF_ADDR_W),
    .ROWS_W(ROWS_W),
    .W_ADDR_W(W_ADDR_W),
    .H_ADDR_W(H_ADDR_W),
    .C_ADDR_W(C_ADDR_W),
    .LAYER_W(LAYER_W)
)
pw_next_job_inst (
    .job(pw_next_job),
    .layer(),
    .kind(pw_next_kind),
    .first_layer(),
    .last_layer(pw_next_last_layer),
    .stage_first(),
    .stage_last(),
    .step_last(),
    .next_stage(),
    .gates_last(pw_next_gates_last),
    .rows(),
    .last_blk(pw_next_last_blk),
    .load_count(),
    .load_last(),
    .x_blocks(),
    .read_base(),
    .read_count(),
    .w_base(),
    .x_base(),
    .h_base(),
    .c_base()
);
/* verilator lint_on PINCONNECTEMPTY */

// (pw_y_we, pw_slot, pw_blk_reg, h_we, h_wr_addr, h_wr_data: ernn.sim.rtl's probe reads these;
// with N_IFFT > 1 the first three are lane 0's, the beat's first row)
wire [IDX_W-1:0] pw_blk_reg;    // the PE writer's block register
wire [N_IFFT-1:0] pw_y_lanes_we;
wire [N_IFFT*2-1:0] pw_y_slots;
wire [N_IFFT*IDX_W-1:0] pw_y_blks;
wire [N_IFFT*Y_ADDR_W-1:0] pw_y_addrs;
wire [N_IFFT*YBLK_W-1:0] pw_y_data;  // the row blocks, Q(ifft_out)
wire [N_IFFT-1:0] pw_y_full;
/* verilator lint_off UNUSEDSIGNAL */
wire pw_y_we = pw_y_lanes_we[0];
wire [1:0] pw_slot = pw_y_slots[1:0];
/* verilator lint_on UNUSEDSIGNAL */
wire pw_h_we;
wire [H_ADDR_W-1:0] pw_h_addr;
wire [BLK_W-1:0] pw_h_data;     // projection output block, Q(data)
wire pw_h_last;
wire pw_h_llast;
wire pw_h_par;
wire out_full;                  // the output vector is complete and waits for m_axis

ernn_pe_writer #(
    .HAS_PROJ(PROJ_JOBS),
    .K(K),
    .OUT_SIZE(OUT_SIZE),
    .DATA_W(DATA_W),
    .DATA_F(DATA_F),
    .IFFT_OUT_W(IFFT_OUT_W),
    .IFFT_F(IFFT_F),
    .JOB_W(JOB_W),
    .IDX_W(IDX_W),
    .H_ADDR_W(H_ADDR_W),
    .N_IFFT(N_IFFT),
    .LAYER_SKEW(LAYER_SKEW),
    .STAGE_W(STAGE_W),
    .H_PAR_OFF(H_PAR_OFF),
    .INTERLEAVE(INTERLEAVE)
)
pw_inst (
    .clk(clk),
    .rst(rst),
    .job(pw_job),
    .job_kind(pw_kind),
    .job_gates_last(pw_gates_last),
    .job_last_blk(pw_last_blk),
    .job_last_layer(pw_last_layer),
    .job_step_last(pw_step_last),
    .job_stage_last(pw_stage_last),
    .stage(pw_stage),
    .stage_job(pw_stage_job),
    .stage_par(pw_stage_par),
    .job_h_base(pw_h_base),
    .next_job(pw_next_job),
    .next_kind(pw_next_kind),
    .next_gates_last(pw_next_gates_last),
    .next_last_blk(pw_next_last_blk),
    .next_last_layer(pw_next_last_layer),
    .next_stage(pw_next_stage),
    .next_stage_job(pw_next_stage_job),
    .job_done(iss_pop),
    .s_axis_tdata(pe_m_rows),
    .s_axis_tuser(pe_m_axis_tuser),
    .s_axis_tvalid(pe_m_axis_tvalid),
    .s_axis_tready(pe_m_axis_tready),
    .blk(pw_blk_reg),
    .y_we(pw_y_lanes_we),
    .y_slot(pw_y_slots),
    .y_blk(pw_y_blks),
    .y_data(pw_y_data),
    .y_full(pw_y_full),
    .h_we(pw_h_we),
    .h_addr(pw_h_addr),
    .h_data(pw_h_data),
    .h_last(pw_h_last),
    .h_last_layer(pw_h_llast),
    .h_par(pw_h_par),
    .out_full(out_full)
);

// ---------------------------------------------------------------------------------------
// gate buffer y[slot][block], Q(ifft_out)

wire fd_read;
wire [Y_ADDR_W-1:0] fd_blk;
wire fd_y_full;
wire [4*YBLK_W-1:0] y_rd_data;  // slots 0..3, K samples each, Q(ifft_out)

// the writer's block indices as gate-buffer addresses
genvar yl;
generate
for (yl = 0; yl < N_IFFT; yl = yl + 1) begin : g_y_addr
    assign pw_y_addrs[yl*Y_ADDR_W +: Y_ADDR_W] = pw_y_blks[yl*IDX_W +: Y_ADDR_W];
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_y_blk = &{1'b0, pw_y_blks[yl*IDX_W +: IDX_W]};
    /* verilator lint_on UNUSEDSIGNAL */
end
endgenerate

ernn_gate_buf #(
    .K(K),
    .IFFT_OUT_W(IFFT_OUT_W),
    .DEPTH(Y_DEPTH),
    .WR_LANES(N_IFFT),
    .FORWARD(GATE_FORWARD)
)
ybuf_inst (
    .clk(clk),
    .rst(rst),
    .wr_en(pw_y_lanes_we),
    .wr_slot(pw_y_slots),
    .wr_blk(pw_y_addrs),
    .wr_data(pw_y_data),
    .wr_full(pw_y_full),
    .rd_en(fd_read),
    .rd_blk(fd_blk),
    .rd_full(fd_y_full),
    .rd_data(y_rd_data)
);

// ---------------------------------------------------------------------------------------
// feeder: complete blocks of y -> cell unit, CELL_LANES units per beat

wire [JOB_W-1:0] fd_job;
wire [IDX_W-1:0] fd_last_blk;
wire fd_last_layer;
wire [JOB_W-1:0] fd_next_stage;
wire [H_ADDR_W-1:0] fd_h_base;
wire [C_ADDR_W-1:0] fd_c_base;

// a unit reads only some of its port's fields
/* verilator lint_off PINCONNECTEMPTY */
ernn_job_table #(
    .JOBS(JOBS),
    .LAYERS(NUM_LAYERS),
    .FIELDS(JOB_FIELDS),
    .TABLE(JOB_TABLE),
    .JOB_W(JOB_W),
    .IDX_W(IDX_W),
    .CNT_W(CNT_W),
    .XBUF_ADDR_W(XBUF_ADDR_W),
    .ROWS_W(ROWS_W),
    .W_ADDR_W(W_ADDR_W),
    .H_ADDR_W(H_ADDR_W),
    .C_ADDR_W(C_ADDR_W),
    .LAYER_W(LAYER_W)
)
fd_job_inst (
    .job(fd_job),
    .layer(),
    .kind(),
    .first_layer(),
    .last_layer(fd_last_layer),
    .stage_first(),
    .stage_last(),
    .step_last(),
    .next_stage(fd_next_stage),
    .gates_last(),
    .rows(),
    .last_blk(fd_last_blk),
    .load_count(),
    .load_last(),
    .x_blocks(),
    .read_base(),
    .read_count(),
    .w_base(),
    .x_base(),
    .h_base(fd_h_base),
    .c_base(fd_c_base)
);
/* verilator lint_on PINCONNECTEMPTY */

wire [ST_ADDR_W-1:0] st_rd_addr;
wire [ST_W-1:0] st_rd_data;     // c_{t-1} (Q(cell)) or h_{t-1} (Q(data)) of a block
wire [CELL_IN_W-1:0] cell_s_data;  // cell-unit fields (ernn_lstm_cell / ernn_gru_cell header)
wire cell_s_valid;
wire cell_s_ready;

ernn_feeder #(
    .CELL_LSTM(CELL_LSTM),
    .PEEPHOLE(PEEPHOLE),
    .K(K),
    .CELL_LANES(CELL_LANES),
    .DATA_W(DATA_W),
    .IFFT_OUT_W(IFFT_OUT_W),
    .BIAS_W(BIAS_W),
    .PEEP_W(PEEP_W),
    .CELL_W(CELL_W),
    .C_DEPTH(C_DEPTH),
    .BIAS_FILE(BIAS_FILE),
    .PEEP_FILE(PEEP_FILE),
    .JOB_W(JOB_W),
    .IDX_W(IDX_W),
    .Y_ADDR_W(Y_ADDR_W),
    .H_ADDR_W(H_ADDR_W),
    .C_ADDR_W(C_ADDR_W),
    .LAYER_SKEW(LAYER_SKEW),
    .STAGE_W(STAGE_W),
    .H_PAR_OFF(H_PAR_OFF)
)
fd_inst (
    .clk(clk),
    .rst(rst),
    .job(fd_job),
    .job_last_blk(fd_last_blk),
    .job_last_layer(fd_last_layer),
    .job_next_stage(fd_next_stage),
    .job_h_base(fd_h_base),
    .job_c_base(fd_c_base),
    .step_first(step_first),
    .stage(fd_stage),
    .stage_job(fd_stage_job),
    .stage_first(fd_stage_first),
    .stage_par(fd_stage_par),
    .rd_en(fd_read),
    .y_rd_blk(fd_blk),
    .y_full(fd_y_full),
    .y_rd_data(y_rd_data),
    .st_rd_addr(st_rd_addr),
    .st_rd_data(st_rd_data),
    .m_axis_tdata(cell_s_data),
    .m_axis_tvalid(cell_s_valid),
    .m_axis_tready(cell_s_ready)
);

// ---------------------------------------------------------------------------------------
// cell unit

wire [CELL_OUT_W-1:0] cell_m_data;  // h (Q(data)) [and c (Q(cell))] of CELL_LANES units
wire cell_m_valid;
wire cell_m_ready;
// the cell writer counts beats itself: no sideband
/* verilator lint_off UNUSEDSIGNAL */
wire cell_m_user;
/* verilator lint_on UNUSEDSIGNAL */

generate
if (CELL_LSTM) begin : g_lstm
    ernn_lstm_cell #(
        .LANES(CL),
        .PEEPHOLE(PEEPHOLE),
        .DATA_W(DATA_W),
        .DATA_F(DATA_F),
        .IFFT_OUT_W(IFFT_OUT_W),
        .IFFT_OUT_F(IFFT_F),
        .BIAS_W(BIAS_W),
        .BIAS_F(BIAS_F),
        .GATE_W(GATE_W),
        .GATE_F(GATE_F),
        .ACT_W(ACT_W),
        .ACT_F(ACT_F),
        .ACT_SLOPE_W(ACT_SLOPE_W),
        .ACT_SLOPE_F(ACT_SLOPE_F),
        .PEEPHOLE_W(PEEP_W),
        .PEEPHOLE_F(PEEP_F),
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
        .USER_W(1)
    )
    cell_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_tdata(cell_s_data),
        .s_axis_tuser(1'b0),
        .s_axis_tvalid(cell_s_valid),
        .s_axis_tready(cell_s_ready),
        .m_axis_tdata(cell_m_data),
        .m_axis_tuser(cell_m_user),
        .m_axis_tvalid(cell_m_valid),
        .m_axis_tready(cell_m_ready)
    );
end else begin : g_gru
    ernn_gru_cell #(
        .LANES(CL),
        .DATA_W(DATA_W),
        .DATA_F(DATA_F),
        .IFFT_OUT_W(IFFT_OUT_W),
        .IFFT_OUT_F(IFFT_F),
        .BIAS_W(BIAS_W),
        .BIAS_F(BIAS_F),
        .GATE_W(GATE_W),
        .GATE_F(GATE_F),
        .ACT_W(ACT_W),
        .ACT_F(ACT_F),
        .ACT_SLOPE_W(ACT_SLOPE_W),
        .ACT_SLOPE_F(ACT_SLOPE_F),
        .SIGMOID_RANGE_LOG2(SIGMOID_RANGE_LOG2),
        .SIGMOID_SEG_BITS(SIGMOID_SEG_BITS),
        .SIGMOID_VALUE_FILE(SIGMOID_VALUE_FILE),
        .SIGMOID_SLOPE_FILE(SIGMOID_SLOPE_FILE),
        .TANH_RANGE_LOG2(TANH_RANGE_LOG2),
        .TANH_SEG_BITS(TANH_SEG_BITS),
        .TANH_VALUE_FILE(TANH_VALUE_FILE),
        .TANH_SLOPE_FILE(TANH_SLOPE_FILE),
        .USER_W(1)
    )
    cell_inst (
        .clk(clk),
        .rst(rst),
        .s_axis_tdata(cell_s_data),
        .s_axis_tuser(1'b0),
        .s_axis_tvalid(cell_s_valid),
        .s_axis_tready(cell_s_ready),
        .m_axis_tdata(cell_m_data),
        .m_axis_tuser(cell_m_user),
        .m_axis_tvalid(cell_m_valid),
        .m_axis_tready(cell_m_ready)
    );
end
endgenerate

// ---------------------------------------------------------------------------------------
// cell writer: whole blocks of h_t (m_t) and c_t

wire [JOB_W-1:0] cw_job;
wire [IDX_W-1:0] cw_last_blk;
wire cw_last_layer;
wire [JOB_W-1:0] cw_next_stage;
wire [H_ADDR_W-1:0] cw_h_base;
wire [C_ADDR_W-1:0] cw_c_base;

// a unit reads only some of its port's fields
/* verilator lint_off PINCONNECTEMPTY */
ernn_job_table #(
    .JOBS(JOBS),
    .LAYERS(NUM_LAYERS),
    .FIELDS(JOB_FIELDS),
    .TABLE(JOB_TABLE),
    .JOB_W(JOB_W),
    .IDX_W(IDX_W),
    .CNT_W(CNT_W),
    .XBUF_ADDR_W(XBUF_ADDR_W),
    .ROWS_W(ROWS_W),
    .W_ADDR_W(W_ADDR_W),
    .H_ADDR_W(H_ADDR_W),
    .C_ADDR_W(C_ADDR_W),
    .LAYER_W(LAYER_W)
)
cw_job_inst (
    .job(cw_job),
    .layer(cw_layer),
    .kind(),
    .first_layer(),
    .last_layer(cw_last_layer),
    .stage_first(),
    .stage_last(),
    .step_last(),
    .next_stage(cw_next_stage),
    .gates_last(),
    .rows(),
    .last_blk(cw_last_blk),
    .load_count(),
    .load_last(),
    .x_blocks(),
    .read_base(),
    .read_count(),
    .w_base(),
    .x_base(),
    .h_base(cw_h_base),
    .c_base(cw_c_base)
);
/* verilator lint_on PINCONNECTEMPTY */

wire cw_blk_last;
wire [H_ADDR_W-1:0] cw_h_addr;
wire [BLK_W-1:0] cw_h_data;     // h_t (m_t) of a block, padding zeroed, Q(data)
wire [C_ADDR_W-1:0] cw_c_addr;
wire [CBLK_W-1:0] cw_c_data;    // c_t of a block, Q(cell)
wire cw_llast;
wire cw_par;

ernn_cell_writer #(
    .CELL_LSTM(CELL_LSTM),
    .HAS_PROJ(HAS_PROJ),
    .HIDDEN_SIZE(HIDDEN_SIZE),
    .K(K),
    .CELL_LANES(CELL_LANES),
    .DATA_W(DATA_W),
    .CELL_W(CELL_W),
    .JOB_W(JOB_W),
    .IDX_W(IDX_W),
    .H_ADDR_W(H_ADDR_W),
    .C_ADDR_W(C_ADDR_W),
    .LAYER_SKEW(LAYER_SKEW),
    .STAGE_W(STAGE_W),
    .H_PAR_OFF(H_PAR_OFF)
)
cw_inst (
    .clk(clk),
    .rst(rst),
    .job(cw_job),
    .job_last_blk(cw_last_blk),
    .job_last_layer(cw_last_layer),
    .job_next_stage(cw_next_stage),
    .job_h_base(cw_h_base),
    .job_c_base(cw_c_base),
    .stage_job(cw_stage_job),
    .stage_par(cw_stage_par),
    .s_axis_tdata(cell_m_data),
    .s_axis_tvalid(cell_m_valid),
    .s_axis_tready(cell_m_ready),
    .out_full(out_full),
    .hold(ENGINE != 0 && !eng_s_ready),
    .we(cw_we),
    .blk(cw_blk),
    .blk_last(cw_blk_last),
    .h_addr(cw_h_addr),
    .h_data(cw_h_data),
    .c_addr(cw_c_addr),
    .c_data(cw_c_data),
    .stage(cw_stage),
    .last_layer(cw_llast),
    .par(cw_par)
);

// ---------------------------------------------------------------------------------------
// projection engine (PROJ_ENGINE): h_t = W_hr m_t on the cell writer's m blocks

localparam ENG_IDX_W = PB > 1 ? $clog2(PB) : 1;
localparam ENG_OIDX_W = QH > 1 ? $clog2(QH) : 1;
wire eng_s_ready;
wire eng_h_we;
wire [H_ADDR_W-1:0] eng_h_addr;
wire [BLK_W-1:0] eng_h_data;
wire [IDX_W-1:0] eng_h_blk;
wire eng_h_last;
wire [LAYER_W-1:0] eng_h_layer;
wire eng_llast;
wire eng_par;

generate
if (ENGINE != 0) begin : g_engine
    wire m_valid;
    wire m_ready = !(eng_llast && out_full);  // the last layer's h fills the output vector
    wire [ENG_OIDX_W-1:0] m_blk;
    wire [2:0] m_user;                        // {tlast, parity, last layer}
    ernn_proj_pe #(
        .K(K),
        .QH(QH),
        .PB(PB),
        .LAYERS(NUM_LAYERS),
        .OUT_SIZE(OUT_SIZE),
        .DATA_W(DATA_W),
        .DATA_F(DATA_F),
        .FFT_W(FFT_W),
        .TW_W(TW_W),
        .TW_F(TW_F),
        .TW_FILE(TW_FILE),
        .WS_W(WS_W),
        .WS_F(WS_F),
        .ACC_W(ACC_W),
        .IFFT_W(IFFT_W),
        .IFFT_F(IFFT_F),
        .IFFT_OUT_W(IFFT_OUT_W),
        .W_FILE(PROJ_W_FILE),
        .USER_W(3),
        .CMUL_3M(1),
        .MREG(1)
    )
    engine_inst (
        .clk(clk),
        .rst(rst),
        .s_valid(cw_we),
        .s_ready(eng_s_ready),
        .s_data(cw_h_data),
        .s_blk(cw_blk[ENG_IDX_W-1:0]),
        .s_last(cw_blk_last),
        .s_layer(cw_layer),
        .s_user({cw_entry[0], cw_par, cw_llast}),
        .m_valid(m_valid),
        .m_ready(m_ready),
        .m_data(eng_h_data),
        .m_blk(m_blk),
        .m_last(eng_h_last),
        .m_layer(eng_h_layer),
        .m_user(m_user)
    );
    assign eng_h_we = m_valid && m_ready;
    assign eng_tlast = m_user[2];
    assign eng_par = m_user[1];
    assign eng_llast = m_user[0];
    assign eng_h_blk = {{(IDX_W-ENG_OIDX_W){1'b0}}, m_blk};
    // h of the layer at layer QH + b, the odd steps' copy H_PAR_OFF words up (as the PE writer's)
    wire [H_ADDR_W-1:0] layer_ext = {{(H_ADDR_W-LAYER_W){1'b0}}, eng_h_layer};
    wire [H_ADDR_W-1:0] blk_ext = {{(H_ADDR_W-ENG_OIDX_W){1'b0}}, m_blk};
    localparam integer QH_I = QH;
    localparam [H_ADDR_W-1:0] QH_A = QH_I[H_ADDR_W-1:0];
    localparam integer H_PAR_OFF_I = H_PAR_OFF;
    localparam [H_ADDR_W-1:0] PAR_OFF_A = H_PAR_OFF_I[H_ADDR_W-1:0];
    assign eng_h_addr = layer_ext * QH_A + blk_ext + (LAYER_SKEW != 0 && eng_par ? PAR_OFF_A : {H_ADDR_W{1'b0}});
end else begin : g_no_engine
    assign eng_s_ready = 1'b1;
    assign eng_h_we = 1'b0;
    assign eng_h_addr = {H_ADDR_W{1'b0}};
    assign eng_h_data = {BLK_W{1'b0}};
    assign eng_h_blk = {IDX_W{1'b0}};
    assign eng_h_last = 1'b0;
    assign eng_h_layer = {LAYER_W{1'b0}};
    assign eng_llast = 1'b0;
    assign eng_par = 1'b0;
    assign eng_tlast = 1'b0;
end
endgenerate

// ---------------------------------------------------------------------------------------
// state memories; the h producer is the PE writer with projection jobs, the projection engine, or
// else the cell writer

assign h_we = ENGINE ? eng_h_we : PROJ_JOBS ? pw_h_we : cw_we;
wire [H_ADDR_W-1:0] h_wr_addr = ENGINE ? eng_h_addr : PROJ_JOBS ? pw_h_addr : cw_h_addr;
wire [BLK_W-1:0] h_wr_data = ENGINE ? eng_h_data : PROJ_JOBS ? pw_h_data : cw_h_data;
assign h_wr_blk = ENGINE ? eng_h_blk : PROJ_JOBS ? pw_blk_reg : cw_blk;
wire h_wr_last = ENGINE ? eng_h_last : PROJ_JOBS ? pw_h_last : cw_blk_last;
assign h_wr_layer = ENGINE ? eng_h_layer : PROJ_JOBS ? pw_layer : cw_layer;
// the layer of the unit that is not the h producer
/* verilator lint_off UNUSEDSIGNAL */
wire unused_layers = &{1'b0, pw_layer, cw_layer};
/* verilator lint_on UNUSEDSIGNAL */

ernn_state_mem #(
    .CELL_LSTM(CELL_LSTM),
    .HAS_PROJ(PROJ_JOBS),
    .K(K),
    .DATA_W(DATA_W),
    .CELL_W(CELL_W),
    .H_DEPTH(H_DEPTH),
    .C_DEPTH(C_DEPTH),
    .M_DEPTH(M_DEPTH),
    .INTERLEAVE(INTERLEAVE),
    .IDX_W(IDX_W),
    .STAGE_W(STAGE_W),
    .LAYER_SKEW(LAYER_SKEW),
    // loads forwarded from the writers (ernn_state_mem; pipelined layers: ernn_cmd FORWARD)
    .FORWARD(1),
    .NUM_LAYERS(NUM_LAYERS),
    .LAYER_W(LAYER_W),
    .TAG_W(TAG_W)
)
state_inst (
    .clk(clk),
    .rst(rst),
    .h_we(h_we),
    .h_wr_addr(h_wr_addr),
    .h_wr_data(h_wr_data),
    .h_wr_blk(h_wr_blk),
    .h_wr_last(h_wr_last),
    .h_wr_layer(h_wr_layer),
    .h_rd_en(h_rd_en),
    .h_rd_addr(h_rd_addr),
    .h_rd_data(h_rd_data),
    .h_stage(hp_stage),
    .h_stage_now(hp_stage_now),
    .h_count(hp_count),
    .hl_done(hl_done),
    .hl_count(hl_count),
    .c_we(cw_we),
    .c_wr_addr(cw_c_addr),
    .c_wr_data(cw_c_data),
    .m_we(cw_we),
    .m_wr_addr(INTERLEAVE != 0 ? cw_c_addr[M_ADDR_W-1:0] : cw_blk[M_ADDR_W-1:0]),
    .m_wr_blk(cw_blk),
    .m_wr_last(cw_blk_last),
    .m_wr_layer(cw_layer),
    .m_wr_data(cw_h_data),
    .m_wr_stage(cw_stage),
    .m_rd_en(m_rd_en),
    .m_rd_addr(m_rd_addr),
    .m_rd_data(m_rd_data),
    .m_tag(m_tag),
    .m_count(m_count),
    .ml_done(ml_done),
    .ml_count(ml_count),
    .st_rd_en(fd_read),
    .st_rd_addr(st_rd_addr),
    .st_rd_data(st_rd_data)
);

// ---------------------------------------------------------------------------------------
// output vector: the last layer's h producer fills it; held on m_axis

wire out_we = h_we && (ENGINE ? eng_llast : PROJ_JOBS ? pw_h_llast : cw_llast);
wire out_par = ENGINE ? eng_par : PROJ_JOBS ? pw_h_par : cw_par;

ernn_out_vec #(
    .K(K),
    .DATA_W(DATA_W),
    .OUT_SIZE(OUT_SIZE),
    .IDX_W(IDX_W)
)
out_inst (
    .clk(clk),
    .rst(rst),
    .wr_en(out_we),
    .wr_blk(h_wr_blk),
    .wr_data(h_wr_data),
    .wr_last(h_wr_last),
    .wr_tlast(LAYER_SKEW != 0 ? skew_out_tlast : step_last[out_par]),
    .full(out_full),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready),
    .m_axis_tlast(m_axis_tlast)
);

endmodule

`resetall
