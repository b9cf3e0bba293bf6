/*

E-RNN toolkit: board-independent self-test of the TT training engine (open-flow board wrappers)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Trains a TT-MLP on the board and checks the result against the golden model, without a host:
 *   - a power-on reset held for 16 clocks after configuration, and while the (active-low, two-flop
 *     synchronised) button is pressed (ernn_board_reset.v);
 *   - a command ROM (CMD_FILE, CMD_WORDS 32-bit words, written by ernn/sim/tt_flow.py) streamed into
 *     ernn_tt_train_top (rtl/ernn_tt_train_top.v): the initial cores, bias and rank masks, then per
 *     training step the batch's inputs and one-hot targets and STEP, then READs of every trained word,
 *     an INFER on a held batch and a READ of its outputs;
 *   - every reply word (the status words of each STEP and of the INFER, the words read back) folded into
 *     a 32-bit signature, sig <- rotl(sig, 1) ^ word, from 0; after REPLY_WORDS words `done` rises and
 *     `pass` says the signature equals EXPECT (the golden model's replies folded the same way) and the
 *     engine raised no error;
 *   - a heartbeat, the top bit of a HEARTBEAT_W-bit free-running counter (ernn_board_reset.v).
 * The replies are always accepted (m_axis_tready high); the command stream waits on s_axis_tready.
 */
module ernn_tt_board #
(
    // the engine (ernn_tt_train_top): widths, memory, program ROM, random source
    parameter DW = 48,
    parameter MUL_W = 24,
    parameter DEPTH = 1024,
    parameter AW = 10,
    parameter PROG_DEPTH = 4096,
    parameter PROG_FILE = "",
    parameter INFER_PC = 0,
    parameter LANES = 8,
    parameter [31:0] SEED = 32'd1,
    // the self-test: command stream ($readmemh, 32-bit words), reply count, golden signature
    parameter CMD_FILE = "",
    parameter CMD_WORDS = 2,
    parameter REPLY_WORDS = 2,
    parameter [31:0] EXPECT = 32'd0,
    // width of the heartbeat counter (its top bit is the heartbeat)
    parameter HEARTBEAT_W = 24,
    // command and reply counter widths (derived; do not override)
    parameter CMD_AW = $clog2(CMD_WORDS + 1),
    parameter REPLY_W = $clog2(REPLY_WORDS + 1)
)
(
    input  wire clk,
    input  wire btn_n,
    output reg  done,
    output reg  pass,
    output wire heartbeat
);

initial begin
    if (CMD_FILE == "" || CMD_WORDS < 2 || REPLY_WORDS < 1) begin
        $error("Error: ernn_tt_board needs CMD_FILE, CMD_WORDS >= 2 and REPLY_WORDS >= 1 (got CMD_WORDS=%0d REPLY_WORDS=%0d)",
            CMD_WORDS, REPLY_WORDS);
        $finish;
    end
end

// power-on reset and heartbeat (ernn_board_reset.v)
wire rst;
ernn_board_reset #(
    .HEARTBEAT_W(HEARTBEAT_W)
)
reset_inst (
    .clk(clk),
    .btn_n(btn_n),
    .rst(rst),
    .heartbeat(heartbeat)
);

// ---------------------------------------------------------------- command stream
// The ROM's word appears one clock after its read: cmd_valid_reg says the word on cmd_word is the next
// one to send. A new word is read when there is none or the current one is taken this clock.
reg  [CMD_AW-1:0] cmd_ptr_reg;
reg               cmd_valid_reg;
wire [31:0]       cmd_word;
wire              s_axis_tready;
wire              cmd_fire = cmd_valid_reg && s_axis_tready;
wire              cmd_more = cmd_ptr_reg != CMD_WORDS[CMD_AW-1:0];
wire              cmd_read = (!cmd_valid_reg || cmd_fire) && cmd_more && !rst;

ernn_rom #(.WIDTH(32), .DEPTH(CMD_WORDS), .INIT_FILE(CMD_FILE)) cmd_rom (
    .clk(clk), .en(cmd_read), .addr(cmd_ptr_reg[$clog2(CMD_WORDS)-1:0]), .rdata(cmd_word)
);

always @(posedge clk) begin
    if (rst) begin
        cmd_ptr_reg <= {CMD_AW{1'b0}};
        cmd_valid_reg <= 1'b0;
    end else begin
        if (cmd_read) begin
            cmd_ptr_reg <= cmd_ptr_reg + 1'b1;
            cmd_valid_reg <= 1'b1;
        end else if (cmd_fire) begin
            cmd_valid_reg <= 1'b0;
        end
    end
end

// ---------------------------------------------------------------- the engine
wire [31:0] m_axis_tdata;
wire        m_axis_tvalid;
wire        error;
// the replies are counted, so their tlast is not needed; busy is the engine's, not the self-test's
/* verilator lint_off UNUSEDSIGNAL */
wire        m_axis_tlast;
wire        busy;
/* verilator lint_on UNUSEDSIGNAL */

ernn_tt_train_top #(
    .DW(DW), .MUL_W(MUL_W), .DEPTH(DEPTH), .AW(AW), .PROG_DEPTH(PROG_DEPTH), .PROG_FILE(PROG_FILE),
    .INFER_PC(INFER_PC), .LANES(LANES), .SEED(SEED)
) engine_inst (
    .clk(clk), .rst(rst),
    .s_axis_tdata(cmd_word), .s_axis_tvalid(cmd_valid_reg), .s_axis_tready(s_axis_tready),
    .s_axis_tlast(1'b0),
    .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(1'b1), .m_axis_tlast(m_axis_tlast),
    .busy(busy), .error(error)
);

// ---------------------------------------------------------------- reply signature
reg [31:0]        sig_reg;
reg [REPLY_W-1:0] replies_reg;
always @(posedge clk) begin
    if (rst) begin
        sig_reg <= 32'd0;
        replies_reg <= {REPLY_W{1'b0}};
        done <= 1'b0;
        pass <= 1'b0;
    end else begin
        if (m_axis_tvalid && !done) begin
            sig_reg <= {sig_reg[30:0], sig_reg[31]} ^ m_axis_tdata;
            replies_reg <= replies_reg + 1'b1;
        end
        if (replies_reg == REPLY_WORDS[REPLY_W-1:0] && !done) begin
            done <= 1'b1;
            pass <= sig_reg == EXPECT && !error;
        end
    end
end

endmodule

`resetall
