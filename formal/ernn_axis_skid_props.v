/*

E-RNN toolkit: properties of ernn_axis_skid (formal only)

*/

// Language: Verilog 2001 with Yosys -formal immediate assertions

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * The register slice keeps AXI4-Stream under any environment: s_axis_tvalid, s_axis_tdata,
 * s_axis_tlast, m_axis_tready and rst are free inputs (the upstream need not keep its own
 * beat stable; only the first clock is a reset). A ghost FIFO (count, e0 = head, e1) takes
 * every beat accepted on s_axis and gives every beat taken on m_axis:
 *
 *   stable_valid, stable_data  m_axis_tvalid, tdata and tlast do not change while
 *                              tvalid && !tready (AXI4-Stream, ARM IHI 0051 2.2.1)
 *   no_invented                no beat is offered that was not accepted (no duplication)
 *   in_order                   the beat offered is the oldest accepted one, with its tlast
 *   no_overflow                never more than two beats held: none accepted into a full slice
 *   no_drop                    a held beat is always offered
 *
 * Together they say the slice is a FIFO: the beats out are the beats in, in order, each once.
 * Lemmas for k-induction (the driver taps the skid register): the count is out + skid valid
 * (inv_count), the skid register holds the second beat (inv_skid), and the slice is never
 * ready with a full skid register (inv_ready).
 */
module ernn_axis_skid_props #
(
    // tdata width
    parameter DATA_W = 3
)
(
    input wire              clk,
    input wire              rst,
    input wire [DATA_W-1:0] s_axis_tdata,
    input wire              s_axis_tlast,
    input wire              s_axis_tvalid,
    input wire              m_axis_tready
);

wire s_axis_tready;
wire [DATA_W-1:0] m_axis_tdata;
wire m_axis_tlast;
wire m_axis_tvalid;

ernn_axis_skid #(
    .DATA_W(DATA_W)
)
dut (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tlast(s_axis_tlast),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tlast(m_axis_tlast),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

// the skid register of the DUT, driven by the driver's taps
(* keep *) wire tap_skid_valid;
(* keep *) wire [DATA_W-1:0] tap_skid_data;
(* keep *) wire tap_skid_last;

// the environment starts with a reset (the DUT's registers have no initial value)
reg past_valid = 1'b0;
always @(posedge clk) begin
    past_valid <= 1'b1;
end
always @* begin
    if (!past_valid) begin
        assume (rst);
    end
end

wire in_beat_taken = s_axis_tvalid && s_axis_tready;
wire out_beat_taken = m_axis_tvalid && m_axis_tready;
wire [DATA_W:0] in_beat = {s_axis_tlast, s_axis_tdata};
wire [DATA_W:0] out_beat = {m_axis_tlast, m_axis_tdata};

// ghost FIFO: count (3 = overflowed, sticky), head e0, second e1
reg [1:0] count = 2'd0;
reg [DATA_W:0] e0;
reg [DATA_W:0] e1;
wire [1:0] count_popped = count - {1'b0, out_beat_taken && count != 2'd0};

always @(posedge clk) begin
    if (out_beat_taken) begin
        e0 <= e1;
    end
    if (in_beat_taken) begin
        if (count_popped == 2'd0) begin
            e0 <= in_beat;
        end else begin
            e1 <= in_beat;
        end
    end
    if (count != 2'd3) begin
        count <= count_popped + {1'b0, in_beat_taken};
    end
    if (rst) begin
        count <= 2'd0;
    end
end

reg [DATA_W:0] last_out_beat;
reg last_stalled = 1'b0;
always @(posedge clk) begin
    last_out_beat <= out_beat;
    last_stalled <= m_axis_tvalid && !m_axis_tready && !rst;
end

always @* begin
    if (past_valid && last_stalled) begin
        stable_valid: assert (m_axis_tvalid);
        stable_data: assert (out_beat == last_out_beat);
    end
    if (past_valid) begin
        no_invented: assert (!m_axis_tvalid || count != 2'd0);
        in_order: assert (!m_axis_tvalid || out_beat == e0);
        no_overflow: assert (count != 2'd3);
        no_drop: assert (count == 2'd0 || m_axis_tvalid);
        inv_count: assert (count == {1'b0, m_axis_tvalid} + {1'b0, tap_skid_valid});
        inv_skid: assert (!tap_skid_valid || {tap_skid_last, tap_skid_data} == e1);
        inv_ready: assert (!(s_axis_tready && tap_skid_valid));
    end
end

endmodule

`resetall
