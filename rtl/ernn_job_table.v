/*

E-RNN toolkit: PE job table of an exported model (decoder and elaboration-time checks)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * The schedule of one time step is computed once, by the exporter
 * (ernn.export.schedule.job_table), and reaches the RTL as ERNN_JOB_TABLE in the model's
 * ernn_params.vh: JOBS rows, one per PE job in issue order (layer 0's jobs, then layer
 * 1's, ...), of FIELDS unsigned 32-bit fields, row 0 and field 0 in the highest bits:
 *
 *   0 kind        0 gate (LSTM i,f,g,o / GRU r,z rows, (block, gate) order), 1 in (W_in x),
 *                 2 hn (W_hn h), 3 proj (W_hr m); a GRU stage is gate, in, hn or in, gate, hn
 *                 (the in job first loads x_t itself, and the gate job loads it again)
 *   1 layer       2 rows (row blocks)            3 blocks (output blocks)
 *   4 load_count  blocks FFT'd into spectrum slots read_base..read_base+load_count-1 (a
 *                 loading job reads exactly the slots it loads: read_count = load_count)
 *   5 x_blocks    the first of them that are x_t (the rest h_{t-1}; a projection loads m_t)
 *   6 read_base   7 read_count: spectrum slots the MACs read (the exporter may place
 *                 consecutive jobs' slots apart, so that the PE loads the next job while
 *                 the current one still reads: ernn_pe's load ahead)
 *   8 w_base      first word of the job's region in the PE weight memory
 *   9 x_base      h-memory word of x_t's block 0 (layers > 0: the layer below's h_t)
 *  10 h_base      h-memory word of this layer's block 0 (h_{t-1} read, h_t written)
 *  11 c_base      word of this layer's hidden block 0 in the bias, peephole and c memories
 *
 * This module is a read port of the table: for the row `job` it returns the fields at the
 * controller's widths, plus what follows from the order of the rows (first / last job of
 * its stage, of the time step, the next stage's first job), all as a JOBS-way select of
 * constants (no memory, no arithmetic at run time). Each unit of ernn_ctrl that walks the
 * schedule has its own port.
 *
 * With CHECK = 1 the table is checked at elaboration against the datapath it drives
 * ($error): the format (FIELDS); the order (each layer's jobs gate[, proj] for an LSTM,
 * gate, in, hn or in, gate, hn for a GRU, layers in order); the rows and blocks of each kind (the gate
 * buffer holds p blocks of four slots, the h memory q_h blocks per layer); loads and
 * reads within the XBUF_DEPTH spectrum slots, a loading job reading exactly what it loads,
 * layer 0 loading the frame's blocks;
 * state addresses within the memories; and the weight regions, ceil(rows (K/2+1) / P)
 * read_count words each (the PE's rounds; with SPLIT a last round of at most the PE's
 * SPLIT_LANE units takes ceil(read_count / 2)), disjoint, inside and filling W_DEPTH words
 * (a weight file or table exported for another P or shape stops elaboration).
 */
