/*

E-RNN toolkit: CSB group array (K x L groups of P x Q PEs running the balanced schedule)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * y = W x for one CSB matrix of GATES stacked gate matrices (ROWS x COLS each), as ernn.golden.csb
 * computes it (docs/numerics.md, section 15), bit for bit, on K x L PE groups of P x Q PEs
 * (ernn_csb_group, ernn_csb_pe) following the schedule of ernn.export.csb_schedule, compiled into
 * program images by ernn.export.csb_program:
 *
 *   per tile row a (block rows a*K .. a*K+K-1 of the gates' stacked block rows), into half h = a mod 2
 *   of every PE's partial sums (empty at the start):
 *     MAC engine: for each MAC step t of the tile row's rounds (lens[a] clocks; an empty tile row takes
 *     one clock), in every PE n of every group g:
 *       if en[g, t, n]: acc_{g,n}[h][bank][row] += value[g, t, n] * x[x_index[g, t, n mod Q]]
 *       in two stages: the program words and the x values read and registered, then the MAC (product and
 *       read-modify-write) a clock later (csb_program.MAC_PIPE); the half is full after that clock
 *     reduction engine: for r = 0 .. BLOCK-1 (RED_ROWS rows per clock), for every group row k with a
 *     block row i = a*K + k:
 *       s = sum_l own_{k,l}[h][r] + sum_l down_{k-1,l}[h][r] + sum_l up_{k+1,l}[h][r]   (bank 0, 2, 1)
 *       y[gate(i) * ROWS + (i mod BR) * BLOCK + r] = sat_OUT((s + 2**(SHIFT-1)) >>> SHIFT)
 *                                                     (rows past ROWS in a ragged block row dropped)
 *       and the rows read are emptied. Three pipeline stages: the PE reads and each group's sums (own,
 *       up, down) in the reduction clock, registered; the group-row sums in the next clock, registered;
 *       the rounding and the y write in the one after (csb_program.REDUCTION_PIPE = 2).
 *   The two engines overlap: the reduction of tile row a (half h) runs while the MAC engine fills half
 *   1-h with tile row a+1; the MAC engine starts tile row a+2 when the reduction of a has emptied h, the
 *   reduction engine tile row a+1 when its MACs are done and the reduction of a is
 *   (ernn.export.csb_program.timeline, clock for clock).
 *
 * Shared input (the paper's): PE n = p*Q + q of a group is in PE column q, and the P PEs of a column
 * multiply the same input neuron in a step: the array reads Q elements of the x buffer per group and
 * clock (one read port per PE column, not per PE) and broadcasts each down its column. The compiler
 * (ernn.export.csb_program.build) packs each group's kernel entries by kernel column, P at a time.
 *
 * Sharing: a horizontal helper (same group row) adds a neighbour's kernel entries into its own bank 0
 * (same block row), reading the neighbour's input neurons (x_index points into the neighbour's column
 * block: the paper's extra input-buffer port); a vertical helper adds them into bank 1 (owner above)
 * or 2 (owner below), which the owner's group row sums at the reduction (the accumulation path).
 *
 * Formats: x Q(DATA_W) (data), values Q(W_W) (weight), final sums Q(ACC_W) exact (frac = data.frac +
 * weight.frac; ACC_W from the golden rule D_W + W_W + max(2, clog2 T)), partial sums and the reduction
 * in SUM_W <= ACC_W bits modulo 2**SUM_W (SUM_W holds every exact row sum of the programs, so the
 * reduction's sum is exact; ernn.golden.csb.sum_word, docs/numerics.md section 15), y Q(OUT_W)
 * (ifft_out), SHIFT = accumulator.frac - ifft_out.frac (ernn_round_sat, round half up).
 *
 * Program images ($readmemh, ernn.export.csb_program.write; word t holds every group's fields of MAC
 * step t, group g = k*L + l in the low part and within it PE n = p*Q + q in the low field first; the
 * groups run in lockstep, so each image has one read port, at an address registered a clock ahead:
 * block RAM): EN_FILE (K*L x P*Q enable bits), VAL_FILE (K*L x P*Q values, W_W bits), X_FILE (K*L x Q
 * input indices, X_W bits: one per PE column), TGT_FILE (K*L x P*Q {bank (2 bits), row offset (INDEX_W
 * bits)}), LENS_FILE (TILE_ROWS words of LEN_W bits: MAC steps per tile row). Elaboration checks the images
 * slot by slot: an input index outside COLS, a bank that is not 0..2, a target block row outside the
 * matrix or a row offset outside its (possibly ragged) block, lengths that do not add up to STEPS, or
 * enabled slots that are not MACS stop the simulation with $error naming the group, tile row, step,
 * PE and the target block (gate, block row).
 *
 * Several programs (JOBS > 1; ernn_csb_unit runs every PE job of a model on one array): JOB_TABLE holds
 * per program {ROWS, COLS, STEPS, TILE_ROWS, MACS} (program 0 and field 0 in the highest bits; the scalar
 * ROWS, COLS, STEPS, TILE_ROWS and MACS are then not read), the images hold the programs one after the
 * other (program j's words from STEPS_0 + .. + STEPS_{j-1}, its lengths from TILE_ROWS_0 + ..
 * + TILE_ROWS_{j-1}; X_W and LEN_W wide enough for every program), and the input `prog` selects the
 * program of a vector: it must hold from the vector's first input beat to its last (the array keeps it
 * for the MACs, the reduction and the output beats). Every program is checked at elaboration as above,
 * the messages naming the program. The PEs, their partial sums, the x read ports and the reduction trees
 * are shared; the x and y buffers are as large as the largest program's vectors.
 *
 * Interface: s_axis (ELEMS x elements per beat, element e of beat b in bits [e*DATA_W +: DATA_W] is
 * x[b*ELEMS + e]; ceil(COLS/ELEMS) beats, lanes past COLS in the last beat ignored; tlast is not
 * needed), m_axis (ELEMS y elements per beat in row order, the same lane order, ceil(GATES*ROWS/ELEMS)
 * beats, lanes past GATES*ROWS in the last beat zero, tlast on the last; a beat goes out as soon as
 * its rows are final, while later tile rows are still in the MAC and reduction engines: the tile rows
 * reduce the output rows in order). ELEMS = 1 is one element per
 * beat; a wider stream only shortens the load and output phases (the buffers take ELEMS elements per
 * clock), which at one element per beat dominate a step of SR1 (docs/csb.md). rst (synchronous,
 * active high) drops a vector in flight, empties both halves of every PE's partial sums (BLOCK /
 * RED_ROWS clocks, s_axis_tready low: LUT RAM has no reset) and returns to the load phase.
 * stat_mac_cycles counts clocks with MACs and stat_busy enabled PE-slots in them, since reset (three
 * clocks after the step's read: the MAC stage, the groups' counts registered, the total registered):
 * utilization = stat_busy / (K*L*P*Q * stat_mac_cycles), which equals the schedule's
 * (ernn.export.csb_schedule.Schedule.utilization).
 *
 * Latency per vector without stalls: ceil(COLS/ELEMS) + the engines' overlapped time (about the sum over
 * tile rows of max(lens[a], BLOCK / RED_ROWS), plus the last reduction) + two clocks of the reduction
 * pipeline + the output beats that the engines did not hide, at least one (ernn.export.csb_program.array_cycles, output_clocks). Resources: K*L*P*Q multipliers; per PE 2 halves x 3 banks x
 * BLOCK words of 1 + SUM_W bits of partial sums in single-port LUT RAM (a half is read by one engine
 * at a time: the MACs' read-modify-write or the reduction), no registers; K*L*3*RED_ROWS*SUM_W
 * + K*RED_ROWS*SUM_W flip-flops of the reduction pipeline (each group's three sums, each group row's
 * sum) and K*L*(P*Q*(1 + W_W + 2 + INDEX_W) +
 * Q*DATA_W) of the MAC pipeline (a step's program fields and x values); K*L*Q read ports into the x buffer (COLS:1 each);
 * K * RED_ROWS reductions of 3*L*P*Q inputs as trees of two-input adders (ernn_sum_tree: 3 * RED_ROWS
 * trees of P*Q terms per group, then one of up to 3*L terms per group row and lane: about 3*L*P*Q adders of
 * SUM_W bits per group row and lane) and rounding units; the x buffer (LUT RAM, one copy per read port), the program images (one read port
 * each: block RAM at SR1's depths) and the y buffer: banked LUT RAM where each output row is (stacked
 * block row) * BLOCK + offset and a beat holds whole block rows (GATES = 1 or every ROWS a multiple of
 * BLOCK, and ELEMS a multiple of BLOCK: the CSB unit's case; bank k = group row k, one memory per row
 * offset, one write port each), otherwise a register file with K * RED_ROWS write ports.
 */
