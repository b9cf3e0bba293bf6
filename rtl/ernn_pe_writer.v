/*

E-RNN toolkit: accelerator PE writer — PE row blocks to the gate buffer or, projected, to h

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Takes the PE's row blocks (s_axis: K samples of Q(IFFT_OUT_W, IFFT_F), sample n at
 * [n*IFFT_OUT_W +: IFFT_OUT_W]) in the order of the exporter's job table, which it steps
 * through job by job (port `job`), and writes each one where the cell side needs it:
 *
 *   gate job   rows (block b, gate g), g = 0..gates_last: gate-buffer slot g, block b
 *   in / hn    row b: slot 2 / slot 3, block b (GRU W_in x, W_hn h)
 *   proj       row b: rnd(y, IFFT_F - DATA_F) saturated to Q(DATA_W, DATA_F) (numerics R12,
 *              point proj_out; ernn_cell_rnd), padding samples of the last output block
 *              zeroed, to the h memory at h_base + b (h_*; HAS_PROJ = 1 only)
 *
 * With N_IFFT > 1 a beat holds up to N_IFFT consecutive rows of one job (s_axis_tuser of
 * them, row i at [i*K*IFFT_OUT_W +: K*IFFT_OUT_W]). Gate-buffer rows are written all in the
 * same clock, lane i to (slot, block) of row i: the gate buffer is banked by block so that
 * those writes never meet (ernn_gate_buf). Projection rows go to the one h-memory port one
 * per clock (lane `sub` of the beat; the beat is taken with its last row): they are p_r of
 * a stage's rows, and the h memory, the output vector and the producer counts stay as
 * they are.
 *
 * With LAYER_SKEW (layers pipelined across steps, ernn_cmd) the jobs come stage by stage
 * from the command side's ring (the entry of this unit's stage counter: the stage's first
 * job, its step parity) and projection rows go to the h copy of the step's parity. With
 * INTERLEAVE (a slot's gate jobs before its projections, ernn_cmd) the rows come in the
 * command side's issue order: the job is the head of the issue queue (ernn_issue_q; stage_job,
 * stage_par from it, next_stage_job its next entry), popped at the job's last row (job_done).
 *
 * A row is accepted only when its destination is free: a gate-buffer block that the feeder
 * has not read yet (y_full) stalls the PE, and so does the last layer's projection while
 * the output vector waits on m_axis (out_full). blk is the block of the row on s_axis (of
 * lane 0, or of the projection row being written).
 *
 * The job's kind, gates, last block and last-layer flag, which every beat's destinations and
 * handshake depend on, come from registers, not from the job-table lookup behind the ring: the
 * ring -> job -> table -> lanes -> gate buffer path was SR1's longest (34 logic levels,
 * docs/performance.md "Clock evidence"). Each clock without a job end reloads them from the
 * current job's lookup; a job end loads the next job's (the second table port). After a stage's
 * last job that is the next ring entry's, which the command side may not have written yet: the
 * reload repairs it in the clocks after, long before that stage's first row can reach this unit
 * (the PE's FFT, MACs and IFFT lie between). Simulation stops ($fatal) if a beat is ever taken
 * with registered fields that differ from the lookup.
 */
