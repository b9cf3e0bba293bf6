/*

E-RNN toolkit: one PE of the CSB group array (a MAC into its own accumulation buffer)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * One processing element of rtl/ernn_csb_array.v. When mac and en are high,
 *
 *   acc[bank * BLOCK + row] += value * x          (exact, two's complement, ACC_W bits)
 *
 * bank 0 holds partial sums of the block row of the PE's own group row (its own kernel and its
 * horizontal neighbours', which share the block row), bank 1 of the group row above, bank 2 of the
 * group row below (vertical parts: the partial sums go back to the owner at the reduction). clear
 * zeroes all 3 * BLOCK partial sums in one clock. The reduction reads row red_row of the three banks
 * (combinational).
 *
 * Formats: x Q(DATA_W) data, value Q(W_W) weight, acc Q(ACC_W) with frac = data.frac + weight.frac;
 * a product needs DATA_W + W_W bits and is sign-extended. Partial sums are exact modulo 2**ACC_W, and
 * the array's final sums fit ACC_W (docs/numerics.md section 15), so the order of the partial sums
 * does not matter. One multiplier, 3 * BLOCK registers of ACC_W bits; no latency beyond the clock.
 */
module ernn_csb_pe #
(
    // data (x) word
    parameter DATA_W = 16,
    // kernel value word
    parameter W_W = 16,
    // accumulator word (> DATA_W + W_W)
    parameter ACC_W = 40,
    // CSB block size M (rows of one bank)
    parameter BLOCK = 8,
    // bits of a row offset (max(1, clog2 BLOCK))
    parameter INDEX_W = 3
)
(
    input  wire               clk,
    input  wire               clear,
    input  wire               mac,
    input  wire               en,
    input  wire [W_W-1:0]     value,      // Q(W_W)
    input  wire [DATA_W-1:0]  x,          // Q(DATA_W)
    input  wire [1:0]         bank,
    input  wire [INDEX_W-1:0] row,
    input  wire [INDEX_W-1:0] red_row,
    output wire [ACC_W-1:0]   red_own,    // Q(ACC_W): bank 0, row red_row
    output wire [ACC_W-1:0]   red_up,     // bank 1
    output wire [ACC_W-1:0]   red_down    // bank 2
);

localparam PROD_W = DATA_W + W_W;
localparam DEPTH = 3 * BLOCK;

initial begin
    if (ACC_W <= PROD_W || BLOCK < 2 || (1 << INDEX_W) < BLOCK) begin
        $error("Error: ernn_csb_pe ACC_W = %0d must be > DATA_W + W_W = %0d, BLOCK = %0d >= 2 and fit INDEX_W = %0d",
               ACC_W, PROD_W, BLOCK, INDEX_W);
        $finish;
    end
end

reg [ACC_W-1:0] acc_mem [0:DEPTH-1];  // Q(ACC_W), partial sums

wire signed [PROD_W-1:0] product = $signed(value) * $signed(x);  // Q(PROD_W)
// bank and row come from checked program images (rtl/ernn_csb_array.v's elaboration check), so the
// address stays below DEPTH; the arithmetic runs in 32-bit integers
/* verilator lint_off WIDTHEXPAND */
/* verilator lint_off WIDTHTRUNC */
/* verilator lint_off UNUSEDSIGNAL */
wire [31:0] addr = bank * BLOCK + row;
wire [31:0] red_up_addr = BLOCK + red_row;
wire [31:0] red_down_addr = 2 * BLOCK + red_row;
/* verilator lint_on UNUSEDSIGNAL */

assign red_own = acc_mem[red_row];
assign red_up = acc_mem[red_up_addr];
assign red_down = acc_mem[red_down_addr];

integer i;

always @(posedge clk) begin
    if (clear) begin
        for (i = 0; i < DEPTH; i = i + 1) begin
            acc_mem[i] <= {ACC_W{1'b0}};
        end
    end else if (mac && en) begin
        acc_mem[addr] <= acc_mem[addr] + {{(ACC_W-PROD_W){product[PROD_W-1]}}, product};
    end
end
/* verilator lint_on WIDTHTRUNC */
/* verilator lint_on WIDTHEXPAND */

endmodule

`resetall
