/*

E-RNN toolkit: trainable tensor-train top (AXI4-Stream commands around ernn_tt_engine)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * One AXI4-Stream of 32-bit command packets in, one of 32-bit replies out. A command is a
 * header word {cmd[31:28], len[27:16], addr[15:0]} followed by its payload:
 *
 *   1 WRITE: len words follow; word i (sign-extended to DW) goes to memory address addr+i:
 *            the cores and biases (load), a batch's inputs x and one-hot targets t.
 *   2 READ:  replies len words, memory[addr+i] (the low 32 bits; tlast on the last): the
 *            cores and biases (read back), the outputs y.
 *   3 STEP:  runs one training step; replies the status {step count} and {cycles of the
 *            step} (tlast on the second).
 *   4 INFER: runs the forward pass alone (y from the current cores); replies the same two
 *            words (the step count unchanged).
 *
 * Any other cmd sets the sticky `error` output and the header is dropped. The memory map
 * (where the cores, x, t and y live) is the program's (ernn/export/tt_program.py).
 * Input and output may pause at any beat (tvalid low / tready low).
 */
module ernn_tt_train_top #
(
    parameter DW = 48,
    parameter MUL_W = 24,
    parameter DEPTH = 1024,
    parameter AW = 10,
    parameter PROG_DEPTH = 4096,
    parameter PROG_FILE = "",
    parameter INFER_PC = 0,
    parameter LANES = 8,
    parameter [31:0] SEED = 32'd1
)
(
    input  wire        clk,
    input  wire        rst,

    input  wire [31:0] s_axis_tdata,
    input  wire        s_axis_tvalid,
    output wire        s_axis_tready,
    // a command's length is in its header: tlast is not needed to find the next header
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire        s_axis_tlast,
    /* verilator lint_on UNUSEDSIGNAL */

    output reg  [31:0] m_axis_tdata,
    output reg         m_axis_tvalid,
    input  wire        m_axis_tready,
    output reg         m_axis_tlast,

    output wire        busy,   // the engine is running a step or an inference
    output reg         error
);

localparam [2:0] IDLE = 3'd0, WRITE = 3'd1, READ_ISSUE = 3'd2, READ_WAIT = 3'd3, READ_OUT = 3'd4,
                 RUN = 3'd5, STATUS0 = 3'd6, STATUS1 = 3'd7;

reg  [2:0]  state;
reg  [11:0] left;       // words still to move
reg  [15:0] addr;
reg  [31:0] steps, cycles;
reg         start, mode;
wire        done;
// a READ returns the low 32 bits: the trained words (cores, biases, masks) and y are narrower
/* verilator lint_off UNUSEDSIGNAL */
wire [DW-1:0] rd_data;
/* verilator lint_on UNUSEDSIGNAL */

wire in_fire = s_axis_tvalid && s_axis_tready;
assign s_axis_tready = state == IDLE || state == WRITE;

ernn_tt_engine #(
    .DW(DW), .MUL_W(MUL_W), .DEPTH(DEPTH), .AW(AW), .PROG_DEPTH(PROG_DEPTH), .PROG_FILE(PROG_FILE),
    .INFER_PC(INFER_PC), .LANES(LANES), .SEED(SEED)
) engine (
    .clk(clk), .rst(rst), .start(start), .mode(mode), .busy(busy), .done(done),
    .host_wr_en(state == WRITE && in_fire), .host_rd_en(state == READ_ISSUE), .host_addr(addr[AW-1:0]),
    .host_wr_data({{(DW-32){s_axis_tdata[31]}}, s_axis_tdata}), .host_rd_data(rd_data)
);

always @(posedge clk) begin
    if (rst) begin
        state <= IDLE;
        m_axis_tvalid <= 1'b0;
        m_axis_tlast <= 1'b0;
        error <= 1'b0;
        start <= 1'b0;
        steps <= 32'd0;
    end else begin
        start <= 1'b0;
        if (m_axis_tvalid && m_axis_tready)
            m_axis_tvalid <= 1'b0;
        case (state)
            IDLE: if (in_fire) begin
                addr <= s_axis_tdata[15:0];
                left <= s_axis_tdata[27:16];
                case (s_axis_tdata[31:28])
                    4'd1: state <= s_axis_tdata[27:16] == 0 ? IDLE : WRITE;
                    4'd2: state <= s_axis_tdata[27:16] == 0 ? IDLE : READ_ISSUE;
                    4'd3, 4'd4: begin
                        start <= 1'b1;
                        mode <= s_axis_tdata[28] == 1'b0;  // 4 (INFER): mode 1
                        cycles <= 32'd0;
                        state <= RUN;
                    end
                    default: error <= 1'b1;
                endcase
            end
            WRITE: if (in_fire) begin
                addr <= addr + 1'b1;
                left <= left - 1'b1;
                if (left == 1)
                    state <= IDLE;
            end
            READ_ISSUE: state <= READ_WAIT;
            READ_WAIT: state <= READ_OUT;
            READ_OUT: if (!m_axis_tvalid || m_axis_tready) begin
                m_axis_tdata <= rd_data[31:0];
                m_axis_tvalid <= 1'b1;
                m_axis_tlast <= left == 1;
                addr <= addr + 1'b1;
                left <= left - 1'b1;
                state <= left == 1 ? IDLE : READ_ISSUE;
            end
            RUN: begin
                cycles <= cycles + 1'b1;
                if (done) begin
                    if (!mode)
                        steps <= steps + 1'b1;
                    state <= STATUS0;
                end
            end
            STATUS0: if (!m_axis_tvalid || m_axis_tready) begin
                m_axis_tdata <= steps;
                m_axis_tvalid <= 1'b1;
                m_axis_tlast <= 1'b0;
                state <= STATUS1;
            end
            STATUS1: if (!m_axis_tvalid || m_axis_tready) begin
                m_axis_tdata <= cycles;
                m_axis_tvalid <= 1'b1;
                m_axis_tlast <= 1'b1;
                state <= IDLE;
            end
            default: state <= IDLE;
        endcase
    end
end

endmodule

`resetall
