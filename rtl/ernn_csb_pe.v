/*

E-RNN toolkit: one PE of the CSB group array (a MAC into its own double-buffered partial sums)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * One processing element of rtl/ernn_csb_array.v. Its partial sums are indexed by (half, bank, row
 * offset): bank 0 holds partial sums of the block row of the PE's own group row (its own kernel and its
 * horizontal neighbours', which share the block row), bank 1 of the group row above, bank 2 of the group
 * row below (vertical parts: the partial sums go back to the owner at the reduction). The array MACs one
 * tile row into one half while it reduces the previous tile row from the other (double buffering: the
 * reduction leaves the MACs' path). When mac and en are high,
 *
 *   acc[mac_half][bank][row] = (held ? acc[mac_half][bank][row] : 0) + value * x   (exact, ACC_W bits)
 *
 * and in every clock with zero[red_half] high the reduction reads rows red_addr * RED_ROWS + j (lane j <
 * RED_ROWS) of half red_half of the three banks (combinational; a row that holds no partial sum reads 0)
 * and the clock edge empties them: the reduction empties what it has read, so a half is empty again
 * when its reduction ends, and the array empties both halves after a reset (BLOCK / RED_ROWS clocks).
 * In a clock with zero[red_half] low the red_* outputs are not defined (the array reads them only in its
 * reduction clocks, which always empty: rtl/ernn_csb_array.v pe_zero).
 *
 * Storage: per half, bank and lane j one memory of BLOCK / RED_ROWS words {held, partial sum} (row r in
 * memory r mod RED_ROWS at r div RED_ROWS) with one address: the reduction's while zero[half] is high
 * (it reads and empties that row), the MAC's otherwise (it reads and writes back its row). A half is
 * either being filled or being reduced, never both (the array's double buffering), so one address per
 * memory serves both engines: single-port LUT RAM with an asynchronous read, half the LUT RAM of a copy
 * per read address, no registers and no clear logic. The held bit replaces a clear of the data bits: a
 * written row is held, an emptied one is not.
 *
 * Formats: x Q(DATA_W) data, value Q(W_W) weight, acc Q(ACC_W) with frac = data.frac + weight.frac;
 * a product needs DATA_W + W_W bits and is sign-extended. Partial sums are exact modulo 2**ACC_W, and
 * the array's final sums fit ACC_W (docs/numerics.md section 15), so the order of the partial sums
 * does not matter. One multiplier, 6 * RED_ROWS single-port memories of BLOCK / RED_ROWS x (1 + ACC_W)
 * bits; no latency beyond the clock (asynchronous read, clocked write).
 */
module ernn_csb_pe #
(
    // data (x) word
    parameter DATA_W = 16,
    // kernel value word
    parameter W_W = 16,
    // accumulator word (> DATA_W + W_W)
    parameter ACC_W = 40,
    // CSB block size M (rows of one half of a bank)
    parameter BLOCK = 8,
    // bits of a row offset (max(1, clog2 BLOCK))
    parameter INDEX_W = 3,
    // rows the reduction reads per clock (divides BLOCK)
    parameter RED_ROWS = 1,
    // bits of a reduction address (max(1, clog2(BLOCK / RED_ROWS)))
    parameter RA_W = 3
)
(
    input  wire                        clk,
    input  wire                        mac,
    input  wire                        en,
    input  wire [W_W-1:0]              value,      // Q(W_W)
    input  wire [DATA_W-1:0]           x,          // Q(DATA_W)
    input  wire [1:0]                  bank,
    input  wire [INDEX_W-1:0]          row,
    input  wire                        mac_half,
    input  wire                        red_half,
    input  wire [RA_W-1:0]             red_addr,   // reduction clock within the tile row
    input  wire [1:0]                  zero,       // per half: empty the rows read at red_addr
    output wire [RED_ROWS*ACC_W-1:0]   red_own,    // Q(ACC_W) per lane: bank 0
    output wire [RED_ROWS*ACC_W-1:0]   red_up,     // bank 1
    output wire [RED_ROWS*ACC_W-1:0]   red_down    // bank 2
);

localparam PROD_W = DATA_W + W_W;
localparam SUB = BLOCK / RED_ROWS;  // words per memory
localparam MEMS = 2 * 3 * RED_ROWS; // memory m = (half * 3 + bank) * RED_ROWS + lane
localparam MM_W = $clog2(MEMS);     // bits of a memory number

