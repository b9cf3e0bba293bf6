/*

E-RNN toolkit: board wrapper for the Vivado flow (vendor primitives allowed here, not in rtl/)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Board top: the accelerator in its self-test harness (rtl/ernn_selftest.v), which streams the
 * exported model's test vectors through ernn_top and compares every output with the golden model's.
 * The board clock drives the design directly (IBUFDS + BUFG for a differential clock); the push button
 * is synchronised into the synchronous active-high reset.
 *   led[0]  heartbeat (clock alive, ~1.5 Hz at 200 MHz)
 *   led[1]  self-test done
 *   led[2]  every output bit-exact with the golden model (valid once led[1] is on)
 */
module ernn_board_top #
(
    // 1: clk_p/clk_n is a differential pair (IBUFDS); 0: clk_p is single-ended, clk_n unused
    parameter DIFF_CLK = 1,
    // directory of the exported $readmemh images, without a trailing slash
    parameter MEM_DIR = "mem",
    // directory of the exported test vectors, without a trailing slash
    parameter VEC_DIR = "vectors"
)
(
    input  wire       clk_p,
    input  wire       clk_n,
    input  wire       rst_btn,
    output wire [2:0] led
);

wire clk_ibuf;
wire clk;

generate
    if (DIFF_CLK) begin : g_diff_clk
        IBUFDS clk_ibufds_inst (.I(clk_p), .IB(clk_n), .O(clk_ibuf));
    end else begin : g_se_clk
        assign clk_ibuf = clk_p;
    end
endgenerate

BUFG clk_bufg_inst (.I(clk_ibuf), .O(clk));

// two-flop synchroniser plus a few cycles of stretch for the reset
reg [3:0] rst_sync_reg = 4'hf;
always @(posedge clk) begin
    rst_sync_reg <= {rst_sync_reg[2:0], rst_btn};
end
wire rst = |rst_sync_reg;

reg [26:0] heartbeat_reg = 27'd0;
always @(posedge clk) begin
    heartbeat_reg <= heartbeat_reg + 27'd1;
end

wire done;
wire pass;

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

assign led = {pass & done, done, heartbeat_reg[26]};

endmodule

`resetall
