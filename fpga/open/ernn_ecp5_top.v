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

// power-on reset: held for 16 cycles after configuration, and while the button is pressed
reg [3:0] por_cnt_reg = 4'd0;
reg [1:0] btn_sync_reg = 2'b11;
always @(posedge clk) begin
    btn_sync_reg <= {btn_sync_reg[0], btn_n};
    if (!btn_sync_reg[1]) begin
        por_cnt_reg <= 4'd0;
    end else if (por_cnt_reg != 4'hf) begin
        por_cnt_reg <= por_cnt_reg + 4'd1;
    end
end
wire rst = por_cnt_reg != 4'hf;

reg [24:0] heartbeat_reg = 25'd0;
always @(posedge clk) begin
    heartbeat_reg <= heartbeat_reg + 25'd1;
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

assign led[0] = heartbeat_reg[24];
assign led[1] = done && pass;
assign led[2] = done && !pass;

endmodule

`resetall
