/*

E-RNN toolkit: block-circulant matrix-vector processing element (FFT -> complex MAC -> IFFT)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Frequency-domain block-circulant matrix-vector products, bit-exact with
 * ernn.golden.matvec (input_spectra -> cmac -> output_blocks):
 *
 *   X_j = FFT(x_j)                             once per input block, kept in a buffer
 *   ACC_r[m] = sum_j S_r,j[m] X_j[m]           exact, Q(ACC_W, D + S), per row block r, bin m
 *   y_r = sat(IFFT(sat_sym(rnd(ACC_r))))        one IFFT per row block, Q(OUT_W, I)
 *
 * The PE runs jobs. A command (s_cmd_*) says: write the next load_count blocks of s_axis
 * (K samples of Q(DATA_W, D) per beat, zero-padded by the sender) through the FFT into
 * spectrum-buffer slots load_base.., then compute `rows` row blocks from slots
 * read_base .. read_base + read_count - 1 with the weights at w_base. A row block is one
 * output block of one matrix: stacking the gates' matrices gives G p row blocks that all
 * reuse the same input spectra; W_ih and W_hh of a gate share one accumulator when the
 * read range covers x's and h's slots (q = q_x + q_h); loads and computations are
 * independent, so later jobs may reuse the buffer (load_count = 0) with other weight
 * regions (GRU: W_in x and W_hn h kept apart), and a job with rows = 0 only loads.
 * Results leave on m_axis, one row block (K samples) per beat in row order (up to N_IFFT
 * with N_IFFT > 1), tlast on a job's last row block; bias and activation are the controller's.
 *
 * Work split: a job's rows * (K/2+1) units (row block, bin) are dealt to the P lanes in
 * rounds of P consecutive units; in a round every lane accumulates its unit over the
 * read_count blocks, one block per clock (weights: docs/pe.md). Round cost = read_count
 * clocks, so a job takes ceil(rows (K/2+1) / P) read_count clocks of MAC issue (ideal:
 * ceil(rows (K/2+1) read_count / P)); with SPLIT a last round of at most SPLIT_LANE (about
 * P / 2) units runs on two lane groups over half the blocks each, ceil(read_count / 2) clocks
 * ("Split rounds" below; the second group's sums are added to the first's). Finished units are rounded half-up and saturated
 * symmetrically to Q(IFFT_W, I) (R2, point ifft_in), collected in order by a gearbox of
 * K/2 + P entries (P entries held in place when P is a multiple of K/2 + 1; that form holds
 * the rounded words and saturates the rows it hands on, SAT_LATE) and passed to the
 * IFFT (initiation interval 1) a row block at a time.
 * With N_IFFT > 1 there are N_IFFT IFFTs side by side: the gearbox hands them up to
 * N_IFFT whole row blocks per clock (as many as it holds, never past a job's last row, so
 * that a beat belongs to one job), all IFFTs advance together (one tvalid, one enable), and
 * m_axis carries N_IFFT row blocks per beat with their count in m_axis_tuser (rows
 * 0..count-1 valid, in row order; the others are don't-care).
 *
 * Handshakes: s_cmd is taken when the previous job has issued all its MACs and written
 * all its blocks, or with LOAD_AHEAD earlier: while the previous job still issues its MACs,
 * once its blocks have all entered the FFT, when the new command loads (load_count > 0)
 * into slots the previous job does not read. Its blocks then go through the FFT while the
 * previous job's rounds run, right behind that job's last blocks, which are still written to
 * their own slots (old_*) and still hold that job's MACs until they are; the new job's MACs
 * follow a clock after the previous job's last one (one command waits at most; the exporter
 * places consecutive jobs' slots apart where that pays, ernn.export.jobs). The slot ranges
 * are compared here, so a command that would overwrite what the running job reads waits as
 * before. s_axis only while a job loads; the MAC issue
 * stalls while a block it needs is not yet written or while the gearbox is full; m_axis
 * back-pressure stalls the IFFT, then the gearbox, then the MACs (never a lost beat).
 * m_axis is registered (ernn_axis_skid).
 *
 * Timing without stalls: a job takes (MAC issue clocks) + 4 log2 K + 4 + MREG (2 log2 K - 3)
 * clocks from the edge that takes its command to the edge that takes its last output beat
 * (at K = 4 the transforms have no multiplier and MREG adds the lanes' clock only): command ->
 * first block 1, FFT 2 log2 K - 2 (+ MREG (log2 K - 2)), [MAC issue], lane
 * operand/product/accumulator registers 3 (+ MREG), rounding 1, gearbox 1, IFFT input 1,
 * IFFT 2 log2 K - 2 (+ MREG (log2 K - 2)), output register 1 (docs/pe.md; bench/bench_pe.py
 * measures it); SPLIT adds the split sums' register level, one clock. MREG = 1 (the default) registers every multiplier's outputs (the FFT's and
 * IFFT's twiddle products and the MAC lanes', ernn_cmul MREG: the DSP48E2's MREG), so that
 * no clock period holds a pre-adder, a multiply and a post-adder together.
 */
module ernn_pe #
(
    // block size K: power of two, 4..64
    parameter K = 16,
    // complex MAC lanes (>= 1, any value)
    parameter P = 4,
    // input sample word, Q(DATA_W, DATA_F) (data)
    parameter DATA_W = 16,
    // input sample fraction bits
    parameter DATA_F = 12,
    // input-spectrum word, Q(FFT_W, DATA_F) (fft_out), >= DATA_W + log2 K
    parameter FFT_W = 20,
    // twiddle word, Q(TW_W, TW_F) (twiddle)
    parameter TW_W = 18,
    // twiddle fraction bits
    parameter TW_F = 16,
    // $readmemh twiddle file: K/2 words {im, re} (the exporter's mem/twiddle.mem)
    parameter TW_FILE = "",
    // weight-spectrum word, Q(WS_W, WS_F) (weight_spectrum)
    parameter WS_W = 16,
    // weight-spectrum fraction bits
    parameter WS_F = 13,
    // accumulator word, Q(ACC_W, DATA_F + WS_F) (accumulator)
    parameter ACC_W = 43,
    // IFFT word, Q(IFFT_W, IFFT_F) (ifft)
    parameter IFFT_W = 23,
    // IFFT fraction bits
    parameter IFFT_F = 14,
    // output sample word, Q(OUT_W, IFFT_F) (ifft_out), <= IFFT_W
    parameter OUT_W = 19,
    // input-spectrum buffer slots (at least the most blocks one accumulator sums, q_x + q_h)
    parameter XBUF_DEPTH = 8,
    // the most slots one job reads (read_count), which sets the accumulator's width
    parameter READ_MAX = XBUF_DEPTH,
    // 1: take a loading command while the running job still issues, when its slots miss the running
    // job's (load ahead, below); 0: a command waits for the running job's last issue and loads
    parameter LOAD_AHEAD = 0,
    // weight memory depth in words of P * 2 * WS_W bits
    parameter W_DEPTH = 64,
    // $readmemh weight file (layout: docs/pe.md)
    parameter W_FILE = "",
    // width of the rows field: at most 2**ROWS_W - 1 row blocks per job
    parameter ROWS_W = 8,
    // complex multiplier form (1: three multipliers)
    parameter CMUL_3M = 1,
    // MAC lanes: 1: two packed multiplies per lane (DSP48E2 packing; needs FFT_W + 2 WS_W + 1 <= 27)
    parameter DSP_PACK = 0,
    // 1: the lanes that only see bins 0 and K/2 multiply real parts only (one multiply each); needs
    // P a multiple of K/2 + 1
    parameter REAL_BINS = 0,
    // IFFTs side by side: row blocks inverse-transformed per clock (1, 2, 4 or 8)
    parameter N_IFFT = 1,
    // 1: register every multiplier's outputs (FFT, MAC lanes, IFFT; one more clock per multiply
    // stage), 0: the multiply and its post-adder in one clock period
    parameter MREG = 1,
    // 1: a job's last round of at most SPLIT_LANE units runs on two lane groups, each summing half
    // of the read_count slots (ceil(read_count / 2) clocks instead of read_count; "Split rounds"
    // below); one clock more in the MAC pipeline. Needs P >= 4 (K/2 + 1)
    parameter SPLIT = 0,
    // spectrum-buffer address width (derived; do not override)
    parameter XBUF_ADDR_W = $clog2(XBUF_DEPTH),
    // block count width (derived; do not override)
    parameter CNT_W = $clog2(XBUF_DEPTH + 1),
    // weight address width (derived; do not override)
    parameter W_ADDR_W = $clog2(W_DEPTH),
    // width of the row-block count of an output beat (derived; do not override)
    parameter ROWS_OUT_W = $clog2(N_IFFT + 1)
)
(
    input  wire                    clk,
    input  wire                    rst,

    // job command
    input  wire                    s_cmd_valid,
    output wire                    s_cmd_ready,
    input  wire [XBUF_ADDR_W-1:0]  s_cmd_load_base,
    input  wire [CNT_W-1:0]        s_cmd_load_count,
    input  wire [XBUF_ADDR_W-1:0]  s_cmd_read_base,
    input  wire [CNT_W-1:0]        s_cmd_read_count,
    input  wire [ROWS_W-1:0]       s_cmd_rows,
    input  wire [W_ADDR_W-1:0]     s_cmd_w_base,

    // input blocks: sample n at tdata[n*DATA_W +: DATA_W]
    input  wire [K*DATA_W-1:0]     s_axis_tdata,
    input  wire                    s_axis_tvalid,
    output wire                    s_axis_tready,

    // output row blocks: row i of the beat at tdata[i*K*OUT_W +: K*OUT_W], its sample n at
    // [n*OUT_W +: OUT_W] of that; tuser: row blocks in the beat (1..N_IFFT)
    output wire [N_IFFT*K*OUT_W-1:0] m_axis_tdata,
    output wire [ROWS_OUT_W-1:0]   m_axis_tuser,
    output wire                    m_axis_tlast,
    output wire                    m_axis_tvalid,
    input  wire                    m_axis_tready
);

