/*

E-RNN toolkit: simple dual-port state memory (one write port, one registered read port)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * DEPTH x WIDTH RAM for the accelerator's state and staging buffers (h, c, the LSTM
 * projection input m, the gate pre-activation buffer): one synchronous write port and
 * one read port with a read enable and a registered output,
 *
 *   rd_data = mem[rd_addr] one clock after rd_en; held while rd_en = 0.
 *
 * The held output is what makes the read port usable as a pipeline register: a reader
 * that stalls keeps its word without a separate holding register (block RAM: the output
 * latch with its clock enable). A read and a write of the same address in one clock
 * return the old word (read-first), or with WRITE_FIRST = 1 the word being written: a
 * register of the write word and a 2:1 mux behind the memory's output register (explicit,
 * so that the RAM itself stays a plain read-first block RAM or LUT RAM). The h and m
 * memories are write-first with the layers in order: the command side requests a block in
 * the clock its writer writes it (ernn_state_mem FORWARD). No reset: the controller treats the contents as undefined until written (the state of a
 * new sequence is zero by selection, not by clearing the memory).
 */
module ernn_state_ram #
(
    // word width in bits
    parameter WIDTH = 32,
    // number of words (>= 2)
    parameter DEPTH = 16,
    // 1: a read of the address written in the same clock returns the new word
    parameter WRITE_FIRST = 0,
    // address width (derived; do not override)
    parameter ADDR_W = $clog2(DEPTH)
)
(
    input  wire              clk,

    input  wire              wr_en,
    input  wire [ADDR_W-1:0] wr_addr,
    input  wire [WIDTH-1:0]  wr_data,

    input  wire              rd_en,
    input  wire [ADDR_W-1:0] rd_addr,
    output wire [WIDTH-1:0]  rd_data
);

// check configuration
initial begin
    if (WIDTH < 1 || DEPTH < 2) begin
        $error("Error: ernn_state_ram needs WIDTH >= 1 and DEPTH >= 2 (got WIDTH=%0d DEPTH=%0d)", WIDTH, DEPTH);
        $finish;
    end
    if (ADDR_W != $clog2(DEPTH)) begin
        $error("Error: ernn_state_ram ADDR_W is derived and must equal $clog2(DEPTH) = %0d", $clog2(DEPTH));
        $finish;
    end
end

reg [WIDTH-1:0] mem [0:DEPTH-1];
reg [WIDTH-1:0] rd_data_reg;

always @(posedge clk) begin
    if (wr_en) begin
        mem[wr_addr] <= wr_data;
    end
end

always @(posedge clk) begin
    if (rd_en) begin
        rd_data_reg <= mem[rd_addr];
    end
end

generate
if (WRITE_FIRST != 0) begin : g_write_first
    reg fwd_reg;                // the word read last was being written: take the write word
    reg [WIDTH-1:0] fwd_data_reg;

    always @(posedge clk) begin
        if (rd_en) begin
            fwd_reg <= wr_en && wr_addr == rd_addr;
            fwd_data_reg <= wr_data;
        end
    end

    assign rd_data = fwd_reg ? fwd_data_reg : rd_data_reg;
end else begin : g_read_first
    assign rd_data = rd_data_reg;
end
endgenerate

endmodule

`resetall