initial begin
    if (ACC_W <= PROD_W || BLOCK < 2 || (1 << INDEX_W) < BLOCK || RED_ROWS < 1 || BLOCK % RED_ROWS != 0
        || (1 << RA_W) < SUB) begin
        $error("Error: ernn_csb_pe ACC_W = %0d must be > DATA_W + W_W = %0d, BLOCK = %0d >= 2, fit INDEX_W = %0d and be a multiple of RED_ROWS = %0d, BLOCK / RED_ROWS fit RA_W = %0d",
               ACC_W, PROD_W, BLOCK, INDEX_W, RED_ROWS, RA_W);
        $finish;
    end
end

wire signed [PROD_W-1:0] product = $signed(value) * $signed(x);  // Q(PROD_W)
// row comes from checked program images (rtl/ernn_csb_array.v's elaboration check), so it stays below
// BLOCK; the memory number and address are kept at their own widths (a 32-bit mac_mem made Yosys build a
// 32-bit carry chain on the MAC path, in front of the read-modify-write's selection)
/* verilator lint_off WIDTHEXPAND */
/* verilator lint_off WIDTHTRUNC */
wire [MM_W-1:0] mac_lane = row % RED_ROWS;
wire [RA_W-1:0] mac_addr = row / RED_ROWS;
wire [MM_W-1:0] mac_mem = (mac_half * 3 + bank) * RED_ROWS + mac_lane;

// {held, Q(ACC_W)} per memory, read at its one address: the MAC's read-modify-write in a half being
// filled, the reduction's read in a half being reduced (zero high)
wire [MEMS*(ACC_W+1)-1:0] rd_bus;
reg  [ACC_W:0] old_word;  // {held, Q(ACC_W)} of the memory the MAC writes
wire [ACC_W-1:0] old = old_word[ACC_W] ? old_word[ACC_W-1:0] : {ACC_W{1'b0}};  // Q(ACC_W)

// a MEMS:1 selection by comparison, not a part-select at mac_mem * (ACC_W + 1): Yosys built that as a
// barrel shifter over all the words and a multiplier for the index (a second DSP and about 1 k LUT per PE)
integer i;

always @* begin
    old_word = {(ACC_W+1){1'b0}};
    for (i = 0; i < MEMS; i = i + 1) begin
        if (mac_mem == i) begin
            old_word = rd_bus[i*(ACC_W+1) +: ACC_W+1];
        end
    end
end
wire [ACC_W-1:0] sum = old + {{(ACC_W-PROD_W){product[PROD_W-1]}}, product};     // Q(ACC_W)

genvar m;
generate
    for (m = 0; m < MEMS; m = m + 1) begin : mem
        localparam H = m / (3 * RED_ROWS);
        reg [ACC_W:0] words [0:SUB-1];  // {held, Q(ACC_W)}; no reset: the array empties them after rst
        wire hit = mac && en && (mac_mem == m);
        wire [RA_W-1:0] waddr = zero[H] ? red_addr : mac_addr;

        always @(posedge clk) begin
            if (zero[H] || hit) begin
                words[waddr] <= {!zero[H], sum};
            end
        end

        assign rd_bus[m*(ACC_W+1) +: ACC_W+1] = words[waddr];
    end
endgenerate

// the reduction lanes: half red_half (read at red_addr while it is being emptied), rows not held read 0
genvar b, j;
generate
    for (b = 0; b < 3; b = b + 1) begin : red_bank
        for (j = 0; j < RED_ROWS; j = j + 1) begin : lane
            wire [ACC_W:0] w0 = rd_bus[((0 * 3 + b) * RED_ROWS + j)*(ACC_W+1) +: ACC_W+1];
            wire [ACC_W:0] w1 = rd_bus[((1 * 3 + b) * RED_ROWS + j)*(ACC_W+1) +: ACC_W+1];
            wire [ACC_W:0] w = red_half ? w1 : w0;
            wire [ACC_W-1:0] v = w[ACC_W] ? w[ACC_W-1:0] : {ACC_W{1'b0}};  // Q(ACC_W)
            if (b == 0) begin : own
                assign red_own[j*ACC_W +: ACC_W] = v;
            end else if (b == 1) begin : up
                assign red_up[j*ACC_W +: ACC_W] = v;
            end else begin : down
                assign red_down[j*ACC_W +: ACC_W] = v;
            end
        end
    end
endgenerate
/* verilator lint_on WIDTHTRUNC */
/* verilator lint_on WIDTHEXPAND */

endmodule

`resetall