// log2 of the block size
localparam LOG2K = $clog2(K);
// stored bins per block
localparam integer BINS = K / 2 + 1;
// bin index width
localparam BIN_W = $clog2(BINS);
// gearbox entries: a row block plus a round
localparam CAP = BINS + P - 1;
// gearbox fill count width; also the width of a lane count 0..P
localparam FILL_W = $clog2(CAP + 1);
// units (row block, bin) per job: rows * BINS < 2**(ROWS_W + BIN_W), with room for a lane count
localparam UNITS_W = ROWS_W + BIN_W + FILL_W;
// rounding shift accumulator -> IFFT input (R2): D + S - I
localparam ACC_SHIFT = DATA_F + WS_F - IFFT_F;
// accumulator width for a sum of READ_MAX exact products (formats.accumulator_word)
localparam ACC_NEED = FFT_W + WS_W + $clog2(READ_MAX);
// bin advance of every lane from one round to the next
localparam integer BIN_STEP = P % BINS;
// distinct bins the lanes read in one round (lane l reads rotated bin l mod BINS)
localparam integer LANE_BINS = P < BINS ? P : BINS;
// offsets at which a round can land in the gearbox: with P a multiple of BINS every round holds
// whole row blocks, the fill stays a multiple of BINS and a round always lands at 0 (and the
// bin offset stays 0): the gearbox is then a row-block FIFO without lane muxes
localparam integer LANDINGS = BIN_STEP == 0 ? 1 : BINS;
// a buffer slot index with headroom for base + count
localparam SLOT_W = CNT_W + 1;
// one stored input spectrum: BINS complex bins
localparam XWORD_W = BINS * 2 * FFT_W;
// round sideband: the round's bin offset (where it lands in the gearbox), valid units in the round,
// last round of the job
localparam USER_W = BIN_W + FILL_W + 1;
// whole row blocks the gearbox can hold (>= 1): the most one clock can hand to the IFFTs
localparam integer GB_ROWS = CAP / BINS;
// row blocks per emission: N_IFFT, unless the gearbox never holds that many
localparam integer EMIT_MAX = N_IFFT < GB_ROWS ? N_IFFT : GB_ROWS;
// SPLIT: the first lane of the second group, the largest multiple of 2 BINS at or below P / 2 (a
// multiple of BINS, so that lane SPLIT_LANE + l reads the bin of lane l; of 2 BINS, so that the
// paired real lanes of row blocks 2n, 2n + 1 stay in one group, ernn_cmac_array)
localparam integer SPLIT_LANE = SPLIT != 0 ? (P / 2) / (2 * BINS) * (2 * BINS) : 0;
// the MAC lanes' sideband: USER_W and the split flag
localparam CM_USER_W = USER_W + 1;

// sized constants
localparam [UNITS_W-1:0] BINS_U = BINS[UNITS_W-1:0];
localparam [UNITS_W-1:0] P_U = P[UNITS_W-1:0];
localparam [FILL_W-1:0] BINS_FILL = BINS[FILL_W-1:0];
localparam [FILL_W-1:0] P_FILL = P[FILL_W-1:0];
localparam [BIN_W:0] BINS_B = BINS[BIN_W:0];
localparam [BIN_W:0] BIN_STEP_B = BIN_STEP[BIN_W:0];

// check configuration
initial begin
    if (K < 4 || K > 64 || (K & (K - 1)) != 0) begin
        $error("Error: ernn_pe K must be a power of two in [4, 64] (got %0d)", K);
        $finish;
    end
    if (P < 1) begin
        $error("Error: ernn_pe P (MAC lanes) must be >= 1 (got %0d)", P);
        $finish;
    end
    if (FFT_W < DATA_W + LOG2K) begin
        $error("Error: ernn_pe FFT_W (%0d) must be >= DATA_W + log2 K = %0d", FFT_W, DATA_W + LOG2K);
        $finish;
    end
    if (ACC_W < ACC_NEED) begin
        $error("Error: ernn_pe ACC_W (%0d) cannot hold a sum of %0d products: needs FFT_W + WS_W + clog2(READ_MAX) = %0d",
            ACC_W, READ_MAX, ACC_NEED);
        $finish;
    end
    if (OUT_W > IFFT_W || IFFT_F > IFFT_W - 1) begin
        $error("Error: ernn_pe needs OUT_W <= IFFT_W and IFFT_F < IFFT_W (got OUT_W=%0d IFFT_W=%0d IFFT_F=%0d)",
            OUT_W, IFFT_W, IFFT_F);
        $finish;
    end
    if (ACC_SHIFT > ACC_W - 1) begin
        $error("Error: ernn_pe DATA_F + WS_F - IFFT_F = %0d must be < ACC_W", ACC_SHIFT);
        $finish;
    end
    if (XBUF_DEPTH < 2 || W_DEPTH < 2 || ROWS_W < 1 || READ_MAX < 1 || READ_MAX > XBUF_DEPTH) begin
        $error("Error: ernn_pe needs XBUF_DEPTH >= 2, W_DEPTH >= 2, ROWS_W >= 1, 1 <= READ_MAX <= XBUF_DEPTH (got %0d, %0d, %0d, %0d)",
            XBUF_DEPTH, W_DEPTH, ROWS_W, READ_MAX);
        $finish;
    end
    if (W_FILE == "") begin
        $error("Error: ernn_pe needs W_FILE (the weight-spectrum memory)");
        $finish;
    end
    if (REAL_BINS != 0 && (REAL_BINS != 1 || BIN_STEP != 0)) begin
        $error("Error: ernn_pe REAL_BINS = 1 needs P a multiple of K/2 + 1 = %0d, so that a lane always sees one bin (got REAL_BINS=%0d, P=%0d)",
            BINS, REAL_BINS, P);
        $finish;
    end
    if (SPLIT != 0 && (SPLIT != 1 || SPLIT_LANE == 0)) begin
        $error("Error: ernn_pe SPLIT = 1 needs P >= 4 (K/2 + 1) = %0d, two lane groups of whole row-block pairs (got SPLIT=%0d, P=%0d)",
            4 * BINS, SPLIT, P);
        $finish;
    end
    if (N_IFFT != 1 && N_IFFT != 2 && N_IFFT != 4 && N_IFFT != 8) begin
        $error("Error: ernn_pe N_IFFT (IFFTs side by side) must be 1, 2, 4 or 8 (got %0d)", N_IFFT);
        $finish;
    end
    if (XBUF_ADDR_W != $clog2(XBUF_DEPTH) || CNT_W != $clog2(XBUF_DEPTH + 1) || W_ADDR_W != $clog2(W_DEPTH)
            || ROWS_OUT_W != $clog2(N_IFFT + 1)) begin
        $error("Error: ernn_pe XBUF_ADDR_W, CNT_W, W_ADDR_W and ROWS_OUT_W are derived; do not override them");
        $finish;
    end
end

// ---------------------------------------------------------------------------------------
// job state

reg job_active_reg;
reg [XBUF_ADDR_W-1:0] ld_base_reg;
reg [CNT_W-1:0] ld_count_reg;
reg [XBUF_ADDR_W-1:0] rd_base_reg;
reg [CNT_W-1:0] rd_count_reg;
reg [UNITS_W-1:0] units_reg;        // rows * BINS
reg [CNT_W-1:0] in_cnt_reg;         // blocks accepted on s_axis
reg [CNT_W-1:0] wr_cnt_reg;         // spectra written to the buffer

