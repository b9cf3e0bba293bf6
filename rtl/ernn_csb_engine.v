/*

E-RNN toolkit: CSB matrix-vector engine (one MAC per clock over the exported kernel images)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * y = W x for one CSB matrix of GATES stacked gate matrices (ROWS x COLS each), as ernn.golden.csb
 * computes it (docs/numerics.md, section 15), bit for bit:
 *
 *   acc[g*ROWS + i*BLOCK + row_index[a]] += values[v] * x[j*BLOCK + col_index[b]]
 *       for every block (g, i, j) in row-major order, kept row a, kept column b (v counts along)
 *   y[r] = sat_OUT( (acc[r] + 2**(SHIFT-1)) >>> SHIFT )    (round half up: ernn_round_sat)
 *
 * Formats: x Q(DATA_W) (data), values Q(W_W) (weight), acc Q(ACC_W) exact (frac = data.frac +
 * weight.frac; ACC_W from the golden rule D_W + W_W + max(2, clog2 T) cannot overflow), y Q(OUT_W)
 * (ifft_out), SHIFT = accumulator.frac - ifft_out.frac.
 *
 * Memories ($readmemh, the exporter's images, ernn.export.csb): COUNTS_FILE one word {n_b, m_b} per
 * block (COUNT_W bits each), ROWS_FILE / COLS_FILE the kept offsets (INDEX_W bits), VALUES_FILE the
 * kernel values, block after block. A block's entries start where the previous blocks' counts end.
 * The images are checked at elaboration: a count out of range, a kernel with rows but no columns,
 * an offset out of range or not increasing, or totals that differ from the depths stop the
 * simulation with $error naming the block (gate, block row, block column).
 *
 * Interface: s_axis (one x element per beat, COLS beats, tlast on the last one: a vector whose
 * tlast comes early or late is taken up to COLS elements and s_axis_tlast on another beat is
 * ignored), m_axis (one y per beat, GATES*ROWS beats in row order, tlast on the last). Phases:
 * load x (COLS beats), clear the accumulators (GATES*ROWS clocks), one MAC per clock over the kernel
 * entries (VALUES clocks), stream y out; then the next vector. rst (synchronous, active high)
 * returns to the load phase and drops a vector in flight.
 *
 * Latency per vector: COLS + GATES*ROWS + VALUES + GATES*ROWS clocks without stalls. One multiplier
 * (DATA_W x W_W), GATES*ROWS accumulators of ACC_W bits, the x buffer and the four images.
 * The balanced K x L group array of CSB-RNN is rtl/ernn_csb_array.v (schedule: ernn.export.csb_schedule,
 * program: ernn.export.csb_program).
 */
module ernn_csb_engine #
(
    // gate matrices stacked (LSTM 4, GRU 3, projection 1)
    parameter GATES = 1,
    // rows of one gate matrix
    parameter ROWS = 8,
    // columns (input elements)
    parameter COLS = 8,
    // CSB block size M
    parameter BLOCK = 4,
    // data (x) word
    parameter DATA_W = 16,
    // kernel value word
    parameter W_W = 16,
    // accumulator word
    parameter ACC_W = 40,
    // output (ifft_out) word
    parameter OUT_W = 19,
    // accumulator.frac - ifft_out.frac (round half up when > 0, exact left shift when < 0)
    parameter SHIFT = 12,
    // bits of a count (clog2(BLOCK + 1)) and of an offset (max(1, clog2 BLOCK))
    parameter COUNT_W = 3,
    parameter INDEX_W = 2,
    // image depths: kept row offsets, kept column offsets, kernel values (each >= 1; a zero-length
    // image is given as 1 and its count of 0 recorded in the *_USED parameters)
    parameter ROWS_USED = 1,
    parameter COLS_USED = 1,
    parameter VALUES_USED = 1,
    // $readmemh images (ernn export: mem/l<L>_<matrix>_{counts,rows,cols,values}.mem)
    parameter COUNTS_FILE = "",
    parameter ROWS_FILE = "",
    parameter COLS_FILE = "",
    parameter VALUES_FILE = ""
)
(
    input  wire                clk,
    input  wire                rst,

    input  wire [DATA_W-1:0]   s_axis_tdata,   // Q(DATA_W): one x element
    input  wire                s_axis_tvalid,
    output wire                s_axis_tready,
    // the vector length is COLS: tlast is not needed to find its end
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire                s_axis_tlast,
    /* verilator lint_on UNUSEDSIGNAL */

    output wire [OUT_W-1:0]    m_axis_tdata,   // Q(OUT_W): one y element
    output wire                m_axis_tvalid,
    input  wire                m_axis_tready,
    output wire                m_axis_tlast
);

