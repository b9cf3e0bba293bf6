/*

E-RNN toolkit: N-way word select

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * out = in[sel*W +: W] for sel < N, zero otherwise (combinational).
 *
 * Written as N compare-and-mask terms ORed together rather than as a variable part-select:
 * a part-select whose stride is not a power of two (W = 38, 48, ...) elaborates to a barrel
 * shifter over all N*W bits in Yosys (log2(N*W) mux levels per output bit); this is an N-input
 * mux per output bit. Used where the datapath picks one of a few words of a wide memory word
 * (the PE lanes' bins, the cell feeder's sub-beats, the input frame's blocks).
 */
module ernn_sel #
(
    // number of words
    parameter N = 2,
    // word width
    parameter W = 8,
    // select width (N <= 2**SEL_W)
    parameter SEL_W = 1
)
(
    input  wire [N*W-1:0]   in,
    input  wire [SEL_W-1:0] sel,
    output reg  [W-1:0]     out
);

initial begin
    if (N < 1 || W < 1 || SEL_W < 1 || N > (1 << SEL_W)) begin
        $error("Error: ernn_sel needs N >= 1, W >= 1 and 1 <= N <= 2**SEL_W (got N=%0d W=%0d SEL_W=%0d)",
            N, W, SEL_W);
        $finish;
    end
end

wire [N*W-1:0] masked;

genvar j;

generate

for (j = 0; j < N; j = j + 1) begin : g_word
    localparam integer J_I = j;
    localparam [SEL_W-1:0] J = J_I[SEL_W-1:0];
    assign masked[j*W +: W] = sel == J ? in[j*W +: W] : {W{1'b0}};
end

endgenerate

integer i;

always @* begin
    out = {W{1'b0}};
    for (i = 0; i < N; i = i + 1) begin
        out = out | masked[i*W +: W];
    end
end

endmodule

`resetall
