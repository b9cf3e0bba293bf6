/*

E-RNN toolkit: valid/sideband delay line (DEPTH register levels, stall-all clock enable)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * The valid flag and the sideband (tuser, control bits, data that only rides along) of a
 * pipelined datapath, delayed by DEPTH register levels so that they leave with the beat
 * that the datapath computes from the same input:
 *
 *   out_valid = in_valid delayed by DEPTH advances of en
 *   out_data  = in_data  delayed by DEPTH advances of en
 *
 * No arithmetic: in_data is any WIDTH-bit word (its format is the caller's; the cells
 * carry lane-packed Q-format fields through it, the transforms a tuser). Every register
 * advances only while en = 1 (the global stall-all enable of the caller). rst (synchronous,
 * active high) clears the valid bits only, so a reset drops the beats in flight; the data
 * registers are not reset (they map to SRLs / DSP pipeline registers).
 *
 * Interface: clk, rst, en; in_valid, in_data[WIDTH] at level 0; out_valid, out_data[WIDTH]
 * at level DEPTH (registered outputs). Latency DEPTH clocks of en; initiation interval 1.
 * Resources: DEPTH (1 + WIDTH) flip-flops.
 */
module ernn_delay #
(
    // register levels (>= 1)
    parameter DEPTH = 2,
    // sideband word carried beside the valid flag (>= 1)
    parameter WIDTH = 1
)
(
    input  wire              clk,
    input  wire              rst,
    input  wire              en,

    input  wire              in_valid,
    input  wire [WIDTH-1:0]  in_data,

    output wire              out_valid,
    output wire [WIDTH-1:0]  out_data
);

// check configuration
initial begin
    if (DEPTH < 1) begin
        $error("Error: ernn_delay DEPTH must be >= 1 (got %0d)", DEPTH);
        $finish;
    end
    if (WIDTH < 1) begin
        $error("Error: ernn_delay WIDTH must be >= 1 (got %0d)", WIDTH);
        $finish;
    end
end

// level d at bit d (valid) and at [d*WIDTH +: WIDTH] (data); level 0 is the first register
reg [DEPTH-1:0] valid_reg;
reg [DEPTH*WIDTH-1:0] data_reg;

generate

if (DEPTH == 1) begin : g_one
    always @(posedge clk) begin
        if (en) begin
            valid_reg <= in_valid;
            data_reg <= in_data;
        end

        if (rst) begin
            valid_reg <= 1'b0;
        end
    end
end else if (DEPTH > 1) begin : g_shift
    always @(posedge clk) begin
        if (en) begin
            valid_reg <= {valid_reg[DEPTH-2:0], in_valid};
            data_reg <= {data_reg[(DEPTH-1)*WIDTH-1:0], in_data};
        end

        if (rst) begin
            valid_reg <= {DEPTH{1'b0}};
        end
    end
end
// DEPTH < 1 is rejected by the parameter check above; no branch, so that elaboration reaches it

endgenerate

assign out_valid = valid_reg[DEPTH-1];
assign out_data = data_reg[(DEPTH-1)*WIDTH +: WIDTH];

endmodule

`resetall