module ernn_pe_writer #
(
    // 1: layers pipelined across steps (the stage from the command side's ring)
    parameter LAYER_SKEW = 0,
    // stage counter width (ernn_cmd)
    parameter STAGE_W = 2,
    // LAYER_SKEW: h-memory words between the two step-parity copies
    parameter H_PAR_OFF = 0,
    // 1: the jobs from the issue queue (stage_job, stage_par: its head; next_stage_job: its next)
    parameter INTERLEAVE = 0,
    // 1: LSTM projection (proj jobs; without it the rounding below is not built)
    parameter HAS_PROJ = 0,
    // block size K
    parameter K = 8,
    // layer output size (projection or hidden): the valid samples of the last h block
    parameter OUT_SIZE = 32,
    // data word, Q(DATA_W, DATA_F)
    parameter DATA_W = 16,
    // data fraction bits
    parameter DATA_F = 12,
    // matvec output word, Q(IFFT_OUT_W, IFFT_F)
    parameter IFFT_OUT_W = 19,
    // IFFT fraction bits
    parameter IFFT_F = 14,
    // job-table row index width
    parameter JOB_W = 1,
    // block index width
    parameter IDX_W = 4,
    // h-memory address width
    parameter H_ADDR_W = 2,
    // rows per beat of the PE (its IFFTs side by side: 1, 2, 4 or 8)
    parameter N_IFFT = 1,
    // width of the beat's row count (derived; do not override)
    parameter ROWS_IN_W = $clog2(N_IFFT + 1)
)
(
    input  wire                    clk,
    input  wire                    rst,

    // job-table read port (ernn_job_table): the job whose rows arrive, and its fields
    output wire [JOB_W-1:0]        job,
    input  wire [1:0]              job_kind,
    input  wire [1:0]              job_gates_last,
    input  wire [IDX_W-1:0]        job_last_blk,
    input  wire                    job_last_layer,
    input  wire                    job_step_last,
    input  wire                    job_stage_last,
    // LAYER_SKEW: this unit's stage counter and its ring entry (first job, step parity)
    output wire [STAGE_W-1:0]      stage,
    input  wire [JOB_W-1:0]        stage_job,
    input  wire                    stage_par,
    input  wire [H_ADDR_W-1:0]     job_h_base,
    // a second job-table read port: the job after this one (next_job), whose fields are registered
    // when the job ends; LAYER_SKEW: after a stage's last job, the first job of the next stage's ring
    // entry (next_stage, next_stage_job)
    output wire [JOB_W-1:0]        next_job,
    input  wire [1:0]              next_kind,
    input  wire [1:0]              next_gates_last,
    input  wire [IDX_W-1:0]        next_last_blk,
    input  wire                    next_last_layer,
    output wire [STAGE_W-1:0]      next_stage,
    input  wire [JOB_W-1:0]        next_stage_job,
    // the job's last row is taken this clock (INTERLEAVE: pops the issue queue)
    output wire                    job_done,

    // row blocks of the PE, Q(IFFT_OUT_W, IFFT_F); tuser: rows in the beat (1..N_IFFT)
    input  wire [N_IFFT*K*IFFT_OUT_W-1:0] s_axis_tdata,
    input  wire [ROWS_IN_W-1:0]    s_axis_tuser,
    input  wire                    s_axis_tvalid,
    output wire                    s_axis_tready,

    // block of the row on s_axis (gate buffer and h write address within the layer)
    output wire [IDX_W-1:0]        blk,
    // gate-buffer writes, lane i: row i of the beat into slot y_slot[i] of block y_blk[i],
    // Q(IFFT_OUT_W, IFFT_F); y_full[i]: that block is still full
    output wire [N_IFFT-1:0]       y_we,
    output wire [N_IFFT*2-1:0]     y_slot,
    output wire [N_IFFT*IDX_W-1:0] y_blk,
    output wire [N_IFFT*K*IFFT_OUT_W-1:0] y_data,
    input  wire [N_IFFT-1:0]       y_full,

    // projection output to the h memory, Q(DATA_W, DATA_F) samples
    output wire                    h_we,
    output wire [H_ADDR_W-1:0]     h_addr,
    output wire [K*DATA_W-1:0]     h_data,
    output wire                    h_last,       // the layer's last h block
    output wire                    h_last_layer, // the last layer's (the output vector)
    output wire                    h_par,        // step parity of the write

    // the output vector is complete and waits for m_axis
    input  wire                    out_full
);

function integer cdiv(input integer a, input integer b);
    begin
        cdiv = (a + b - 1) / b;
    end
endfunction

// blocks of a layer output and the valid samples of the last one
localparam QH = cdiv(OUT_SIZE, K);
localparam O_TAIL = OUT_SIZE - (QH - 1) * K;
// R12: projection output Q(ifft_out) -> Q(data)
localparam SH_PROJ = IFFT_F - DATA_F;

// job kinds (ernn_job_table)
localparam [1:0] JOB_GATE = 2'd0;
localparam [1:0] JOB_IN = 2'd1;
localparam [1:0] JOB_PROJ = 2'd3;

// check configuration
initial begin
    if (N_IFFT != 1 && N_IFFT != 2 && N_IFFT != 4 && N_IFFT != 8 || ROWS_IN_W != $clog2(N_IFFT + 1)) begin
        $error("Error: ernn_pe_writer N_IFFT must be 1, 2, 4 or 8 and ROWS_IN_W derived (got %0d, %0d)",
            N_IFFT, ROWS_IN_W);
        $finish;
    end
    if (OUT_SIZE < 1 || K < 1 || SH_PROJ < 0) begin
        $error("Error: ernn_pe_writer needs OUT_SIZE, K >= 1 and IFFT_F >= DATA_F (got %0d, %0d, %0d, %0d)",
            OUT_SIZE, K, IFFT_F, DATA_F);
        $finish;
    end
end

// one row block of the PE, Q(ifft_out)
localparam YBLK_W = K * IFFT_OUT_W;