module ernn_job_table #
(
    // PE jobs per time step (rows of TABLE)
    parameter JOBS = 1,
    // stacked layers (L)
    parameter LAYERS = 1,
    // fields per row (this decoder reads 12)
    parameter FIELDS = 12,
    // the exporter's table (ernn_params.vh ERNN_JOB_TABLE)
    parameter [JOBS*FIELDS*32-1:0] TABLE = {(JOBS*FIELDS*32){1'b0}},
    // 1: check the table at elaboration (one port of a design does)
    parameter CHECK = 0,
    // the datapath the table is checked against: 1 LSTM, 0 GRU
    parameter CELL_LSTM = 1,
    // 1: LSTM projection
    parameter HAS_PROJ = 0,
    // block size K
    parameter K = 8,
    // complex MAC lanes of the PE
    parameter P = 8,
    // hidden blocks p
    parameter PB = 4,
    // blocks of a layer output (q_h)
    parameter QH = 4,
    // input blocks of layer 0 (the frame)
    parameter QX0 = 2,
    // PE spectrum slots
    parameter XBUF_DEPTH = 6,
    // PE weight-memory words
    parameter W_DEPTH = 64,
    // 1: the PE splits last rounds over two lane groups (ernn_pe SPLIT: fewer weight words)
    parameter SPLIT = 0,
    // h-memory words (blocks)
    parameter H_DEPTH = 4,
    // bias / peephole / c memory words (hidden blocks of all layers)
    parameter C_DEPTH = 4,
    // row index width
    parameter JOB_W = 1,
    // block count / index width (last_blk, load_last, x_blocks)
    parameter IDX_W = 4,
    // spectrum-slot count width (load_count, read_count)
    parameter CNT_W = 3,
    // spectrum-slot address width (read_base)
    parameter XBUF_ADDR_W = 3,
    // row-block count width (rows)
    parameter ROWS_W = 5,
    // PE weight-memory address width (w_base)
    parameter W_ADDR_W = 6,
    // h-memory address width (x_base, h_base)
    parameter H_ADDR_W = 2,
    // bias / peephole / c address width (c_base)
    parameter C_ADDR_W = 2,
    // layer index width (the `layer` output)
    parameter LAYER_W = 1
)
(
    input  wire [JOB_W-1:0]       job,

    output wire [1:0]             kind,         // 0 gate, 1 in, 2 hn, 3 proj
    output wire [LAYER_W-1:0]     layer,        // the job's layer
    output wire                   first_layer,  // layer 0: x_t is the input frame
    output wire                   last_layer,   // layer L-1: its h_t is the output vector
    output wire                   stage_first,  // first job of its layer's stage
    output wire                   stage_last,   // last job of its layer's stage
    output wire                   step_last,    // last job of the time step (row JOBS-1)
    output wire [JOB_W-1:0]       next_stage,   // first job of the next stage (0 after the last)
    output wire [1:0]             gates_last,   // row blocks per output block, minus one
    output wire [ROWS_W-1:0]      rows,
    output wire [IDX_W-1:0]       last_blk,     // blocks - 1
    output wire [CNT_W-1:0]       load_count,
    output wire [IDX_W-1:0]       load_last,    // load_count - 1 (0 without loads)
    output wire [IDX_W-1:0]       x_blocks,
    output wire [XBUF_ADDR_W-1:0] read_base,
    output wire [CNT_W-1:0]       read_count,
    output wire [W_ADDR_W-1:0]    w_base,
    output wire [H_ADDR_W-1:0]    x_base,
    output wire [H_ADDR_W-1:0]    h_base,
    output wire [C_ADDR_W-1:0]    c_base
);

// the format of a row
localparam FORMAT_FIELDS = 12;
localparam F_KIND = 0;
localparam F_LAYER = 1;
localparam F_ROWS = 2;
localparam F_BLOCKS = 3;
localparam F_LOAD = 4;
localparam F_XBLK = 5;
localparam F_RBASE = 6;
localparam F_RCOUNT = 7;
localparam F_WBASE = 8;
localparam F_XBASE = 9;
localparam F_HBASE = 10;
localparam F_CBASE = 11;
localparam KIND_GATE = 0;
localparam KIND_IN = 1;
localparam KIND_HN = 2;
localparam KIND_PROJ = 3;

// stored spectrum bins per block
localparam BINS = K / 2 + 1;
// a GRU stage as one job (the exporter's gru_fused: rows r, z, W_in x, W_hn h per block; a
// table with one job per layer)
localparam GRU_FUSED = !CELL_LSTM && JOBS == LAYERS;
// row blocks per output block of the gate job (LSTM i, f, g, o; GRU r, z; fused GRU r, z, in, hn)
localparam GPB = CELL_LSTM || GRU_FUSED ? 4 : 2;
// jobs per stage: LSTM gate[, proj]; GRU gate, in, hn; fused GRU gate
localparam NJOBS = CELL_LSTM ? 1 + HAS_PROJ : (GRU_FUSED ? 1 : 3);

// field f of row j (0 outside the table: a table of another format is refused below)
function integer field(input integer j, input integer f);
    begin
        if (j < 0 || j >= JOBS || f < 0 || f >= FIELDS) begin
            field = 0;
        end else begin
            field = TABLE[((JOBS - 1 - j) * FIELDS + FIELDS - 1 - f) * 32 +: 32];
        end
    end
endfunction

function integer cdiv(input integer a, input integer b);
    begin
        cdiv = (a + b - 1) / b;
    end
endfunction

function integer is_stage_first(input integer j);
    begin
        if (j == 0) begin
            is_stage_first = 1;
        end else begin
            is_stage_first = field(j - 1, F_LAYER) != field(j, F_LAYER) ? 1 : 0;
        end
    end
endfunction

function integer is_stage_last(input integer j);
    begin
        if (j == JOBS - 1) begin
            is_stage_last = 1;
        end else begin
            is_stage_last = field(j + 1, F_LAYER) != field(j, F_LAYER) ? 1 : 0;
        end
    end
endfunction

// the first row after j of another layer (0 when none follows)
function integer next_stage_of(input integer j);
    integer i;
    begin
        next_stage_of = 0;
        for (i = JOBS - 1; i > j; i = i - 1) begin
            if (field(i, F_LAYER) != field(j, F_LAYER)) begin
                next_stage_of = i;
            end
        end
    end
endfunction

// ernn_pe SPLIT_LANE: the largest multiple of 2 BINS at or below P / 2
localparam integer SPLIT_LANE = SPLIT != 0 ? (P / 2) / (2 * BINS) * (2 * BINS) : 0;

// weight-memory words of row j: rounds of P units (row block, bin), one word per input block; with
// SPLIT a last round of at most SPLIT_LANE units, ceil(read_count / 2) words (ernn_pe "Split rounds")
function integer words_of(input integer j);
    integer units;
    integer rounds;
    begin
        units = field(j, F_ROWS) * BINS;
        rounds = cdiv(units, P);
        if (SPLIT_LANE > 0 && units > 0 && units - (rounds - 1) * P <= SPLIT_LANE) begin
            words_of = (rounds - 1) * field(j, F_RCOUNT) + cdiv(field(j, F_RCOUNT), 2);
        end else begin
            words_of = rounds * field(j, F_RCOUNT);
        end
    end
endfunction

// ---------------------------------------------------------------------------------------
// elaboration-time checks: the first offending row of each kind of check, -1 if none

// the kind of the job at position pos of a stage; in_first: a GRU stage in the order in, gate, hn
function integer stage_kind(input integer pos, input integer in_first);
    begin
        if (CELL_LSTM) begin
            stage_kind = pos == 0 ? KIND_GATE : KIND_PROJ;
        end else if (GRU_FUSED) begin
            stage_kind = KIND_GATE;
        end else if (pos == 2) begin
            stage_kind = KIND_HN;
        end else if (in_first != 0) begin
            stage_kind = pos == 0 ? KIND_IN : KIND_GATE;
        end else begin
            stage_kind = pos == 0 ? KIND_GATE : KIND_IN;
        end
    end
endfunction

// a stage's order follows from its first job: a GRU stage may start with the in job (the hn
// job stays last, so a block is complete in the gate buffer at its hn row either way)
function integer bad_order(input integer n);
    integer j, in_first;
    begin
        bad_order = -1;
        for (j = n - 1; j >= 0; j = j - 1) begin
            in_first = field(j - j % NJOBS, F_KIND) == KIND_IN ? 1 : 0;
            if (field(j, F_LAYER) != j / NJOBS || field(j, F_KIND) != stage_kind(j % NJOBS, in_first)) begin
                bad_order = j;
            end
        end
    end
endfunction

function integer bad_shape(input integer n);
    integer j, gates, blocks;
    begin
        bad_shape = -1;
        for (j = n - 1; j >= 0; j = j - 1) begin
            gates = field(j, F_KIND) == KIND_GATE ? GPB : 1;
            blocks = field(j, F_KIND) == KIND_PROJ ? QH : PB;
            if (field(j, F_BLOCKS) != blocks || field(j, F_ROWS) != gates * blocks) begin
                bad_shape = j;
            end
        end
    end
endfunction

function integer bad_slots(input integer n);
    integer j;
    begin
        bad_slots = -1;
        for (j = n - 1; j >= 0; j = j - 1) begin
            if (field(j, F_XBLK) > field(j, F_LOAD)
                    || (field(j, F_LOAD) > 0 && field(j, F_LOAD) != field(j, F_RCOUNT))
                    || field(j, F_RCOUNT) < 1 || field(j, F_RBASE) + field(j, F_RCOUNT) > XBUF_DEPTH
                    || (field(j, F_LAYER) == 0 && field(j, F_LOAD) > 0 && field(j, F_KIND) != KIND_PROJ
                        && field(j, F_XBLK) != QX0)) begin
                bad_slots = j;
            end
        end
    end
endfunction

function integer bad_addr(input integer n);
    integer j;
    begin
        bad_addr = -1;
        for (j = n - 1; j >= 0; j = j - 1) begin
            if (field(j, F_HBASE) + QH > H_DEPTH || field(j, F_CBASE) + PB > C_DEPTH
                    || (field(j, F_LAYER) > 0 && field(j, F_XBASE) + field(j, F_XBLK) > H_DEPTH)) begin
                bad_addr = j;
            end
        end
    end
endfunction

// a region outside the memory or overlapping an earlier row's
function integer bad_weights(input integer n);
    integer i, j;
    begin
        bad_weights = -1;
        for (j = n - 1; j >= 0; j = j - 1) begin
            if (field(j, F_WBASE) + words_of(j) > W_DEPTH) begin
                bad_weights = j;
            end
            for (i = 0; i < j; i = i + 1) begin
                if (field(j, F_WBASE) < field(i, F_WBASE) + words_of(i)
                        && field(i, F_WBASE) < field(j, F_WBASE) + words_of(j)) begin
                    bad_weights = j;
                end
            end
        end
    end
endfunction

function integer all_words(input integer n);
    integer j;
    begin
        all_words = 0;
        for (j = 0; j < n; j = j + 1) begin
            all_words = all_words + words_of(j);
        end
    end
endfunction

// the format first: the other checks read fields
localparam FORMAT_OK = FIELDS == FORMAT_FIELDS && JOBS == LAYERS * NJOBS;
localparam integer BAD_ORDER = CHECK && FORMAT_OK ? bad_order(JOBS) : -1;
localparam integer BAD_SHAPE = CHECK && FORMAT_OK && BAD_ORDER < 0 ? bad_shape(JOBS) : -1;
localparam integer BAD_SLOTS = CHECK && FORMAT_OK && BAD_ORDER < 0 ? bad_slots(JOBS) : -1;
localparam integer BAD_ADDR = CHECK && FORMAT_OK && BAD_ORDER < 0 ? bad_addr(JOBS) : -1;
localparam integer BAD_WEIGHTS = CHECK && FORMAT_OK && BAD_ORDER < 0 ? bad_weights(JOBS) : -1;
localparam integer W_NEED = CHECK && FORMAT_OK ? all_words(JOBS) : W_DEPTH;

initial begin
    if (CHECK) begin
        if (FIELDS != FORMAT_FIELDS) begin
            $error("Error: ernn_job_table the job table has %0d fields per job, this RTL reads %0d: export the model again",
                FIELDS, FORMAT_FIELDS);
            $finish;
        end
        if (JOBS != LAYERS * NJOBS) begin
            $error("Error: ernn_job_table the job table has %0d jobs, %0d layers of this cell need %0d each",
                JOBS, LAYERS, NJOBS);
            $finish;
        end
        if (BAD_ORDER >= 0) begin
            $error("Error: ernn_job_table job %0d is out of order: each layer in turn needs the jobs gate, proj (LSTM, proj with a projection only) or gate, in, hn or in, gate, hn (GRU)",
                BAD_ORDER);
            $finish;
        end
        if (BAD_SHAPE >= 0) begin
            $error("Error: ernn_job_table job %0d: its rows and blocks do not match the gate buffer (%0d blocks) and the h memory (%0d blocks per layer)",
                BAD_SHAPE, PB, QH);
            $finish;
        end
        if (BAD_SLOTS >= 0) begin
            $error("Error: ernn_job_table job %0d: its loads or reads leave the %0d spectrum slots, it loads other slots than it reads, or layer 0 does not load the frame's %0d blocks",
                BAD_SLOTS, XBUF_DEPTH, QX0);
            $finish;
        end
        if (BAD_ADDR >= 0) begin
            $error("Error: ernn_job_table job %0d: its h or bias/c addresses leave the memories (%0d and %0d words)",
                BAD_ADDR, H_DEPTH, C_DEPTH);
            $finish;
        end
        if (BAD_WEIGHTS >= 0) begin
            $error("Error: ernn_job_table job %0d: its weight words leave the %0d-word memory or overlap another job's",
                BAD_WEIGHTS, W_DEPTH);
            $finish;
        end
        if (W_NEED != W_DEPTH) begin
            $error("Error: ernn_job_table W_DEPTH = %0d, but this model with P = %0d lanes needs %0d weight words: the weight file was exported for another configuration",
                W_DEPTH, P, W_NEED);
            $finish;
        end
    end
end

// ---------------------------------------------------------------------------------------
// read port: every row decoded to the outputs' widths, one selected

localparam ROW_W = 2 + LAYER_W + 5 + JOB_W + 2 + ROWS_W + 3 * IDX_W + 2 * CNT_W + XBUF_ADDR_W + W_ADDR_W
                 + 2 * H_ADDR_W + C_ADDR_W;

wire [JOBS*ROW_W-1:0] rows_dec;
wire [ROW_W-1:0] row;

genvar j;

generate
for (j = 0; j < JOBS; j = j + 1) begin : g_row
    localparam integer KIND_I = field(j, F_KIND);
    localparam integer LAYER_I = field(j, F_LAYER);
    localparam integer FIRST_L_I = field(j, F_LAYER) == 0 ? 1 : 0;
    localparam integer LAST_L_I = field(j, F_LAYER) == LAYERS - 1 ? 1 : 0;
    localparam integer S_FIRST_I = is_stage_first(j);
    localparam integer S_LAST_I = is_stage_last(j);
    localparam integer STEP_LAST_I = j == JOBS - 1 ? 1 : 0;
    localparam integer NEXT_I = next_stage_of(j);
    localparam integer BLOCKS_I = field(j, F_BLOCKS);
    localparam integer GATES_LAST_I = BLOCKS_I > 0 ? field(j, F_ROWS) / BLOCKS_I - 1 : 0;
    localparam integer ROWS_I = field(j, F_ROWS);
    localparam integer LAST_BLK_I = BLOCKS_I > 0 ? BLOCKS_I - 1 : 0;
    localparam integer LOAD_I = field(j, F_LOAD);
    localparam integer LOAD_LAST_I = LOAD_I > 0 ? LOAD_I - 1 : 0;
    localparam integer XBLK_I = field(j, F_XBLK);
    localparam integer RBASE_I = field(j, F_RBASE);
    localparam integer RCOUNT_I = field(j, F_RCOUNT);
    localparam integer WBASE_I = field(j, F_WBASE);
    localparam integer XBASE_I = field(j, F_XBASE);
    localparam integer HBASE_I = field(j, F_HBASE);
    localparam integer CBASE_I = field(j, F_CBASE);

    assign rows_dec[j*ROW_W +: ROW_W] = {
        KIND_I[1:0],
        LAYER_I[LAYER_W-1:0],
        FIRST_L_I[0], LAST_L_I[0], S_FIRST_I[0], S_LAST_I[0], STEP_LAST_I[0],
        NEXT_I[JOB_W-1:0],
        GATES_LAST_I[1:0],
        ROWS_I[ROWS_W-1:0],
        LAST_BLK_I[IDX_W-1:0],
        LOAD_I[CNT_W-1:0],
        LOAD_LAST_I[IDX_W-1:0],
        XBLK_I[IDX_W-1:0],
        RBASE_I[XBUF_ADDR_W-1:0],
        RCOUNT_I[CNT_W-1:0],
        WBASE_I[W_ADDR_W-1:0],
        XBASE_I[H_ADDR_W-1:0],
        HBASE_I[H_ADDR_W-1:0],
        CBASE_I[C_ADDR_W-1:0]
    };
end
endgenerate

ernn_sel #(.N(JOBS), .W(ROW_W), .SEL_W(JOB_W))
row_sel_inst (.in(rows_dec), .sel(job), .out(row));

assign {kind, layer, first_layer, last_layer, stage_first, stage_last, step_last, next_stage, gates_last,
        rows, last_blk, load_count, load_last, x_blocks, read_base, read_count, w_base, x_base,
        h_base, c_base} = row;

endmodule

`resetall