module ernn_csb_array #
(
    // group rows and columns
    parameter K = 2,
    parameter L = 2,
    // PE rows and columns of a group
    parameter P = 2,
    parameter Q = 2,
    // gate matrices stacked (LSTM 4, GRU 3, projection 1)
    parameter GATES = 1,
    // rows of one gate matrix
    parameter ROWS = 8,
    // columns (input elements)
    parameter COLS = 8,
    // elements per input beat and per output beat (the stream width)
    parameter ELEMS = 1,
    // output rows the reduction produces per clock and group row (divides BLOCK)
    parameter RED_ROWS = 1,
    // CSB block size M
    parameter BLOCK = 4,
    // data (x) word
    parameter DATA_W = 16,
    // kernel value word
    parameter W_W = 16,
    // accumulator word (> DATA_W + W_W)
    parameter ACC_W = 40,
    // the word the partial sums and the reduction use (DATA_W + W_W < SUM_W <= ACC_W): wide enough for
    // every exact row sum of every program (ernn.golden.csb.sum_word), which sums modulo 2**SUM_W then
    // give exactly, whatever the order; ACC_W by default
    parameter SUM_W = ACC_W,
    // output (ifft_out) word
    parameter OUT_W = 19,
    // accumulator.frac - ifft_out.frac (round half up when > 0, exact left shift when < 0)
    parameter SHIFT = 12,
    // bits of a row offset (max(1, clog2 BLOCK)) and of an input index (max(1, clog2 COLS))
    parameter INDEX_W = 2,
    parameter X_W = 3,
    // MAC steps of the whole program, tile rows (ceil(GATES * block rows / K)), bits of a length
    parameter STEPS = 1,
    parameter TILE_ROWS = 1,
    parameter LEN_W = 1,
    // enabled slots of the program (the matrix's kernel entries)
    parameter MACS = 1,
    // width of the statistics counters
    parameter STAT_W = 32,
    // programs in the images (1: the scalar sizes above; more: JOB_TABLE) and, per program,
    // {ROWS, COLS, STEPS, TILE_ROWS, MACS} (program 0 and field 0 in the highest bits)
    parameter JOBS = 1,
    parameter [JOBS*5*32-1:0] JOB_TABLE = {(JOBS*5*32){1'b0}},
    // $readmemh program images (ernn.export.csb_program.write)
    parameter EN_FILE = "",
    parameter VAL_FILE = "",
    parameter X_FILE = "",
    parameter TGT_FILE = "",
    parameter LENS_FILE = ""
)
(
    input  wire                clk,
    input  wire                rst,

    // the program of the vector being loaded (held until its last input beat; not read when JOBS = 1)
    input  wire [(JOBS > 1 ? $clog2(JOBS) : 1)-1:0] prog,

    input  wire [ELEMS*DATA_W-1:0] s_axis_tdata,  // Q(DATA_W) per lane: ELEMS x elements
    input  wire                s_axis_tvalid,
    output wire                s_axis_tready,
    // the vector length is COLS: tlast is not needed to find its end
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire                s_axis_tlast,
    /* verilator lint_on UNUSEDSIGNAL */

    output wire [ELEMS*OUT_W-1:0] m_axis_tdata,  // Q(OUT_W) per lane: ELEMS y elements
    output wire                m_axis_tvalid,
    input  wire                m_axis_tready,
    output wire                m_axis_tlast,

    output reg  [STAT_W-1:0]   stat_mac_cycles,  // clocks in the MAC phase since reset
    output reg  [STAT_W-1:0]   stat_busy         // enabled PE-slots in them
);

localparam GROUPS = K * L;
localparam PES = P * Q;
localparam T_W = 2 + INDEX_W;

// program j's sizes (JOBS = 1: the scalar parameters), their largest and their sums
localparam F_ROWS = 0, F_COLS = 1, F_STEPS = 2, F_TILE_ROWS = 3, F_MACS = 4;
function integer jf(input integer j, input integer f);
    begin
        if (JOBS == 1) begin
            jf = (f == F_ROWS) ? ROWS : (f == F_COLS) ? COLS : (f == F_STEPS) ? STEPS
                 : (f == F_TILE_ROWS) ? TILE_ROWS : MACS;
        end else begin
            jf = JOB_TABLE[((JOBS - 1 - j) * 5 + (4 - f)) * 32 +: 32];
        end
    end
endfunction
function integer jmax(input integer f);
    integer i;
    begin
        jmax = 0;
        for (i = 0; i < JOBS; i = i + 1) begin
            if (jf(i, f) > jmax) jmax = jf(i, f);
        end
    end
endfunction
// the sum of field f over programs 0 .. upto-1 (a program's first word, with f = STEPS or TILE_ROWS)
function integer jsum(input integer f, input integer upto);
    integer i;
    begin
        jsum = 0;
        for (i = 0; i < upto; i = i + 1) begin
            jsum = jsum + jf(i, f);
        end
    end
endfunction

localparam ROWS_MAX = jmax(F_ROWS);
localparam COLS_MAX = jmax(F_COLS);
localparam OUTS = GATES * ROWS_MAX;       // y buffer: the largest program's output vector
localparam PROG_WORDS = jsum(F_STEPS, JOBS);
localparam PA_W = PROG_WORDS > 1 ? $clog2(PROG_WORDS) : 1;  // a program word's address
localparam PROG_DEPTH = PROG_WORDS > 0 ? PROG_WORDS : 1;
localparam LENS_DEPTH = jsum(F_TILE_ROWS, JOBS) > 0 ? jsum(F_TILE_ROWS, JOBS) : 1;
localparam PB_W = $clog2(PES + 1);
localparam GB_W = $clog2(GROUPS * PES + 1);
localparam IN_BEATS = (COLS_MAX + ELEMS - 1) / ELEMS;
localparam OUT_BEATS = (OUTS + ELEMS - 1) / ELEMS;
localparam X_CW = $clog2(IN_BEATS + 1);
localparam O_W = $clog2(OUTS + 1);
localparam OB_W = $clog2(OUT_BEATS + 1);
localparam TR_W = $clog2(jmax(F_TILE_ROWS) + 1);
localparam S_W = $clog2(jmax(F_STEPS) + 2);
localparam JOB_W = JOBS > 1 ? $clog2(JOBS) : 1;
localparam RED_CLOCKS = BLOCK / RED_ROWS;  // reduction clocks per tile row
localparam RS_W = $clog2(RED_CLOCKS + 1);
localparam RA_W = RED_CLOCKS > 1 ? $clog2(RED_CLOCKS) : 1;  // a reduction address in a PE memory
localparam LW = RED_ROWS * SUM_W;         // one group's reduction output of one bank, all lanes

// one word per MAC step, every group's fields in it (group 0 lowest): the groups run in lockstep, so each
// image has one read port, at an address registered a clock ahead (block RAM for Yosys; a read port per
// group at a group's own address had it build the deep images in flip-flops)
reg [GROUPS*PES-1:0]     en_mem  [0:PROG_DEPTH-1];
reg [GROUPS*PES*W_W-1:0] val_mem [0:PROG_DEPTH-1];  // Q(W_W) per PE
reg [GROUPS*Q*X_W-1:0]   xi_mem  [0:PROG_DEPTH-1];  // one input index per PE column
reg [GROUPS*PES*T_W-1:0] tgt_mem [0:PROG_DEPTH-1];
reg [LEN_W-1:0]          lens_mem [0:LENS_DEPTH-1];

// elaboration-time bookkeeping in integers (mixed-width reads of the images; cw only indexes them)
/* verilator lint_off UNUSEDSIGNAL */
integer cj, ca, cs, cg, cn, cstep, cmacs, cw, cx, cbank, crow, cblk, cspan;
integer crows, ccols, csteps, ctiles, cbr, cbase, clbase;
reg [GROUPS*Q*X_W-1:0] cx_word;
reg [GROUPS*PES*T_W-1:0] ct_word;
/* verilator lint_on UNUSEDSIGNAL */
/* verilator lint_off WIDTHEXPAND */
/* verilator lint_off WIDTHTRUNC */
// The checks run in the simulators only: Yosys 0.23 cannot resolve $error in a loop over the images, and
// they build no hardware (translate_off around them, never nested; the $readmemh calls stay visible).
initial begin
    // synthesis translate_off
    if (K < 1 || L < 1 || P < 1 || Q < 1 || GATES < 1 || JOBS < 1 || ELEMS < 1) begin
        $error("Error: ernn_csb_array K, L, P, Q, GATES, JOBS, ELEMS must be >= 1 (got %0d, %0d, %0d, %0d, %0d, %0d, %0d)",
               K, L, P, Q, GATES, JOBS, ELEMS);
        $finish;
    end
    if (BLOCK < 2 || (1 << INDEX_W) < BLOCK) begin
        $error("Error: ernn_csb_array BLOCK = %0d must be >= 2 and INDEX_W = %0d wide enough for it", BLOCK, INDEX_W);
        $finish;
    end
    if (RED_ROWS < 1 || BLOCK % RED_ROWS != 0) begin
        $error("Error: ernn_csb_array RED_ROWS = %0d must divide BLOCK = %0d", RED_ROWS, BLOCK);
        $finish;
    end
    if (ACC_W <= DATA_W + W_W || OUT_W < 2 || OUT_W > ACC_W) begin
        $error("Error: ernn_csb_array ACC_W = %0d must be > DATA_W + W_W = %0d and >= OUT_W = %0d", ACC_W, DATA_W + W_W, OUT_W);
        $finish;
    end
    if (SUM_W <= DATA_W + W_W || SUM_W > ACC_W) begin
        $error("Error: ernn_csb_array SUM_W = %0d must be > DATA_W + W_W = %0d and <= ACC_W = %0d", SUM_W, DATA_W + W_W, ACC_W);
        $finish;
    end
    if (EN_FILE == "" || VAL_FILE == "" || X_FILE == "" || TGT_FILE == "" || LENS_FILE == "") begin
        $error("Error: ernn_csb_array needs EN_FILE, VAL_FILE, X_FILE, TGT_FILE and LENS_FILE");
        $finish;
    end
    // synthesis translate_on
    $readmemh(LENS_FILE, lens_mem);
    if (PROG_WORDS > 0) begin
        $readmemh(EN_FILE, en_mem);
        $readmemh(VAL_FILE, val_mem);
        $readmemh(X_FILE, xi_mem);
        $readmemh(TGT_FILE, tgt_mem);
    end
    // synthesis translate_off
    // every program: its sizes, then its slots one by one
    for (cj = 0; cj < JOBS; cj = cj + 1) begin
        crows = jf(cj, F_ROWS);
        ccols = jf(cj, F_COLS);
        csteps = jf(cj, F_STEPS);
        ctiles = jf(cj, F_TILE_ROWS);
        cbr = (crows + BLOCK - 1) / BLOCK;
        cbase = jsum(F_STEPS, cj);
        clbase = jsum(F_TILE_ROWS, cj);
        if (crows < 1 || ccols < 1 || (1 << X_W) < ccols) begin
            $error("Error: ernn_csb_array program %0d: ROWS = %0d and COLS = %0d must be >= 1, X_W = %0d wide enough for COLS",
                   cj, crows, ccols, X_W);
            $finish;
        end
        if (ctiles != (GATES * cbr + K - 1) / K || csteps < 0 || (1 << LEN_W) <= csteps) begin
            $error("Error: ernn_csb_array program %0d: TILE_ROWS = %0d is not ceil(%0d block rows / K = %0d), or LEN_W = %0d cannot hold STEPS = %0d",
                   cj, ctiles, GATES * cbr, K, LEN_W, csteps);
            $finish;
        end
        cstep = 0;
        cmacs = 0;
        for (ca = 0; ca < ctiles; ca = ca + 1) begin
            if (cstep + lens_mem[clbase + ca] > csteps) begin
                $error("Error: ernn_csb_array program %0d, tile row %0d: the lengths run past STEPS = %0d", cj, ca, csteps);
                $finish;
            end
            for (cs = 0; cs < lens_mem[clbase + ca]; cs = cs + 1) begin
                cw = cbase + cstep;
                cx_word = xi_mem[cw];
                ct_word = tgt_mem[cw];
                for (cg = 0; cg < GROUPS; cg = cg + 1) begin
                    for (cn = 0; cn < PES; cn = cn + 1) begin
                        if (en_mem[cw][cg * PES + cn]) begin
                            cmacs = cmacs + 1;
                            // PE column cn mod Q of group cg
                            cx = (cx_word >> ((cg * Q + cn % Q) * X_W)) & ((1 << X_W) - 1);
                            cbank = (ct_word >> ((cg * PES + cn) * T_W + INDEX_W)) & 3;
                            crow = (ct_word >> ((cg * PES + cn) * T_W)) & ((1 << INDEX_W) - 1);
                            cblk = ca * K + cg / L + (cbank == 1 ? -1 : cbank == 2 ? 1 : 0);
                            cspan = (cblk % cbr + 1) * BLOCK > crows ? crows - (cblk % cbr) * BLOCK : BLOCK;
                            if (cx >= ccols) begin
                                $error("Error: ernn_csb_array program %0d, group (%0d, %0d), tile row %0d, step %0d, PE %0d: input index %0d outside COLS = %0d",
                                       cj, cg / L, cg % L, ca, cs, cn, cx, ccols);
                                $finish;
                            end
                            if (cbank == 3 || (cbank == 1 && cg / L == 0) || (cbank == 2 && cg / L == K - 1) || cblk < 0
                                    || cblk >= GATES * cbr || crow >= cspan) begin
                                $error("Error: ernn_csb_array program %0d, group (%0d, %0d), tile row %0d, step %0d, PE %0d: target bank %0d row %0d is outside CSB block (gate %0d, block row %0d)",
                                       cj, cg / L, cg % L, ca, cs, cn, cbank, crow,
                                       cblk < 0 ? -1 : cblk / cbr, cblk < 0 ? -1 : cblk % cbr);
                                $finish;
                            end
                        end
                    end
                end
                cstep = cstep + 1;
            end
        end
        if (cstep != csteps || cmacs != jf(cj, F_MACS)) begin
            $error("Error: ernn_csb_array program %0d holds %0d steps and %0d enabled slots; STEPS = %0d, MACS = %0d",
                   cj, cstep, cmacs, csteps, jf(cj, F_MACS));
            $finish;
        end
    end
    // synthesis translate_on
end
/* verilator lint_on WIDTHTRUNC */
/* verilator lint_on WIDTHEXPAND */

localparam [1:0] S_EMPTY = 2'd3, S_LOAD = 2'd0, S_RUN = 2'd1, S_OUT = 2'd2;

reg [1:0]          state_reg;
// the input vector as it came, one stream beat per word (element e of beat b in lane e; lanes past COLS
// in the last beat hold the fill and are never read): one write port of the whole word, so Yosys builds
// each PE column's read port as a LUT RAM copy and a lane select, not a COLS:1 multiplexer over registers.
// ram_style: with more than a few read ports (16 at 2 x 2 groups of 4 x 4, 128 at SR1's 512 PEs) Yosys
// 0.23's memory_libmap prices the LUT RAM copies above flip-flops and maps the shallow memory to
// registers, each port then a multiplexer over all IN_BEATS words (188 k LUT at 64 PEs and 1,024 columns)
(* ram_style = "distributed" *)
reg [ELEMS*DATA_W-1:0] x_mem [0:IN_BEATS-1];  // Q(DATA_W) per lane
reg [X_CW-1:0]     x_count_reg;        // input beat
reg [TR_W-1:0]     m_a_reg;            // tile row of the MAC engine (TILE_ROWS when it is done)
reg [S_W-1:0]      m_s_reg;            // its MAC step within the tile row
reg [S_W-1:0]      t_reg;              // MAC step of the program
reg [TR_W-1:0]     r_a_reg;            // tile row of the reduction engine
reg [RS_W-1:0]     r_i_reg;            // its reduction clock within the tile row
reg [1:0]          full_reg;           // half h holds a MAC'd tile row that is not yet reduced
reg [OB_W-1:0]     o_reg;              // output beat (the next one to send)
reg [O_W-1:0]      y_hi_reg;           // 1 + the highest output row reduced so far in this vector
reg [O_W-1:0]      rows_done_reg;      // output rows final: those of the tile rows reduced (a prefix of y)
reg [JOB_W-1:0]    prog_reg;           // the program of the vector in flight (from its input beats)
// the MAC pipeline's second stage: the program words and the x values read in the clock before, MAC'd
// into the PEs now (the read-modify-write stays within this clock: no forwarding)
reg                pe_mac_d;           // the clock before issued a MAC step
reg                mac_half_d;         // its half
reg                mac_done_d;         // ... and was the last MAC clock of its tile row
// the reduction pipeline: stage 1 (the reduction clock) reads the PEs and sums each group (red_bus_reg),
// stage 2 sums the group rows (red_sum_reg), stage 3 rounds and writes y with the reduction engine's state
// of two clocks before (*_p: one clock late, *_y: two)
reg                red_go_p, red_go_y;        // a reduction clock
reg                red_free_p, red_free_y;    // ... the last of its tile row
reg [TR_W-1:0]     r_a_p, r_a_y;              // its tile row
reg [RS_W-1:0]     r_i_p, r_i_y;              // its reduction clock within the tile row

/* verilator lint_off WIDTHEXPAND */
/* verilator lint_off WIDTHTRUNC */
// the running program and its sizes: `prog` while its input beats come in, then the one they came with
// (JOBS = 1: program 0 whatever `prog` is, so a one-program array may leave it open)
wire [JOB_W-1:0] job = (JOBS == 1) ? {JOB_W{1'b0}} : (state_reg == S_LOAD) ? prog : prog_reg;
localparam LB_W = $clog2(LENS_DEPTH + 1);
wire [JOBS*TR_W-1:0] jb_tile_rows;  // per program: tile rows
wire [JOBS*LB_W-1:0] jb_lens_base;  // its first word of the lengths image
wire [JOBS*X_CW-1:0] jb_in_last;    // its last input beat
wire [JOBS*OB_W-1:0] jb_out_last;   // its last output beat
wire [JOBS*O_W-1:0]  jb_outs;       // its outputs
genvar gp;
generate
    for (gp = 0; gp < JOBS; gp = gp + 1) begin : prog_size
        assign jb_tile_rows[gp*TR_W +: TR_W] = jf(gp, F_TILE_ROWS);
        assign jb_lens_base[gp*LB_W +: LB_W] = jsum(F_TILE_ROWS, gp);
        assign jb_in_last[gp*X_CW +: X_CW] = (jf(gp, F_COLS) + ELEMS - 1) / ELEMS - 1;
        assign jb_out_last[gp*OB_W +: OB_W] = (GATES * jf(gp, F_ROWS) + ELEMS - 1) / ELEMS - 1;
        assign jb_outs[gp*O_W +: O_W] = GATES * jf(gp, F_ROWS);
    end
endgenerate
wire [TR_W-1:0] j_tile_rows = jb_tile_rows[job*TR_W +: TR_W];
wire [LB_W-1:0] j_lens_base = jb_lens_base[job*LB_W +: LB_W];
wire [X_CW-1:0] j_in_last = jb_in_last[job*X_CW +: X_CW];
wire [OB_W-1:0] j_out_last = jb_out_last[job*OB_W +: OB_W];
wire [O_W-1:0]  j_outs = jb_outs[job*O_W +: O_W];
/* verilator lint_on WIDTHTRUNC */
/* verilator lint_on WIDTHEXPAND */

/* verilator lint_off WIDTHEXPAND */
/* verilator lint_off WIDTHTRUNC */
// the two engines: the MAC engine runs tile row m_a into half m_a mod 2 once that half is free; the
// reduction engine reduces tile row r_a from half r_a mod 2 once it is full. Both run in the same
// clocks on different halves (a half is either being filled or full, never both).
wire m_live = (m_a_reg < j_tile_rows);
wire [LEN_W-1:0] cur_len = lens_mem[j_lens_base + (m_live ? m_a_reg : {TR_W{1'b0}})];
wire mac_go = (state_reg == S_RUN) && m_live && !full_reg[m_a_reg[0]];
wire mac_last = (cur_len == 0) || (m_s_reg + 1 == cur_len);  // a tile row without steps takes one clock
wire pe_mac = mac_go && (cur_len != 0);
wire red_go = (state_reg == S_RUN) && full_reg[r_a_reg[0]];
wire red_last = (r_i_reg == RED_CLOCKS - 1);
wire red_free = red_go && red_last;
// the PEs empty what the reduction reads; after a reset they empty both halves (S_EMPTY)
wire [1:0] pe_zero = (state_reg == S_EMPTY) ? 2'b11 : (red_go ? (2'b01 << r_a_reg[0]) : 2'b00);
wire [RA_W-1:0] pe_red_addr = r_i_reg;  // the reduction clock = the address in the PE memories

// group outputs: reduction sums (own, up, down) per lane and busy slots, group g = k*L + l
// (the top group row's bank 1 and the bottom row's bank 2 are never targeted, and never read)
/* verilator lint_off UNUSEDSIGNAL */
wire [GROUPS*3*LW-1:0]  red_bus;
reg  [GROUPS*3*LW-1:0]  red_bus_reg;  // red_bus of the clock before (the reduction pipeline register)
/* verilator lint_on UNUSEDSIGNAL */
wire [GROUPS*PB_W-1:0]  busy_bus;  // enabled slots per group this step
wire [K*LW-1:0]         red_sum;   // Q(SUM_W) per group row and lane: its reduction sum (stage 2)
reg  [K*LW-1:0]         red_sum_reg;  // red_sum of the clock before (stage 3's input)
reg  [GB_W-1:0]         busy_all;  // enabled slots of all groups this step
// the counters take the count two clocks later, the groups' counts registered and then their total: at
// 512 PEs the count of the enable bits and the counter's add in one clock were the netlist's longest path
// (30 logic levels, a statistics path), and the count of 512 bits alone still 25
reg  [GROUPS*PB_W-1:0]  busy_bus_reg;
reg  [GB_W-1:0]         busy_reg;
reg                     busy_valid_p, busy_valid;
// reduction outputs per group row and lane (index k*RED_ROWS + j): the rounded sum, its output row,
// and whether that row exists
wire [K*RED_ROWS-1:0]       red_valid;
wire [K*RED_ROWS*O_W-1:0]   red_addr;
wire [K*RED_ROWS*OUT_W-1:0] red_y;  // Q(OUT_W) per group row and lane

// this step's program words, all groups' (address: the STEPS of the programs before + t). The address is
// registered: prog_addr_reg = base(the next program) + the next t, so it equals base(job) + t_reg in
// every clock (t_reg stays below the program's STEPS while pe_mac is high)
wire load_done = (state_reg == S_LOAD) && s_axis_tvalid && (x_count_reg == j_in_last);
wire [S_W-1:0] t_next = load_done ? {S_W{1'b0}} : (pe_mac ? t_reg + 1'b1 : t_reg);
wire [JOB_W-1:0] prog_next = (state_reg == S_LOAD && s_axis_tvalid) ? prog : prog_reg;
wire [JOBS*32-1:0] base_bus;  // per program: its first word
genvar gb;
generate
    for (gb = 0; gb < JOBS; gb = gb + 1) begin : prog_base
        assign base_bus[gb*32 +: 32] = jsum(F_STEPS, gb);
    end
endgenerate
/* verilator lint_off UNUSEDSIGNAL */
wire [31:0] prog_addr_next = base_bus[(JOBS == 1 ? 0 : prog_next)*32 +: 32] + t_next;
/* verilator lint_on UNUSEDSIGNAL */
reg [PA_W-1:0] prog_addr_reg;
wire [GROUPS*PES-1:0]     en_word = en_mem[prog_addr_reg];
wire [GROUPS*PES*W_W-1:0] val_word = val_mem[prog_addr_reg];
wire [GROUPS*Q*X_W-1:0]   xi_word = xi_mem[prog_addr_reg];
wire [GROUPS*PES*T_W-1:0] tgt_word = tgt_mem[prog_addr_reg];
reg  [GROUPS*PES-1:0]     en_d;   // the words of the clock before (the MAC pipeline's second stage)
reg  [GROUPS*PES*W_W-1:0] val_d;
reg  [GROUPS*PES*T_W-1:0] tgt_d;

genvar gg, gk;
generate
    for (gg = 0; gg < GROUPS; gg = gg + 1) begin : group
        // one x read per PE column, broadcast to the column's P PEs in the group
        wire [Q*X_W-1:0] xi = xi_word[gg*Q*X_W +: Q*X_W];
        wire [Q*DATA_W-1:0] xv;  // Q(DATA_W) per PE column
        wire [PB_W-1:0] busy;
        genvar gn;
        for (gn = 0; gn < Q; gn = gn + 1) begin : fetch
            wire [X_W-1:0] idx = xi[gn*X_W +: X_W];  // < COLS (elaboration check) when a PE is enabled
            /* verilator lint_off UNUSEDSIGNAL */
            wire [31:0] beat = idx / ELEMS;  // bit fields when ELEMS is a power of two
            wire [31:0] lane = idx % ELEMS;
            /* verilator lint_on UNUSEDSIGNAL */
            wire [ELEMS*DATA_W-1:0] word = x_mem[beat[X_CW-1:0]];
            assign xv[gn*DATA_W +: DATA_W] = word[lane*DATA_W +: DATA_W];
        end
        reg [Q*DATA_W-1:0] xv_d;  // Q(DATA_W) per PE column: read in the clock before
        always @(posedge clk) begin
            xv_d <= xv;
        end

        ernn_csb_group #(
            .P(P),
            .Q(Q),
            .DATA_W(DATA_W),
            .W_W(W_W),
            .ACC_W(SUM_W),
            .BLOCK(BLOCK),
            .INDEX_W(INDEX_W),
            .RED_ROWS(RED_ROWS),
            .RA_W(RA_W)
        )
        group_inst (
            .clk(clk),
            .mac(pe_mac_d),
            .mac_half(mac_half_d),
            .en(en_d[gg*PES +: PES]),
            .value(val_d[gg*PES*W_W +: PES*W_W]),
            .x(xv_d),
            .target(tgt_d[gg*PES*T_W +: PES*T_W]),
            .red_half(r_a_reg[0]),
            .red_addr(pe_red_addr),
            .zero(pe_zero),
            .red_own(red_bus[(gg*3+0)*LW +: LW]),
            .red_up(red_bus[(gg*3+1)*LW +: LW]),
            .red_down(red_bus[(gg*3+2)*LW +: LW]),
            .busy(busy)
        );

        assign busy_bus[gg*PB_W +: PB_W] = busy;
    end

    // per group row and lane: one rounding of its reduction sum, and the output row it belongs to
    for (gk = 0; gk < K * RED_ROWS; gk = gk + 1) begin : red
        wire [OUT_W-1:0] y_sat;        // Q(OUT_W)
        /* verilator lint_off UNUSEDSIGNAL */
        wire [31:0] blk = r_a_y * K + gk / RED_ROWS;        // stacked block row
        /* verilator lint_on UNUSEDSIGNAL */
        // per program (its block rows per gate BR and its ROWS are constants there): the output row
        // and whether it exists
        wire [JOBS-1:0]     valid_bus;
        wire [JOBS*O_W-1:0] row_bus;
        genvar gr;
        for (gr = 0; gr < JOBS; gr = gr + 1) begin : per_prog
            localparam integer PR = jf(gr, F_ROWS);
            localparam integer BR = (PR + BLOCK - 1) / BLOCK;
            /* verilator lint_off UNUSEDSIGNAL */
            wire [31:0] row_in_gate = (blk % BR) * BLOCK + r_i_y * RED_ROWS + gk % RED_ROWS;
            wire [31:0] out_row = (blk / BR) * PR + row_in_gate;
            /* verilator lint_on UNUSEDSIGNAL */
            assign valid_bus[gr] = (blk < GATES * BR) && (row_in_gate < PR);
            assign row_bus[gr*O_W +: O_W] = out_row[O_W-1:0];
        end
        wire valid = valid_bus[job];
        // the exact sum, sign-extended from SUM_W (which holds it) to the accumulator's width
        wire signed [SUM_W-1:0] sum_w = red_sum_reg[gk*SUM_W +: SUM_W];
        wire signed [ACC_W-1:0] sum_ext = sum_w;
        wire [O_W-1:0] out_row = row_bus[job*O_W +: O_W];

        ernn_round_sat #(
            .IN_W(ACC_W),
            .SHIFT(SHIFT),
            .OUT_W(OUT_W),
            .SYMMETRIC(0)
        )
        round_sat_inst (
            .in(sum_ext),
            .out(y_sat)
        );

        assign red_valid[gk] = valid;
        assign red_addr[gk*O_W +: O_W] = out_row;
        assign red_y[gk*OUT_W +: OUT_W] = y_sat;
    end
endgenerate

// the reduction of group row k, lane j: its own bank 0, bank 2 of the row above, bank 1 of the row
// below, summed over the group columns as a tree of two-input adders (ernn_sum_tree); and the enabled
// slots of all groups this step
genvar rk, rj, rl;
generate
    for (rk = 0; rk < K; rk = rk + 1) begin : row_sum
        // terms: L own sums, then L from the row above (if any), then L from the row below (if any)
        localparam HAS_ABOVE = (rk > 0) ? 1 : 0;
        localparam HAS_BELOW = (rk < K - 1) ? 1 : 0;
        localparam TERMS = L * (1 + HAS_ABOVE + HAS_BELOW);
        for (rj = 0; rj < RED_ROWS; rj = rj + 1) begin : lane
            wire [TERMS*SUM_W-1:0] terms;  // Q(SUM_W) each
            for (rl = 0; rl < L; rl = rl + 1) begin : col
                assign terms[rl*SUM_W +: SUM_W] = red_bus_reg[((rk*L+rl)*3+0)*LW + rj*SUM_W +: SUM_W];
                if (HAS_ABOVE) begin : above
                    assign terms[(L + rl)*SUM_W +: SUM_W] =
                        red_bus_reg[(((rk-1)*L+rl)*3+2)*LW + rj*SUM_W +: SUM_W];
                end
                if (HAS_BELOW) begin : below
                    assign terms[((1 + HAS_ABOVE)*L + rl)*SUM_W +: SUM_W] =
                        red_bus_reg[(((rk+1)*L+rl)*3+1)*LW + rj*SUM_W +: SUM_W];
                end
            end
            ernn_sum_tree #(.N(TERMS), .W(SUM_W)) tree_inst (
                .terms(terms),
                .sum(red_sum[(rk*RED_ROWS+rj)*SUM_W +: SUM_W])
            );
        end
    end
endgenerate

integer kk;

always @* begin
    busy_all = {GB_W{1'b0}};
    for (kk = 0; kk < GROUPS; kk = kk + 1) begin
        busy_all = busy_all + busy_bus_reg[kk*PB_W +: PB_W];
    end
end

// the output engine: beat o goes out as soon as its rows are final, while later tile rows still run
// (the stacked block rows, and so the output rows, are reduced in order: the rows of the tile rows
// reduced so far are a prefix of y); the last beat waits for the last reduction (state S_OUT)
reg [O_W-1:0] red_hi;  // 1 + the highest output row this reduction clock writes (0: none)
integer kh;
always @* begin
    red_hi = {O_W{1'b0}};
    for (kh = 0; kh < K * RED_ROWS; kh = kh + 1) begin
        if (red_valid[kh]) red_hi = red_addr[kh*O_W +: O_W] + 1'b1;  // lanes in row order: the last wins
    end
end
wire [O_W-1:0] y_hi_next = (red_go_y && red_hi > y_hi_reg) ? red_hi : y_hi_reg;
/* verilator lint_off UNUSEDSIGNAL */
wire [31:0] o_end = o_reg * ELEMS + ELEMS;  // the rows beat o_reg needs
/* verilator lint_on UNUSEDSIGNAL */
wire o_ready = (o_end <= rows_done_reg) || (rows_done_reg == j_outs);
wire o_left = (o_reg <= j_out_last);

assign s_axis_tready = (state_reg == S_LOAD);
assign m_axis_tvalid = (state_reg == S_RUN || state_reg == S_OUT) && o_left && o_ready;
assign m_axis_tlast = (o_reg == j_out_last);

// The y buffer. Banked (Y_BANKED) where every output row is (stacked block row) * BLOCK + offset (GATES = 1,
// or every program's ROWS a multiple of BLOCK) and an output beat holds whole block rows (ELEMS a multiple
// of BLOCK), as in the CSB unit: group row k's rows go to bank k, one memory per row offset r, TILE_ROWS
// words deep (word = tile row), each with one write port (the reduction lane r mod RED_ROWS of group row k,
// at reduction clock r / RED_ROWS), so LUT RAM; a beat reads its ELEMS / BLOCK block rows i, each from bank
// i mod K at word i / K. Otherwise one register file with a write port per reduction lane, which at SR1's
// 4,096 rows and 8 group rows is hundreds of thousands of LUTs of write decode. Same clocks either way.
function integer rows_aligned(input integer dummy);
    integer i;
    begin
        rows_aligned = (dummy == 0);
        for (i = 0; i < JOBS; i = i + 1) begin
            if (jf(i, F_ROWS) % BLOCK != 0) rows_aligned = 0;
        end
    end
endfunction
localparam Y_BANKED = (ELEMS % BLOCK == 0) && (GATES == 1 || rows_aligned(0));
localparam NB = ELEMS / BLOCK > 0 ? ELEMS / BLOCK : 1;  // block rows per output beat (Y_BANKED)
localparam YT = jmax(F_TILE_ROWS) > 0 ? jmax(F_TILE_ROWS) : 1;  // words per bank memory
localparam YA_W = YT > 1 ? $clog2(YT) : 1;

// output lanes: y[o_reg*ELEMS + e], zero past the last row
genvar ge;
generate
    if (Y_BANKED) begin : y_banked
        wire [K*BLOCK*NB*OUT_W-1:0] rd_bus;  // per bank k, offset r, beat block row n: the word read
        wire [NB*YA_W-1:0] rd_addr;          // per beat block row n: its word (block row / K)
        wire [NB*32-1:0]   rd_bank;          // and its bank (block row mod K)
        genvar yk, yr, yn;
        for (yn = 0; yn < NB; yn = yn + 1) begin : beat_row
            /* verilator lint_off UNUSEDSIGNAL */
            wire [31:0] blk_row = o_reg * NB + yn;
            wire [31:0] word = blk_row / K;
            /* verilator lint_on UNUSEDSIGNAL */
            assign rd_addr[yn*YA_W +: YA_W] = word[YA_W-1:0];
            assign rd_bank[yn*32 +: 32] = blk_row % K;
        end
        for (yk = 0; yk < K; yk = yk + 1) begin : bank
            for (yr = 0; yr < BLOCK; yr = yr + 1) begin : offset
                reg [OUT_W-1:0] mem [0:YT-1];  // Q(OUT_W): row (tile row * K + yk) * BLOCK + yr
                wire we = red_go_y && red_valid[yk*RED_ROWS + yr % RED_ROWS] && (r_i_y == yr / RED_ROWS);
                always @(posedge clk) begin
                    if (we) begin
                        mem[r_a_y[YA_W-1:0]] <= red_y[(yk*RED_ROWS + yr % RED_ROWS)*OUT_W +: OUT_W];
                    end
                end
                for (yn = 0; yn < NB; yn = yn + 1) begin : read
                    assign rd_bus[((yk*BLOCK + yr)*NB + yn)*OUT_W +: OUT_W] = mem[rd_addr[yn*YA_W +: YA_W]];
                end
            end
        end
        for (ge = 0; ge < ELEMS; ge = ge + 1) begin : out_lane
            /* verilator lint_off UNUSEDSIGNAL */
            wire [31:0] oi = o_reg * ELEMS + ge;
            wire [31:0] bk = rd_bank[(ge / BLOCK)*32 +: 32];
            /* verilator lint_on UNUSEDSIGNAL */
            // a K:1 selection at constant offsets (a part-select at a variable bank times a width that is
            // not a power of two made Yosys build a barrel shifter over the whole bus for every lane)
            reg [OUT_W-1:0] y;  // Q(OUT_W)
            integer yb;
            always @* begin
                y = {OUT_W{1'b0}};
                for (yb = 0; yb < K; yb = yb + 1) begin
                    if (bk == yb) y = rd_bus[((yb*BLOCK + ge % BLOCK)*NB + ge / BLOCK)*OUT_W +: OUT_W];
                end
            end
            assign m_axis_tdata[ge*OUT_W +: OUT_W] = (oi < j_outs) ? y : {OUT_W{1'b0}};
        end
    end else begin : y_file
        reg [OUT_W-1:0] y_buf [0:OUTS-1];  // Q(OUT_W)
        integer kr;
        always @(posedge clk) begin
            if (red_go_y) begin
                for (kr = 0; kr < K * RED_ROWS; kr = kr + 1) begin
                    if (red_valid[kr]) begin
                        y_buf[red_addr[kr*O_W +: O_W]] <= red_y[kr*OUT_W +: OUT_W];
                    end
                end
            end
        end
        for (ge = 0; ge < ELEMS; ge = ge + 1) begin : out_lane
            /* verilator lint_off UNUSEDSIGNAL */
            wire [31:0] oi = o_reg * ELEMS + ge;
            /* verilator lint_on UNUSEDSIGNAL */
            assign m_axis_tdata[ge*OUT_W +: OUT_W] = (oi < j_outs) ? y_buf[oi] : {OUT_W{1'b0}};
        end
    end
endgenerate

// the x memory's write port on its own: inside the state machine below (with the reset's overrides after
// it) Yosys 0.23 saw a separate write enable per data bit and built its LUT RAM one bit per RAM32M16,
// 14x the cells of a shared enable (8,192 LUT sites a read port at SR1's 16 x 1,024 bits, 592 now; the
// same writes: a beat is written in S_LOAD whatever rst does, and the memory is not reset)
always @(posedge clk) begin
    if (state_reg == S_LOAD && s_axis_tvalid) begin
        x_mem[x_count_reg] <= s_axis_tdata;
    end
end

always @(posedge clk) begin
    // the program step, the program and the program words' address (not reset: each vector sets them as
    // its input beats come)
    t_reg <= t_next;
    prog_reg <= prog_next;
    prog_addr_reg <= prog_addr_next[PA_W-1:0];
    // the MAC pipeline: a tile row's half is full a clock after its last MAC step is read (its MACs land
    // then); the utilization counters count the MAC stage
    pe_mac_d <= pe_mac;
    mac_half_d <= m_a_reg[0];
    mac_done_d <= mac_go && mac_last;
    en_d <= en_word;
    val_d <= val_word;
    tgt_d <= tgt_word;
    busy_bus_reg <= busy_bus;
    busy_reg <= busy_all;
    busy_valid_p <= pe_mac_d;
    busy_valid <= busy_valid_p;
    if (busy_valid) begin
        stat_mac_cycles <= stat_mac_cycles + 1;
        stat_busy <= stat_busy + busy_reg;
    end
    // the reduction pipeline (its second stage may run into S_OUT: the last beat waits for rows_done_reg)
    red_bus_reg <= red_bus;
    red_sum_reg <= red_sum;
    red_go_p <= red_go;
    red_free_p <= red_free;
    r_a_p <= r_a_reg;
    r_i_p <= r_i_reg;
    red_go_y <= red_go_p;
    red_free_y <= red_free_p;
    r_a_y <= r_a_p;
    r_i_y <= r_i_p;
    y_hi_reg <= y_hi_next;
    if (red_free_y) begin
        rows_done_reg <= y_hi_next;
    end
    case (state_reg)
        S_LOAD: begin
            if (s_axis_tvalid) begin
                if (x_count_reg == j_in_last) begin
                    x_count_reg <= 0;
                    m_a_reg <= 0;
                    m_s_reg <= 0;
                    r_a_reg <= 0;
                    r_i_reg <= 0;
                    full_reg <= 2'b00;
                    o_reg <= 0;
                    y_hi_reg <= 0;
                    rows_done_reg <= 0;
                    state_reg <= S_RUN;
                end else begin
                    x_count_reg <= x_count_reg + 1;
                end
            end
        end
        S_RUN: begin
            // the MAC engine
            if (mac_go) begin
                if (mac_last) begin
                    m_a_reg <= m_a_reg + 1;
                    m_s_reg <= 0;
                end else begin
                    m_s_reg <= m_s_reg + 1;
                end
            end
            // output beats whose rows are final (never the last one: it needs the last reduction)
            if (m_axis_tvalid && m_axis_tready) begin
                o_reg <= o_reg + 1;
            end
            // the reduction engine, RED_ROWS rows per clock of every group row's block row (its sums reach
            // the y buffer a clock later: the pipeline above)
            if (red_go) begin
                if (red_last) begin
                    r_i_reg <= 0;
                    r_a_reg <= r_a_reg + 1;
                    if (r_a_reg == j_tile_rows - 1) begin
                        state_reg <= S_OUT;
                    end
                end else begin
                    r_i_reg <= r_i_reg + 1;
                end
            end
            // the halves: the MAC engine fills one, the reduction engine empties the other
            full_reg <= (full_reg | (mac_done_d ? (2'b01 << mac_half_d) : 2'b00))
                        & ~(red_free ? (2'b01 << r_a_reg[0]) : 2'b00);
        end
        S_EMPTY: begin
            // after a reset: every PE empties row r_i of both halves
            if (red_last) begin
                r_i_reg <= 0;
                state_reg <= S_LOAD;
            end else begin
                r_i_reg <= r_i_reg + 1;
            end
        end
        S_OUT: begin
            // the beats left once every row is final
            if (m_axis_tvalid && m_axis_tready) begin
                if (o_reg == j_out_last) begin
                    o_reg <= 0;
                    state_reg <= S_LOAD;
                end else begin
                    o_reg <= o_reg + 1;
                end
            end
        end
    endcase
    if (rst) begin
        state_reg <= S_EMPTY;
        r_i_reg <= 0;
        x_count_reg <= 0;
        o_reg <= 0;
        full_reg <= 2'b00;
        pe_mac_d <= 1'b0;
        mac_done_d <= 1'b0;
        busy_valid_p <= 1'b0;
        busy_valid <= 1'b0;
        red_go_p <= 1'b0;
        red_free_p <= 1'b0;
        red_go_y <= 1'b0;
        red_free_y <= 1'b0;
        stat_mac_cycles <= {STAT_W{1'b0}};
        stat_busy <= {STAT_W{1'b0}};
    end
end
/* verilator lint_on WIDTHTRUNC */
/* verilator lint_on WIDTHEXPAND */

endmodule

`resetall
