/*

E-RNN toolkit: piecewise-linear activation (sigmoid or tanh), pipelined

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * y = f(x) for LANES gate pre-activations per clock, bit-exact with
 * ernn.golden.activation.activate (docs/numerics.md section 10). With R = RANGE_LOG2,
 * G = IN_F, S = SEG_BITS and B = R + 1 + G - S offset bits:
 *
 *   xc  = clamp(x, -2**(R+G), 2**(R+G) - 1)     designed input range (part of f, not counted)
 *   u   = xc + 2**(R+G)                         unsigned, U_W = R + 1 + G bits (MSB flip)
 *   seg = u >> B                                table address (top S bits, floor)
 *   off = u & (2**B - 1)                        position in the segment (low B bits)
 *   y   = sat_OUT( VALUE[seg] + rnd(SLOPE[seg] * off, SLOPE_F) )
 *
 * x is Q(IN_W.IN_F) (gate), y is Q(OUT_W, act frac) (the binary point of y is that of
 * the VALUE table and never used here), SLOPE is Q(SLOPE_W.SLOPE_F) in output LSBs per
 * input LSB. rnd is round-half-up ((v + 2**(SLOPE_F-1)) >> SLOPE_F, one adder), the one
 * rounding of the unit (R8); off is unsigned, so the product is exact in SLOPE_W + B + 1
 * bits. The final saturation cannot trigger with the generated tables but is kept so
 * that nothing ever wraps. With B = 0 (8- and 10-bit paths) the table is a plain
 * per-code lookup and no multiplier is generated.
 *
 * Tables: VALUE_FILE (2**S words of OUT_W bits) and SLOPE_FILE (2**S words of SLOPE_W
 * bits), two's-complement hex in segment order as written by the exporter
 * (sigmoid_values.mem / sigmoid_slopes.mem, tanh_*; ernn.golden.activation.activation_table
 * and ernn.golden.ops.hex_words). They are inferred ROMs with a synchronous read and an
 * output register (BRAM: DO_REG = 1). Each pair of lanes shares one copy of the tables
 * through the two read ports of a dual-port ROM, so LANES lanes need ceil(LANES / 2)
 * copies; at the 16-bit default one copy is 1024 x 16 + 1024 x 18 bits (two BRAM18, or
 * one BRAM36 as 1024 x 36).
 *
 * Pipeline: LATENCY = 4 clocks from in_* to out_* (1: ROM address register / read,
 * 2: ROM output register, 3: product register, 4: sum, saturation and output register);
 * the clamp and the address split in front of the ROM are wiring plus one MSB flip and
 * a range compare. Every register advances only while ce = 1 (stall-all clock enable);
 * in_valid / in_user travel with the data to out_valid / out_user (ernn_delay). Data
 * registers are not reset; rst clears the valid pipeline. For a valid/ready stream put
 * the unit in a stall-all pipeline: ce = out_ready || !out_valid, in_ready = ce.
 *
 * Resources per table copy: one ROM pair; per lane: one SLOPE_W x (B + 1) multiplier
 * (18 x 7 at the default, one DSP48 or a few LUTs) and two adders.
 */
module ernn_act_pwl #
(
    // parallel lanes (inputs per clock)
    parameter LANES = 1,
    // input word (gate format, e.g. Q16.11)
    parameter IN_W = 16,
    // input fraction bits (G)
    parameter IN_F = 11,
    // output word (act format, e.g. Q16.14), also the VALUE table word
    parameter OUT_W = 16,
    // SLOPE table word (act_slope format, e.g. Q18.13)
    parameter SLOPE_W = 18,
    // SLOPE table fraction bits: the interpolation product is rounded by this many bits
    parameter SLOPE_F = 13,
    // input range 2**RANGE_LOG2 (sigmoid 4, tanh 3 by default)
    parameter RANGE_LOG2 = 4,
    // log2 of the number of segments (table address bits)
    parameter SEG_BITS = 10,
    // $readmemh file of the VALUE table (2**SEG_BITS words, Q(OUT_W, act frac))
    parameter VALUE_FILE = "",
    // $readmemh file of the SLOPE table (2**SEG_BITS words, Q(SLOPE_W.SLOPE_F))
    parameter SLOPE_FILE = "",
    // sideband carried from in_user to out_user
    parameter USER_W = 1
)
(
    input  wire                    clk,
    input  wire                    rst,
    input  wire                    ce,

    input  wire [LANES*IN_W-1:0]   in_x,
    input  wire                    in_valid,
    input  wire [USER_W-1:0]       in_user,

    output wire [LANES*OUT_W-1:0]  out_y,
    output wire                    out_valid,
    output wire [USER_W-1:0]       out_user
);