reg [JOB_W-1:0] job_reg;
reg [1:0] gate_reg;             // gate within the block (gate job) of lane 0's row
reg [IDX_W-1:0] blk_reg;        // block of lane 0's row (of the projection row being written)
reg [ROWS_IN_W-1:0] sub_reg;    // projection: the lane of the beat being written
reg par_reg;
reg [STAGE_W-1:0] stage_reg;    // LAYER_SKEW: stages written so far (mod 2**STAGE_W)
reg [JOB_W-1:0] job_off_reg;    // LAYER_SKEW: job within the stage

localparam integer H_PAR_OFF_I = H_PAR_OFF;
localparam [H_ADDR_W-1:0] PAR_OFF = H_PAR_OFF_I[H_ADDR_W-1:0];

assign job = INTERLEAVE != 0 ? stage_job : (LAYER_SKEW != 0 ? stage_job + job_off_reg : job_reg);
assign stage = stage_reg;
assign blk = blk_reg;

// the job after this one: the next of the stage, or (LAYER_SKEW) the next stage's first; in order
// the table wraps after the step's last job
assign next_stage = stage_reg + 1'b1;
assign next_job = INTERLEAVE != 0 ? next_stage_job
                : LAYER_SKEW != 0 ? (job_stage_last ? next_stage_job : job + 1'b1)
                                  : (job_step_last ? {JOB_W{1'b0}} : job_reg + 1'b1);

// the job's fields as registers (above): kind, gates - 1, last block, last layer
reg [1:0] kind_reg;
reg [1:0] gates_last_reg;
reg [IDX_W-1:0] last_blk_reg;
reg last_layer_reg;

wire proj = kind_reg == JOB_PROJ;

// where the rows of a beat go: lane i is row i of the beat, (gate, block) = the beat's first row
// advanced by i rows (rows are (block, gate) pairs with the gate fastest); lane N_IFFT is where the
// next beat starts. Closed form: pos = gate + i, gate_i = pos mod gates, block_i = block + pos div
// gates, one lookup on (gate, gates - 1) per lane and one adder, not a chain of N_IFFT increments.
//
// The lanes are registers (ln_gate_reg, ln_blk_reg), computed a clock ahead from the candidates
// below and picked by the handshake: the gate buffer's full flags, the handshake and this unit's
// next state then start at registers, not behind the lookup and the adder (SR1's deepest path
// at 8a79177: the registered gates -> the lookup -> the adder -> the 64-way full-flag select ->
// the handshake -> the next gate, 20 logic levels, docs/performance.md). They hold the closed form
// of (gate_reg, blk_reg, gates_last_reg) whenever a beat is taken; simulation stops ($fatal) if
// not. After a job end with a stale next job (see the header) they follow the reloaded gates a
// clock after gates_last_reg.

// lane i's gate and block advance for the first row's gate g and gates - 1 = gl: a lookup over every
// (g, gl) with g <= gl (the others never occur), each entry a constant
/* verilator lint_off UNUSEDSIGNAL */
function [1:0] lane_gate(input [1:0] g, input [1:0] gl, input integer i);
    integer ga;
    integer gb;
    integer t;
    begin
        lane_gate = 2'd0;
        for (ga = 0; ga < 4; ga = ga + 1) begin
            for (gb = 0; gb <= ga; gb = gb + 1) begin
                t = (gb + i) % (ga + 1);
                if ({30'd0, gl} == ga && {30'd0, g} == gb) begin
                    lane_gate = t[1:0];
                end
            end
        end
    end
endfunction

function [IDX_W-1:0] lane_adv(input [1:0] g, input [1:0] gl, input integer i);
    integer ga;
    integer gb;
    integer t;
    begin
        lane_adv = {IDX_W{1'b0}};
        for (ga = 0; ga < 4; ga = ga + 1) begin
            for (gb = 0; gb <= ga; gb = gb + 1) begin
                t = (gb + i) / (ga + 1);
                if ({30'd0, gl} == ga && {30'd0, g} == gb) begin
                    lane_adv = t[IDX_W-1:0];
                end
            end
        end
    end
endfunction
/* verilator lint_on UNUSEDSIGNAL */

reg [1:0] ln_gate_reg [0:N_IFFT];
reg [IDX_W-1:0] ln_blk_reg [0:N_IFFT];
wire [1:0] ln_gate [0:N_IFFT];
wire [IDX_W-1:0] ln_blk [0:N_IFFT];

genvar i;

generate
for (i = 0; i <= N_IFFT; i = i + 1) begin : g_lane
    assign ln_gate[i] = ln_gate_reg[i];
    assign ln_blk[i] = ln_blk_reg[i];
end
endgenerate

// the beat: its rows, the lane of its last row, whether that row ends the job
wire [ROWS_IN_W-1:0] rows = s_axis_tuser;
wire [31:0] rows_i = {{(32-ROWS_IN_W){1'b0}}, rows};
wire [ROWS_IN_W-1:0] last_lane = rows - 1'b1;
wire [1:0] end_gate = ln_gate[last_lane];
wire [IDX_W-1:0] end_blk = ln_blk[last_lane];
wire [1:0] next_gate = ln_gate[rows];
wire [IDX_W-1:0] next_blk = ln_blk[rows];
wire beat_ends_job = end_gate == gates_last_reg && end_blk == last_blk_reg;

// gate-buffer rows: the whole beat when none of its blocks is full
reg y_busy;
integer b;

always @* begin
    y_busy = 1'b0;
    for (b = 0; b < N_IFFT; b = b + 1) begin
        if (b < rows_i && y_full[b]) begin
            y_busy = 1'b1;
        end
    end
end

// projection rows: one per clock, the beat taken with its last
wire sub_last = sub_reg == last_lane;
wire h_free = !(last_layer_reg && out_full);
wire proj_fire = s_axis_tvalid && proj && h_free;

assign s_axis_tready = proj ? h_free && sub_last : !y_busy;
wire fire = s_axis_tvalid && s_axis_tready;
wire y_fire = fire && !proj;

wire blk_last = blk_reg == last_blk_reg;

generate
for (i = 0; i < N_IFFT; i = i + 1) begin : g_y
    // gate buffer slot: LSTM i, f, g, o; GRU r, z, in, hn
    assign y_slot[2*i +: 2] = kind_reg == JOB_GATE ? ln_gate[i] : (kind_reg == JOB_IN ? 2'd2 : 2'd3);
    assign y_blk[i*IDX_W +: IDX_W] = ln_blk[i];
    assign y_we[i] = y_fire && i < rows_i;
end
endgenerate

assign y_data = s_axis_tdata;

// this clock's beat ends the job
wire job_end = (y_fire && beat_ends_job) || (proj_fire && blk_last);
assign job_done = job_end;

// synthesis translate_off
// the registered fields are the lookup's whenever a beat is taken (the contract above)
always @(posedge clk) begin
    if (!rst && fire && (kind_reg != job_kind || gates_last_reg != job_gates_last
            || last_blk_reg != job_last_blk || last_layer_reg != job_last_layer)) begin
        $fatal(1, "Error: ernn_pe_writer job %0d: registered fields (kind %0d, gates-1 %0d, last block %0d, last layer %0d) differ from the table's (%0d, %0d, %0d, %0d)",
            job, kind_reg, gates_last_reg, last_blk_reg, last_layer_reg, job_kind, job_gates_last, job_last_blk, job_last_layer);
    end
end
// synthesis translate_on

// the lanes' next values: after a beat that does not end the job, the closed form from the beat's
// next row (itself a lane register, picked by the beat's row count); after a job end, from row 0 of
// the next job (its gates from the second table port); otherwise from this unit's registers, so that
// a reload of the gates after a stale job end reaches the lanes
wire [1:0] cand_fire_gate [0:N_IFFT];
wire [IDX_W-1:0] cand_fire_blk [0:N_IFFT];
wire [1:0] cand_end_gate [0:N_IFFT];
wire [IDX_W-1:0] cand_end_blk [0:N_IFFT];
wire [1:0] cand_hold_gate [0:N_IFFT];
wire [IDX_W-1:0] cand_hold_blk [0:N_IFFT];

generate
for (i = 0; i <= N_IFFT; i = i + 1) begin : g_cand
    assign cand_fire_gate[i] = lane_gate(next_gate, gates_last_reg, i);
    assign cand_fire_blk[i] = next_blk + lane_adv(next_gate, gates_last_reg, i);
    assign cand_end_gate[i] = lane_gate(2'd0, next_gates_last, i);
    assign cand_end_blk[i] = lane_adv(2'd0, next_gates_last, i);
    assign cand_hold_gate[i] = lane_gate(gate_reg, gates_last_reg, i);
    assign cand_hold_blk[i] = blk_reg + lane_adv(gate_reg, gates_last_reg, i);

    always @(posedge clk) begin
        if (job_end) begin
            ln_gate_reg[i] <= cand_end_gate[i];
            ln_blk_reg[i] <= cand_end_blk[i];
        end else if (y_fire) begin
            ln_gate_reg[i] <= cand_fire_gate[i];
            ln_blk_reg[i] <= cand_fire_blk[i];
        end else begin
            ln_gate_reg[i] <= cand_hold_gate[i];
            ln_blk_reg[i] <= cand_hold_blk[i];
        end
        if (rst) begin
            ln_gate_reg[i] <= lane_gate(2'd0, 2'd0, i);
            ln_blk_reg[i] <= lane_adv(2'd0, 2'd0, i);
        end
    end

    // synthesis translate_off
    // the contract above: on every beat taken, the lanes are the closed form of the registers
    always @(posedge clk) begin
        if (!rst && y_fire && (ln_gate_reg[i] != cand_hold_gate[i] || ln_blk_reg[i] != cand_hold_blk[i])) begin
            $fatal(1, "Error: ernn_pe_writer lane %0d: registered row (gate %0d, block %0d) is not the closed form of gate %0d, block %0d, gates-1 %0d (%0d, %0d)",
                i, ln_gate_reg[i], ln_blk_reg[i], gate_reg, blk_reg, gates_last_reg, cand_hold_gate[i], cand_hold_blk[i]);
        end
    end
    // synthesis translate_on
end
endgenerate

always @(posedge clk) begin
    if (y_fire) begin
        // the beat's rows are written: the next beat starts after its last
        if (beat_ends_job) begin
            gate_reg <= 2'd0;
            blk_reg <= {IDX_W{1'b0}};
        end else begin
            gate_reg <= next_gate;
            blk_reg <= next_blk;
        end
    end
    if (proj_fire) begin
        // one projection row (gates = 1: the block advances)
        blk_reg <= blk_last ? {IDX_W{1'b0}} : blk_reg + 1'b1;
        sub_reg <= sub_last ? {ROWS_IN_W{1'b0}} : sub_reg + 1'b1;
    end
    // the job's fields: the next job's at its end, else the current job's lookup again
    if (job_end) begin
        kind_reg <= next_kind;
        gates_last_reg <= next_gates_last;
        last_blk_reg <= next_last_blk;
        last_layer_reg <= next_last_layer;
    end else begin
        kind_reg <= job_kind;
        gates_last_reg <= job_gates_last;
        last_blk_reg <= job_last_blk;
        last_layer_reg <= job_last_layer;
    end

    if (job_end) begin
        if (job_step_last) begin
            job_reg <= {JOB_W{1'b0}};
            par_reg <= !par_reg;
        end else begin
            job_reg <= job_reg + 1'b1;
        end
        if (job_stage_last) begin
            stage_reg <= stage_reg + 1'b1;
            job_off_reg <= {JOB_W{1'b0}};
        end else begin
            job_off_reg <= job_off_reg + 1'b1;
        end
    end

    if (rst) begin
        job_reg <= {JOB_W{1'b0}};
        gate_reg <= 2'd0;
        blk_reg <= {IDX_W{1'b0}};
        sub_reg <= {ROWS_IN_W{1'b0}};
        par_reg <= 1'b0;
        stage_reg <= {STAGE_W{1'b0}};
        job_off_reg <= {JOB_W{1'b0}};
    end
end

// the projection row being written: lane sub of the beat
wire [YBLK_W-1:0] proj_row = s_axis_tdata[sub_reg*YBLK_W +: YBLK_W];

// projection output: rnd(y, I - D), saturated to Q(data) (R12, point proj_out); padding zeroed
genvar n;

generate
if (HAS_PROJ) begin : g_proj
    for (n = 0; n < K; n = n + 1) begin : g_rnd
        wire [DATA_W-1:0] v;  // Q(data)
        ernn_cell_rnd #(.IN_W(IFFT_OUT_W), .SHIFT(SH_PROJ), .OUT_W(DATA_W))
        rnd_inst (.in(proj_row[n*IFFT_OUT_W +: IFFT_OUT_W]), .out(v));
        if (n >= O_TAIL) begin : g_tail
            // a padding sample of the last block
            assign h_data[n*DATA_W +: DATA_W] = blk_last ? {DATA_W{1'b0}} : v;
        end else begin : g_keep
            assign h_data[n*DATA_W +: DATA_W] = v;
        end
    end
end else begin : g_no_proj
    // no projection jobs: nothing goes to h from here
    assign h_data = {K*DATA_W{1'b0}};
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_proj_row = &{1'b0, proj_row};
    /* verilator lint_on UNUSEDSIGNAL */
end
endgenerate

assign h_we = proj_fire;
assign h_addr = job_h_base + blk_reg[H_ADDR_W-1:0] + (LAYER_SKEW != 0 && stage_par ? PAR_OFF : {H_ADDR_W{1'b0}});
assign h_last = blk_last;
assign h_last_layer = job_last_layer;
assign h_par = LAYER_SKEW != 0 ? stage_par : par_reg;

endmodule

`resetall