localparam BLOCK_ROWS = (ROWS + BLOCK - 1) / BLOCK;
localparam BLOCK_COLS = (COLS + BLOCK - 1) / BLOCK;
localparam BLOCKS = GATES * BLOCK_ROWS * BLOCK_COLS;
localparam OUTS = GATES * ROWS;
localparam ROWS_DEPTH = ROWS_USED > 0 ? ROWS_USED : 1;
localparam COLS_DEPTH = COLS_USED > 0 ? COLS_USED : 1;
localparam VALUES_DEPTH = VALUES_USED > 0 ? VALUES_USED : 1;
localparam PROD_W = DATA_W + W_W;
localparam B_W = $clog2(BLOCKS + 1);
localparam O_W = $clog2(OUTS + 1);
localparam X_W = $clog2(COLS + 1);
localparam RP_W = $clog2(ROWS_DEPTH + 1);
localparam CP_W = $clog2(COLS_DEPTH + 1);
localparam VP_W = $clog2(VALUES_DEPTH + 1);
localparam K_W = COUNT_W + 1;

// check configuration and the images
reg [2*COUNT_W-1:0] counts_mem [0:BLOCKS-1];
reg [INDEX_W-1:0]   rows_mem   [0:ROWS_DEPTH-1];
reg [INDEX_W-1:0]   cols_mem   [0:COLS_DEPTH-1];
reg [W_W-1:0]       values_mem [0:VALUES_DEPTH-1];  // Q(W_W)

