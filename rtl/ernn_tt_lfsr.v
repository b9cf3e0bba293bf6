/*

E-RNN toolkit: the lane LFSRs of the tensor-train training step's stochastic rounding

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * LANES 32-bit right-shifting Galois LFSRs, polynomial x^32 + x^22 + x^2 + x + 1 (toggle
 * mask 0x80200003), exactly golden/tt_formats.py's LaneLFSR: lane l starts (at reset) at
 * (SEED + l * 0x9E3779B9) mod 2^32, 0 replaced by 1. One step: bit = s[0]; s = s >> 1,
 * xor the mask when bit = 1; bit is the output.
 *
 * value is the next draw of `bits` bits (0..MAX_BITS) from the current lane, the first
 * output bit the most significant (combinational: `bits` steps unrolled). draw = 1 takes
 * it: that lane advances by `bits` steps and the lane pointer moves to the next lane
 * (mod LANES), also for bits = 0 (the golden draw order: every entry draws).
 */
module ernn_tt_lfsr #
(
    // number of lanes (>= 1)
    parameter LANES = 8,
    // the golden configuration's seed (TTTrainFormats.seed, taken mod 2^32)
    parameter [31:0] SEED = 32'd1,
    // the widest draw in bits (2..31)
    parameter MAX_BITS = 31,
    // lane pointer width (derived; do not override)
    parameter LANE_W = LANES > 1 ? $clog2(LANES) : 1
)
(
    input  wire                clk,
    input  wire                rst,

    input  wire [4:0]          bits,
    input  wire                draw,
    output wire [MAX_BITS-1:0] value
);

localparam [31:0] POLY = 32'h80200003;
localparam [31:0] GOLDEN = 32'h9E3779B9;
localparam integer LAST_LANE = LANES - 1;
localparam [LANE_W-1:0] LAST = LAST_LANE[LANE_W-1:0];

// the reset state of lane l (the golden seeding, 0 replaced by 1)
function [31:0] seed_of;
    input integer l;
    reg [31:0] v;
    begin
        v = SEED + l * GOLDEN;
        seed_of = v == 32'd0 ? 32'd1 : v;
    end
endfunction

initial begin
    if (LANES < 1 || MAX_BITS < 2 || MAX_BITS > 31) begin
        $error("Error: ernn_tt_lfsr needs LANES >= 1 and 2 <= MAX_BITS <= 31 (got LANES=%0d MAX_BITS=%0d)",
            LANES, MAX_BITS);
        $finish;
    end
end

reg [31:0] state [0:LANES-1];
reg [LANE_W-1:0] lane;

// `bits` steps of one lane: the output bits (first one most significant) and the new state
reg [31:0] s;
reg [MAX_BITS-1:0] v;
integer i;
always @* begin
    s = state[lane];
    v = {MAX_BITS{1'b0}};
    for (i = 0; i < MAX_BITS; i = i + 1) begin
        if (i < bits) begin
            v = {v[MAX_BITS-2:0], s[0]};
            s = s[0] ? ((s >> 1) ^ POLY) : (s >> 1);
        end
    end
end
assign value = v;

integer l;
always @(posedge clk) begin
    if (rst) begin
        for (l = 0; l < LANES; l = l + 1) begin
            state[l] <= seed_of(l);
        end
        lane <= {LANE_W{1'b0}};
    end else if (draw) begin
        state[lane] <= s;
        lane <= lane == LAST ? {LANE_W{1'b0}} : lane + 1'b1;
    end
end

endmodule

`resetall
