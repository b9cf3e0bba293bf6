/*

E-RNN toolkit: two-input adder (one node of ernn_sum_tree)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * s = (a + b) mod 2**W (combinational; any fixed-point format, a and b and s share it).
 *
 * A module of its own, not an expression, so that a hierarchical synthesis (Yosys with the hierarchy
 * kept, as `ernn synth` runs it) maps every add of a sum tree to one carry chain of W LUTs: given the
 * whole multi-term sum in one module, Yosys 0.23's alumacc merges it into one $macc cell and maccmap
 * builds that as a carry-save tree, about 4.6 times the LUTs (16 terms of 43 bits: 2,950 LUT against
 * 645 as adders; docs/csb.md, "The reduction sums as adder trees").
 */
module ernn_add #
(
    // word width
    parameter W = 8
)
(
    input  wire [W-1:0] a,
    input  wire [W-1:0] b,
    output wire [W-1:0] s
);

initial begin
    if (W < 1) begin
        $error("Error: ernn_add needs W >= 1 (got W=%0d)", W);
        $finish;
    end
end

assign s = a + b;

endmodule

`resetall