// clocks from in_* to out_*
localparam LATENCY = 4;
// clamped input / unsigned offset word, R + 1 + G bits
localparam U_W = RANGE_LOG2 + 1 + IN_F;
// offset bits inside one segment
localparam B = U_W - SEG_BITS;
// table entries
localparam SEGS = 1 << SEG_BITS;
// ROM address word (a 1-entry table still needs one address bit)
localparam ADDR_W = SEG_BITS > 0 ? SEG_BITS : 1;
// offset register word (1 when B = 0: the register is then unused)
localparam OFF_W = B > 0 ? B : 1;
// exact product SLOPE * off (signed x unsigned B bits)
localparam PROD_W = SLOPE_W + B + 1;
// product sign-extended so that a rounding shift of SLOPE_F bits is defined
localparam PRODX_W = PROD_W > SLOPE_F + 1 ? PROD_W : SLOPE_F + 1;
// rounded interpolation term rnd(SLOPE * off, SLOPE_F), exact
localparam TERM_W = SLOPE_F > 0 ? PRODX_W + 1 - SLOPE_F : PRODX_W;
// VALUE + term before saturation
localparam SUM_W = (OUT_W > TERM_W ? OUT_W : TERM_W) + 1;
// ROM copies: two lanes per dual-port copy
localparam COPIES = (LANES + 1) / 2;

// check configuration
initial begin
    if (LANES < 1) begin
        $error("Error: ernn_act_pwl LANES must be >= 1 (got %0d)", LANES);
        $finish;
    end
    if (IN_F < 0 || IN_F > IN_W - 2) begin
        $error("Error: ernn_act_pwl IN_F (%0d) must be in [0, IN_W - 2 = %0d]", IN_F, IN_W - 2);
        $finish;
    end
    if (RANGE_LOG2 < 0 || U_W > IN_W || U_W < 2) begin
        $error("Error: ernn_act_pwl RANGE_LOG2 (%0d) must be in [0, IN_W - 1 - IN_F = %0d] (the range must fit the input format) and RANGE_LOG2 + 1 + IN_F >= 2",
            RANGE_LOG2, IN_W - 1 - IN_F);
        $finish;
    end
    if (SEG_BITS < 0 || SEG_BITS > U_W || SEG_BITS > 14) begin
        $error("Error: ernn_act_pwl SEG_BITS (%0d) must be in [0, min(RANGE_LOG2 + 1 + IN_F, 14) = %0d]",
            SEG_BITS, U_W < 14 ? U_W : 14);
        $finish;
    end
    if (OUT_W < 2 || SLOPE_W < 2 || SLOPE_F < 0) begin
        $error("Error: ernn_act_pwl needs OUT_W >= 2, SLOPE_W >= 2, SLOPE_F >= 0 (got %0d, %0d, %0d)",
            OUT_W, SLOPE_W, SLOPE_F);
        $finish;
    end
    if (VALUE_FILE == "" || SLOPE_FILE == "") begin
        $error("Error: ernn_act_pwl needs VALUE_FILE and SLOPE_FILE (the $readmemh tables)");
        $finish;
    end
    if (USER_W < 1) begin
        $error("Error: ernn_act_pwl USER_W must be >= 1 (got %0d)", USER_W);
        $finish;
    end
end

// valid and sideband travel beside the lanes
ernn_delay #(
    .DEPTH(LATENCY),
    .WIDTH(USER_W)
)
delay_inst (
    .clk(clk),
    .rst(rst),
    .en(ce),
    .in_valid(in_valid),
    .in_data(in_user),
    .out_valid(out_valid),
    .out_data(out_user)
);

genvar c, l;

generate

