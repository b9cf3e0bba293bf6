/*

E-RNN toolkit: textbook complex product, the reference of the formal properties

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * p = x c (CONJ = 0) or x conj(c) (CONJ = 1), four products of the operands' own widths:
 *
 *   p_re = xr cr - xi ci    (CONJ: xr cr + xi ci)
 *   p_im = xi cr + xr ci    (CONJ: xi cr - xr ci)
 *
 * Each component lies in [-2**(X_W+C_W-1), 2**(X_W+C_W-1)] and fits P_W = X_W + C_W + 1 bits,
 * so the P_W-bit sums are the integers. Used by the property wrappers of formal/ only: the
 * products keep the operands' widths so that the solver sees small multipliers.
 */
module ernn_formal_cmul_ref #
(
    // x operand word
    parameter X_W = 4,
    // c operand word
    parameter C_W = 4,
    // 1: multiply by conj(c)
    parameter CONJ = 0,
    // product word (derived)
    parameter P_W = X_W + C_W + 1
)
(
    input  wire [X_W-1:0] x_re,
    input  wire [X_W-1:0] x_im,
    input  wire [C_W-1:0] c_re,
    input  wire [C_W-1:0] c_im,
    output wire [P_W-1:0] p_re,
    output wire [P_W-1:0] p_im
);

wire signed [X_W-1:0] xr = x_re;
wire signed [X_W-1:0] xi = x_im;
wire signed [C_W-1:0] cr = c_re;
wire signed [C_W-1:0] ci = c_im;
wire signed [P_W-1:0] rr = xr * cr;
wire signed [P_W-1:0] ii = xi * ci;
wire signed [P_W-1:0] ri = xr * ci;
wire signed [P_W-1:0] ir = xi * cr;

assign p_re = CONJ ? rr + ii : rr - ii;
assign p_im = CONJ ? ir - ri : ir + ri;

endmodule

`resetall
