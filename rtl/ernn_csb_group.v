/*

E-RNN toolkit: one P x Q PE group of the CSB group array

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * P * Q ernn_csb_pe of rtl/ernn_csb_array.v, fed one program step per clock: per PE an enable bit,
 * a kernel value, the input neuron it multiplies (fetched by the array from the x buffer) and a target
 * {bank, row offset}. PE n = p * Q + q takes field n of every bus (field 0 in the low bits).
 *
 *   red_{own,up,down} = sum over the group's PEs of their bank {0, 1, 2} at row red_row
 *   busy              = number of enabled PEs this step (for the utilization counter)
 *
 * Formats: value Q(W_W), x Q(DATA_W), sums Q(ACC_W) exact modulo 2**ACC_W (the array's final sums
 * fit). Resources: P * Q multipliers, 3 * BLOCK * P * Q partial-sum registers, three adder trees of
 * P * Q inputs for the reduction.
 */
module ernn_csb_group #
(
    // PE rows and columns of the group
    parameter P = 2,
    parameter Q = 2,
    // data (x) word
    parameter DATA_W = 16,
    // kernel value word
    parameter W_W = 16,
    // accumulator word
    parameter ACC_W = 40,
    // CSB block size M
    parameter BLOCK = 8,
    // bits of a row offset (max(1, clog2 BLOCK))
    parameter INDEX_W = 3
)
(
    input  wire                            clk,
    input  wire                            clear,
    input  wire                            mac,
    input  wire [P*Q-1:0]                  en,
    input  wire [P*Q*W_W-1:0]              value,     // Q(W_W) per PE
    input  wire [P*Q*DATA_W-1:0]           x,         // Q(DATA_W) per PE
    input  wire [P*Q*(2+INDEX_W)-1:0]      target,    // {bank, row offset} per PE
    input  wire [INDEX_W-1:0]              red_row,
    output wire [ACC_W-1:0]                red_own,   // Q(ACC_W)
    output wire [ACC_W-1:0]                red_up,    // Q(ACC_W)
    output wire [ACC_W-1:0]                red_down,  // Q(ACC_W)
    output wire [$clog2(P*Q+1)-1:0]        busy
);

localparam PES = P * Q;
localparam T_W = 2 + INDEX_W;
localparam B_W = $clog2(PES + 1);

// the PEs' reduction outputs side by side (PE n at n*ACC_W), summed below in one process each: a chain
// of continuous adds along a wide vector made Icarus re-evaluate it quadratically per clock
wire [PES*ACC_W-1:0] own_bus, up_bus, down_bus;  // Q(ACC_W) per PE
reg  [ACC_W-1:0]     own_sum, up_sum, down_sum;  // Q(ACC_W)
reg  [B_W-1:0]       busy_sum;

genvar n;
generate
    for (n = 0; n < PES; n = n + 1) begin : pe
        wire [T_W-1:0] tgt = target[n*T_W +: T_W];

        ernn_csb_pe #(
            .DATA_W(DATA_W),
            .W_W(W_W),
            .ACC_W(ACC_W),
            .BLOCK(BLOCK),
            .INDEX_W(INDEX_W)
        )
        pe_inst (
            .clk(clk),
            .clear(clear),
            .mac(mac),
            .en(en[n]),
            .value(value[n*W_W +: W_W]),
            .x(x[n*DATA_W +: DATA_W]),
            .bank(tgt[T_W-1:INDEX_W]),
            .row(tgt[INDEX_W-1:0]),
            .red_row(red_row),
            .red_own(own_bus[n*ACC_W +: ACC_W]),
            .red_up(up_bus[n*ACC_W +: ACC_W]),
            .red_down(down_bus[n*ACC_W +: ACC_W])
        );
    end
endgenerate

integer i;

always @* begin
    own_sum = {ACC_W{1'b0}};
    up_sum = {ACC_W{1'b0}};
    down_sum = {ACC_W{1'b0}};
    busy_sum = {B_W{1'b0}};
    for (i = 0; i < PES; i = i + 1) begin
        own_sum = own_sum + own_bus[i*ACC_W +: ACC_W];
        up_sum = up_sum + up_bus[i*ACC_W +: ACC_W];
        down_sum = down_sum + down_bus[i*ACC_W +: ACC_W];
        // a one-bit enable added to the count (zero-extended; B_W may be 1)
        /* verilator lint_off WIDTHEXPAND */
        busy_sum = busy_sum + en[i];
        /* verilator lint_on WIDTHEXPAND */
    end
end

assign red_own = own_sum;
assign red_up = up_sum;
assign red_down = down_sum;
assign busy = busy_sum;

endmodule

`resetall
