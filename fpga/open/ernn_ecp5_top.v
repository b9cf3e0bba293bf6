/*

E-RNN toolkit: ECP5 board wrapper of the self-test harness (open-source flow, ULX3S pins)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Power-on / button reset, the accelerator's self-test (rtl/ernn_selftest.v: the exported test
 * vectors through ernn_top, every output compared with the golden model's), and three LEDs
 * (active high, as on the ULX3S):
 *   led[0]  toggles at clk / 2**24 (about 1.5 Hz at 25 MHz)
 *   led[1]  on when the self-test is done and every output matched
 *   led[2]  on when the self-test is done with a mismatch
 * The accelerator runs directly on the board clock: nextpnr's Fmax of this design is the figure the
 * open flow reports (docs/performance.md), the 25 MHz board clock only the constraint it must meet.
 */
module ernn_ecp5_top #
(
    // directory of the exported $readmemh images, without a trailing slash
    parameter MEM_DIR = "mem",
    // directory of the exported test vectors, without a trailing slash
    parameter VEC_DIR = "vectors"
)
(
    input  wire       clk,
    input  wire       btn_n,
    output wire [2:0] led
);

wire done;
wire pass;
wire heartbeat;

// reset, self-test and heartbeat: fpga/open/ernn_open_board.v (shared with the other open-flow board)
ernn_open_board #(
    .MEM_DIR(MEM_DIR),
    .VEC_DIR(VEC_DIR),
    .HEARTBEAT_W(25)
)
board_inst (
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