integer ci, cg, cbi, cbj, ca, cm, cn, cro, cco, cvo, span_r, span_c;
// elaboration-time bookkeeping in integers (mixed-width reads of the images)
/* verilator lint_off WIDTHEXPAND */
initial begin
    if (GATES < 1 || ROWS < 1 || COLS < 1) begin
        $error("Error: ernn_csb_engine GATES, ROWS, COLS must be >= 1 (got %0d, %0d, %0d)", GATES, ROWS, COLS);
        $finish;
    end
    if (BLOCK < 2) begin
        $error("Error: ernn_csb_engine BLOCK must be >= 2 (got %0d)", BLOCK);
        $finish;
    end
    if ((1 << COUNT_W) <= BLOCK || (1 << INDEX_W) < BLOCK) begin
        $error("Error: ernn_csb_engine COUNT_W = %0d / INDEX_W = %0d too narrow for BLOCK = %0d", COUNT_W, INDEX_W, BLOCK);
        $finish;
    end
    if (ACC_W < PROD_W || OUT_W < 2 || OUT_W > ACC_W) begin
        $error("Error: ernn_csb_engine ACC_W = %0d must be >= DATA_W + W_W = %0d and >= OUT_W = %0d", ACC_W, PROD_W, OUT_W);
        $finish;
    end
    if (COUNTS_FILE == "" || ROWS_FILE == "" || COLS_FILE == "" || VALUES_FILE == "") begin
        $error("Error: ernn_csb_engine needs COUNTS_FILE, ROWS_FILE, COLS_FILE and VALUES_FILE");
        $finish;
    end
    $readmemh(COUNTS_FILE, counts_mem);
    if (ROWS_USED > 0) $readmemh(ROWS_FILE, rows_mem);
    if (COLS_USED > 0) $readmemh(COLS_FILE, cols_mem);
    if (VALUES_USED > 0) $readmemh(VALUES_FILE, values_mem);
    // the images, block by block (the golden model's CSBMatrix checks, for the engine)
    cro = 0;
    cco = 0;
    cvo = 0;
    for (ci = 0; ci < BLOCKS; ci = ci + 1) begin
        cg = ci / (BLOCK_ROWS * BLOCK_COLS);
        cbi = (ci / BLOCK_COLS) % BLOCK_ROWS;
        cbj = ci % BLOCK_COLS;
        cm = counts_mem[ci][COUNT_W-1:0];
        cn = counts_mem[ci][2*COUNT_W-1:COUNT_W];
        span_r = (cbi + 1) * BLOCK > ROWS ? ROWS - cbi * BLOCK : BLOCK;
        span_c = (cbj + 1) * BLOCK > COLS ? COLS - cbj * BLOCK : BLOCK;
        if (cm > span_r || cn > span_c || (cm == 0) != (cn == 0)) begin
            $error("Error: ernn_csb_engine CSB block (gate %0d, block row %0d, block column %0d): counts (%0d, %0d) outside [0, %0d] x [0, %0d] or a kernel with rows but no columns",
                   cg, cbi, cbj, cm, cn, span_r, span_c);
            $finish;
        end
        if (cro + cm > ROWS_USED || cco + cn > COLS_USED || cvo + cm * cn > VALUES_USED) begin
            $error("Error: ernn_csb_engine CSB block (gate %0d, block row %0d, block column %0d): the counts run past the images (ROWS_USED %0d, COLS_USED %0d, VALUES_USED %0d)",
                   cg, cbi, cbj, ROWS_USED, COLS_USED, VALUES_USED);
            $finish;
        end
        for (ca = 0; ca < cm; ca = ca + 1) begin
            if (rows_mem[cro + ca] >= span_r || (ca > 0 && rows_mem[cro + ca] <= rows_mem[cro + ca - 1])) begin
                $error("Error: ernn_csb_engine CSB block (gate %0d, block row %0d, block column %0d): kept row %0d (offset %0d) out of range or not increasing",
                       cg, cbi, cbj, ca, rows_mem[cro + ca]);
                $finish;
            end
        end
        for (ca = 0; ca < cn; ca = ca + 1) begin
            if (cols_mem[cco + ca] >= span_c || (ca > 0 && cols_mem[cco + ca] <= cols_mem[cco + ca - 1])) begin
                $error("Error: ernn_csb_engine CSB block (gate %0d, block row %0d, block column %0d): kept column %0d (offset %0d) out of range or not increasing",
                       cg, cbi, cbj, ca, cols_mem[cco + ca]);
                $finish;
            end
        end
        cro = cro + cm;
        cco = cco + cn;
        cvo = cvo + cm * cn;
    end
    if (cro != ROWS_USED || cco != COLS_USED || cvo != VALUES_USED) begin
        $error("Error: ernn_csb_engine the counts give %0d rows, %0d columns, %0d values; the images hold %0d, %0d, %0d",
               cro, cco, cvo, ROWS_USED, COLS_USED, VALUES_USED);
        $finish;
    end
end
/* verilator lint_on WIDTHEXPAND */

localparam [1:0] S_LOAD = 2'd0, S_CLEAR = 2'd1, S_MAC = 2'd2, S_OUT = 2'd3;

// control registers (rst sets the state; the counters are set on entering each phase)
reg [1:0]          state_reg;
reg [DATA_W-1:0]   x_mem [0:COLS-1];            // Q(DATA_W)
reg [ACC_W-1:0]    acc_mem [0:OUTS-1];          // Q(ACC_W), exact
reg [X_W-1:0]      x_count_reg;
reg [O_W-1:0]      o_reg;                       // clear / output index
reg [B_W-1:0]      blk_reg;                     // current block
reg [K_W-1:0]      a_reg, b_reg;                // kept row / column within the kernel
reg [RP_W-1:0]     ro_reg;                      // first row offset of the block
reg [CP_W-1:0]     co_reg;                      // first column offset of the block
reg [VP_W-1:0]     vo_reg;                      // next value