for (c = 0; c < COPIES; c = c + 1) begin : g_copy
    // one copy of the tables, read by lanes 2c and 2c + 1
    reg [OUT_W-1:0] value_rom [0:SEGS-1];    // Q(OUT_W, act frac)
    reg [SLOPE_W-1:0] slope_rom [0:SEGS-1];  // Q(SLOPE_W.SLOPE_F)

    initial begin
        if (VALUE_FILE != "" && SLOPE_FILE != "") begin
            $readmemh(VALUE_FILE, value_rom);
            $readmemh(SLOPE_FILE, slope_rom);
        end
    end

    for (l = 2 * c; l < 2 * c + 2 && l < LANES; l = l + 1) begin : g_lane
        // clamp to the designed range: saturation to U_W bits, Q(U_W.IN_F)
        wire [U_W-1:0] xc;
        ernn_round_sat #(.IN_W(IN_W), .SHIFT(0), .OUT_W(U_W))
        clamp_inst (.in(in_x[l*IN_W +: IN_W]), .out(xc));

        // u = xc + 2**(U_W-1): flip the sign bit (unsigned offset binary)
        wire [U_W-1:0] u = {~xc[U_W-1], xc[U_W-2:0]};
        wire [ADDR_W-1:0] seg;
        wire [OFF_W-1:0] off;
        if (SEG_BITS > 0) begin : g_seg
            assign seg = u[U_W-1 -: ADDR_W];
        end else begin : g_seg0
            assign seg = {ADDR_W{1'b0}};
        end
        if (B > 0) begin : g_off
            assign off = u[OFF_W-1:0];
        end else begin : g_off0
            assign off = {OFF_W{1'b0}};
        end

        // level 1: synchronous ROM read (BRAM address register) and offset
        reg [OUT_W-1:0] value_1_reg;    // Q(act)
        reg [SLOPE_W-1:0] slope_1_reg;  // Q(SLOPE_W.SLOPE_F)
        reg [OFF_W-1:0] off_1_reg;      // input LSBs into the segment, unsigned
        // level 2: ROM output register
        reg [OUT_W-1:0] value_2_reg;
        reg [SLOPE_W-1:0] slope_2_reg;
        reg [OFF_W-1:0] off_2_reg;
        // level 3: VALUE beside the product
        reg [OUT_W-1:0] value_3_reg;    // Q(act)
        // level 4: output
        reg [OUT_W-1:0] y_reg;          // Q(act)

        always @(posedge clk) begin
            if (ce) begin
                value_1_reg <= value_rom[seg];
                slope_1_reg <= slope_rom[seg];
                off_1_reg <= off;
                value_2_reg <= value_1_reg;
                slope_2_reg <= slope_1_reg;
                off_2_reg <= off_1_reg;
                value_3_reg <= value_2_reg;
            end
        end

        wire [SUM_W-1:0] sum;  // VALUE + rnd(SLOPE * off), exact, act LSBs
        wire [OUT_W-1:0] y;

        if (B > 0) begin : g_interp
            // operands at the product width: the product is exact and needs no truncation
            wire [PROD_W-1:0] slope_x = {{(PROD_W-SLOPE_W){slope_2_reg[SLOPE_W-1]}}, slope_2_reg};
            wire [PROD_W-1:0] off_x = {{(PROD_W-OFF_W){1'b0}}, off_2_reg};
            reg [PROD_W-1:0] prod_3_reg;  // SLOPE * off, act LSBs with SLOPE_F fraction bits

            always @(posedge clk) begin
                if (ce) begin
                    prod_3_reg <= $signed(slope_x) * $signed(off_x);
                end
            end

            wire [PRODX_W-1:0] prodx = {{(PRODX_W-PROD_W){prod_3_reg[PROD_W-1]}}, prod_3_reg};
            wire [TERM_W-1:0] term;  // rnd(SLOPE * off, SLOPE_F), act LSBs
            ernn_round_sat #(.IN_W(PRODX_W), .SHIFT(SLOPE_F), .OUT_W(TERM_W))
            rnd_inst (.in(prodx), .out(term));

            assign sum = $signed({{(SUM_W-OUT_W){value_3_reg[OUT_W-1]}}, value_3_reg})
                       + $signed({{(SUM_W-TERM_W){term[TERM_W-1]}}, term});
        end else begin : g_lookup
            // B = 0: one entry per input code, the slopes are zero and not used
            /* verilator lint_off UNUSEDSIGNAL */
            wire [SLOPE_W+OFF_W-1:0] unused = {slope_2_reg, off_2_reg};
            /* verilator lint_on UNUSEDSIGNAL */
            assign sum = {{(SUM_W-OUT_W){value_3_reg[OUT_W-1]}}, value_3_reg};
        end

        ernn_round_sat #(.IN_W(SUM_W), .SHIFT(0), .OUT_W(OUT_W))
        sat_inst (.in(sum), .out(y));

        always @(posedge clk) begin
            if (ce) begin
                y_reg <= y;
            end
        end

        assign out_y[l*OUT_W +: OUT_W] = y_reg;
    end
end

endgenerate

endmodule

`resetall
