/*

E-RNN toolkit: accelerator core — sequencer, state memories, circulant PE and cell unit

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Runs stacked block-circulant LSTM/GRU layers on one ernn_pe, bit-exact with
 * ernn.fixed.network.GoldenNetwork.run_stream (docs/accelerator.md, docs/numerics.md 12).
 * Every name below is a block of K samples; p = ceil(H / K) hidden blocks, q_x / q_h
 * input / recurrent blocks, p_r = ceil(PROJ_SIZE / K).
 *
 * One *stage* is one layer at one time step; stages run in order (layer 0..L-1 of step t,
 * then step t + 1). A stage is one to three PE jobs, in the order of QuantizedLayer.step:
 *
 *   LSTM  gate job: load FFT(x_t) and FFT(h_{t-1}) into spectrum slots 0..q_x+q_h-1, rows
 *                   (block i, gate i/f/g/o) = 4 p row blocks, W_ih x + W_hh h summed in one
 *                   accumulator per row block (one IFFT each)
 *         proj job (PROJ_SIZE > 0): load FFT(m_t) (m = o tanh(c), p blocks), p_r rows of W_hr
 *   GRU   rz job:   as the LSTM gate job with rows (block i, gate r/z) = 2 p
 *         in job:   no load, slots 0..q_x-1 (W_in x), p rows
 *         hn job:   no load, slots q_x..q_x+q_h-1 (W_hn h), p rows  (kept apart: reset-after)
 *
 * Units (each a small counter machine walking the same stage order):
 *   command side  issues the jobs and streams their input blocks (the frame, h of the layer
 *                 below, h_{t-1} of this layer (zero on the first frame of a sequence), m)
 *                 into the PE; a block is sent as soon as its producer has written it, so the
 *                 next job's FFTs overlap the current job's tail
 *   PE writer     row blocks of the PE -> gate buffer y[gate][block] (Q(ifft_out)), or for
 *                 the projection rnd(y, I - D) saturated to Q(data) (R12) -> h memory
 *   feeder        once all gates of block i are in y: reads y, merged biases, peepholes and
 *                 c_{t-1} (GRU: h_{t-1}) of block i and hands them to the cell unit as
 *                 K / CELL_LANES beats of CELL_LANES units
 *   cell writer   h_t (or m_t) and c_t of block i -> state memories, output vector
 *
 * Hazards are resolved by construction of the order plus three checks: a y block is not
 * overwritten before the feeder has read it (full flags); an input block is not sent before
 * its producer wrote it (2-bit stage tags, block counts); a stage starts only when the stage
 * two back has written all of its h (so the tags never alias). Padding units of a partial
 * last block (H or PROJ_SIZE not a multiple of K) are computed and written as zeros, which
 * is the zero padding the next matvec's FFT expects.
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
    // PE weight-memory depth written by the exporter (checked against the layout below)
    parameter W_DEPTH = 64,
    // $readmemh twiddles (mem/twiddle.mem)
    parameter TW_FILE = "",
    // $readmemh PE weight memory (mem/pe_weights.mem, golden/ernn/hw_layout.py)
    parameter W_FILE = "",
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

// weight-memory words of one PE job: rounds of P units (row block, bin), one word per input block
function integer region(input integer rows, input integer q);
    begin
        region = cdiv(rows * BINS, P) * q;
    end
endfunction

// ---------------------------------------------------------------------------------------
// sizes

// output size of every layer (projection or hidden)
localparam OUT_SIZE = PROJ_SIZE > 0 ? PROJ_SIZE : HIDDEN_SIZE;
// 1: LSTM projection W_hr
localparam HAS_PROJ = PROJ_SIZE > 0 ? 1 : 0;
// stored spectrum bins per block
localparam BINS = K / 2 + 1;
// hidden blocks p
localparam PB = cdiv(HIDDEN_SIZE, K);
// projection blocks p_r
localparam PR = cdiv(PROJ_SIZE, K);
// blocks of a layer output: recurrent input blocks q_h, also q_x of layers > 0
localparam QH = cdiv(OUT_SIZE, K);
// input blocks of layer 0
localparam QX0 = cdiv(INPUT_SIZE, K);
// gate row blocks per hidden block in the first job (LSTM i, f, g, o; GRU r, z)
localparam GPB = CELL_LSTM ? 4 : 2;
// row blocks of the first job
localparam ROWS_GATE = GPB * PB;
// PE jobs per stage
localparam NJOBS = CELL_LSTM ? (HAS_PROJ ? 2 : 1) : 3;
// cell-unit beats per block
localparam SPLIT = K / CELL_LANES;
// spectrum slots: the most blocks one accumulator sums (as numerics.accumulator assumes)
localparam XBUF_DEPTH = max2(max2(QX0 + QH, NUM_LAYERS > 1 ? 2 * QH : 0), HAS_PROJ ? PB : 0);
// weight-memory words of layer 0 and of each later layer, and the job offsets inside a layer
// (region(): one job's words, docs/pe.md)
localparam J1_OFF_0 = region(ROWS_GATE, QX0 + QH);
localparam J2_OFF_0 = J1_OFF_0 + (CELL_LSTM ? 0 : region(PB, QX0));
localparam LAYER0_WORDS = CELL_LSTM ? J1_OFF_0 + (HAS_PROJ ? region(PR, PB) : 0)
                                    : J2_OFF_0 + region(PB, QH);
localparam J1_OFF_N = region(ROWS_GATE, 2 * QH);
localparam J2_OFF_N = J1_OFF_N + (CELL_LSTM ? 0 : region(PB, QH));
localparam LAYERN_WORDS = CELL_LSTM ? J1_OFF_N + (HAS_PROJ ? region(PR, PB) : 0)
                                    : J2_OFF_N + region(PB, QH);
// the weight memory this layout needs
localparam W_DEPTH_NEED = LAYER0_WORDS + (NUM_LAYERS - 1) * LAYERN_WORDS;

// PE command field widths (the PE derives the same)
localparam XBUF_ADDR_W = $clog2(XBUF_DEPTH);
localparam CNT_W = $clog2(XBUF_DEPTH + 1);
localparam W_ADDR_W = $clog2(W_DEPTH);
localparam ROWS_W = $clog2(ROWS_GATE + 1);
// layer counter width
localparam LAYER_W = NUM_LAYERS > 1 ? $clog2(NUM_LAYERS) : 1;
// cell sub-beat counter width
localparam SUB_W = SPLIT > 1 ? $clog2(SPLIT) : 1;

// memory geometry: h per (layer, block); c, biases, peepholes per (layer, hidden block);
// the gate buffer and m per hidden block
localparam H_DEPTH = max2(2, NUM_LAYERS * QH);
localparam C_DEPTH = max2(2, NUM_LAYERS * PB);
localparam Y_DEPTH = max2(2, PB);
localparam H_ADDR_W = $clog2(H_DEPTH);
localparam C_ADDR_W = $clog2(C_DEPTH);
localparam Y_ADDR_W = $clog2(Y_DEPTH);
// block / load index width: every block count (<= XBUF_DEPTH) and every memory address fits
localparam IDX_W = max2(CNT_W, max2(H_ADDR_W, C_ADDR_W));

// word widths
localparam BLK_W = K * DATA_W;          // one block of Q(data) samples
localparam YBLK_W = K * IFFT_OUT_W;     // one row block of the PE, Q(ifft_out)
localparam CBLK_W = K * CELL_W;         // one block of c, Q(cell)
localparam BIAS_WORD_W = 4 * K * BIAS_W;     // (gate, unit) of one block, Q(bias)
localparam PEEP_WORD_W = 3 * K * PEEP_W;     // (i/f/o, unit) of one block, Q(peephole)
localparam FRAME_W = INPUT_SIZE * DATA_W;
localparam FRAME_PAD_W = QX0 * BLK_W;
localparam OUT_W = OUT_SIZE * DATA_W;
localparam ASM_W = QH * BLK_W;
// cell unit ports
localparam CL = CELL_LANES;
localparam LSTM_IN_W = 4 * CL * (IFFT_OUT_W + BIAS_W) + CL * CELL_W + PEEPHOLE * 3 * CL * PEEP_W;
localparam GRU_IN_W = 4 * CL * (IFFT_OUT_W + BIAS_W) + CL * DATA_W;
localparam CELL_IN_W = CELL_LSTM ? LSTM_IN_W : GRU_IN_W;
localparam CELL_OUT_W = CELL_LSTM ? CL * (DATA_W + CELL_W) : CL * DATA_W;
// R12: projection output Q(ifft_out) -> Q(data)
localparam SH_PROJ = IFFT_F - DATA_F;
// valid samples of the last hidden / output block
localparam H_TAIL = HIDDEN_SIZE - (PB - 1) * K;
localparam O_TAIL = OUT_SIZE - (QH - 1) * K;

// sized constants
localparam integer PB_LAST_I = PB - 1;
localparam integer PR_LAST_I = (PR > 0 ? PR : 1) - 1;
localparam integer QH_LAST_I = QH - 1;
localparam integer QX0_LAST_I = QX0 - 1;
localparam integer L_LAST_I = NUM_LAYERS - 1;
localparam integer SPLIT_LAST_I = SPLIT - 1;
localparam integer QX0_QH_I = QX0 + QH;
localparam integer QH2_I = 2 * QH;
localparam integer ROWS_PB_I = PB;
localparam integer ROWS_PR_I = PR;
localparam [IDX_W-1:0] PB_LAST = PB_LAST_I[IDX_W-1:0];
localparam [IDX_W-1:0] PR_LAST = PR_LAST_I[IDX_W-1:0];
localparam [IDX_W-1:0] QH_LAST = QH_LAST_I[IDX_W-1:0];
localparam [IDX_W-1:0] QX0_LAST = QX0_LAST_I[IDX_W-1:0];
localparam [IDX_W-1:0] QH_I = QH[IDX_W-1:0];
localparam [IDX_W-1:0] QX0_X = QX0[IDX_W-1:0];
localparam [LAYER_W-1:0] L_LAST = L_LAST_I[LAYER_W-1:0];
localparam [SUB_W-1:0] SPLIT_LAST = SPLIT_LAST_I[SUB_W-1:0];
localparam [CNT_W-1:0] CNT_QX0_QH = QX0_QH_I[CNT_W-1:0];
localparam integer QX0_QH_LAST_I = QX0 + QH - 1;
localparam integer QH2_LAST_I = 2 * QH - 1;
localparam [IDX_W-1:0] LAST_QX0_QH = QX0_QH_LAST_I[IDX_W-1:0];
localparam [IDX_W-1:0] LAST_QH2 = QH2_LAST_I[IDX_W-1:0];
localparam [CNT_W-1:0] CNT_QH2 = QH2_I[CNT_W-1:0];
localparam [CNT_W-1:0] CNT_QX0 = QX0[CNT_W-1:0];
localparam [CNT_W-1:0] CNT_QH = QH[CNT_W-1:0];
localparam [CNT_W-1:0] CNT_PB = PB[CNT_W-1:0];
localparam [XBUF_ADDR_W-1:0] BASE_QX0 = QX0[XBUF_ADDR_W-1:0];
localparam [XBUF_ADDR_W-1:0] BASE_QH = QH[XBUF_ADDR_W-1:0];
localparam [ROWS_W-1:0] ROWS_G = ROWS_GATE[ROWS_W-1:0];
localparam [ROWS_W-1:0] ROWS_PB = ROWS_PB_I[ROWS_W-1:0];
localparam [ROWS_W-1:0] ROWS_PR = ROWS_PR_I[ROWS_W-1:0];
localparam [W_ADDR_W-1:0] W_J1_0 = J1_OFF_0[W_ADDR_W-1:0];
localparam [W_ADDR_W-1:0] W_J2_0 = J2_OFF_0[W_ADDR_W-1:0];
localparam [W_ADDR_W-1:0] W_J1_N = J1_OFF_N[W_ADDR_W-1:0];
localparam [W_ADDR_W-1:0] W_J2_N = J2_OFF_N[W_ADDR_W-1:0];
localparam [W_ADDR_W-1:0] W_L0 = LAYER0_WORDS[W_ADDR_W-1:0];
localparam [W_ADDR_W-1:0] W_LN = LAYERN_WORDS[W_ADDR_W-1:0];
localparam [H_ADDR_W-1:0] H_STRIDE = QH[H_ADDR_W-1:0];
localparam [C_ADDR_W-1:0] C_STRIDE = PB[C_ADDR_W-1:0];

// job kinds
localparam [1:0] JOB_GATE = 2'd0;   // LSTM gates / GRU r, z: x and h, one accumulator per row
localparam [1:0] JOB_IN = 2'd1;     // GRU W_in x
localparam [1:0] JOB_HN = 2'd2;     // GRU W_hn h
localparam [1:0] JOB_PROJ = 2'd3;   // LSTM projection W_hr m

// load sources
localparam [1:0] SRC_ZERO = 2'd0;
localparam [1:0] SRC_FRAME = 2'd1;
localparam [1:0] SRC_H = 2'd2;
localparam [1:0] SRC_M = 2'd3;

// check configuration
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
    if (W_DEPTH != W_DEPTH_NEED) begin
        $error("Error: ernn_ctrl W_DEPTH = %0d, but this model with P = %0d lanes needs %0d weight words: the weight file was exported for another configuration",
            W_DEPTH, P, W_DEPTH_NEED);
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
// input frame register

reg [FRAME_W-1:0] frame_reg;    // x_t, Q(data) samples
reg frame_valid_reg;
reg frame_first_reg;            // first frame of a sequence: zero state
reg frame_last_reg;             // tlast: last frame of a sequence
reg next_first_reg;             // the next accepted frame starts a sequence

wire frame_free;                // the command side has requested the last block of the frame

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

// per step parity: first frame of the sequence (zero state), tlast
reg [1:0] step_first_reg;
reg [1:0] step_last_reg;

// ---------------------------------------------------------------------------------------
// progress of the h producer (cell writer, or the PE writer's projection rows)

reg [1:0] hp_stage_reg;         // stage (mod 4) whose h blocks are being written
reg [IDX_W-1:0] hp_count_reg;   // h blocks of that stage written so far
reg [1:0] m_tag_reg;            // stage (mod 4) of the last m block written
reg [IDX_W-1:0] m_count_reg;    // m blocks of that stage written so far

// ---------------------------------------------------------------------------------------
// command side: PE jobs and their input blocks

localparam [1:0] CMD_ISSUE = 2'd0;
localparam [1:0] CMD_LOAD = 2'd1;

reg [1:0] cmd_state_reg;
reg [LAYER_W-1:0] cmd_layer_reg;
reg [1:0] cmd_job_reg;
reg [1:0] cmd_stage_reg;        // stage index mod 4
reg cmd_par_reg;                // step parity
reg cmd_first_reg;              // this step starts a sequence
reg [H_ADDR_W-1:0] cmd_hbase_reg;   // layer * q_h: this layer's h
reg [H_ADDR_W-1:0] cmd_xbase_reg;   // (layer - 1) * q_h: the layer below
reg [IDX_W-1:0] ld_idx_reg;     // input block of the job being sent

wire cmd_l0 = cmd_layer_reg == {LAYER_W{1'b0}};
wire cmd_llast = cmd_layer_reg == L_LAST;
wire [1:0] cmd_kind = cmd_job_reg == 2'd0 ? JOB_GATE
                    : (CELL_LSTM ? JOB_PROJ : (cmd_job_reg == 2'd1 ? JOB_IN : JOB_HN));
wire cmd_job_last = cmd_job_reg == NJOBS[1:0] - 2'd1;
wire [IDX_W-1:0] cmd_qx = cmd_l0 ? QX0_X : QH_I;

// job command fields
reg [CNT_W-1:0] cmd_load_count;
reg [IDX_W-1:0] cmd_load_last;      // load_count - 1 (index of the last input block)
reg [XBUF_ADDR_W-1:0] cmd_read_base;
reg [CNT_W-1:0] cmd_read_count;
reg [ROWS_W-1:0] cmd_rows;
reg [W_ADDR_W-1:0] cmd_w_off;
reg [W_ADDR_W-1:0] cmd_w_base_reg;  // first word of this layer

always @* begin
    cmd_load_count = {CNT_W{1'b0}};
    cmd_load_last = {IDX_W{1'b0}};
    cmd_read_base = {XBUF_ADDR_W{1'b0}};
    cmd_read_count = cmd_l0 ? CNT_QX0_QH : CNT_QH2;
    cmd_rows = ROWS_G;
    cmd_w_off = {W_ADDR_W{1'b0}};
    case (cmd_kind)
        JOB_GATE: begin
            cmd_load_count = cmd_l0 ? CNT_QX0_QH : CNT_QH2;
            cmd_load_last = cmd_l0 ? LAST_QX0_QH : LAST_QH2;
        end
        JOB_IN: begin
            cmd_read_count = cmd_l0 ? CNT_QX0 : CNT_QH;
            cmd_rows = ROWS_PB;
            cmd_w_off = cmd_l0 ? W_J1_0 : W_J1_N;
        end
        JOB_HN: begin
            cmd_read_base = cmd_l0 ? BASE_QX0 : BASE_QH;
            cmd_read_count = CNT_QH;
            cmd_rows = ROWS_PB;
            cmd_w_off = cmd_l0 ? W_J2_0 : W_J2_N;
        end
        default: begin // JOB_PROJ
            cmd_load_count = CNT_PB;
            cmd_load_last = PB_LAST;
            cmd_read_count = CNT_PB;
            cmd_rows = ROWS_PR;
            cmd_w_off = cmd_l0 ? W_J1_0 : W_J1_N;
        end
    endcase
end

// where input block ld_idx comes from and whether its producer has written it
reg [1:0] ld_src;
reg [H_ADDR_W-1:0] ld_haddr;
reg ld_avail;

// this stage minus the stage the h producer is writing: 0 = every earlier stage is written;
// 1 = the previous stage is being written (hp_count blocks so far); 2 = two back (no start)
wire [1:0] hp_diff = cmd_stage_reg - hp_stage_reg;
wire [IDX_W-1:0] ld_hidx = ld_idx_reg - cmd_qx;     // recurrent block index

always @* begin
    ld_src = SRC_ZERO;
    ld_haddr = cmd_hbase_reg + ld_hidx[H_ADDR_W-1:0];
    ld_avail = 1'b1;
    if (cmd_kind == JOB_PROJ) begin
        ld_src = SRC_M;
        ld_avail = m_tag_reg == cmd_stage_reg && m_count_reg > ld_idx_reg;
    end else if (ld_idx_reg < cmd_qx) begin
        // x_t: the frame, or h_t of the layer below (the previous stage)
        if (cmd_l0) begin
            ld_src = SRC_FRAME;
            ld_avail = frame_valid_reg;
        end else begin
            ld_src = SRC_H;
            ld_haddr = cmd_xbase_reg + ld_idx_reg[H_ADDR_W-1:0];
            ld_avail = hp_diff == 2'd0 || hp_count_reg > ld_idx_reg;
        end
    end else if (!cmd_first_reg) begin
        // h_{t-1} of this layer: stage - L, the previous stage when L = 1
        ld_src = SRC_H;
        ld_avail = NUM_LAYERS > 1 || hp_diff == 2'd0 || hp_count_reg > ld_hidx;
    end
end

// load pipeline: request -> memory read / block select -> FIFO -> PE s_axis
localparam LD_FIFO_DEPTH = 4;

reg ld_pend_reg;                // a request made last clock arrives now
reg [1:0] ld_pend_src_reg;
reg [BLK_W-1:0] ld_frame_blk_reg;              // K samples, Q(data)
reg [BLK_W-1:0] ld_fifo_reg [0:LD_FIFO_DEPTH-1];  // input blocks for the PE, K samples of Q(data)
reg [1:0] ld_wr_ptr_reg;
reg [1:0] ld_rd_ptr_reg;
reg [2:0] ld_count_reg;

wire pe_s_axis_tready;
wire ld_credit = ld_count_reg + {2'b00, ld_pend_reg} < 3'd4;
wire ld_req = cmd_state_reg == CMD_LOAD && ld_avail && ld_credit;
wire ld_last = ld_idx_reg == cmd_load_last;
wire ld_pop = ld_count_reg != 3'd0 && pe_s_axis_tready;

assign frame_free = ld_req && ld_src == SRC_FRAME && ld_idx_reg == QX0_LAST;

wire [BLK_W-1:0] h_rd_data;     // K samples of h, Q(data)
wire [BLK_W-1:0] m_rd_data;     // K samples of m, Q(data)
wire [Y_ADDR_W-1:0] m_rd_addr = ld_idx_reg[Y_ADDR_W-1:0];

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
    if (ld_pend_reg) begin
        ld_fifo_reg[ld_wr_ptr_reg] <= ld_data;
        ld_wr_ptr_reg <= ld_wr_ptr_reg + 1'b1;
    end
    if (ld_pop) begin
        ld_rd_ptr_reg <= ld_rd_ptr_reg + 1'b1;
    end
    ld_count_reg <= ld_count_reg + {2'b00, ld_pend_reg} - {2'b00, ld_pop};

    if (rst) begin
        ld_pend_reg <= 1'b0;
        ld_wr_ptr_reg <= 2'd0;
        ld_rd_ptr_reg <= 2'd0;
        ld_count_reg <= 3'd0;
    end
end

// command issue and sequencing
wire pe_s_cmd_ready;
// a stage starts once the stage two back has written all of its h (hp_diff < 2) and,
// for layer 0, once its frame is here
wire cmd_start_ok = cmd_job_reg != 2'd0 || (hp_diff != 2'd2 && (!cmd_l0 || frame_valid_reg));
wire pe_s_cmd_valid = cmd_state_reg == CMD_ISSUE && cmd_start_ok;
wire cmd_fire = pe_s_cmd_valid && pe_s_cmd_ready;
// the job's command and loads are done: next job, next stage
wire cmd_next = (cmd_fire && cmd_load_count == {CNT_W{1'b0}}) || (ld_req && ld_last);

always @(posedge clk) begin
    if (cmd_fire) begin
        if (cmd_job_reg == 2'd0 && cmd_l0) begin
            step_first_reg[cmd_par_reg] <= frame_first_reg;
            step_last_reg[cmd_par_reg] <= frame_last_reg;
            cmd_first_reg <= frame_first_reg;
        end
        if (cmd_load_count != {CNT_W{1'b0}}) begin
            cmd_state_reg <= CMD_LOAD;
            ld_idx_reg <= {IDX_W{1'b0}};
        end
    end

    if (ld_req) begin
        ld_idx_reg <= ld_idx_reg + 1'b1;
    end

    if (cmd_next) begin
        cmd_state_reg <= CMD_ISSUE;
        if (cmd_job_last) begin
            cmd_job_reg <= 2'd0;
            cmd_stage_reg <= cmd_stage_reg + 1'b1;
            if (cmd_llast) begin
                cmd_layer_reg <= {LAYER_W{1'b0}};
                cmd_par_reg <= !cmd_par_reg;
                cmd_hbase_reg <= {H_ADDR_W{1'b0}};
                cmd_xbase_reg <= {H_ADDR_W{1'b0}};
                cmd_w_base_reg <= {W_ADDR_W{1'b0}};
            end else begin
                cmd_layer_reg <= cmd_layer_reg + 1'b1;
                cmd_xbase_reg <= cmd_hbase_reg;
                cmd_hbase_reg <= cmd_hbase_reg + H_STRIDE;
                cmd_w_base_reg <= cmd_w_base_reg + (cmd_l0 ? W_L0 : W_LN);
            end
        end else begin
            cmd_job_reg <= cmd_job_reg + 1'b1;
        end
    end

    if (rst) begin
        cmd_state_reg <= CMD_ISSUE;
        cmd_layer_reg <= {LAYER_W{1'b0}};
        cmd_job_reg <= 2'd0;
        cmd_stage_reg <= 2'd0;
        cmd_par_reg <= 1'b0;
        cmd_first_reg <= 1'b1;
        cmd_hbase_reg <= {H_ADDR_W{1'b0}};
        cmd_xbase_reg <= {H_ADDR_W{1'b0}};
        cmd_w_base_reg <= {W_ADDR_W{1'b0}};
        ld_idx_reg <= {IDX_W{1'b0}};
    end
end

// ---------------------------------------------------------------------------------------
// circulant PE

wire [YBLK_W-1:0] pe_m_axis_tdata;   // one row block, Q(ifft_out)
wire pe_m_axis_tvalid;
wire pe_m_axis_tready;
wire pe_m_axis_tlast;

ernn_pe #(
    .K(K),
    .P(P),
    .DATA_W(DATA_W),
    .DATA_FRAC(DATA_F),
    .FFT_W(FFT_W),
    .TW_W(TW_W),
    .TW_FRAC(TW_F),
    .TW_FILE(TW_FILE),
    .WS_W(WS_W),
    .WS_FRAC(WS_F),
    .ACC_W(ACC_W),
    .IFFT_W(IFFT_W),
    .IFFT_FRAC(IFFT_F),
    .OUT_W(IFFT_OUT_W),
    .XBUF_DEPTH(XBUF_DEPTH),
    .W_DEPTH(W_DEPTH),
    .W_FILE(W_FILE),
    .ROWS_W(ROWS_W),
    .CMUL_3M(1)
)
pe_inst (
    .clk(clk),
    .rst(rst),
    .s_cmd_valid(pe_s_cmd_valid),
    .s_cmd_ready(pe_s_cmd_ready),
    .s_cmd_load_base({XBUF_ADDR_W{1'b0}}),
    .s_cmd_load_count(cmd_load_count),
    .s_cmd_read_base(cmd_read_base),
    .s_cmd_read_count(cmd_read_count),
    .s_cmd_rows(cmd_rows),
    .s_cmd_w_base(cmd_w_base_reg + cmd_w_off),
    .s_axis_tdata(ld_fifo_reg[ld_rd_ptr_reg]),
    .s_axis_tvalid(ld_count_reg != 3'd0),
    .s_axis_tready(pe_s_axis_tready),
    .m_axis_tdata(pe_m_axis_tdata),
    .m_axis_tlast(pe_m_axis_tlast),
    .m_axis_tvalid(pe_m_axis_tvalid),
    .m_axis_tready(pe_m_axis_tready)
);

// the PE writer counts row blocks itself; tlast (end of a job) carries no extra information
/* verilator lint_off UNUSEDSIGNAL */
wire unused_pe_tlast = pe_m_axis_tlast;
/* verilator lint_on UNUSEDSIGNAL */

