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
 * VALID = 0 leaves the valid flag out (a sideband-only line beside a pipeline whose valid
 * travels elsewhere, e.g. the MAC lanes'): out_valid is then 0 and no valid register exists.
 * Resources: DEPTH (VALID + WIDTH) flip-flops.
 */
module ernn_delay #
(
    // register levels (>= 1)
    parameter DEPTH = 2,
    // sideband word carried beside the valid flag (>= 1)
    parameter WIDTH = 1,
    // 1: carry the valid flag; 0: sideband only (in_valid and rst are not read, out_valid is 0),
    // for a pipeline whose valid travels elsewhere
    parameter VALID = 1
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
    if (VALID != 0 && VALID != 1) begin
        $error("Error: ernn_delay VALID must be 0 or 1 (got %0d)", VALID);
        $finish;
    end
end

generate

// DEPTH < 1 is rejected by the parameter check above; no line, so that elaboration reaches it
if (DEPTH >= 1) begin : g_line
    // level d at [d*WIDTH +: WIDTH] (data) and bit d (valid); level 0 is the first register
    reg [DEPTH*WIDTH-1:0] data_reg;
    // the line as one chain: input, levels 0 .. DEPTH-1 (the last one is the output)
    wire [(DEPTH+1)*WIDTH-1:0] data_chain = {data_reg, in_data};

    always @(posedge clk) begin
        if (en) begin
            data_reg <= data_chain[DEPTH*WIDTH-1:0];
        end
    end

    assign out_data = data_chain[DEPTH*WIDTH +: WIDTH];

    if (VALID) begin : g_valid
        reg [DEPTH-1:0] valid_reg;
        wire [DEPTH:0] valid_chain = {valid_reg, in_valid};

        always @(posedge clk) begin
            if (en) begin
                valid_reg <= valid_chain[DEPTH-1:0];
            end

            if (rst) begin
                valid_reg <= {DEPTH{1'b0}};
            end
        end

        assign out_valid = valid_chain[DEPTH];
    end else begin : g_no_valid
        // sideband only
        /* verilator lint_off UNUSEDSIGNAL */
        wire unused_valid = &{1'b0, in_valid, rst};
        /* verilator lint_on UNUSEDSIGNAL */
        assign out_valid = 1'b0;
    end
end

endgenerate

endmodule

`resetall
