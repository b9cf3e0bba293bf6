/*

E-RNN toolkit: properties of ernn_out_vec (formal only)

*/

// Language: Verilog 2001 with Yosys -formal immediate assertions

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * The accelerator's output port (ernn_top's m_axis) under any m_axis_tready and any writes
 * that keep the module's contract (no write while full, docs/accelerator.md: the h producer
 * stalls), reset in the first clock:
 *
 *   stable_valid, stable_data  m_axis_tvalid, tdata and tlast hold while tvalid && !tready
 *   no_invented                a vector is offered only after one was completed (wr_last)
 *   in_order                   the vector offered is the oldest completed one: its blocks as they
 *                              were written, and its tlast
 *   no_overflow                never more than two vectors held (assembled + output register)
 *   no_drop                    every completed vector is held: count = full + m_axis_tvalid
 *
 * A ghost copy of the block registers snapshots each completed vector into a two-entry FIFO.
 * Lemma for k-induction (the driver taps the block registers): the DUT's blocks equal the
 * ghost's, and while full they are the newest completed vector (inv_blocks).
 */
module ernn_out_vec_props #
(
    // the parameters of ernn_out_vec (small: QH = 2 blocks)
    parameter K = 2,
    parameter DATA_W = 2,
    parameter OUT_SIZE = 3,
    parameter IDX_W = 2
)
(
    input wire                clk,
    input wire                rst,
    input wire                wr_en,
    input wire [IDX_W-1:0]    wr_blk,
    input wire [K*DATA_W-1:0] wr_data,
    input wire                wr_last,
    input wire                wr_tlast,
    input wire                m_axis_tready
);

localparam BLK_W = K * DATA_W;
localparam OUT_W = OUT_SIZE * DATA_W;
localparam OUT_TDATA_W = ((OUT_SIZE * DATA_W + 7) / 8) * 8;
localparam V_W = OUT_W + 1;

wire full;
wire [OUT_TDATA_W-1:0] m_axis_tdata;
wire m_axis_tvalid;
wire m_axis_tlast;

ernn_out_vec #(
    .K(K),
    .DATA_W(DATA_W),
    .OUT_SIZE(OUT_SIZE),
    .IDX_W(IDX_W)
)
dut (
    .clk(clk),
    .rst(rst),
    .wr_en(wr_en),
    .wr_blk(wr_blk),
    .wr_data(wr_data),
    .wr_last(wr_last),
    .wr_tlast(wr_tlast),
    .full(full),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready),
    .m_axis_tlast(m_axis_tlast)
);

// the DUT's two block registers, driven by the driver's taps
(* keep *) wire [BLK_W-1:0] tap_blk0;
(* keep *) wire [BLK_W-1:0] tap_blk1;

reg past_valid = 1'b0;
always @(posedge clk) begin
    past_valid <= 1'b1;
end
always @* begin
    if (!past_valid) begin
        assume (rst);
    end
    // the module's contract: no write while the assembled vector waits
    assume (!(wr_en && full));
end

// ghost blocks (once written; before that the DUT's register holds any value), and the vector
// they form with this clock's write applied
reg [BLK_W-1:0] g_blk0;
reg [BLK_W-1:0] g_blk1;
reg g_written0 = 1'b0;
reg g_written1 = 1'b0;
wire [BLK_W-1:0] n_blk0 = wr_en && wr_blk == 0 ? wr_data : (g_written0 ? g_blk0 : tap_blk0);
wire [BLK_W-1:0] n_blk1 = wr_en && wr_blk == 1 ? wr_data : (g_written1 ? g_blk1 : tap_blk1);
wire [2*BLK_W-1:0] n_asm = {n_blk1, n_blk0};
wire [V_W-1:0] completed = {wr_tlast, n_asm[OUT_W-1:0]};
wire done = wr_en && wr_last;
wire taken = m_axis_tvalid && m_axis_tready;
wire [V_W-1:0] out_vector = {m_axis_tlast, m_axis_tdata[OUT_W-1:0]};

// ghost FIFO of completed vectors: count (3 = overflowed, sticky), head e0, second e1
reg [1:0] count = 2'd0;
reg [V_W-1:0] e0;
reg [V_W-1:0] e1;
wire [1:0] count_popped = count - {1'b0, taken && count != 2'd0};

always @(posedge clk) begin
    g_blk0 <= n_blk0;
    g_blk1 <= n_blk1;
    if (wr_en && wr_blk == 0) begin
        g_written0 <= 1'b1;
    end
    if (wr_en && wr_blk == 1) begin
        g_written1 <= 1'b1;
    end
    if (taken) begin
        e0 <= e1;
    end
    if (done) begin
        if (count_popped == 2'd0) begin
            e0 <= completed;
        end else begin
            e1 <= completed;
        end
    end
    if (count != 2'd3) begin
        count <= count_popped + {1'b0, done};
    end
    if (rst) begin
        count <= 2'd0;
    end
end

reg [V_W-1:0] last_out_vector;
reg last_stalled = 1'b0;
always @(posedge clk) begin
    last_out_vector <= out_vector;
    last_stalled <= m_axis_tvalid && !m_axis_tready && !rst;
end

// the newest completed vector: e1 when two are held, else e0
wire [V_W-1:0] newest = count == 2'd2 ? e1 : e0;
wire [2*BLK_W-1:0] full_asm = {tap_blk1, tap_blk0};
// tlast of the assembled vector, driven by the driver's taps
(* keep *) wire tap_asm_last;

always @* begin
    if (past_valid && last_stalled) begin
        stable_valid: assert (m_axis_tvalid);
        stable_data: assert (out_vector == last_out_vector);
    end
    if (past_valid) begin
        no_invented: assert (!m_axis_tvalid || count != 2'd0);
        in_order: assert (!m_axis_tvalid || out_vector == e0);
        no_overflow: assert (count != 2'd3);
        no_drop: assert (count == {1'b0, full} + {1'b0, m_axis_tvalid});
        inv_blocks: assert ((!g_written0 || tap_blk0 == g_blk0) && (!g_written1 || tap_blk1 == g_blk1)
                            && (!full || {tap_asm_last, full_asm[OUT_W-1:0]} == newest));
    end
end

endmodule

`resetall
