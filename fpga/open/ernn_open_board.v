/*

E-RNN toolkit: board-independent core of the open-flow board wrappers (iCE40, ECP5)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * What every open-flow board top needs around the accelerator's self-test, so that the board tops
 * (ernn_ice40_top.v, ernn_ecp5_top.v) only map pins and LED polarity:
 *   - a power-on reset held for 16 clocks after configuration, and while the (active-low, two-flop
 *     synchronised) button is pressed (ernn_board_reset.v);
 *   - the self-test (rtl/ernn_selftest.v: the exported test vectors through ernn_top, every output
 *     compared with the golden model's): done, pass;
 *   - a heartbeat, the top bit of a HEARTBEAT_W-bit free-running counter (toggles at clk / 2**(W-1); ernn_board_reset.v).
 */
module ernn_open_board #
(
    // directory of the exported $readmemh images, without a trailing slash
    parameter MEM_DIR = "mem",
    // directory of the exported test vectors, without a trailing slash
    parameter VEC_DIR = "vectors",
    // width of the heartbeat counter (its top bit is the heartbeat)
    parameter HEARTBEAT_W = 24
)
(
    input  wire clk,
    input  wire btn_n,
    output wire done,
    output wire pass,
    output wire heartbeat
);

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

ernn_selftest #(
    .MEM_DIR(MEM_DIR),
    .VEC_DIR(VEC_DIR)
)
selftest_inst (
    .clk(clk),
    .rst(rst),
    .done(done),
    .pass(pass),
    .mismatches()
);

endmodule

`resetall
