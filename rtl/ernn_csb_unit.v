/*

E-RNN toolkit: CSB matvec unit with the circulant PE's job interface (one group array, a program per job)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Runs the controller's PE jobs (rtl/ernn_ctrl.v, the job table of ernn.export.schedule) on CSB
 * matrices, bit-exact with ernn.golden.csb (docs/numerics.md, section 15), so that ernn_top runs a
 * CSB model on the same controller and cell units as a block-circulant one (docs/csb.md, "Behind
 * ernn_top"). Same ports and handshakes as ernn_pe with N_IFFT = 1:
 *
 *   s_cmd    a job: load the next load_count blocks of s_axis (K samples of Q(DATA_W) each) into
 *            the input slots load_base.., then compute `rows` row blocks from the slots
 *            read_base .. read_base + read_count - 1 (w_base is not used: the job's matrix is
 *            the program of its own group array)
 *   s_axis   input blocks, sample n at tdata[n*DATA_W +: DATA_W]
 *   m_axis   row blocks in the job's row order, sample n at tdata[n*OUT_W +: OUT_W], Q(OUT_W)
 *            (ifft_out); tlast on the job's last row block; tuser = 1 (one row block per beat)
 *
 * Job j (the j-th command since reset, modulo JOBS: the controller issues the table's rows in
 * order) runs program j of the one group array (ernn_csb_array, K x L groups of P x Q PEs, JOBS
 * programs): its matrix is the job's stacked CSB matrix, rows in the job's row-block order and
 * columns its input blocks (ernn.export.csb_unit.job_matrix: the gate job's [W_ih | W_hh] share one
 * accumulator per row, the GRU's W_in x and W_hn h are jobs of their own, the projection is W_hr),
 * its sizes row j of UNIT_TABLE; the programs lie one after the other in the images
 * mem/csb_prog_{en,val,x,tgt,lens}.mem (ernn.export.csb_program.write_joint: indices and lengths
 * in the widest job's X_W and LEN_W; the partial sums in the widest job's SUM_W). The PEs, partial sums, x read ports and reduction trees
 * serve every job. The array streams ELEMS = K elements per beat, so one input slot is one beat
 * in and one row block one beat out:
 *
 *   y_r = sat_OUT((sum_c W[r, c] x_c + 2**(SHIFT-1)) >>> SHIFT)     exact sum in Q(ACC_W)
 *
 * One job at a time: idle (s_cmd_ready) -> load (s_axis_tready) -> feed the job's slots to its
 * array -> the array's MACs, reductions and output beats on m_axis -> idle. A job that reads exactly
 * the slots it loads (read_base = load_base, read_count = load_count > 0: the gate and projection
 * jobs) hands each block to the array as it loads it (into its slot too, for later jobs), so it skips
 * the feed. Clocks per job without stalls: 1 (command) + ernn.export.csb_program.array_cycles(program,
 * K), plus load_count when the job loads other slots than it reads (the input beats are then the
 * feed's).
 * rst (synchronous, active high) returns the unit and its array to idle and the job count to 0.
 *
 * Elaboration checks: a table row whose ROWS or COLS is not a multiple of K, or whose input
 * blocks exceed XBUF_DEPTH, stops with $error naming the job; in simulation, a command whose rows
 * or read_count are not job j's (a table exported for another model) stops with $error.
 */