// ---------------------------------------------------------------------------------------
// PE writer: row blocks -> gate buffer, or (projection) -> h

reg [LAYER_W-1:0] pw_layer_reg;
reg [1:0] pw_job_reg;
reg [1:0] pw_gate_reg;          // gate within the block (first job)
reg [IDX_W-1:0] pw_blk_reg;
reg pw_par_reg;
reg [H_ADDR_W-1:0] pw_hbase_reg;    // layer * q_h

reg [Y_DEPTH-1:0] full_reg;      // y block written completely and not yet read by the feeder

wire pw_llast = pw_layer_reg == L_LAST;
wire [1:0] pw_kind = pw_job_reg == 2'd0 ? JOB_GATE
                   : (CELL_LSTM ? JOB_PROJ : (pw_job_reg == 2'd1 ? JOB_IN : JOB_HN));
wire pw_gate_last = pw_kind != JOB_GATE || pw_gate_reg == GPB[1:0] - 2'd1;
wire pw_blk_last = pw_blk_reg == (pw_kind == JOB_PROJ ? PR_LAST : PB_LAST);
wire pw_job_last = pw_job_reg == NJOBS[1:0] - 2'd1;
// gate buffer slot: LSTM i, f, g, o; GRU r, z, in, hn
wire [1:0] pw_slot = pw_kind == JOB_GATE ? pw_gate_reg : (pw_kind == JOB_IN ? 2'd2 : 2'd3);
// the write that completes block pw_blk: LSTM gate o, GRU hn
wire pw_completes = CELL_LSTM ? (pw_kind == JOB_GATE && pw_gate_reg == 2'd3) : pw_kind == JOB_HN;

reg asm_full_reg;               // the output vector is complete and waits for m_axis

wire pw_ready = pw_kind == JOB_PROJ ? !(pw_llast && asm_full_reg) : !full_reg[pw_blk_reg[Y_ADDR_W-1:0]];
assign pe_m_axis_tready = pw_ready;
wire pw_fire = pe_m_axis_tvalid && pw_ready;
wire pw_y_we = pw_fire && pw_kind != JOB_PROJ;
wire pw_h_we = pw_fire && pw_kind == JOB_PROJ;

always @(posedge clk) begin
    if (pw_fire) begin
        if (pw_gate_last) begin
            pw_gate_reg <= 2'd0;
            if (pw_blk_last) begin
                pw_blk_reg <= {IDX_W{1'b0}};
                if (pw_job_last) begin
                    pw_job_reg <= 2'd0;
                    if (pw_llast) begin
                        pw_layer_reg <= {LAYER_W{1'b0}};
                        pw_par_reg <= !pw_par_reg;
                        pw_hbase_reg <= {H_ADDR_W{1'b0}};
                    end else begin
                        pw_layer_reg <= pw_layer_reg + 1'b1;
                        pw_hbase_reg <= pw_hbase_reg + H_STRIDE;
                    end
                end else begin
                    pw_job_reg <= pw_job_reg + 1'b1;
                end
            end else begin
                pw_blk_reg <= pw_blk_reg + 1'b1;
            end
        end else begin
            pw_gate_reg <= pw_gate_reg + 1'b1;
        end
    end

    if (rst) begin
        pw_layer_reg <= {LAYER_W{1'b0}};
        pw_job_reg <= 2'd0;
        pw_gate_reg <= 2'd0;
        pw_blk_reg <= {IDX_W{1'b0}};
        pw_par_reg <= 1'b0;
        pw_hbase_reg <= {H_ADDR_W{1'b0}};
    end
end

// projection output: rnd(y, I - D), saturated to Q(data) (R12, point proj_out); padding zeroed
wire [BLK_W-1:0] proj_blk;      // projection output block, K samples of Q(data)

genvar n;

generate
for (n = 0; n < K; n = n + 1) begin : g_proj_rnd
    wire [DATA_W-1:0] v;  // Q(data)
    ernn_cell_rnd #(.IN_W(IFFT_OUT_W), .SHIFT(SH_PROJ), .OUT_W(DATA_W))
    rnd_inst (.in(pe_m_axis_tdata[n*IFFT_OUT_W +: IFFT_OUT_W]), .out(v));
    if (n >= O_TAIL) begin : g_tail
        // a padding sample of the last block
        assign proj_blk[n*DATA_W +: DATA_W] = pw_blk_last ? {DATA_W{1'b0}} : v;
    end else begin : g_keep
        assign proj_blk[n*DATA_W +: DATA_W] = v;
    end
end
endgenerate

// ---------------------------------------------------------------------------------------
// gate buffer y[slot][block], Q(ifft_out)

wire fd_read;
wire [Y_ADDR_W-1:0] fd_blk;
wire [4*YBLK_W-1:0] y_rd_data;  // slots 0..3, K samples each, Q(ifft_out)

genvar s;

generate
for (s = 0; s < 4; s = s + 1) begin : g_ybuf
    ernn_state_ram #(
        .WIDTH(YBLK_W),
        .DEPTH(Y_DEPTH)
    )
    ybuf_inst (
        .clk(clk),
        .wr_en(pw_y_we && pw_slot == s),
        .wr_addr(pw_blk_reg[Y_ADDR_W-1:0]),
        .wr_data(pe_m_axis_tdata),
        .rd_en(fd_read),
        .rd_addr(fd_blk),
        .rd_data(y_rd_data[s*YBLK_W +: YBLK_W])
    );
end
endgenerate

// ---------------------------------------------------------------------------------------
// feeder: complete blocks of y -> cell unit, CELL_LANES units per beat

reg fd_hold_reg;                // the memories' output registers hold a block
reg [SUB_W-1:0] fd_sub_reg;     // next beat of that block
reg [IDX_W-1:0] fd_blk_reg;     // next block to read
reg [LAYER_W-1:0] fd_layer_reg;
reg fd_par_reg;
reg fd_zero_reg;                // the held block starts a sequence: c_{t-1} = h_{t-1} = 0
reg [C_ADDR_W-1:0] fd_cbase_reg;    // layer * p

wire cell_s_ready;
wire fd_sub_last = fd_sub_reg == SPLIT_LAST;
wire fd_free = !fd_hold_reg || (fd_sub_last && cell_s_ready);
assign fd_read = fd_free && full_reg[fd_blk_reg[Y_ADDR_W-1:0]];
assign fd_blk = fd_blk_reg[Y_ADDR_W-1:0];
wire [C_ADDR_W-1:0] fd_caddr = fd_cbase_reg + fd_blk_reg[C_ADDR_W-1:0];

always @(posedge clk) begin
    if (fd_hold_reg && cell_s_ready) begin
        fd_sub_reg <= fd_sub_reg + 1'b1;
        if (fd_sub_last) begin
            fd_hold_reg <= 1'b0;
        end
    end
    if (fd_read) begin
        fd_hold_reg <= 1'b1;
        fd_sub_reg <= {SUB_W{1'b0}};
        fd_zero_reg <= step_first_reg[fd_par_reg];
        if (fd_blk_reg == PB_LAST) begin
            fd_blk_reg <= {IDX_W{1'b0}};
            if (fd_layer_reg == L_LAST) begin
                fd_layer_reg <= {LAYER_W{1'b0}};
                fd_par_reg <= !fd_par_reg;
                fd_cbase_reg <= {C_ADDR_W{1'b0}};
            end else begin
                fd_layer_reg <= fd_layer_reg + 1'b1;
                fd_cbase_reg <= fd_cbase_reg + C_STRIDE;
            end
        end else begin
            fd_blk_reg <= fd_blk_reg + 1'b1;
        end
    end

    if (rst) begin
        fd_hold_reg <= 1'b0;
        fd_sub_reg <= {SUB_W{1'b0}};
        fd_blk_reg <= {IDX_W{1'b0}};
        fd_layer_reg <= {LAYER_W{1'b0}};
        fd_par_reg <= 1'b0;
        fd_cbase_reg <= {C_ADDR_W{1'b0}};
    end
end

// full flags: set by the write that completes a block, cleared when the feeder reads it
always @(posedge clk) begin
    if (pw_y_we && pw_completes) begin
        full_reg[pw_blk_reg[Y_ADDR_W-1:0]] <= 1'b1;
    end
    if (fd_read) begin
        full_reg[fd_blk_reg[Y_ADDR_W-1:0]] <= 1'b0;
    end

    if (rst) begin
        full_reg <= {Y_DEPTH{1'b0}};
    end
end

// merged biases (gate, unit) of the block, Q(bias)
wire [BIAS_WORD_W-1:0] bias_rd_data;  // (slot, unit), Q(bias)

ernn_rom #(
    .WIDTH(BIAS_WORD_W),
    .DEPTH(C_DEPTH),
    .INIT_FILE(BIAS_FILE)
)
bias_rom_inst (
    .clk(clk),
    .en(fd_read),
    .addr(fd_caddr),
    .rdata(bias_rd_data)
);

// beat fd_sub of the held block: units fd_sub * CELL_LANES .. + CELL_LANES - 1
wire [CELL_IN_W-1:0] cell_s_data;  // cell-unit fields (ernn_lstm_cell / ernn_gru_cell header)

// ---------------------------------------------------------------------------------------
// cell unit and cell writer

wire [CELL_OUT_W-1:0] cell_m_data;  // h (Q(data)) [and c (Q(cell))] of CELL_LANES units
wire cell_m_valid;
// the cell writer counts beats itself: no sideband
/* verilator lint_off UNUSEDSIGNAL */
wire cell_m_user;
/* verilator lint_on UNUSEDSIGNAL */
wire cell_m_ready;

reg [SUB_W-1:0] cw_sub_reg;
reg [IDX_W-1:0] cw_blk_reg;
reg [LAYER_W-1:0] cw_layer_reg;
reg cw_par_reg;
reg [1:0] cw_stage_reg;
reg [H_ADDR_W-1:0] cw_hbase_reg;    // layer * q_h
reg [C_ADDR_W-1:0] cw_cbase_reg;    // layer * p

wire cw_llast = cw_layer_reg == L_LAST;
wire cw_sub_last = cw_sub_reg == SPLIT_LAST;
wire cw_blk_last = cw_blk_reg == PB_LAST;
// the cell writer writes the output vector (last layer, no projection)
assign cell_m_ready = HAS_PROJ || !(cw_llast && asm_full_reg);
wire cw_fire = cell_m_valid && cell_m_ready;
wire cw_we = cw_fire && cw_sub_last;

// h_t (m_t) and c_t of the whole block: this beat and the earlier ones
wire [BLK_W-1:0] cw_h_blk;      // K samples of h_t (m_t), Q(data)
wire [CBLK_W-1:0] cw_c_blk;     // K samples of c_t, Q(cell)
wire [CL*DATA_W-1:0] cell_h = cell_m_data[CL*DATA_W-1:0];  // Q(data)

// the earlier beats of a block wait in a shift register, the first beat lowest
localparam H_ASM_W = (SPLIT - 1) * CL * DATA_W;
localparam C_ASM_W = (SPLIT - 1) * CL * CELL_W;

generate
if (SPLIT > 2) begin : g_cw_asm
    reg [H_ASM_W-1:0] h_asm_reg;  // Q(data)
    always @(posedge clk) begin
        if (cw_fire) begin
            h_asm_reg <= {cell_h, h_asm_reg[H_ASM_W-1:CL*DATA_W]};
        end
    end
    assign cw_h_blk = {cell_h, h_asm_reg};
end else if (SPLIT == 2) begin : g_cw_asm2
    reg [H_ASM_W-1:0] h_asm_reg;
    always @(posedge clk) begin
        if (cw_fire) begin
            h_asm_reg <= cell_h;
        end
    end
    assign cw_h_blk = {cell_h, h_asm_reg};
end else begin : g_cw_one
    assign cw_h_blk = cell_h;
end

if (CELL_LSTM) begin : g_cw_c
    wire [CL*CELL_W-1:0] cell_c = cell_m_data[CL*DATA_W +: CL*CELL_W];  // Q(cell)
    if (SPLIT > 2) begin : g_asm
        reg [C_ASM_W-1:0] c_asm_reg;
        always @(posedge clk) begin
            if (cw_fire) begin
                c_asm_reg <= {cell_c, c_asm_reg[C_ASM_W-1:CL*CELL_W]};
            end
        end
        assign cw_c_blk = {cell_c, c_asm_reg};
    end else if (SPLIT == 2) begin : g_asm2
        reg [C_ASM_W-1:0] c_asm_reg;
        always @(posedge clk) begin
            if (cw_fire) begin
                c_asm_reg <= cell_c;
            end
        end
        assign cw_c_blk = {cell_c, c_asm_reg};
    end else begin : g_one
        assign cw_c_blk = cell_c;
    end
end else begin : g_cw_no_c
    assign cw_c_blk = {CBLK_W{1'b0}};
end
endgenerate

// padding units of the last hidden block are written as zeros
wire [BLK_W-1:0] cw_h_masked;   // Q(data)

generate
for (n = 0; n < K; n = n + 1) begin : g_cw_mask
    if (n >= H_TAIL) begin : g_tail
        assign cw_h_masked[n*DATA_W +: DATA_W] = cw_blk_last ? {DATA_W{1'b0}} : cw_h_blk[n*DATA_W +: DATA_W];
    end else begin : g_keep
        assign cw_h_masked[n*DATA_W +: DATA_W] = cw_h_blk[n*DATA_W +: DATA_W];
    end
end
endgenerate

always @(posedge clk) begin
    if (cw_fire) begin
        cw_sub_reg <= cw_sub_reg + 1'b1;
        if (cw_sub_last) begin
            cw_sub_reg <= {SUB_W{1'b0}};
            if (cw_blk_last) begin
                cw_blk_reg <= {IDX_W{1'b0}};
                cw_stage_reg <= cw_stage_reg + 1'b1;
                if (cw_llast) begin
                    cw_layer_reg <= {LAYER_W{1'b0}};
                    cw_par_reg <= !cw_par_reg;
                    cw_hbase_reg <= {H_ADDR_W{1'b0}};
                    cw_cbase_reg <= {C_ADDR_W{1'b0}};
                end else begin
                    cw_layer_reg <= cw_layer_reg + 1'b1;
                    cw_hbase_reg <= cw_hbase_reg + H_STRIDE;
                    cw_cbase_reg <= cw_cbase_reg + C_STRIDE;
                end
            end else begin
                cw_blk_reg <= cw_blk_reg + 1'b1;
            end
        end
    end

    if (rst) begin
        cw_sub_reg <= {SUB_W{1'b0}};
        cw_blk_reg <= {IDX_W{1'b0}};
        cw_layer_reg <= {LAYER_W{1'b0}};
        cw_par_reg <= 1'b0;
        cw_stage_reg <= 2'd0;
        cw_hbase_reg <= {H_ADDR_W{1'b0}};
        cw_cbase_reg <= {C_ADDR_W{1'b0}};
    end
end

// ---------------------------------------------------------------------------------------
// h memory (per layer and block): written by the h producer, read by the command side

wire h_we = HAS_PROJ ? pw_h_we : cw_we;
wire [H_ADDR_W-1:0] h_wr_addr = HAS_PROJ ? pw_hbase_reg + pw_blk_reg[H_ADDR_W-1:0]
                                         : cw_hbase_reg + cw_blk_reg[H_ADDR_W-1:0];
wire [BLK_W-1:0] h_wr_data = HAS_PROJ ? proj_blk : cw_h_masked;
wire [IDX_W-1:0] h_wr_blk = HAS_PROJ ? pw_blk_reg : cw_blk_reg;
wire h_wr_last = h_wr_blk == QH_LAST;

ernn_state_ram #(
    .WIDTH(BLK_W),
    .DEPTH(H_DEPTH)
)
h_ram_inst (
    .clk(clk),
    .wr_en(h_we),
    .wr_addr(h_wr_addr),
    .wr_data(h_wr_data),
    .rd_en(ld_req && ld_src == SRC_H),
    .rd_addr(ld_haddr),
    .rd_data(h_rd_data)
);

always @(posedge clk) begin
    if (h_we) begin
        if (h_wr_last) begin
            hp_stage_reg <= hp_stage_reg + 1'b1;
            hp_count_reg <= {IDX_W{1'b0}};
        end else begin
            hp_count_reg <= h_wr_blk + 1'b1;
        end
    end

    if (rst) begin
        hp_stage_reg <= 2'd0;
        hp_count_reg <= {IDX_W{1'b0}};
    end
end

// m_t (LSTM projection input) per hidden block
generate
if (HAS_PROJ) begin : g_m
    ernn_state_ram #(
        .WIDTH(BLK_W),
        .DEPTH(Y_DEPTH)
    )
    m_ram_inst (
        .clk(clk),
        .wr_en(cw_we),
        .wr_addr(cw_blk_reg[Y_ADDR_W-1:0]),
        .wr_data(cw_h_masked),
        .rd_en(ld_req && ld_src == SRC_M),
        .rd_addr(m_rd_addr),
        .rd_data(m_rd_data)
    );

    always @(posedge clk) begin
        if (cw_we) begin
            m_tag_reg <= cw_stage_reg;
            m_count_reg <= cw_blk_reg + 1'b1;
        end

        if (rst) begin
            m_tag_reg <= 2'd0;
            m_count_reg <= {IDX_W{1'b0}};
        end
    end
end else begin : g_no_m
    assign m_rd_data = {BLK_W{1'b0}};

    always @(posedge clk) begin
        m_tag_reg <= 2'd0;
        m_count_reg <= {IDX_W{1'b0}};
    end

    // the m address is not used without a projection
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_m = &{1'b0, m_rd_addr, cw_stage_reg};
    /* verilator lint_on UNUSEDSIGNAL */
end
endgenerate

// ---------------------------------------------------------------------------------------
// cell-specific memories and the cell unit

generate
if (CELL_LSTM) begin : g_lstm
    // c per (layer, hidden block), Q(cell)
    wire [CBLK_W-1:0] c_rd_data;  // c_{t-1} of a block, Q(cell)

    ernn_state_ram #(
        .WIDTH(CBLK_W),
        .DEPTH(C_DEPTH)
    )
    c_ram_inst (
        .clk(clk),
        .wr_en(cw_we),
        .wr_addr(cw_cbase_reg + cw_blk_reg[C_ADDR_W-1:0]),
        .wr_data(cw_c_blk),
        .rd_en(fd_read),
        .rd_addr(fd_caddr),
        .rd_data(c_rd_data)
    );

    wire [4*CL*IFFT_OUT_W-1:0] y_f;  // Q(ifft_out)
    wire [4*CL*BIAS_W-1:0] b_f;      // Q(bias)
    wire [CL*CELL_W-1:0] c_sub;
    wire [CL*CELL_W-1:0] c_f = fd_zero_reg ? {CL*CELL_W{1'b0}} : c_sub;

    // the beat's CL units of each block word (ernn_sel: a mux, not a shifter)
    ernn_sel #(.N(SPLIT), .W(CL * CELL_W), .SEL_W(SUB_W))
    c_sel_inst (.in(c_rd_data), .sel(fd_sub_reg), .out(c_sub));

    for (s = 0; s < 4; s = s + 1) begin : g_gate
        ernn_sel #(.N(SPLIT), .W(CL * IFFT_OUT_W), .SEL_W(SUB_W))
        y_sel_inst (.in(y_rd_data[s*YBLK_W +: YBLK_W]), .sel(fd_sub_reg), .out(y_f[s*CL*IFFT_OUT_W +: CL*IFFT_OUT_W]));
        ernn_sel #(.N(SPLIT), .W(CL * BIAS_W), .SEL_W(SUB_W))
        b_sel_inst (.in(bias_rd_data[s*K*BIAS_W +: K*BIAS_W]), .sel(fd_sub_reg), .out(b_f[s*CL*BIAS_W +: CL*BIAS_W]));
    end

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
            .en(fd_read),
            .addr(fd_caddr),
            .rdata(peep_rd_data)
        );

        for (s = 0; s < 3; s = s + 1) begin : g_pgate
            ernn_sel #(.N(SPLIT), .W(CL * PEEP_W), .SEL_W(SUB_W))
            p_sel_inst (.in(peep_rd_data[s*K*PEEP_W +: K*PEEP_W]), .sel(fd_sub_reg), .out(p_f[s*CL*PEEP_W +: CL*PEEP_W]));
        end

        assign cell_s_data = {p_f, c_f, b_f, y_f};
    end else begin : g_no_peep
        assign cell_s_data = {c_f, b_f, y_f};
    end

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
        .s_axis_tvalid(fd_hold_reg),
        .s_axis_tready(cell_s_ready),
        .m_axis_tdata(cell_m_data),
        .m_axis_tuser(cell_m_user),
        .m_axis_tvalid(cell_m_valid),
        .m_axis_tready(cell_m_ready)
    );
end else begin : g_gru
    // a copy of h for the cell's h_{t-1} (the other copy's read port feeds the PE)
    wire [BLK_W-1:0] hp_rd_data;  // h_{t-1} of a block, Q(data)

    ernn_state_ram #(
        .WIDTH(BLK_W),
        .DEPTH(H_DEPTH)
    )
    hprev_ram_inst (
        .clk(clk),
        .wr_en(h_we),
        .wr_addr(h_wr_addr),
        .wr_data(h_wr_data),
        .rd_en(fd_read),
        .rd_addr(fd_caddr[H_ADDR_W-1:0]),
        .rd_data(hp_rd_data)
    );

    wire [4*CL*IFFT_OUT_W-1:0] y_f;  // Q(ifft_out)
    wire [4*CL*BIAS_W-1:0] b_f;      // Q(bias)
    wire [CL*DATA_W-1:0] h_sub;
    wire [CL*DATA_W-1:0] h_f = fd_zero_reg ? {CL*DATA_W{1'b0}} : h_sub;

    // the beat's CL units of each block word (ernn_sel: a mux, not a shifter)
    ernn_sel #(.N(SPLIT), .W(CL * DATA_W), .SEL_W(SUB_W))
    h_sel_inst (.in(hp_rd_data), .sel(fd_sub_reg), .out(h_sub));

    for (s = 0; s < 4; s = s + 1) begin : g_gate
        ernn_sel #(.N(SPLIT), .W(CL * IFFT_OUT_W), .SEL_W(SUB_W))
        y_sel_inst (.in(y_rd_data[s*YBLK_W +: YBLK_W]), .sel(fd_sub_reg), .out(y_f[s*CL*IFFT_OUT_W +: CL*IFFT_OUT_W]));
        ernn_sel #(.N(SPLIT), .W(CL * BIAS_W), .SEL_W(SUB_W))
        b_sel_inst (.in(bias_rd_data[s*K*BIAS_W +: K*BIAS_W]), .sel(fd_sub_reg), .out(b_f[s*CL*BIAS_W +: CL*BIAS_W]));
    end

    assign cell_s_data = {h_f, b_f, y_f};

    // a GRU has no cell state
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_c = &{1'b0, cw_c_blk};
    /* verilator lint_on UNUSEDSIGNAL */

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
        .s_axis_tvalid(fd_hold_reg),
        .s_axis_tready(cell_s_ready),
        .m_axis_tdata(cell_m_data),
        .m_axis_tuser(cell_m_user),
        .m_axis_tvalid(cell_m_valid),
        .m_axis_tready(cell_m_ready)
    );
end
endgenerate

// ---------------------------------------------------------------------------------------
// output vector: assembled block by block, then held on m_axis

reg [ASM_W-1:0] asm_reg;
reg asm_last_reg;
reg [OUT_W-1:0] out_reg;
reg out_valid_reg;
reg out_last_reg;

// the last layer's h producer writes the output vector
wire asm_we = h_we && (HAS_PROJ ? pw_llast : cw_llast);
wire asm_par = HAS_PROJ ? pw_par_reg : cw_par_reg;

always @(posedge clk) begin
    if (asm_we) begin
        asm_reg[h_wr_blk*BLK_W +: BLK_W] <= h_wr_data;
        if (h_wr_last) begin
            asm_full_reg <= 1'b1;
            asm_last_reg <= step_last_reg[asm_par];
        end
    end

    if (m_axis_tready) begin
        out_valid_reg <= 1'b0;
    end
    if (asm_full_reg && (!out_valid_reg || m_axis_tready)) begin
        out_reg <= asm_reg[OUT_W-1:0];
        out_last_reg <= asm_last_reg;
        out_valid_reg <= 1'b1;
        asm_full_reg <= 1'b0;
    end

    if (rst) begin
        asm_full_reg <= 1'b0;
        out_valid_reg <= 1'b0;
    end
end

generate
if (OUT_TDATA_W > OUT_W) begin : g_out_pad
    assign m_axis_tdata = {{(OUT_TDATA_W-OUT_W){1'b0}}, out_reg};
end else begin : g_out_nopad
    assign m_axis_tdata = out_reg;
end
if (ASM_W > OUT_W) begin : g_asm_pad
    // the zero padding of the last output block
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_asm_pad = &{1'b0, asm_reg[ASM_W-1:OUT_W]};
    /* verilator lint_on UNUSEDSIGNAL */
end
endgenerate

assign m_axis_tvalid = out_valid_reg;
assign m_axis_tlast = out_last_reg;

endmodule

`resetall
