/*

E-RNN toolkit: read-only memory initialised by $readmemh (block-RAM inferable)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * DEPTH x WIDTH ROM with one registered read port: rdata = mem[addr] one clock after en.
 * The contents come from INIT_FILE ($readmemh: one hex word per line, address 0 first);
 * words the file does not list are undefined. The registered read lets synthesis use a
 * block RAM (or its output register); no reset, no write port.
 */
module ernn_rom #
(
    // word width in bits
    parameter WIDTH = 32,
    // number of words (>= 2)
    parameter DEPTH = 16,
    // $readmemh file with the contents (required)
    parameter INIT_FILE = "",
    // address width (derived; do not override)
    parameter ADDR_W = $clog2(DEPTH)
)
(
    input  wire              clk,
    input  wire              en,
    input  wire [ADDR_W-1:0] addr,
    output wire [WIDTH-1:0]  rdata
);

initial begin
    if (WIDTH < 1 || DEPTH < 2) begin
        $error("Error: ernn_rom needs WIDTH >= 1 and DEPTH >= 2 (got WIDTH=%0d DEPTH=%0d)", WIDTH, DEPTH);
        $finish;
    end
    if (ADDR_W != $clog2(DEPTH)) begin
        $error("Error: ernn_rom ADDR_W is derived and must equal $clog2(DEPTH) = %0d", $clog2(DEPTH));
        $finish;
    end
    if (INIT_FILE == "") begin
        $error("Error: ernn_rom needs INIT_FILE (the $readmemh contents)");
        $finish;
    end
end

reg [WIDTH-1:0] mem [0:DEPTH-1];
reg [WIDTH-1:0] rdata_reg;

initial begin
    if (INIT_FILE != "") begin
        $readmemh(INIT_FILE, mem);
    end
end

always @(posedge clk) begin
    if (en) begin
        rdata_reg <= mem[addr];
    end
end

assign rdata = rdata_reg;

endmodule

`resetall
