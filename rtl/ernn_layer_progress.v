/*

E-RNN toolkit: accelerator layer progress — per layer, the steps a block writer has completed

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Counts, per layer, what a writer of whole blocks (the h producer; with interleaved stages
 * also the m writer) has written: done = the steps of that layer whose blocks are all
 * written (mod 2**TAG_W; a write with wr_last completes one), count = the blocks written of
 * the next (wr_blk + 1 of its latest write). Each layer's stages come in step order, so
 * done is the number of the step being written and a reader compares it with the step it
 * needs (ernn_cmd: x_t of the layer below, h_{t-1} of its own, a projection's m_t).
 * Layer l's fields are at done[l*TAG_W +: TAG_W] and count[l*IDX_W +: IDX_W]. rst clears.
 */
module ernn_layer_progress #
(
    // stacked layers (L)
    parameter NUM_LAYERS = 2,
    // layer index width
    parameter LAYER_W = 1,
    // step number width
    parameter TAG_W = 1,
    // block index width
    parameter IDX_W = 4
)
(
    input  wire                        clk,
    input  wire                        rst,

    // a block write: its layer, its block, whether it is the layer's last block of the step
    input  wire                        wr_en,
    input  wire [LAYER_W-1:0]          wr_layer,
    input  wire [IDX_W-1:0]            wr_blk,
    input  wire                        wr_last,

    output wire [NUM_LAYERS*TAG_W-1:0] done,
    output wire [NUM_LAYERS*IDX_W-1:0] count
);

genvar l;

generate
for (l = 0; l < NUM_LAYERS; l = l + 1) begin : g_layer
    localparam integer L_I = l;
    localparam [LAYER_W-1:0] LAYER = L_I[LAYER_W-1:0];

    reg [TAG_W-1:0] done_reg;   // steps of this layer whose blocks are all written
    reg [IDX_W-1:0] count_reg;  // blocks of the next one written so far

    always @(posedge clk) begin
        if (wr_en && wr_layer == LAYER) begin
            if (wr_last) begin
                done_reg <= done_reg + 1'b1;
                count_reg <= {IDX_W{1'b0}};
            end else begin
                count_reg <= wr_blk + 1'b1;
            end
        end

        if (rst) begin
            done_reg <= {TAG_W{1'b0}};
            count_reg <= {IDX_W{1'b0}};
        end
    end

    assign done[l*TAG_W +: TAG_W] = done_reg;
    assign count[l*IDX_W +: IDX_W] = count_reg;
end
endgenerate

endmodule

`resetall
