/*

E-RNN toolkit: power-on reset and heartbeat shared by the open-flow board cores

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * What every open-flow board core (ernn_open_board.v: the inference self-test; ernn_tt_board.v: the
 * training self-test) needs before its design can run on a board without a reset controller:
 *   - rst: a synchronous, active-high reset held for 16 clocks after configuration, and while the
 *     active-low button btn_n is pressed (synchronised through two flip-flops; the reset counter
 *     restarts on release, so the reset ends 16 clocks after it);
 *   - heartbeat: the top bit of a HEARTBEAT_W-bit free-running counter (toggles every 2**(W-1) clocks),
 *     so a board that shows nothing else still shows that it is clocked and configured.
 */
module ernn_board_reset #
(
    // width of the heartbeat counter (its top bit is the heartbeat)
    parameter HEARTBEAT_W = 24
)
(
    input  wire clk,
    input  wire btn_n,
    output wire rst,
    output wire heartbeat
);

// The declarations' initial values are the registers' state after configuration (FPGA flip-flops load
// them): that is what starts the reset, so they are meant.
/* verilator lint_off PROCASSINIT */
reg [3:0] por_cnt_reg = 4'd0;
reg [1:0] btn_sync_reg = 2'b11;
reg [HEARTBEAT_W-1:0] heartbeat_reg = {HEARTBEAT_W{1'b0}};
/* verilator lint_on PROCASSINIT */

always @(posedge clk) begin
    btn_sync_reg <= {btn_sync_reg[0], btn_n};
    if (!btn_sync_reg[1]) begin
        por_cnt_reg <= 4'd0;
    end else if (por_cnt_reg != 4'hf) begin
        por_cnt_reg <= por_cnt_reg + 4'd1;
    end
end
assign rst = por_cnt_reg != 4'hf;

always @(posedge clk) begin
    heartbeat_reg <= heartbeat_reg + 1'b1;
end
assign heartbeat = heartbeat_reg[HEARTBEAT_W-1];

endmodule

`resetall
