/*

E-RNN toolkit: AXI4-Stream register slice with skid buffer

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Full-throughput register slice: every output is registered, including s_axis_tready,
 * so neither tvalid nor tready has a combinational path through this module. A second
 * (skid) register catches the beat that arrives in the clock where m_axis_tready falls.
 * One clock of latency; one beat per clock sustained.
 */
module ernn_axis_skid #
(
    // tdata width
    parameter DATA_W = 32
)
(
    input  wire              clk,
    input  wire              rst,

    input  wire [DATA_W-1:0] s_axis_tdata,
    input  wire              s_axis_tlast,
    input  wire              s_axis_tvalid,
    output wire              s_axis_tready,

    output wire [DATA_W-1:0] m_axis_tdata,
    output wire              m_axis_tlast,
    output wire              m_axis_tvalid,
    input  wire              m_axis_tready
);

initial begin
    if (DATA_W < 1) begin
        $error("Error: ernn_axis_skid DATA_W must be >= 1 (got %0d)", DATA_W);
        $finish;
    end
end

reg [DATA_W-1:0] out_data_reg;
reg out_last_reg;
reg out_valid_reg;
reg out_valid_next;

reg [DATA_W-1:0] skid_data_reg;
reg skid_last_reg;
reg skid_valid_reg;
reg skid_valid_next;

reg s_ready_reg;

reg load_out_from_input;
reg load_out_from_skid;
reg load_skid;

// ready next clock if the skid register stays free: the output moves on, or neither
// register will be holding a beat
wire s_ready_next = m_axis_tready || (!skid_valid_reg && (!out_valid_reg || !s_axis_tvalid));

always @* begin
    out_valid_next = out_valid_reg;
    skid_valid_next = skid_valid_reg;
    load_out_from_input = 1'b0;
    load_out_from_skid = 1'b0;
    load_skid = 1'b0;

    if (s_ready_reg) begin
        // the input may deliver a beat
        if (m_axis_tready || !out_valid_reg) begin
            out_valid_next = s_axis_tvalid;
            load_out_from_input = 1'b1;
        end else begin
            skid_valid_next = s_axis_tvalid;
            load_skid = 1'b1;
        end
    end else if (m_axis_tready) begin
        // drain the skid register
        out_valid_next = skid_valid_reg;
        skid_valid_next = 1'b0;
        load_out_from_skid = 1'b1;
    end
end

always @(posedge clk) begin
    s_ready_reg <= s_ready_next;
    out_valid_reg <= out_valid_next;
    skid_valid_reg <= skid_valid_next;

    if (load_out_from_input) begin
        out_data_reg <= s_axis_tdata;
        out_last_reg <= s_axis_tlast;
    end else if (load_out_from_skid) begin
        out_data_reg <= skid_data_reg;
        out_last_reg <= skid_last_reg;
    end

    if (load_skid) begin
        skid_data_reg <= s_axis_tdata;
        skid_last_reg <= s_axis_tlast;
    end

    if (rst) begin
        s_ready_reg <= 1'b0;
        out_valid_reg <= 1'b0;
        skid_valid_reg <= 1'b0;
    end
end

assign s_axis_tready = s_ready_reg;
assign m_axis_tdata = out_data_reg;
assign m_axis_tlast = out_last_reg;
assign m_axis_tvalid = out_valid_reg;

endmodule

`resetall