module ernn_csb_unit #
(
    // block size K of the controller: samples per input block and per row block
    parameter K = 8,
    // input sample word, Q(DATA_W, .) (data)
    parameter DATA_W = 16,
    // kernel value word, Q(W_W, .) (weight_spectrum)
    parameter W_W = 16,
    // exact accumulator word (accumulator), > DATA_W + W_W
    parameter ACC_W = 40,
    // output word, Q(OUT_W, .) (ifft_out)
    parameter OUT_W = 19,
    // accumulator.frac - ifft_out.frac (round half up)
    parameter SHIFT = 12,
    // CSB block size M (divides K)
    parameter BLOCK = 8,
    // bits of a kept row offset, max(1, clog2 BLOCK)
    parameter INDEX_W = 3,
    // output rows the group array reduces per clock (divides BLOCK; ERNN_CSB_RED_ROWS)
    parameter RED_ROWS = 1,
    // group rows and columns, PE rows and columns of a group (the unit's array)
    parameter GRID_K = 1,
    parameter GRID_L = 1,
    parameter GRID_P = 1,
    parameter GRID_Q = 1,
    // input slots (the most input blocks of a job)
    parameter XBUF_DEPTH = 8,
    // the controller's weight-address range (the w_base field's width; not read)
    parameter W_DEPTH = 64,
    // width of the rows field
    parameter ROWS_W = 8,
    // jobs per time step (ernn_params.vh ERNN_JOBS)
    parameter JOBS = 1,
    // fields per unit-table row (ernn_params.vh ERNN_CSB_UNIT_FIELDS)
    parameter UNIT_FIELDS = 8,
    // per job {ROWS, COLS, X_W, STEPS, TILE_ROWS, LEN_W, MACS, SUM_W} of its array (ERNN_CSB_UNIT_TABLE;
    // SUM_W: the bits that hold the job's exact row sums, ernn.golden.csb.sum_word)
    parameter [JOBS*UNIT_FIELDS*32-1:0] UNIT_TABLE = {(JOBS*UNIT_FIELDS*32){1'b0}},
    // directory of the program images, without a trailing slash
    parameter MEM_DIR = "mem",
    // spectrum-slot address width (derived; do not override)
    parameter XBUF_ADDR_W = $clog2(XBUF_DEPTH),
    // block count width (derived; do not override)
    parameter CNT_W = $clog2(XBUF_DEPTH + 1),
    // weight address width (derived; do not override)
    parameter W_ADDR_W = $clog2(W_DEPTH)
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
    // the job's weight region in the circulant PE; the CSB unit's jobs are counted instead
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [W_ADDR_W-1:0]     s_cmd_w_base,
    /* verilator lint_on UNUSEDSIGNAL */

    // input blocks: sample n at tdata[n*DATA_W +: DATA_W]
    input  wire [K*DATA_W-1:0]     s_axis_tdata,
    input  wire                    s_axis_tvalid,
    output wire                    s_axis_tready,

    // output row blocks: sample n at tdata[n*OUT_W +: OUT_W]; tuser: row blocks in the beat (1)
    output wire [K*OUT_W-1:0]      m_axis_tdata,
    output wire [0:0]              m_axis_tuser,
    output wire                    m_axis_tlast,
    output wire                    m_axis_tvalid,
    input  wire                    m_axis_tready
);

// field f of unit-table row j (row 0 and field 0 in the highest bits)
function integer field(input integer j, input integer f);
    begin
        field = UNIT_TABLE[((JOBS - 1 - j) * UNIT_FIELDS + (UNIT_FIELDS - 1 - f)) * 32 +: 32];
    end
endfunction

localparam F_ROWS = 0, F_COLS = 1, F_XW = 2, F_STEPS = 3, F_TILE_ROWS = 4, F_LEN_W = 5, F_MACS = 6, F_SUM_W = 7;
localparam JOB_W = JOBS > 1 ? $clog2(JOBS) : 1;

// the widest job's field f (the array's X_W, LEN_W and SUM_W serve every program)
function integer field_max(input integer f);
    integer i;
    begin
        field_max = 0;
        for (i = 0; i < JOBS; i = i + 1) begin
            if (field(i, f) > field_max) field_max = field(i, f);
        end
    end
endfunction

// the array's JOB_TABLE: per job {ROWS, COLS, STEPS, TILE_ROWS, MACS}, job 0 and field 0 in the highest bits
function [JOBS*5*32-1:0] array_table(input integer unused);
    integer i;
    begin
        array_table = {(JOBS*5*32){1'b0}};
        for (i = 0; i < JOBS; i = i + 1) begin
            array_table[((JOBS - 1 - i) * 5 + 4) * 32 +: 32] = field(i, F_ROWS);
            array_table[((JOBS - 1 - i) * 5 + 3) * 32 +: 32] = field(i, F_COLS);
            array_table[((JOBS - 1 - i) * 5 + 2) * 32 +: 32] = field(i, F_STEPS);
            array_table[((JOBS - 1 - i) * 5 + 1) * 32 +: 32] = field(i, F_TILE_ROWS);
            array_table[((JOBS - 1 - i) * 5 + 0) * 32 +: 32] = field(i, F_MACS);
        end
    end
endfunction

integer cj;
initial begin
    if (UNIT_FIELDS != 8) begin
        $error("Error: ernn_csb_unit UNIT_FIELDS = %0d, this unit reads 8 fields per job (export again)", UNIT_FIELDS);
        $finish;
    end
    if (K % BLOCK != 0) begin
        $error("Error: ernn_csb_unit the CSB block size BLOCK = %0d must divide K = %0d", BLOCK, K);
        $finish;
    end
    for (cj = 0; cj < JOBS; cj = cj + 1) begin
        if (field(cj, F_ROWS) % K != 0 || field(cj, F_COLS) % K != 0 || field(cj, F_ROWS) == 0
                || field(cj, F_COLS) == 0 || field(cj, F_COLS) / K > XBUF_DEPTH) begin
            $error("Error: ernn_csb_unit job %0d: ROWS = %0d and COLS = %0d must be positive multiples of K = %0d, COLS / K at most XBUF_DEPTH = %0d",
                cj, field(cj, F_ROWS), field(cj, F_COLS), K, XBUF_DEPTH);
            $finish;
        end
        if (field(cj, F_SUM_W) <= DATA_W + W_W || field(cj, F_SUM_W) > ACC_W) begin
            $error("Error: ernn_csb_unit job %0d: SUM_W = %0d must be > DATA_W + W_W = %0d and <= ACC_W = %0d (a table exported for other formats: export again)",
                cj, field(cj, F_SUM_W), DATA_W + W_W, ACC_W);
            $finish;
        end
    end
end

// the array's sum word: the widest job's; ACC_W where no table is given (a zero table only lints)
localparam ARRAY_SUM_W = field_max(F_SUM_W) > 0 ? field_max(F_SUM_W) : ACC_W;

localparam [1:0] S_IDLE = 2'd0, S_LOAD = 2'd1, S_FEED = 2'd2, S_OUT = 2'd3;

// (no initial values: rst sets every register, as ernn_top's users assert it before the first frame)
reg [1:0]             state_reg;
reg [JOB_W-1:0]       job_reg;       // the job being run
reg [JOB_W-1:0]       next_job_reg;  // the next command's job
reg [XBUF_ADDR_W-1:0] load_ptr_reg, read_ptr_reg;
reg [CNT_W-1:0]       load_left_reg, read_left_reg;
reg                   pass_reg;      // the job reads the slots it loads: the loads go on to the array

reg [K*DATA_W-1:0]    xbuf [0:XBUF_DEPTH-1];  // input slots, K samples of Q(DATA_W) each

// 32-bit views for comparisons with integer constants (JOBS, table fields)
wire [31:0] next_job_ext = {{(32-JOB_W){1'b0}}, next_job_reg};
/* verilator lint_off UNUSEDSIGNAL */
wire [31:0] cmd_rows_ext = {{(32-ROWS_W){1'b0}}, s_cmd_rows};          // read by the simulation check only
wire [31:0] cmd_rcount_ext = {{(32-CNT_W){1'b0}}, s_cmd_read_count};  // read by the simulation check only
/* verilator lint_on UNUSEDSIGNAL */

wire [K*DATA_W-1:0] feed_data = xbuf[read_ptr_reg];
wire              arr_s_tready;
wire [K*OUT_W-1:0] arr_m_tdata;
wire              arr_m_tvalid;
wire              arr_m_tlast;
/* verilator lint_off UNUSEDSIGNAL */
wire [31:0] stat_mac_cycles, stat_busy;  // the array's counters (read by testbenches)
/* verilator lint_on UNUSEDSIGNAL */

ernn_csb_array #(
    .K(GRID_K),
    .L(GRID_L),
    .P(GRID_P),
    .Q(GRID_Q),
    .GATES(1),
    // the sizes of job 0; the array reads every job's from JOB_TABLE when JOBS > 1
    .ROWS(field(0, F_ROWS)),
    .COLS(field(0, F_COLS)),
    .ELEMS(K),
    .RED_ROWS(RED_ROWS),
    .BLOCK(BLOCK),
    .DATA_W(DATA_W),
    .W_W(W_W),
    .ACC_W(ACC_W),
    .SUM_W(ARRAY_SUM_W),
    .OUT_W(OUT_W),
    .SHIFT(SHIFT),
    .INDEX_W(INDEX_W),
    .X_W(field_max(F_XW)),
    .STEPS(field(0, F_STEPS)),
    .TILE_ROWS(field(0, F_TILE_ROWS)),
    .LEN_W(field_max(F_LEN_W)),
    .MACS(field(0, F_MACS)),
    .STAT_W(32),
    .JOBS(JOBS),
    .JOB_TABLE(array_table(0)),
    .EN_FILE({MEM_DIR, "/csb_prog_en.mem"}),
    .VAL_FILE({MEM_DIR, "/csb_prog_val.mem"}),
    .X_FILE({MEM_DIR, "/csb_prog_x.mem"}),
    .TGT_FILE({MEM_DIR, "/csb_prog_tgt.mem"}),
    .LENS_FILE({MEM_DIR, "/csb_prog_lens.mem"})
)
array_inst (
    .clk(clk),
    .rst(rst),
    .prog(job_reg),
    .s_axis_tdata(pass_reg ? s_axis_tdata : feed_data),
    .s_axis_tvalid(pass_reg ? (state_reg == S_LOAD && s_axis_tvalid) : (state_reg == S_FEED)),
    .s_axis_tready(arr_s_tready),
    .s_axis_tlast(1'b0),
    .m_axis_tdata(arr_m_tdata),
    .m_axis_tvalid(arr_m_tvalid),
    .m_axis_tready(m_axis_tready && state_reg == S_OUT),
    .m_axis_tlast(arr_m_tlast),
    .stat_mac_cycles(stat_mac_cycles),
    .stat_busy(stat_busy)
);

assign s_cmd_ready = (state_reg == S_IDLE);
assign s_axis_tready = (state_reg == S_LOAD) && (!pass_reg || arr_s_tready);
assign m_axis_tdata = arr_m_tdata;
assign m_axis_tuser = 1'b1;
assign m_axis_tlast = arr_m_tlast;
assign m_axis_tvalid = (state_reg == S_OUT) && arr_m_tvalid;

wire cmd_go = s_cmd_valid && s_cmd_ready;
wire feed_go = (state_reg == S_FEED) && arr_s_tready;

// synthesis translate_off
integer wj;
always @(posedge clk) begin
    if (!rst && cmd_go) begin
        for (wj = 0; wj < JOBS; wj = wj + 1) begin
            if (next_job_ext == wj && (cmd_rows_ext != field(wj, F_ROWS) / K
                    || cmd_rcount_ext != field(wj, F_COLS) / K)) begin
                $error("Error: ernn_csb_unit job %0d: the command asks %0d row blocks from %0d input blocks, the job's program has %0d from %0d (job table and CSB unit table of different exports)",
                    wj, s_cmd_rows, s_cmd_read_count, field(wj, F_ROWS) / K, field(wj, F_COLS) / K);
                $finish;
            end
        end
    end
end
// synthesis translate_on

// the slots' write port on its own (as the array's x memory): inside the state machine, with the reset's
// overrides after it, Yosys 0.23 gives LUT RAM a write enable per data bit and one bit per cell
always @(posedge clk) begin
    if (state_reg == S_LOAD && s_axis_tvalid && s_axis_tready) begin
        xbuf[load_ptr_reg] <= s_axis_tdata;
    end
end

always @(posedge clk) begin
    case (state_reg)
        S_IDLE: begin
            if (cmd_go) begin
                job_reg <= next_job_reg;
                next_job_reg <= (next_job_ext == JOBS - 1) ? {JOB_W{1'b0}} : next_job_reg + 1'b1;
                load_ptr_reg <= s_cmd_load_base;
                load_left_reg <= s_cmd_load_count;
                read_ptr_reg <= s_cmd_read_base;
                read_left_reg <= s_cmd_read_count;
                pass_reg <= (s_cmd_load_count != 0) && (s_cmd_read_base == s_cmd_load_base)
                            && (s_cmd_read_count == s_cmd_load_count);
                state_reg <= (s_cmd_load_count != 0) ? S_LOAD : S_FEED;
            end
        end
        S_LOAD: begin
            if (s_axis_tvalid && s_axis_tready) begin
                load_ptr_reg <= load_ptr_reg + 1'b1;
                load_left_reg <= load_left_reg - 1'b1;
                if (load_left_reg == 1) begin
                    state_reg <= pass_reg ? S_OUT : S_FEED;  // passed on: every block is in the array
                end
            end
        end
        S_FEED: begin
            if (feed_go) begin
                read_ptr_reg <= read_ptr_reg + 1'b1;
                read_left_reg <= read_left_reg - 1'b1;
                if (read_left_reg == 1) begin
                    state_reg <= S_OUT;
                end
            end
        end
        default: begin  // S_OUT
            if (m_axis_tvalid && m_axis_tready && arr_m_tlast) begin
                state_reg <= S_IDLE;
            end
        end
    endcase

    if (rst) begin
        state_reg <= S_IDLE;
        job_reg <= 0;
        next_job_reg <= 0;
        load_ptr_reg <= 0;
        read_ptr_reg <= 0;
        load_left_reg <= 0;
        read_left_reg <= 0;
        pass_reg <= 1'b0;
    end
end

endmodule

`resetall