// load ahead: a command taken while the running job still issues (one at most): its MAC fields wait
// here while its loads use the load registers above
reg pend_valid_reg;
reg [XBUF_ADDR_W-1:0] pend_rd_base_reg;
reg [CNT_W-1:0] pend_rd_count_reg;
reg [UNITS_W-1:0] pend_units_reg;
reg [W_ADDR_W-1:0] pend_w_reg;
reg pend_none_reg;                  // it issues nothing (rows = 0 or read_count = 0)
reg ld_mine_reg;                    // the load registers are the issuing job's
// the command taken ahead once the running job's blocks have all entered the FFT, before they are
// all written: those still in the FFT come out first and go to the slots they were loaded for
reg old_pend_reg;                   // blocks of the job before are still in the FFT
reg [CNT_W-1:0] old_left_reg;       // how many
reg [SLOT_W-1:0] old_wr_reg;        // the slot the next of them is written to
reg [SLOT_W-1:0] old_hi_reg;        // the end of their load range

// MAC issue state: round (unit base), block within the round, weight address, bin offset
reg iss_done_reg;
reg [CNT_W-1:0] iss_j_reg;
reg [UNITS_W-1:0] iss_ubase_reg;
reg [W_ADDR_W-1:0] iss_w_reg;
reg [BIN_W-1:0] iss_off_reg;

// MAC pipeline enable (low while the gearbox cannot take the finished round)
wire mac_en;

// ---------------------------------------------------------------------------------------
// input FFT and spectrum buffer

wire load_open = job_active_reg && in_cnt_reg < ld_count_reg;
wire fft_s_ready;
wire [XWORD_W-1:0] fft_m_data;
wire fft_m_valid;

assign s_axis_tready = load_open && fft_s_ready;

