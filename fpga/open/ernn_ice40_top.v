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

reg [23:0] heartbeat_reg = 24'd0;
always @(posedge clk) begin
    heartbeat_reg <= heartbeat_reg + 24'd1;
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

assign led_green_n = !(done && pass);
assign led_red_n = !(done && !pass);
assign led_heartbeat = heartbeat_reg[23];

endmodule

`resetall
