/*

E-RNN toolkit: iCE40 board wrapper of the self-test harness (open-source flow)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Power-on / button reset, the accelerator's self-test (rtl/ernn_selftest.v: the exported test
 * vectors through ernn_top, every output compared with the golden model's), and three LEDs:
 *   led_green_n  on (low) when the self-test is done and every output matched
 *   led_red_n    on (low) when the self-test is done with a mismatch
 *   led_heartbeat toggles at clk / 2**23 (about 1.4 Hz at 12 MHz)
 */
module ernn_ice40_top #
(
    // directory of the exported $readmemh images, without a trailing slash
    parameter MEM_DIR = "mem",
    // directory of the exported test vectors, without a trailing slash
    parameter VEC_DIR = "vectors"
)
(
    input  wire clk,
    input  wire btn_n,
    output wire led_red_n,
    output wire led_green_n,
    output wire led_heartbeat
);

wire done;
wire pass;
wire heartbeat;

// reset, self-test and heartbeat: fpga/open/ernn_open_board.v (shared with the other open-flow board)
ernn_open_board #(
    .MEM_DIR(MEM_DIR),
    .VEC_DIR(VEC_DIR),
    .HEARTBEAT_W(24)
)
board_inst (
    .clk(clk),
    .btn_n(btn_n),
    .done(done),
    .pass(pass),
    .heartbeat(heartbeat)
);

assign led_green_n = !(done && pass);
assign led_red_n = !(done && !pass);
assign led_heartbeat = heartbeat;

endmodule

`resetall