ernn_fft #(
    .K(K),
    .IN_W(DATA_W),
    .OUT_W(FFT_W),
    .TW_W(TW_W),
    .TW_F(TW_F),
    .TW_FILE(TW_FILE),
    .USER_W(1),
    .CMUL_3M(CMUL_3M),
    .MREG(MREG)
)
fft_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tuser(1'b0),
    .s_axis_tvalid(s_axis_tvalid && load_open),
    .s_axis_tready(fft_s_ready),
    .m_axis_tdata(fft_m_data),
    .m_axis_tuser(fft_m_user),
    .m_axis_tvalid(fft_m_valid),
    .m_axis_tready(1'b1)
);

// one word per block: BINS x {im, re}, Q(FFT_W, D)
reg [XWORD_W-1:0] xbuf_mem [0:XBUF_DEPTH-1];
reg [XWORD_W-1:0] xbuf_rdata_reg;

// the FFT's sideband is not used
wire fft_m_user;
/* verilator lint_off UNUSEDSIGNAL */
wire unused_fft_user = &{1'b0, fft_m_user};
/* verilator lint_on UNUSEDSIGNAL */

// a command keeps load_base + load_count <= XBUF_DEPTH: the slot addresses do not wrap
wire [XBUF_ADDR_W-1:0] wr_addr = old_pend_reg ? old_wr_reg[XBUF_ADDR_W-1:0]
    : ld_base_reg + wr_cnt_reg[XBUF_ADDR_W-1:0];

always @(posedge clk) begin
    if (fft_m_valid) begin
        xbuf_mem[wr_addr] <= fft_m_data;
    end
end

// ---------------------------------------------------------------------------------------
// MAC issue

wire [XBUF_ADDR_W-1:0] rd_addr = rd_base_reg + iss_j_reg[XBUF_ADDR_W-1:0];
// slot arithmetic one bit wider than a count, so that base + count cannot wrap
wire [SLOT_W-1:0] ld_base_s = {{(SLOT_W-XBUF_ADDR_W){1'b0}}, ld_base_reg};
wire [SLOT_W-1:0] rd_slot = {{(SLOT_W-XBUF_ADDR_W){1'b0}}, rd_base_reg} + {1'b0, iss_j_reg};
wire [SLOT_W-1:0] ld_end = ld_base_s + {1'b0, ld_count_reg};
wire [SLOT_W-1:0] wr_end = ld_base_s + {1'b0, wr_cnt_reg};
// the running job's read range [run_rd_lo, run_rd_hi)
wire [SLOT_W-1:0] run_rd_lo = {{(SLOT_W-XBUF_ADDR_W){1'b0}}, rd_base_reg};
wire [SLOT_W-1:0] run_rd_hi = run_rd_lo + {1'b0, rd_count_reg};
// a slot of this job's load range is readable once its spectrum is written (while a command taken
// ahead loads, the load registers are that command's: the running job's own blocks still in the FFT
// are the old_* ones, slot_in_old)
wire slot_in_load = ld_mine_reg && rd_slot >= ld_base_s && rd_slot < ld_end;
// a slot the job before loaded whose spectrum is still in the FFT (load ahead before its loads were
// written; its written slots are below old_wr_reg)
wire slot_in_old = old_pend_reg && rd_slot >= old_wr_reg && rd_slot < old_hi_reg;
wire slot_ready = (!slot_in_load || rd_slot < wr_end) && !slot_in_old;

wire [UNITS_W-1:0] units_left = units_reg - iss_ubase_reg;
wire last_round = units_left <= P_U;
wire [FILL_W-1:0] round_valid = last_round ? units_left[FILL_W-1:0] : P_FILL;
wire iss_first = iss_j_reg == {CNT_W{1'b0}};

// Split rounds (SPLIT): a last round of at most SPLIT_LANE units runs on two lane groups. Lanes
// 0.. sum slots 0 .. h - 1 (h = ceil(read_count / 2)), lanes SPLIT_LANE.. the same units over
// slots h .. read_count - 1, one slot of each per clock, starting at 0 (ernn_cmac_array
// in_split; lanes 0.. hold the rounding constant); the round takes h clocks, and the second
// group's sums are added to the first's before the rounding (the stage "split sums" below).
// With read_count odd the second group's last clock has no slot: it reads the first group's
// slot against zero weights. The exporter lays the weights out by the same rule
// (ernn.export.layout.pe_job_words).
localparam [UNITS_W-1:0] SPLIT_U = SPLIT_LANE[UNITS_W-1:0];
// the round's split flag, a register set when the round starts (at the command from its units, at a
// round's end from the units left), so that no compare of units_left stands in front of the issue
// control (the register below, split_round_reg)
reg split_round_reg;
wire split_round = SPLIT != 0 && split_round_reg;
localparam [UNITS_W-1:0] SPLIT_NEXT_U = P_U + SPLIT_U;
wire [CNT_W-1:0] rd_half = {1'b0, rd_count_reg[CNT_W-1:1]} + {{(CNT_W-1){1'b0}}, rd_count_reg[0]};
// the round's last beat: read_count - 1, or in a split round ceil(read_count / 2) - 1, a register set
// with the round like split_round_reg
reg [CNT_W-1:0] iss_end_reg;
wire iss_last = iss_j_reg == iss_end_reg;

function [CNT_W-1:0] last_beat(input [CNT_W-1:0] count, input halves);
    begin
        last_beat = (halves ? {1'b0, count[CNT_W-1:1]} + {{(CNT_W-1){1'b0}}, count[0]} : count) - 1'b1;
    end
endfunction
// the second group's slot, and whether it is one of the job's (else: the first group's slot)
wire [SLOT_W-1:0] rd_slot2 = rd_slot + {1'b0, rd_half};
wire second_in = split_round && rd_slot2 < run_rd_hi;
wire [XBUF_ADDR_W-1:0] rd_addr2 = second_in ? rd_slot2[XBUF_ADDR_W-1:0] : rd_addr;
wire slot_in_load2 = ld_mine_reg && rd_slot2 >= ld_base_s && rd_slot2 < ld_end;
wire slot_in_old2 = old_pend_reg && rd_slot2 >= old_wr_reg && rd_slot2 < old_hi_reg;
wire slot_ready2 = !second_in || ((!slot_in_load2 || rd_slot2 < wr_end) && !slot_in_old2);

wire can_issue = job_active_reg && !iss_done_reg && slot_ready && slot_ready2;
wire issue = can_issue && mac_en;

wire loads_written = wr_cnt_reg == ld_count_reg;
// every block of the loading job has entered the FFT (the load registers are free)
wire loads_in = in_cnt_reg == ld_count_reg;
wire job_done = job_active_reg && iss_done_reg && !pend_valid_reg && loads_written && !old_pend_reg;
// the waiting command takes over the MACs a clock after the running job's last issue
wire pend_start = job_active_reg && iss_done_reg && pend_valid_reg;

// load ahead: the command's load range [load_base, load_base + load_count) misses the slots the
// running job reads [read_base, read_base + read_count), the running job's blocks have all entered
// the FFT (the load registers are free; those not yet written move to old_*: at most one job's) and
// it still issues
wire [SLOT_W-1:0] cmd_ld_lo = {{(SLOT_W-XBUF_ADDR_W){1'b0}}, s_cmd_load_base};
wire [SLOT_W-1:0] cmd_ld_hi = cmd_ld_lo + {1'b0, s_cmd_load_count};
wire cmd_apart = cmd_ld_hi <= run_rd_lo || run_rd_hi <= cmd_ld_lo;
wire load_ahead = LOAD_AHEAD != 0 && job_active_reg && !iss_done_reg && !pend_valid_reg && loads_in
    && !old_pend_reg && s_cmd_load_count != {CNT_W{1'b0}} && cmd_apart;

assign s_cmd_ready = !job_active_reg || load_ahead;

// Lane l reads bin (l + r P) mod BINS in round r: every lane moves by the same P mod BINS
// bins per round, so one offset off_r = r P mod BINS describes the round and lane l reads bin
// (l mod BINS + off_r) mod BINS. The stored spectrum is rotated by off_r once and lane l
// takes the fixed rotated bin l mod BINS: BINS selects of BINS words shared by all lanes,
// instead of one BINS-way select per lane (P BINS words: 92k mux-input bits at SR1's P = 256).
wire [BIN_W:0] off_step = {1'b0, iss_off_reg} + BIN_STEP_B;
// modulo BINS: the difference fits BIN_W bits whenever it is taken
wire [BIN_W-1:0] off_wrapped = off_step[BIN_W-1:0] - BINS_B[BIN_W-1:0];
wire [BIN_W-1:0] next_off = off_step >= BINS_B ? off_wrapped : off_step[BIN_W-1:0];

genvar g;
genvar o;
genvar hb;
genvar wd;

// the loading job's blocks not yet written when a command is taken ahead (one may be written this
// clock), and where the next of them goes
wire [CNT_W-1:0] run_left = ld_count_reg - wr_cnt_reg - {{(CNT_W-1){1'b0}}, fft_m_valid};
wire [SLOT_W-1:0] run_wr = wr_end + {{(SLOT_W-1){1'b0}}, fft_m_valid};

always @(posedge clk) begin
    if (fft_m_valid && !old_pend_reg) begin
        wr_cnt_reg <= wr_cnt_reg + 1'b1;
    end
    if (fft_m_valid && old_pend_reg) begin
        old_left_reg <= old_left_reg - 1'b1;
        old_wr_reg <= old_wr_reg + 1'b1;
        old_pend_reg <= old_left_reg != {{(CNT_W-1){1'b0}}, 1'b1};
    end
    if (s_axis_tvalid && s_axis_tready) begin
        in_cnt_reg <= in_cnt_reg + 1'b1;
    end

    if (issue) begin
        iss_w_reg <= iss_w_reg + 1'b1;
        if (iss_last) begin
            iss_j_reg <= {CNT_W{1'b0}};
            if (last_round) begin
                iss_done_reg <= 1'b1;
            end else begin
                iss_ubase_reg <= iss_ubase_reg + P_U;
                iss_off_reg <= next_off;
                // the next round is the last and small enough: units_left - P <= SPLIT_LANE
                split_round_reg <= SPLIT != 0 && units_left <= SPLIT_NEXT_U;
                iss_end_reg <= last_beat(rd_count_reg, SPLIT != 0 && units_left <= SPLIT_NEXT_U);
            end
        end else begin
            iss_j_reg <= iss_j_reg + 1'b1;
        end
    end

    if (job_done) begin
        job_active_reg <= 1'b0;
    end

    if (pend_start) begin
        pend_valid_reg <= 1'b0;
        ld_mine_reg <= 1'b1;
        rd_base_reg <= pend_rd_base_reg;
        rd_count_reg <= pend_rd_count_reg;
        units_reg <= pend_units_reg;
        split_round_reg <= SPLIT != 0 && pend_units_reg <= SPLIT_U;
        iss_end_reg <= last_beat(pend_rd_count_reg, SPLIT != 0 && pend_units_reg <= SPLIT_U);
        iss_done_reg <= pend_none_reg;
        iss_j_reg <= {CNT_W{1'b0}};
        iss_ubase_reg <= {UNITS_W{1'b0}};
        iss_w_reg <= pend_w_reg;
        iss_off_reg <= {BIN_W{1'b0}};
    end

    if (s_cmd_valid && s_cmd_ready && load_ahead) begin
        // the loads start now; the MAC fields wait for the running job's last issue
        pend_valid_reg <= 1'b1;
        old_pend_reg <= run_left != {CNT_W{1'b0}};
        old_left_reg <= run_left;
        old_wr_reg <= run_wr;
        old_hi_reg <= ld_end;
        ld_mine_reg <= 1'b0;
        ld_base_reg <= s_cmd_load_base;
        ld_count_reg <= s_cmd_load_count;
        in_cnt_reg <= {CNT_W{1'b0}};
        wr_cnt_reg <= {CNT_W{1'b0}};
        pend_rd_base_reg <= s_cmd_read_base;
        pend_rd_count_reg <= s_cmd_read_count;
        pend_units_reg <= {{(UNITS_W-ROWS_W){1'b0}}, s_cmd_rows} * BINS_U;
        pend_w_reg <= s_cmd_w_base;
        pend_none_reg <= s_cmd_rows == {ROWS_W{1'b0}} || s_cmd_read_count == {CNT_W{1'b0}};
    end else if (s_cmd_valid && s_cmd_ready) begin
        job_active_reg <= 1'b1;
        ld_mine_reg <= 1'b1;
        ld_base_reg <= s_cmd_load_base;
        ld_count_reg <= s_cmd_load_count;
        rd_base_reg <= s_cmd_read_base;
        rd_count_reg <= s_cmd_read_count;
        units_reg <= {{(UNITS_W-ROWS_W){1'b0}}, s_cmd_rows} * BINS_U;
        split_round_reg <= SPLIT != 0 && {{(UNITS_W-ROWS_W){1'b0}}, s_cmd_rows} * BINS_U <= SPLIT_U;
        iss_end_reg <= last_beat(s_cmd_read_count,
            SPLIT != 0 && {{(UNITS_W-ROWS_W){1'b0}}, s_cmd_rows} * BINS_U <= SPLIT_U);
        in_cnt_reg <= {CNT_W{1'b0}};
        wr_cnt_reg <= {CNT_W{1'b0}};
        iss_done_reg <= s_cmd_rows == {ROWS_W{1'b0}} || s_cmd_read_count == {CNT_W{1'b0}};
        iss_j_reg <= {CNT_W{1'b0}};
        iss_ubase_reg <= {UNITS_W{1'b0}};
        iss_w_reg <= s_cmd_w_base;
        iss_off_reg <= {BIN_W{1'b0}};
    end

    if (rst) begin
        job_active_reg <= 1'b0;
        iss_done_reg <= 1'b1;
        split_round_reg <= 1'b0;
        iss_end_reg <= {CNT_W{1'b0}};
        in_cnt_reg <= {CNT_W{1'b0}};
        wr_cnt_reg <= {CNT_W{1'b0}};
        pend_valid_reg <= 1'b0;
        ld_mine_reg <= 1'b1;
        old_pend_reg <= 1'b0;
    end
end

// buffer read and bin offset, one clock after issue (with the weight word)
reg [BIN_W-1:0] lane_off_reg;

always @(posedge clk) begin
    if (mac_en) begin
        xbuf_rdata_reg <= xbuf_mem[rd_addr];
        lane_off_reg <= iss_off_reg;
    end
end

// SPLIT: the second group's slot (a second read port of the buffer) and the round's split flag
wire [XWORD_W-1:0] xbuf_rdata2;
wire lane_split;

generate
if (SPLIT != 0) begin : g_split_read
    reg [XWORD_W-1:0] rdata2_reg;
    reg split_reg;
    always @(posedge clk) begin
        if (mac_en) begin
            rdata2_reg <= xbuf_mem[rd_addr2];
            split_reg <= split_round;
        end
    end
    assign xbuf_rdata2 = rdata2_reg;
    assign lane_split = split_reg;
end else begin : g_no_split_read
    assign xbuf_rdata2 = {XWORD_W{1'b0}};
    assign lane_split = 1'b0;
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_split = &{1'b0, rd_addr2, split_round};
    /* verilator lint_on UNUSEDSIGNAL */
end
endgenerate

wire [P*FFT_W-1:0] lane_x_re;
wire [P*FFT_W-1:0] lane_x_im;
// the stored spectrum rotated by the round's offset: rotated bin b = stored bin (b + off) mod BINS
// (x_rot2: the second group's slot, SPLIT)
wire [LANE_BINS*2*FFT_W-1:0] x_rot;
wire [LANE_BINS*2*FFT_W-1:0] x_rot2;

generate

for (g = 0; g < LANE_BINS; g = g + 1) begin : bin_rot
    if (BIN_STEP == 0) begin : fixed
        // every round starts at bin 0: no rotation (lane_off_reg stays 0 and is not read);
        // bin b of the stored spectrum is {im, re} at [2 b FFT_W +: 2 FFT_W]
        assign x_rot[g*2*FFT_W +: 2*FFT_W] = xbuf_rdata_reg[g*2*FFT_W +: 2*FFT_W];
        /* verilator lint_off UNUSEDSIGNAL */
        wire unused_off = &{1'b0, lane_off_reg};
        /* verilator lint_on UNUSEDSIGNAL */
    end else begin : rotate
        // the candidates of rotated bin g, in offset order: stored bins g, g + 1, .. (mod BINS)
        wire [XWORD_W-1:0] cand;
        for (o = 0; o < BINS; o = o + 1) begin : cand_word
            assign cand[o*2*FFT_W +: 2*FFT_W] = xbuf_rdata_reg[((g + o) % BINS)*2*FFT_W +: 2*FFT_W];
        end
        ernn_sel #(.N(BINS), .W(2 * FFT_W), .SEL_W(BIN_W))
        rot_sel_inst (.in(cand), .sel(lane_off_reg), .out(x_rot[g*2*FFT_W +: 2*FFT_W]));
    end
end

for (g = 0; g < LANE_BINS; g = g + 1) begin : bin_rot2
    if (SPLIT == 0) begin : none
        assign x_rot2[g*2*FFT_W +: 2*FFT_W] = {(2*FFT_W){1'b0}};
    end else if (BIN_STEP == 0) begin : fixed
        assign x_rot2[g*2*FFT_W +: 2*FFT_W] = xbuf_rdata2[g*2*FFT_W +: 2*FFT_W];
    end else begin : rotate
        wire [XWORD_W-1:0] cand;
        for (o = 0; o < BINS; o = o + 1) begin : cand_word
            assign cand[o*2*FFT_W +: 2*FFT_W] = xbuf_rdata2[((g + o) % BINS)*2*FFT_W +: 2*FFT_W];
        end
        ernn_sel #(.N(BINS), .W(2 * FFT_W), .SEL_W(BIN_W))
        rot_sel_inst (.in(cand), .sel(lane_off_reg), .out(x_rot2[g*2*FFT_W +: 2*FFT_W]));
    end
end

// lane g reads rotated bin g mod BINS; in a split round the second group's lanes (g >= SPLIT_LANE,
// a multiple of BINS: the same bin as lane g - SPLIT_LANE) read the second slot
for (g = 0; g < P; g = g + 1) begin : lane_x
    if (SPLIT != 0 && g >= SPLIT_LANE) begin : g_second
        wire [2*FFT_W-1:0] bin_x = lane_split ? x_rot2[(g % BINS)*2*FFT_W +: 2*FFT_W]
                                              : x_rot[(g % BINS)*2*FFT_W +: 2*FFT_W];
        assign lane_x_re[g*FFT_W +: FFT_W] = bin_x[0 +: FFT_W];
        assign lane_x_im[g*FFT_W +: FFT_W] = bin_x[FFT_W +: FFT_W];
    end else begin : g_first
        assign lane_x_re[g*FFT_W +: FFT_W] = x_rot[(g % BINS)*2*FFT_W +: FFT_W];
        assign lane_x_im[g*FFT_W +: FFT_W] = x_rot[(g % BINS)*2*FFT_W + FFT_W +: FFT_W];
    end
end

endgenerate

// ---------------------------------------------------------------------------------------
// MAC lanes

wire acc_valid;
wire [CM_USER_W-1:0] acc_user;  // {split, round sideband}
wire [P*ACC_W-1:0] acc_re;
wire [P*ACC_W-1:0] acc_im;

// The lanes start each sum at the rounding constant 2**(ACC_SHIFT-1), so the rounding below only
// truncates (no adder per lane: ernn_cmac ROUND_SHIFT, ernn_round_sat PRE_ROUNDED). Room for it:
// one component of a product is at most 2**(FFT_W+WS_W-1) - 2**(M-1), M = min(FFT_W, WS_W), so
// a sum of up to 2**clog2(READ_MAX) of them stays 2**(M-1) below the top of ACC_NEED bits,
// and 2**(ACC_SHIFT-1) < 2**(M-1) when ACC_SHIFT < M; otherwise the lanes round as before.
localparam integer MIN_OPERAND_W = FFT_W < WS_W ? FFT_W : WS_W;
localparam PRE_ROUND = ACC_SHIFT > 0 && ACC_SHIFT < MIN_OPERAND_W && ACC_W >= ACC_NEED;

ernn_cmac_array #(
    .P(P),
    .X_W(FFT_W),
    .W_W(WS_W),
    .ACC_W(ACC_W),
    .W_DEPTH(W_DEPTH),
    .W_FILE(W_FILE),
    .USER_W(CM_USER_W),
    .CMUL_3M(CMUL_3M),
    .DSP_PACK(DSP_PACK),
    .REAL_BINS(REAL_BINS != 0 ? BINS : 0),
    .MREG(MREG),
    .ROUND_SHIFT(PRE_ROUND ? ACC_SHIFT : 0),
    .SPLIT_LANE(SPLIT_LANE)
)
cmac_array_inst (
    .clk(clk),
    .rst(rst),
    .en(mac_en),
    .in_valid(can_issue),
    .in_first(iss_first),
    .in_last(iss_last),
    .in_split(split_round),
    .in_user({split_round, iss_off_reg, round_valid, last_round}),
    .in_addr(iss_w_reg),
    .in_x_re(lane_x_re),
    .in_x_im(lane_x_im),
    .acc_valid(acc_valid),
    .acc_user(acc_user),
    .acc_re(acc_re),
    .acc_im(acc_im)
);

// ---------------------------------------------------------------------------------------
// split sums (SPLIT): after a split round lane l (l < SPLIT_LANE) adds lane SPLIT_LANE + l's sum
// to its own, one register level; the sum is that of the whole round (integer addition: the
// same word as one lane summing every slot; ACC_W holds any sum of READ_MAX products). Without
// SPLIT the lanes' sums go on as they are.
wire sum_valid;
wire [USER_W-1:0] sum_user;
wire [P*ACC_W-1:0] sum_re;
wire [P*ACC_W-1:0] sum_im;

generate
if (SPLIT != 0) begin : g_split_sum
    wire [P*ACC_W-1:0] add_re;
    wire [P*ACC_W-1:0] add_im;
    wire split_done = acc_user[CM_USER_W-1];
    for (g = 0; g < P; g = g + 1) begin : lane_add
        if (g < SPLIT_LANE) begin : g_add
            assign add_re[g*ACC_W +: ACC_W] = acc_re[g*ACC_W +: ACC_W]
                + (split_done ? acc_re[(g+SPLIT_LANE)*ACC_W +: ACC_W] : {ACC_W{1'b0}});
            assign add_im[g*ACC_W +: ACC_W] = acc_im[g*ACC_W +: ACC_W]
                + (split_done ? acc_im[(g+SPLIT_LANE)*ACC_W +: ACC_W] : {ACC_W{1'b0}});
        end else begin : g_keep
            assign add_re[g*ACC_W +: ACC_W] = acc_re[g*ACC_W +: ACC_W];
            assign add_im[g*ACC_W +: ACC_W] = acc_im[g*ACC_W +: ACC_W];
        end
    end
    ernn_delay #(
        .DEPTH(1),
        .WIDTH(2 * P * ACC_W + USER_W)
    )
    split_sum_inst (
        .clk(clk),
        .rst(rst),
        .en(mac_en),
        .in_valid(acc_valid),
        .in_data({add_im, add_re, acc_user[USER_W-1:0]}),
        .out_valid(sum_valid),
        .out_data({sum_im, sum_re, sum_user})
    );
end else begin : g_no_split_sum
    assign sum_valid = acc_valid;
    assign sum_user = acc_user[USER_W-1:0];
    assign sum_re = acc_re;
    assign sum_im = acc_im;
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_split_flag = &{1'b0, acc_user[CM_USER_W-1], x_rot2, xbuf_rdata2, lane_split};
    /* verilator lint_on UNUSEDSIGNAL */
end
endgenerate

// ---------------------------------------------------------------------------------------
// accumulator -> IFFT input: round half up, saturate symmetrically (R2, point ifft_in)
//
// The shift gearbox rounds and saturates in every lane (its entries hold IFFT_W bits). The hold
// gearbox (P a multiple of BINS) rounds in the lanes but saturates only the rows the IFFTs take,
// after its window select: sat_sym(rnd(acc)) is the same integer whichever clock applies the
// clamp. It clamps once per IFFT input (N_IFFT rows of 2 BINS words) instead of twice per lane: at
// SR1's P = 1,152 the lanes' clamps were 2,304 of ernn_round_sat's 3,422 instances and most of its
// 92k LUT (11,894 LUT after, docs/performance.md). Its entries hold the rounded, unclamped word
// (HOLD_W bits).

// the word after the rounding shift, before the clamp (ernn_round_sat SH_W)
localparam integer SH_W = ACC_SHIFT > 0 ? ACC_W + 1 - ACC_SHIFT : ACC_W - ACC_SHIFT;
// 1: saturate after the gearbox (hold form)
localparam SAT_LATE = LANDINGS == 1;
// one gearbox entry: IFFT_W, or with SAT_LATE the rounded word (a pre-rounded lane's top bit of
// SH_W repeats its sign, so ACC_W - ACC_SHIFT bits hold it)
localparam integer HOLD_W = !SAT_LATE ? IFFT_W : (PRE_ROUND ? ACC_W - ACC_SHIFT : SH_W);

wire [P*HOLD_W-1:0] rnd_re;
wire [P*HOLD_W-1:0] rnd_im;

generate

for (g = 0; g < P; g = g + 1) begin : lane_round
    if (!SAT_LATE) begin : g_sat
        ernn_round_sat #(.IN_W(ACC_W), .SHIFT(ACC_SHIFT), .OUT_W(IFFT_W), .SYMMETRIC(1), .PRE_ROUNDED(PRE_ROUND))
        re_inst (.in(sum_re[g*ACC_W +: ACC_W]), .out(rnd_re[g*HOLD_W +: HOLD_W]));
        ernn_round_sat #(.IN_W(ACC_W), .SHIFT(ACC_SHIFT), .OUT_W(IFFT_W), .SYMMETRIC(1), .PRE_ROUNDED(PRE_ROUND))
        im_inst (.in(sum_im[g*ACC_W +: ACC_W]), .out(rnd_im[g*HOLD_W +: HOLD_W]));
    end else if (PRE_ROUND) begin : g_truncate
        // the sum already holds the rounding constant: the shift is a wire; the fraction bits below
        // the rounding point are dropped on purpose
        /* verilator lint_off UNUSEDSIGNAL */
        wire [ACC_W-1:0] lane_re = sum_re[g*ACC_W +: ACC_W];
        wire [ACC_W-1:0] lane_im = sum_im[g*ACC_W +: ACC_W];
        /* verilator lint_on UNUSEDSIGNAL */
        assign rnd_re[g*HOLD_W +: HOLD_W] = lane_re[ACC_W-1:ACC_SHIFT];
        assign rnd_im[g*HOLD_W +: HOLD_W] = lane_im[ACC_W-1:ACC_SHIFT];
    end else begin : g_round
        // round only: OUT_W = SH_W keeps every bit (no clamp is generated)
        ernn_round_sat #(.IN_W(ACC_W), .SHIFT(ACC_SHIFT), .OUT_W(SH_W), .SYMMETRIC(0), .PRE_ROUNDED(0))
        re_inst (.in(sum_re[g*ACC_W +: ACC_W]), .out(rnd_re[g*HOLD_W +: HOLD_W]));
        ernn_round_sat #(.IN_W(ACC_W), .SHIFT(ACC_SHIFT), .OUT_W(SH_W), .SYMMETRIC(0), .PRE_ROUNDED(0))
        im_inst (.in(sum_im[g*ACC_W +: ACC_W]), .out(rnd_im[g*HOLD_W +: HOLD_W]));
    end
end

endgenerate

// the rounded round (HOLD_W bits per lane) and its sideband, one register level
wire r_valid;
wire [BIN_W-1:0] r_off;
wire [FILL_W-1:0] r_count;
wire r_last;
wire [P*HOLD_W-1:0] r_re;
wire [P*HOLD_W-1:0] r_im;

ernn_delay #(
    .DEPTH(1),
    .WIDTH(2 * P * HOLD_W + USER_W)
)
round_reg_inst (
    .clk(clk),
    .rst(rst),
    .en(mac_en),
    .in_valid(sum_valid),
    .in_data({rnd_im, rnd_re, sum_user}),
    .out_valid(r_valid),
    .out_data({r_im, r_re, r_off, r_count, r_last})
);

// ---------------------------------------------------------------------------------------
// gearbox: rounds of P units in, row blocks of BINS bins out, in unit order
//
// Two forms, the same clocks and the same rows (which rows leave when, and when a round lands,
// are decided by the fill count alone):
// * P not a multiple of BINS: a shift register of CAP entries; the emitted rows leave by
//   shifting the rest down, and a round lands behind what is held (at one of BINS offsets);
// * P a multiple of BINS (LANDINGS = 1): a round lands only in an empty gearbox, so it is
//   held where it landed (each entry loads from its own lane, no mux) and a pointer hands
//   its rows on, EMIT_MAX at a time. The shift form cost every entry an (EMIT_MAX + 2)-way
//   mux, about 2 LUTs per bit: most of the PE's own LUTs at SR1's P = 1,152 (docs/pe.md).

reg [FILL_W-1:0] gb_fill_reg;        // units held and not yet handed on

wire ifft_s_ready;

// the rows of the emission window (the next EMIT_MAX rows), row g as the IFFT takes it:
// bin o's {im, re} at [g BINS 2 IFFT_W + 2 o IFFT_W +: 2 IFFT_W]; and which of them ends a job
localparam ROW_W = BINS * 2 * IFFT_W;
// the same row as the gearbox holds it (HOLD_W-bit words; SAT_LATE clamps them to IFFT_W below)
localparam GB_ROW_W = BINS * 2 * HOLD_W;
wire [EMIT_MAX*GB_ROW_W-1:0] gb_window;
wire [EMIT_MAX-1:0] gb_row_last;
// SAT_LATE (the hold form): the window as the IFFTs take it, clamped and registered a clock ahead
// (g_gb_hold); the combinational window above then only feeds the simulation check of it
wire [EMIT_MAX*ROW_W-1:0] gb_win_sat;

// the row blocks that leave this clock when the IFFTs take them: rows 0, 1, .. of the window
// while whole, at most EMIT_MAX, ending at a job's last row (a beat belongs to one job)
reg [ROWS_OUT_W-1:0] gb_rows;
reg [FILL_W-1:0] gb_take;           // gb_rows * BINS entries
reg gb_beat_last;                   // the beat ends a job
reg gb_stop;
integer e;

// hold form: the held round is its job's last (from g_gb_hold; 0 in the shift form)
wire gb_hold_last;

// the fill as a 32-bit number, and (hold form) whether this emission empties the gearbox
wire [31:0] gb_fill_i = {{(32-FILL_W){1'b0}}, gb_fill_reg};
wire gb_fill_fits = gb_fill_i <= EMIT_MAX * BINS;

always @* begin
    gb_rows = {ROWS_OUT_W{1'b0}};
    gb_take = {FILL_W{1'b0}};
    gb_beat_last = 1'b0;
    gb_stop = 1'b0;
    if (LANDINGS == 1) begin
        // hold form: the fill is a whole number of rows of one round of one job, whose last row is
        // the last one held, so the window never stops short of min(rows, EMIT_MAX): each row count
        // is a compare with a constant, not a chain through the rows before it (the same rows as
        // the general loop below, which Yosys built as a chain of carry compares)
        for (e = 1; e <= EMIT_MAX; e = e + 1) begin
            if (gb_fill_i >= e * BINS) begin
                gb_rows = e[ROWS_OUT_W-1:0];
                gb_take = e[FILL_W-1:0] * BINS_FILL;
            end
        end
        gb_beat_last = gb_hold_last && gb_fill_fits;
    end else begin
        for (e = 1; e <= EMIT_MAX; e = e + 1) begin
            if (!gb_stop && gb_fill_i >= e * BINS) begin
                gb_rows = e[ROWS_OUT_W-1:0];
                gb_take = gb_take + BINS_FILL;
                gb_beat_last = gb_row_last[e - 1];
                gb_stop = gb_row_last[e - 1];
            end else begin
                gb_stop = 1'b1;
            end
        end
    end
end

wire gb_full_row = gb_rows != {ROWS_OUT_W{1'b0}};
wire gb_emit = gb_full_row && ifft_s_ready;
// where an accepted round lands
wire [FILL_W-1:0] gb_base = gb_emit ? gb_fill_reg - gb_take : gb_fill_reg;
// hold form: a round lands when the gearbox is empty or this emission empties it (the same as
// gb_base < BINS there, without waiting for the subtraction)
wire gb_accept = r_valid && (LANDINGS == 1 ? gb_fill_reg == {FILL_W{1'b0}} || (gb_emit && gb_fill_fits)
                                           : gb_base < BINS_FILL);
// the same as 32-bit numbers for the position loop below
wire [31:0] r_off_i = {{(32-BIN_W){1'b0}}, r_off};
wire [31:0] r_count_i = {{(32-FILL_W){1'b0}}, r_count};
wire [31:0] gb_rows_i = {{(32-ROWS_OUT_W){1'b0}}, gb_rows};

assign mac_en = !r_valid || gb_accept;

always @(posedge clk) begin
    gb_fill_reg <= gb_base + (gb_accept ? r_count : {FILL_W{1'b0}});

    // synthesis translate_off
    // run-time invariant: $fatal stops Icarus and Verilator alike, so the cocotb test fails ($error
    // only prints under Icarus and the run went on); tb/ernn_pe/test_ernn_pe_checks.py trips it
    if (LANDINGS == 1 && gb_accept && gb_base != {FILL_W{1'b0}}) begin
        $fatal(1, "Error: ernn_pe gearbox round landed at %0d with P a multiple of BINS", gb_base);
    end
    // the hold form's row counts and landing (gb_accept) take the fill to be whole rows
    if (LANDINGS == 1 && gb_fill_i % BINS != 0) begin
        $fatal(1, "Error: ernn_pe gearbox fill %0d is not a whole number of rows with P a multiple of BINS", gb_fill_reg);
    end
    // a round lands behind the partial row it continues: at its own first bin (the shift form's
    // lane select takes the landing offset from the round, not from the fill arithmetic)
    if (gb_accept && {{(32-FILL_W){1'b0}}, gb_base} != r_off_i) begin
        $fatal(1, "Error: ernn_pe gearbox round of bin offset %0d landed at %0d", r_off, gb_base);
    end
    // synthesis translate_on

    if (rst) begin
        gb_fill_reg <= {FILL_W{1'b0}};
    end
end

generate
if (LANDINGS == 1) begin : g_gb_hold
    // rows per round and the window positions of a round (the pointer's range)
    localparam integer RROWS = P / BINS;
    localparam integer NQ = (RROWS + EMIT_MAX - 1) / EMIT_MAX;
    localparam PTR_W = NQ > 1 ? $clog2(NQ) : 1;

    reg [HOLD_W-1:0] hold_re_reg [0:P-1];
    reg [HOLD_W-1:0] hold_im_reg [0:P-1];
    reg hold_last_reg;               // the held round is its job's last
    reg [PTR_W-1:0] ptr_reg;         // window position: rows ptr EMIT_MAX ..

    integer h;

    always @(posedge clk) begin
        // a round lands only when the gearbox empties this clock: it replaces the held one whole
        if (gb_accept) begin
            for (h = 0; h < P; h = h + 1) begin
                hold_re_reg[h] <= r_re[h*HOLD_W +: HOLD_W];
                hold_im_reg[h] <= r_im[h*HOLD_W +: HOLD_W];
            end
            hold_last_reg <= r_last;
            ptr_reg <= {PTR_W{1'b0}};
        end else if (gb_emit) begin
            // every emission but a round's last hands on EMIT_MAX rows
            ptr_reg <= ptr_reg + 1'b1;
        end
        if (rst) begin
            hold_last_reg <= 1'b0;
            ptr_reg <= {PTR_W{1'b0}};
        end
    end

    for (g = 0; g < EMIT_MAX; g = g + 1) begin : g_win
        // window row g is round row q EMIT_MAX + g at pointer q (zeros past the round's rows)
        wire [NQ*GB_ROW_W-1:0] cand;
        wire [GB_ROW_W-1:0] step_row;
        wire [GB_ROW_W-1:0] land_row;
        for (o = 0; o < NQ; o = o + 1) begin : g_cand
            localparam integer ROW = o * EMIT_MAX + g;
            for (hb = 0; hb < BINS; hb = hb + 1) begin : g_bin
                assign cand[o*GB_ROW_W + 2*hb*HOLD_W +: HOLD_W] =
                    ROW < RROWS ? hold_re_reg[ROW < RROWS ? ROW*BINS + hb : 0] : {HOLD_W{1'b0}};
                assign cand[o*GB_ROW_W + (2*hb+1)*HOLD_W +: HOLD_W] =
                    ROW < RROWS ? hold_im_reg[ROW < RROWS ? ROW*BINS + hb : 0] : {HOLD_W{1'b0}};
            end
        end
        // bit by bit: each output bit indexes the vector of its NQ candidates (zero-padded to a power
        // of two) with the pointer, a plain mux tree (LUT6 + MUXF7/8); ernn_sel's AND-OR word select
        // took 1,768 LUT for the two windows of P = 80 against 1,322 this way (docs/pe.md)
        for (hb = 0; hb < GB_ROW_W; hb = hb + 1) begin : g_bit
            wire [(1 << PTR_W)-1:0] col;
            for (o = 0; o < (1 << PTR_W); o = o + 1) begin : g_q
                assign col[o] = o < NQ ? cand[(o < NQ ? o : 0)*GB_ROW_W + hb] : 1'b0;
            end
            assign gb_window[g*GB_ROW_W + hb] = col[ptr_reg];
            // the same bit one pointer on (the pointer's wrap included), for the registered window
            wire [(1 << PTR_W)-1:0] col_next;
            for (o = 0; o < (1 << PTR_W); o = o + 1) begin : g_qn
                assign col_next[o] = col[(o + 1) % (1 << PTR_W)];
            end
            assign step_row[hb] = col_next[ptr_reg];
        end
        // a landing round's row g (pointer 0), straight from the round register
        for (hb = 0; hb < BINS; hb = hb + 1) begin : g_land
            assign land_row[2*hb*HOLD_W +: HOLD_W] =
                g < RROWS ? r_re[(g < RROWS ? g*BINS + hb : 0)*HOLD_W +: HOLD_W] : {HOLD_W{1'b0}};
            assign land_row[(2*hb+1)*HOLD_W +: HOLD_W] =
                g < RROWS ? r_im[(g < RROWS ? g*BINS + hb : 0)*HOLD_W +: HOLD_W] : {HOLD_W{1'b0}};
        end
        // SAT_LATE: window row g clamped to Q(IFFT_W) and registered a clock ahead. The window is a
        // function of (held round, pointer), which change only when a round lands (pointer 0) or the
        // IFFTs take rows (pointer + 1), so the register loads the clamped candidate of that change
        // and otherwise holds. The IFFTs' first stage then starts at a register, not behind the
        // pointer's mux and the clamp (18 logic levels at SR1, docs/performance.md); the cost is a
        // second set of clamps (EMIT_MAX rows) and the register
        if (SAT_LATE) begin : g_sat_reg
            wire [ROW_W-1:0] step_sat;
            wire [ROW_W-1:0] land_sat;
            reg [ROW_W-1:0] win_sat_reg;
            for (wd = 0; wd < 2 * BINS; wd = wd + 1) begin : g_word
                ernn_round_sat #(.IN_W(HOLD_W), .SHIFT(0), .OUT_W(IFFT_W), .SYMMETRIC(1))
                step_inst (.in(step_row[wd*HOLD_W +: HOLD_W]), .out(step_sat[wd*IFFT_W +: IFFT_W]));
                ernn_round_sat #(.IN_W(HOLD_W), .SHIFT(0), .OUT_W(IFFT_W), .SYMMETRIC(1))
                land_inst (.in(land_row[wd*HOLD_W +: HOLD_W]), .out(land_sat[wd*IFFT_W +: IFFT_W]));
            end
            always @(posedge clk) begin
                if (gb_accept) begin
                    win_sat_reg <= land_sat;
                end else if (gb_emit) begin
                    win_sat_reg <= step_sat;
                end
            end
            assign gb_win_sat[g*ROW_W +: ROW_W] = win_sat_reg;
        end else begin : g_no_sat_reg
            assign gb_win_sat[g*ROW_W +: ROW_W] = {ROW_W{1'b0}};
            /* verilator lint_off UNUSEDSIGNAL */
            wire unused_rows = &{1'b0, step_row, land_row};
            /* verilator lint_on UNUSEDSIGNAL */
        end
        // the held round's last unit is the last unit held: window row g ends the job when the
        // fill ends with it
        localparam integer ROW_END = (g + 1) * BINS;
        assign gb_row_last[g] = hold_last_reg && {{(32-FILL_W){1'b0}}, gb_fill_reg} == ROW_END;
    end

    assign gb_hold_last = hold_last_reg;

    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_hold = &{1'b0, r_off_i, r_count_i, gb_rows_i, gb_row_last};
    /* verilator lint_on UNUSEDSIGNAL */
end else begin : g_gb_shift
    assign gb_hold_last = 1'b0;
    assign gb_win_sat = {EMIT_MAX*ROW_W{1'b0}};
    reg [HOLD_W-1:0] gb_re_reg [0:CAP-1];
    reg [HOLD_W-1:0] gb_im_reg [0:CAP-1];
    reg gb_last_reg [0:CAP-1];           // set on a job's final unit

    integer n;
    integer d;
    integer f;

    always @(posedge clk) begin
        for (n = 0; n < CAP; n = n + 1) begin
            // the emitted rows leave: entry n takes entry n + gb_rows BINS
            for (f = 1; f <= EMIT_MAX; f = f + 1) begin
                if (gb_emit && gb_rows_i == f && n + f * BINS < CAP) begin
                    gb_re_reg[n] <= gb_re_reg[n + f * BINS < CAP ? n + f * BINS : 0];
                    gb_im_reg[n] <= gb_im_reg[n + f * BINS < CAP ? n + f * BINS : 0];
                    gb_last_reg[n] <= gb_last_reg[n + f * BINS < CAP ? n + f * BINS : 0];
                end
            end
            // entry n takes lane i = n - d when the round lands at base d; an accepted round always
            // lands at d < BINS, so each entry chooses among at most BINS lanes (not P): the muxes
            // grow as CAP * BINS, linear in P. d is the round's own bin offset (r_off, a register:
            // the base it lands at by the fill count, checked above), so the lane select does not
            // wait for the fill arithmetic, only the enable does; entries past the round's count
            // lie past the new fill and may take any lane
            for (d = 0; d < LANDINGS; d = d + 1) begin
                if (gb_accept && r_off_i == d && n - d >= 0 && n - d < P) begin
                    gb_re_reg[n] <= r_re[(n - d >= 0 && n - d < P ? n - d : 0)*HOLD_W +: HOLD_W];
                    gb_im_reg[n] <= r_im[(n - d >= 0 && n - d < P ? n - d : 0)*HOLD_W +: HOLD_W];
                    gb_last_reg[n] <= r_last && n - d == r_count_i - 1;
                end
            end
        end
    end

    // the window is the gearbox's first EMIT_MAX rows
    for (g = 0; g < EMIT_MAX; g = g + 1) begin : g_win
        for (o = 0; o < BINS; o = o + 1) begin : g_bin
            assign gb_window[g*GB_ROW_W + 2*o*HOLD_W +: HOLD_W] = gb_re_reg[g*BINS + o];
            assign gb_window[g*GB_ROW_W + (2*o+1)*HOLD_W +: HOLD_W] = gb_im_reg[g*BINS + o];
        end
        assign gb_row_last[g] = gb_last_reg[(g + 1)*BINS - 1];
    end
end
endgenerate

// ---------------------------------------------------------------------------------------
// the window's rows as the IFFTs take them: Q(IFFT_W, IFFT_F), clamped here with SAT_LATE

wire [EMIT_MAX*ROW_W-1:0] ifft_rows;

generate
if (SAT_LATE) begin : g_sat_late
    // the registered clamped window (g_gb_hold); in simulation, checked against the clamp of the
    // combinational window on every clock the IFFTs may take it (the clamps below have no other
    // load, so synthesis drops them)
    assign ifft_rows = gb_win_sat;
    // synthesis translate_off
    wire [EMIT_MAX*ROW_W-1:0] window_sat;
    for (g = 0; g < EMIT_MAX * BINS * 2; g = g + 1) begin : g_word
        ernn_round_sat #(.IN_W(HOLD_W), .SHIFT(0), .OUT_W(IFFT_W), .SYMMETRIC(1))
        sat_inst (.in(gb_window[g*HOLD_W +: HOLD_W]), .out(window_sat[g*IFFT_W +: IFFT_W]));
    end
    always @(posedge clk) begin
        if (!rst && gb_full_row && gb_win_sat !== window_sat) begin
            $fatal(1, "Error: ernn_pe registered window differs from the clamped window (fill %0d)", gb_fill_reg);
        end
    end
    // synthesis translate_on
end else begin : g_sat_lanes
    // the lanes clamped already (HOLD_W = IFFT_W)
    assign ifft_rows = gb_window;
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_win_sat = &{1'b0, gb_win_sat};
    /* verilator lint_on UNUSEDSIGNAL */
end
endgenerate

// ---------------------------------------------------------------------------------------
// IFFTs and output register: N_IFFT transforms in lockstep (one tvalid, one tready: the same
// enable), lane i takes gearbox row i; lane 0 carries the beat's row count and job end

wire [N_IFFT*K*OUT_W-1:0] ifft_m_data;
wire [ROWS_OUT_W-1:0] ifft_m_rows;
wire ifft_m_last;
wire ifft_m_valid;
wire ifft_m_ready;

generate

for (g = 0; g < N_IFFT; g = g + 1) begin : lane_ifft
    // row g of the gearbox: bins of entries g BINS .. g BINS + BINS - 1
    wire [BINS*2*IFFT_W-1:0] ifft_s_data;

    if (g < EMIT_MAX) begin : g_row
        assign ifft_s_data = ifft_rows[g*ROW_W +: ROW_W];
    end else begin : g_none
        // the gearbox never holds this row (CAP < N_IFFT BINS): the lane idles on zeros
        assign ifft_s_data = {BINS*2*IFFT_W{1'b0}};
    end

    if (g == 0) begin : g_lead
        ernn_ifft #(
            .K(K),
            .IN_W(IFFT_W),
            .OUT_W(OUT_W),
            .TW_W(TW_W),
            .TW_F(TW_F),
            .TW_FILE(TW_FILE),
            .USER_W(ROWS_OUT_W + 1),
            .CMUL_3M(CMUL_3M),
            .MREG(MREG)
        )
        ifft_inst (
            .clk(clk),
            .rst(rst),
            .s_axis_tdata(ifft_s_data),
            .s_axis_tuser({gb_rows, gb_beat_last}),
            .s_axis_tvalid(gb_full_row),
            .s_axis_tready(ifft_s_ready),
            .m_axis_tdata(ifft_m_data[0 +: K*OUT_W]),
            .m_axis_tuser({ifft_m_rows, ifft_m_last}),
            .m_axis_tvalid(ifft_m_valid),
            .m_axis_tready(ifft_m_ready)
        );
    end else begin : g_follow
        // same tvalid and tready as lane 0, hence the same enable: the lanes stay aligned
        wire lane_ready;
        wire lane_valid;
        wire lane_user;
        /* verilator lint_off UNUSEDSIGNAL */
        wire unused_lane = &{1'b0, lane_ready, lane_valid, lane_user};
        /* verilator lint_on UNUSEDSIGNAL */

        ernn_ifft #(
            .K(K),
            .IN_W(IFFT_W),
            .OUT_W(OUT_W),
            .TW_W(TW_W),
            .TW_F(TW_F),
            .TW_FILE(TW_FILE),
            .USER_W(1),
            .CMUL_3M(CMUL_3M),
            .MREG(MREG)
        )
        ifft_inst (
            .clk(clk),
            .rst(rst),
            .s_axis_tdata(ifft_s_data),
            .s_axis_tuser(1'b0),
            .s_axis_tvalid(gb_full_row),
            .s_axis_tready(lane_ready),
            .m_axis_tdata(ifft_m_data[g*K*OUT_W +: K*OUT_W]),
            .m_axis_tuser(lane_user),
            .m_axis_tvalid(lane_valid),
            .m_axis_tready(ifft_m_ready)
        );
    end
end

endgenerate

ernn_axis_skid #(
    .DATA_W(N_IFFT * K * OUT_W + ROWS_OUT_W)
)
out_skid_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata({ifft_m_rows, ifft_m_data}),
    .s_axis_tlast(ifft_m_last),
    .s_axis_tvalid(ifft_m_valid),
    .s_axis_tready(ifft_m_ready),
    .m_axis_tdata({m_axis_tuser, m_axis_tdata}),
    .m_axis_tlast(m_axis_tlast),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`resetall
