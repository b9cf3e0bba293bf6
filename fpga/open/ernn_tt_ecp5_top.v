/*

E-RNN toolkit: TT training engine self-test, ECP5 board wrapper (ULX3S pins, fpga/open/ecp5_ulx3s.lpf)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Power-on / button reset and the training self-test of fpga/open/ernn_tt_board.v (a TT-MLP trained by
 * rtl/ernn_tt_train_top.v from a command ROM, every reply checked against the golden model's signature),
 * and three LEDs (active high):
 *   led[0]  toggles at clk / 2**24 (about 1.5 Hz at 25 MHz)
 *   led[1]  on when the training self-test is done and matched the golden model
 *   led[2]  on when it is done with a mismatch
 * The engine runs directly on the board clock: nextpnr's Fmax of this design is the figure the flow
 * reports, the board clock only the constraint it must meet.
 * The parameters are ernn_tt_board's; ernn/sim/tt_flow.py sets them from the compiled program.
 */
module ernn_tt_ecp5_top #
(
    parameter DW = 48,
    parameter MUL_W = 24,
    parameter DEPTH = 1024,
    parameter AW = 10,
    parameter PROG_DEPTH = 4096,
    parameter PROG_FILE = "",
    parameter INFER_PC = 0,
    parameter LANES = 8,
    parameter [31:0] SEED = 32'd1,
    parameter CMD_FILE = "",
    parameter CMD_WORDS = 2,
    parameter REPLY_WORDS = 2,
    parameter [31:0] EXPECT = 32'd0
)
(
    input  wire       clk,
    input  wire       btn_n,
    output wire [2:0] led
);

wire done;
wire pass;
wire heartbeat;

ernn_tt_board #(
    .DW(DW), .MUL_W(MUL_W), .DEPTH(DEPTH), .AW(AW), .PROG_DEPTH(PROG_DEPTH), .PROG_FILE(PROG_FILE),
    .INFER_PC(INFER_PC), .LANES(LANES), .SEED(SEED), .CMD_FILE(CMD_FILE), .CMD_WORDS(CMD_WORDS),
    .REPLY_WORDS(REPLY_WORDS), .EXPECT(EXPECT), .HEARTBEAT_W(25)
) board_inst (
    .clk(clk),
    .btn_n(btn_n),
    .done(done),
    .pass(pass),
    .heartbeat(heartbeat)
);

assign led[0] = heartbeat;
assign led[1] = done && pass;
assign led[2] = done && !pass;

endmodule

`resetall
