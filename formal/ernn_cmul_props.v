/*

E-RNN toolkit: properties of ernn_cmul (formal only)

*/

// Language: Verilog 2001 with Yosys -formal immediate assertions

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Combinational: for every x and c, the module's product (three- or four-multiplier form, or
 * the packed form: two products per multiply, split by the low field's sign)
 * equals the textbook complex product on a wider word, so it is exact and fits P_W bits:
 *
 *   product_re  p_re = xr cr - xi ci      (CONJ: xr cr + xi ci)
 *   product_im  p_im = xi cr + xr ci      (CONJ: xi cr - xr ci)
 */
module ernn_cmul_props #
(
    // x operand word
    parameter X_W = 5,
    // c operand word
    parameter C_W = 4,
    // 1: multiply by conj(c)
    parameter CONJ = 0,
    // 1: three-multiplier form
    parameter MUL3 = 1,
    // 1: packed form (two products per multiply)
    parameter PACK = 0
)
(
    input wire [X_W-1:0] x_re,
    input wire [X_W-1:0] x_im,
    input wire [C_W-1:0] c_re,
    input wire [C_W-1:0] c_im
);

localparam P_W = X_W + C_W + 1;
// reference word: two bits above the product word
localparam R_W = P_W + 2;

wire [P_W-1:0] p_re;
wire [P_W-1:0] p_im;

ernn_cmul #(
    .X_W(X_W),
    .C_W(C_W),
    .CONJ(CONJ),
    .MUL3(MUL3),
    .PACK(PACK)
)
dut (
    .x_re(x_re),
    .x_im(x_im),
    .c_re(c_re),
    .c_im(c_im),
    .p_re(p_re),
    .p_im(p_im)
);

wire signed [R_W-1:0] xr = $signed(x_re);
wire signed [R_W-1:0] xi = $signed(x_im);
wire signed [R_W-1:0] cr = $signed(c_re);
wire signed [R_W-1:0] ci = $signed(c_im);
wire signed [R_W-1:0] expected_re = CONJ ? xr * cr + xi * ci : xr * cr - xi * ci;
wire signed [R_W-1:0] expected_im = CONJ ? xi * cr - xr * ci : xi * cr + xr * ci;

always @* begin
    product_re: assert ($signed(p_re) == expected_re);
    product_im: assert ($signed(p_im) == expected_im);
end

endmodule

`resetall