// the current block's place and kernel size. Index arithmetic runs in 32-bit integers (operands of
// mixed widths); the elaboration check above bounds every index, so nothing is truncated.
/* verilator lint_off WIDTHEXPAND */
/* verilator lint_off WIDTHTRUNC */
wire [COUNT_W-1:0] m_cur = counts_mem[blk_reg][COUNT_W-1:0];
wire [COUNT_W-1:0] n_cur = counts_mem[blk_reg][2*COUNT_W-1:COUNT_W];
wire [31:0] blk_g = blk_reg / (BLOCK_ROWS * BLOCK_COLS);
wire [31:0] blk_i = (blk_reg / BLOCK_COLS) % BLOCK_ROWS;
wire [31:0] blk_j = blk_reg % BLOCK_COLS;
wire [INDEX_W-1:0] row_off = rows_mem[ro_reg + a_reg];
wire [INDEX_W-1:0] col_off = cols_mem[co_reg + b_reg];
// only the low bits address the memories (the elaboration check bounds the rest to zero)
/* verilator lint_off UNUSEDSIGNAL */
wire [31:0] acc_addr = blk_g * ROWS + blk_i * BLOCK + row_off;
wire [31:0] x_addr = blk_j * BLOCK + col_off;
/* verilator lint_on UNUSEDSIGNAL */
wire signed [PROD_W-1:0] product = $signed(values_mem[vo_reg]) * $signed(x_mem[x_addr]);  // Q(PROD_W)
wire kernel_empty = (m_cur == 0);
wire last_entry = (b_reg + 1 == n_cur) && (a_reg + 1 == m_cur);

// output: round half up, then saturate to OUT_W (the shared rounding block; any SHIFT sign)
wire [OUT_W-1:0] y_sat;  // Q(OUT_W)

ernn_round_sat #(
    .IN_W(ACC_W),
    .SHIFT(SHIFT),
    .OUT_W(OUT_W),
    .SYMMETRIC(0)
)
round_sat_inst (
    .in(acc_mem[o_reg]),
    .out(y_sat)
);

assign s_axis_tready = (state_reg == S_LOAD);
assign m_axis_tvalid = (state_reg == S_OUT);
assign m_axis_tdata = y_sat;
assign m_axis_tlast = (o_reg == OUTS - 1);

always @(posedge clk) begin
    case (state_reg)
        S_LOAD: begin
            if (s_axis_tvalid) begin
                x_mem[x_count_reg] <= s_axis_tdata;
                if (x_count_reg == COLS - 1) begin
                    x_count_reg <= 0;
                    o_reg <= 0;
                    state_reg <= S_CLEAR;
                end else begin
                    x_count_reg <= x_count_reg + 1;
                end
            end
        end
        S_CLEAR: begin
            acc_mem[o_reg] <= {ACC_W{1'b0}};
            if (o_reg == OUTS - 1) begin
                o_reg <= 0;
                blk_reg <= 0;
                a_reg <= 0;
                b_reg <= 0;
                ro_reg <= 0;
                co_reg <= 0;
                vo_reg <= 0;
                state_reg <= S_MAC;
            end else begin
                o_reg <= o_reg + 1;
            end
        end
        S_MAC: begin
            if (!kernel_empty) begin
                acc_mem[acc_addr] <= acc_mem[acc_addr] + {{(ACC_W-PROD_W){product[PROD_W-1]}}, product};
                vo_reg <= vo_reg + 1;
            end
            if (kernel_empty || last_entry) begin
                // next block: its entries start where this block's end
                ro_reg <= ro_reg + m_cur;
                co_reg <= co_reg + n_cur;
                a_reg <= 0;
                b_reg <= 0;
                if (blk_reg == BLOCKS - 1) begin
                    o_reg <= 0;
                    state_reg <= S_OUT;
                end else begin
                    blk_reg <= blk_reg + 1;
                end
            end else if (b_reg + 1 == n_cur) begin
                b_reg <= 0;
                a_reg <= a_reg + 1;
            end else begin
                b_reg <= b_reg + 1;
            end
        end
        S_OUT: begin
            if (m_axis_tready) begin
                if (o_reg == OUTS - 1) begin
                    o_reg <= 0;
                    state_reg <= S_LOAD;
                end else begin
                    o_reg <= o_reg + 1;
                end
            end
        end
        default: state_reg <= S_LOAD;
    endcase
    if (rst) begin
        state_reg <= S_LOAD;
        x_count_reg <= 0;
        o_reg <= 0;
    end
end
/* verilator lint_on WIDTHTRUNC */
/* verilator lint_on WIDTHEXPAND */

endmodule

`resetall
