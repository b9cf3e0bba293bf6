/*

E-RNN toolkit: N-input sum as a balanced tree of two-input adders

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * sum = (terms[0] + terms[1] + ... + terms[N-1]) mod 2**W (combinational), term i in terms[i*W +: W];
 * any fixed-point format shared by the terms and the sum (two's complement wraps the same way, so the
 * order of the adds does not change a bit).
 *
 * The tree is a heap of 2N - 1 nodes: leaves N-1 .. 2N-2 are the terms, internal node j = node 2j+1 +
 * node 2j+2 (one ernn_add), node 0 the sum: N - 1 adders of W bits, ceil(log2 N) adders deep on the
 * longest path. Each add is an instance of ernn_add so that a hierarchical synthesis maps it to a carry
 * chain (ernn_add's header: a multi-term sum in one module becomes a carry-save tree of about 4.6x the
 * LUTs in Yosys 0.23). Separate nets per node also keep Icarus from re-evaluating one wide vector per
 * term, which a chain of adds into one accumulator variable would.
 */
module ernn_sum_tree #
(
    // terms
    parameter N = 2,
    // word width of the terms and of the sum
    parameter W = 8
)
(
    input  wire [N*W-1:0] terms,
    output wire [W-1:0]   sum
);

initial begin
    if (N < 1 || W < 1) begin
        $error("Error: ernn_sum_tree needs N >= 1 and W >= 1 (got N=%0d W=%0d)", N, W);
        $finish;
    end
end

localparam NODES = 2 * N - 1;

wire [NODES*W-1:0] node;  // node j in node[j*W +: W]

genvar i, j;

generate

for (i = 0; i < N; i = i + 1) begin : g_leaf
    assign node[(N - 1 + i)*W +: W] = terms[i*W +: W];
end

for (j = 0; j < N - 1; j = j + 1) begin : g_add
    ernn_add #(
        .W(W)
    )
    add_inst (
        .a(node[(2*j + 1)*W +: W]),
        .b(node[(2*j + 2)*W +: W]),
        .s(node[j*W +: W])
    );
end

endgenerate

assign sum = node[W-1:0];

endmodule

`resetall
