/*

E-RNN toolkit: accelerator gate buffer — the PE's row blocks until the feeder reads them

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * y[slot][block]: four slots (LSTM gates i, f, g, o; GRU r, z, W_in x, W_hn h) of DEPTH
 * blocks, each block K samples of Q(IFFT_OUT_W, IFFT_F) (the matvec outputs, sample n at
 * [n*IFFT_OUT_W +: IFFT_OUT_W]), in four ernn_state_ram (one write, one registered read
 * port each).
 *
 * A block is *full* from the write of its slot 3 (the PE writes a block's slots in order:
 * LSTM i, f, g, o in one job; GRU r, z in the first, then W_in x, then W_hn h) until the
 * feeder reads it (rd_en: all four slots at once, rd_data one clock later, slot s at
 * [s*K*IFFT_OUT_W +: K*IFFT_OUT_W]). wr_full / rd_full are the flags of the blocks at the
 * write and read addresses: the writer waits while its block is full (the only thing that
 * stalls the PE on a busy cell unit), the reader waits until its block is.
 */
module ernn_gate_buf #
(
    // samples per block
    parameter K = 8,
    // sample word, Q(IFFT_OUT_W, IFFT_F)
    parameter IFFT_OUT_W = 19,
    // blocks per slot (hidden blocks p; >= 2)
    parameter DEPTH = 4,
    // block address width (derived; do not override)
    parameter ADDR_W = $clog2(DEPTH)
)
(
    input  wire                      clk,
    input  wire                      rst,

    input  wire                      wr_en,
    input  wire [1:0]                wr_slot,
    input  wire [ADDR_W-1:0]         wr_blk,
    input  wire [K*IFFT_OUT_W-1:0]   wr_data,
    output wire                      wr_full,

    input  wire                      rd_en,
    input  wire [ADDR_W-1:0]         rd_blk,
    output wire                      rd_full,
    output wire [4*K*IFFT_OUT_W-1:0] rd_data
);

localparam YBLK_W = K * IFFT_OUT_W;

// check configuration
initial begin
    if (DEPTH < 2 || ADDR_W != $clog2(DEPTH)) begin
        $error("Error: ernn_gate_buf needs DEPTH >= 2 and the derived ADDR_W (got DEPTH=%0d ADDR_W=%0d)", DEPTH, ADDR_W);
        $finish;
    end
end

genvar s;

generate
for (s = 0; s < 4; s = s + 1) begin : g_ybuf
    ernn_state_ram #(
        .WIDTH(YBLK_W),
        .DEPTH(DEPTH)
    )
    ybuf_inst (
        .clk(clk),
        .wr_en(wr_en && wr_slot == s),
        .wr_addr(wr_blk),
        .wr_data(wr_data),
        .rd_en(rd_en),
        .rd_addr(rd_blk),
        .rd_data(rd_data[s*YBLK_W +: YBLK_W])
    );
end
endgenerate

// full flags: set by the write that completes a block, cleared when the feeder reads it
reg [DEPTH-1:0] full_reg;

assign wr_full = full_reg[wr_blk];
assign rd_full = full_reg[rd_blk];

always @(posedge clk) begin
    if (wr_en && wr_slot == 2'd3) begin
        full_reg[wr_blk] <= 1'b1;
    end
    if (rd_en) begin
        full_reg[rd_blk] <= 1'b0;
    end

    if (rst) begin
        full_reg <= {DEPTH{1'b0}};
    end
end

endmodule

`resetall
