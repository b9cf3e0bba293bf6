/*

E-RNN toolkit: one P x Q PE group of the CSB group array

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * P * Q ernn_csb_pe of rtl/ernn_csb_array.v, fed one program step per clock: per PE an enable bit,
 * a kernel value and a target {bank, row offset}, per PE column one input neuron (the paper's shared
 * input: the array reads Q elements of x per group and clock, and each goes down its column to the P
 * PEs), all into half mac_half of the PEs' double-buffered partial sums. PE n = p * Q + q takes field n
 * of the per-PE buses and field q of x (field 0 in the low bits).
 *
 *   red_{own,up,down}[j] = sum over the group's PEs of their bank {0, 1, 2}, half red_half, row
 *                          red_rows[j] (lane j < RED_ROWS, ACC_W bits each, lane 0 in the low bits)
 *   busy                 = number of enabled PEs this step (for the utilization counter)
 *
 * zero[h] empties the rows just read from half h in every PE (the reduction empties what it reads; the
 * array empties both halves after a reset).
 *
 * Formats: value Q(W_W), x Q(DATA_W), sums Q(ACC_W) exact modulo 2**ACC_W (the array's final sums
 * fit). Resources: P * Q multipliers, P * Q * 6 * RED_ROWS partial-sum memories of BLOCK / RED_ROWS x
 * (1 + ACC_W) bits (LUT RAM), 3 * RED_ROWS adder trees of P * Q inputs for the reduction (ernn_sum_tree:
 * P * Q - 1 two-input adders of ACC_W bits each, ceil(log2(P * Q)) deep).
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
    parameter INDEX_W = 3,
    // rows the reduction reads per clock (divides BLOCK)
    parameter RED_ROWS = 1,
    // bits of a reduction address (max(1, clog2(BLOCK / RED_ROWS)))
    parameter RA_W = 3
)
(
    input  wire                            clk,
    input  wire                            mac,
    input  wire                            mac_half,
    input  wire [P*Q-1:0]                  en,
    input  wire [P*Q*W_W-1:0]              value,     // Q(W_W) per PE
    input  wire [Q*DATA_W-1:0]             x,         // Q(DATA_W) per PE column
    input  wire [P*Q*(2+INDEX_W)-1:0]      target,    // {bank, row offset} per PE
    input  wire                            red_half,
    input  wire [RA_W-1:0]                 red_addr,  // reduction clock within the tile row
    input  wire [1:0]                      zero,      // per half: empty the rows read at red_addr
    output wire [RED_ROWS*ACC_W-1:0]       red_own,   // Q(ACC_W) per lane
    output wire [RED_ROWS*ACC_W-1:0]       red_up,    // Q(ACC_W) per lane
    output wire [RED_ROWS*ACC_W-1:0]       red_down,  // Q(ACC_W) per lane
    output wire [$clog2(P*Q+1)-1:0]        busy
);

localparam PES = P * Q;
localparam T_W = 2 + INDEX_W;
localparam B_W = $clog2(PES + 1);
localparam LW = RED_ROWS * ACC_W;

// the PEs' reduction outputs side by side (PE n at n*LW, its lanes inside), summed below per lane
wire [PES*LW-1:0]    own_bus, up_bus, down_bus;  // Q(ACC_W) per PE and lane
wire [LW-1:0]        own_sum, up_sum, down_sum;  // Q(ACC_W) per lane
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
            .INDEX_W(INDEX_W),
            .RED_ROWS(RED_ROWS),
            .RA_W(RA_W)
        )
        pe_inst (
            .clk(clk),
            .mac(mac),
            .en(en[n]),
            .value(value[n*W_W +: W_W]),
            .x(x[(n % Q)*DATA_W +: DATA_W]),  // the PE column's input neuron
            .bank(tgt[T_W-1:INDEX_W]),
            .row(tgt[INDEX_W-1:0]),
            .mac_half(mac_half),
            .red_half(red_half),
            .red_addr(red_addr),
            .zero(zero),
            .red_own(own_bus[n*LW +: LW]),
            .red_up(up_bus[n*LW +: LW]),
            .red_down(down_bus[n*LW +: LW])
        );
    end
endgenerate

// the reduction: per lane and bank, the sum of the group's PEs as a tree of two-input adders
// (ernn_sum_tree: a multi-term sum in one process became a carry-save tree of 4.6x the LUTs in Yosys)
genvar jl, tn;
generate
    for (jl = 0; jl < RED_ROWS; jl = jl + 1) begin : lane
        wire [PES*ACC_W-1:0] own_terms, up_terms, down_terms;  // Q(ACC_W) per PE
        for (tn = 0; tn < PES; tn = tn + 1) begin : term
            assign own_terms[tn*ACC_W +: ACC_W] = own_bus[tn*LW + jl*ACC_W +: ACC_W];
            assign up_terms[tn*ACC_W +: ACC_W] = up_bus[tn*LW + jl*ACC_W +: ACC_W];
            assign down_terms[tn*ACC_W +: ACC_W] = down_bus[tn*LW + jl*ACC_W +: ACC_W];
        end
        ernn_sum_tree #(.N(PES), .W(ACC_W)) own_tree (.terms(own_terms), .sum(own_sum[jl*ACC_W +: ACC_W]));
        ernn_sum_tree #(.N(PES), .W(ACC_W)) up_tree (.terms(up_terms), .sum(up_sum[jl*ACC_W +: ACC_W]));
        ernn_sum_tree #(.N(PES), .W(ACC_W)) down_tree (.terms(down_terms), .sum(down_sum[jl*ACC_W +: ACC_W]));
    end
endgenerate

integer i;

always @* begin
    busy_sum = {B_W{1'b0}};
    for (i = 0; i < PES; i = i + 1) begin
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
