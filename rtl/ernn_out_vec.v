/*

E-RNN toolkit: accelerator output vector — the last layer's h_t, assembled and held on m_axis

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Collects the last layer's h_t (or its projection) block by block as the h producer writes
 * it (wr_*: block wr_blk, K samples of Q(DATA_W, DATA_F); wr_last marks the layer's last
 * block, wr_tlast is the step's tlast), then moves the vector to the output register and
 * holds it on m_axis until it is taken: OUT_SIZE samples, sample n at [n*DATA_W +: DATA_W],
 * zero-padded to OUT_TDATA_W; tlast mirrors the step's input frame.
 *
 * full is high from the last block's write until the vector moves on; the h producer must
 * not write the next step's last-layer blocks meanwhile (that is what stalls the pipeline
 * under m_axis back-pressure). The move takes one clock when the output register is free
 * or being read, so a vector per step goes out without a bubble.
 */
module ernn_out_vec #
(
    // block size K
    parameter K = 8,
    // data word, Q(DATA_W, DATA_F)
    parameter DATA_W = 16,
    // samples of the output vector (projection or hidden size)
    parameter OUT_SIZE = 32,
    // block index width
    parameter IDX_W = 4,
    // m_axis_tdata width: OUT_SIZE samples padded to whole bytes (derived; do not override)
    parameter OUT_TDATA_W = ((OUT_SIZE * DATA_W + 7) / 8) * 8
)
(
    input  wire                   clk,
    input  wire                   rst,

    input  wire                   wr_en,
    input  wire [IDX_W-1:0]       wr_blk,
    input  wire [K*DATA_W-1:0]    wr_data,
    input  wire                   wr_last,
    input  wire                   wr_tlast,
    output wire                   full,

    output wire [OUT_TDATA_W-1:0] m_axis_tdata,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready,
    output wire                   m_axis_tlast
);

localparam BLK_W = K * DATA_W;
localparam QH = (OUT_SIZE + K - 1) / K;
localparam OUT_W = OUT_SIZE * DATA_W;
localparam ASM_W = QH * BLK_W;

// check configuration
initial begin
    if (OUT_SIZE < 1 || K < 1 || OUT_TDATA_W != ((OUT_SIZE * DATA_W + 7) / 8) * 8) begin
        $error("Error: ernn_out_vec needs OUT_SIZE, K >= 1; OUT_TDATA_W is derived (got %0d, %0d, %0d)",
            OUT_SIZE, K, OUT_TDATA_W);
        $finish;
    end
end

wire [ASM_W-1:0] asm;           // Q(data) samples, whole blocks
reg asm_full_reg;
reg asm_last_reg;
reg [OUT_W-1:0] out_reg;        // Q(data) samples
reg out_valid_reg;
reg out_last_reg;

assign full = asm_full_reg;

// one register per block, loaded when its block is written (a decoder of wr_blk, not a
// shifter over the whole vector)
genvar b;

generate
for (b = 0; b < QH; b = b + 1) begin : g_blk
    localparam integer B_I = b;
    localparam [IDX_W-1:0] B = B_I[IDX_W-1:0];

    reg [BLK_W-1:0] blk_reg;    // Q(data) samples

    always @(posedge clk) begin
        if (wr_en && wr_blk == B) begin
            blk_reg <= wr_data;
        end
    end

    assign asm[b*BLK_W +: BLK_W] = blk_reg;
end
endgenerate

always @(posedge clk) begin
    if (wr_en) begin
        if (wr_last) begin
            asm_full_reg <= 1'b1;
            asm_last_reg <= wr_tlast;
        end
    end

    if (m_axis_tready) begin
        out_valid_reg <= 1'b0;
    end
    if (asm_full_reg && (!out_valid_reg || m_axis_tready)) begin
        out_reg <= asm[OUT_W-1:0];
        out_last_reg <= asm_last_reg;
        out_valid_reg <= 1'b1;
        asm_full_reg <= 1'b0;
    end

    if (rst) begin
        asm_full_reg <= 1'b0;
        out_valid_reg <= 1'b0;
    end
end

generate
if (OUT_TDATA_W > OUT_W) begin : g_out_pad
    assign m_axis_tdata = {{(OUT_TDATA_W-OUT_W){1'b0}}, out_reg};
end else begin : g_out_nopad
    assign m_axis_tdata = out_reg;
end
if (ASM_W > OUT_W) begin : g_asm_pad
    // the zero padding of the last output block
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_asm_pad = &{1'b0, asm[ASM_W-1:OUT_W]};
    /* verilator lint_on UNUSEDSIGNAL */
end
endgenerate

assign m_axis_tvalid = out_valid_reg;
assign m_axis_tlast = out_last_reg;

endmodule

`resetall
