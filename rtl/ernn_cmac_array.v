/*

E-RNN toolkit: P complex MAC lanes with their weight-spectrum memory

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * P lanes of ernn_cmac in lockstep; lane l multiplies its x operand by its slice of one
 * weight-memory word and accumulates over a run (in_first .. in_last), exactly:
 *
 *   acc_l = sum over the run of x_l * W[addr][l]      (ernn.golden.matvec.cmac, one bin each)
 *
 * Weight memory: W_DEPTH words of P * 2 * W_W bits from W_FILE ($readmemh); lane l's
 * complex weight is {im, re} at bits [2 l W_W +: 2 W_W] (re low), each Q(W_W, S)
 * (weight_spectrum). All lanes read the same address, so one wide memory (block RAM
 * columns) feeds them. docs/pe.md gives the address order the PE uses.
 *
 * Timing: in_valid/in_first/in_last/in_user/in_addr at clock c; the lanes' x operands
 * (Q(X_W, D), fft_out) at clock c + 1, when the memory word arrives (the PE reads its
 * input-spectrum buffer with the same one-clock latency). acc_valid rises LATENCY = 4 + MREG
 * clocks after the in_last beat, with that beat's in_user. Everything advances on en.
 * MREG = 1 registers every lane's multiplier outputs (ernn_cmac MREG, the DSP48E2's MREG).
 * The three-multiplier form (CMUL_3M = 1) uses 3 multipliers per lane, 3 P in all; with
 * DSP_PACK = 1 (narrow formats only, ernn_cmac checks the widths) 2 packed multiplies per
 * lane, 2 P in all, with the same sums. With REAL_BINS = B the lanes l = 0 and B - 1 (mod B)
 * are real lanes (one multiply, x_im must be 0, acc_im = 0): the PE sets B = K/2 + 1 when P
 * is a multiple of it, so those lanes only ever see bins 0 and K/2. With both, the real lanes
 * of row blocks 2n and 2n + 1 (lanes l and l + B, the same bin, hence the same x) share one
 * packed multiply (ernn_rmac_pair): a row-block pair's 4 real lanes take 2 DSP48E2, not 4.
 * SPLIT_LANE > 0: a run whose first beat has in_split starts at 0 in the lanes SPLIT_LANE..
 * (ernn_cmac in_zero_start; ernn_pe SPLIT adds their sums to lanes 0.., which hold the
 * rounding constant); lanes below SPLIT_LANE and runs without in_split are unchanged.
 */
module ernn_cmac_array #
(
    // number of lanes
    parameter P = 4,
    // x (input spectrum) word
    parameter X_W = 20,
    // weight spectrum word
    parameter W_W = 16,
    // accumulator word (>= X_W + W_W + 1; the PE checks it against its run length)
    parameter ACC_W = 43,
    // weight memory depth in words (>= 2)
    parameter W_DEPTH = 64,
    // $readmemh file of the weight memory
    parameter W_FILE = "",
    // sideband carried from the in_last beat to acc_valid
    parameter USER_W = 1,
    // complex multiplier form (1: three multipliers)
    parameter CMUL_3M = 1,
    // 1: two packed multiplies per lane (DSP48E2 packing, ernn_cmac)
    parameter DSP_PACK = 0,
    // 0: all lanes complex; B >= 2: lanes l with l mod B = 0 or B - 1 are real lanes (ernn_cmac REAL:
    // bins 0 and K/2 when B = K/2 + 1 and every lane always sees the same bin)
    parameter REAL_BINS = 0,
    // 1: register the lanes' multiplier outputs (one more clock of latency)
    parameter MREG = 0,
    // > 0: the lanes' sums start at 2**(ROUND_SHIFT-1) (ernn_cmac ROUND_SHIFT)
    parameter ROUND_SHIFT = 0,
    // > 0: the lanes from SPLIT_LANE up start a run whose first beat has in_split at 0 (ernn_cmac
    // in_zero_start): their sums are added to lanes 0.. (ernn_pe SPLIT); 0: in_split is not read
    parameter SPLIT_LANE = 0,
    // weight address width (derived; do not override)
    parameter W_ADDR_W = $clog2(W_DEPTH)
)
(
    input  wire                clk,
    input  wire                rst,
    input  wire                en,

    input  wire                in_valid,
    input  wire                in_first,
    input  wire                in_last,
    input  wire                in_split,   // with in_first: lanes SPLIT_LANE.. start at 0
    input  wire [USER_W-1:0]   in_user,
    input  wire [W_ADDR_W-1:0] in_addr,
    input  wire [P*X_W-1:0]    in_x_re,    // one clock after in_addr
    input  wire [P*X_W-1:0]    in_x_im,

    output wire                acc_valid,
    output wire [USER_W-1:0]   acc_user,
    output wire [P*ACC_W-1:0]  acc_re,
    output wire [P*ACC_W-1:0]  acc_im
);

// clocks from the in_last beat to acc_valid: memory read + 3 + MREG lane levels
localparam LATENCY = 4 + MREG;

initial begin
    if (P < 1) begin
        $error("Error: ernn_cmac_array P must be >= 1 (got %0d)", P);
        $finish;
    end
    if (REAL_BINS == 1 || REAL_BINS < 0) begin
        $error("Error: ernn_cmac_array REAL_BINS must be 0 or >= 2 (got %0d)", REAL_BINS);
        $finish;
    end
    if (SPLIT_LANE < 0 || 2 * SPLIT_LANE > P) begin
        $error("Error: ernn_cmac_array SPLIT_LANE must be in 0 .. P/2 (got %0d, P %0d)", SPLIT_LANE, P);
        $finish;
    end
    if (USER_W < 1) begin
        $error("Error: ernn_cmac_array USER_W must be >= 1 (got %0d)", USER_W);
        $finish;
    end
    if (W_ADDR_W != $clog2(W_DEPTH)) begin
        $error("Error: ernn_cmac_array W_ADDR_W is derived and must equal $clog2(W_DEPTH) = %0d", $clog2(W_DEPTH));
        $finish;
    end
end

wire [P*2*W_W-1:0] w_word;

ernn_rom #(
    .WIDTH(P * 2 * W_W),
    .DEPTH(W_DEPTH),
    .INIT_FILE(W_FILE)
)
w_rom_inst (
    .clk(clk),
    .en(en),
    .addr(in_addr),
    .rdata(w_word)
);

// run control aligned with the memory word (level 1)
wire valid_1;
wire first_1;
wire last_1;
wire split_1;

ernn_delay #(
    .DEPTH(1),
    .WIDTH(3)
)
ctrl_delay_inst (
    .clk(clk),
    .rst(rst),
    .en(en),
    .in_valid(in_valid),
    .in_data({in_first, in_last, in_split}),
    .out_valid(valid_1),
    .out_data({first_1, last_1, split_1})
);

// the sideband, LATENCY levels, without a valid flag: the lanes carry the valid (acc_valid marks a
// run's end), so out_valid is always 0
/* verilator lint_off UNUSEDSIGNAL */
wire user_valid;
/* verilator lint_on UNUSEDSIGNAL */

ernn_delay #(
    .DEPTH(LATENCY),
    .WIDTH(USER_W),
    .VALID(0)
)
user_delay_inst (
    .clk(clk),
    .rst(rst),
    .en(en),
    .in_valid(1'b0),
    .in_data(in_user),
    .out_valid(user_valid),
    .out_data(acc_user)
);

wire [P-1:0] lane_valid;

// 1: pair the real lanes of neighbouring row blocks on one packed multiply (ernn_rmac_pair)
localparam PAIR_REAL = DSP_PACK != 0 && REAL_BINS >= 2;

genvar l;

generate

for (l = 0; l < P; l = l + 1) begin : lane
    // a real lane (bin 0 or K/2 of its row block l / REAL_BINS); with DSP_PACK the real lanes of row
    // blocks 2n and 2n + 1 read the same x and share one packed multiply (ernn_rmac_pair): the even
    // block's lane leads, the odd block's lane is its partner; an odd last block's lane stays alone
    localparam IS_REAL = REAL_BINS >= 2 && (l % REAL_BINS == 0 || l % REAL_BINS == REAL_BINS - 1);
    localparam PAIR_LEAD = IS_REAL && PAIR_REAL && (l / REAL_BINS) % 2 == 0 && l + REAL_BINS < P;
    localparam PAIR_PARTNER = IS_REAL && PAIR_REAL && (l / REAL_BINS) % 2 == 1;
    // a lane of the second group of a split run (ernn_pe SPLIT; a pair never straddles SPLIT_LANE,
    // a multiple of 2 (K/2 + 1) there)
    wire zero_start = SPLIT_LANE > 0 && l >= SPLIT_LANE ? split_1 : 1'b0;

    if (PAIR_LEAD) begin : g_pair
        localparam integer MATE = PAIR_LEAD ? l + REAL_BINS : l;
        // the pair's one valid, for both lanes (not read back from lane_valid: no self-loop in it)
        wire pair_valid;
        ernn_rmac_pair #(
            .X_W(X_W),
            .W_W(W_W),
            .ACC_W(ACC_W),
            .MREG(MREG),
            .ROUND_SHIFT(ROUND_SHIFT)
        )
        pair_inst (
            .clk(clk),
            .rst(rst),
            .en(en),
            .in_valid(valid_1),
            .in_first(first_1),
            .in_zero_start(zero_start),
            .in_last(last_1),
            .x(in_x_re[l*X_W +: X_W]),
            .w_a(w_word[2*l*W_W +: W_W]),
            .w_b(w_word[2*MATE*W_W +: W_W]),
            .acc_valid(pair_valid),
            .acc_a(acc_re[l*ACC_W +: ACC_W]),
            .acc_b(acc_re[MATE*ACC_W +: ACC_W])
        );
        // a real bin has no imaginary part, and both row blocks read the same bin
        assign acc_im[l*ACC_W +: ACC_W] = {ACC_W{1'b0}};
        assign acc_im[MATE*ACC_W +: ACC_W] = {ACC_W{1'b0}};
        assign lane_valid[l] = pair_valid;
        assign lane_valid[MATE] = pair_valid;
        /* verilator lint_off UNUSEDSIGNAL */
        wire unused_w = &{1'b0, w_word[(2*l+1)*W_W +: W_W], w_word[(2*MATE+1)*W_W +: W_W], in_x_im[MATE*X_W +: X_W],
            in_x_re[MATE*X_W +: X_W]};
        /* verilator lint_on UNUSEDSIGNAL */

        // synthesis translate_off
        always @(posedge clk) begin
            if (en && valid_1 && in_x_im[l*X_W +: X_W] != {X_W{1'b0}}) begin
                $fatal(1, "Error: ernn_cmac_array real lane %0d got x_im = %0d (bins 0 and K/2 of a real FFT are real)",
                    l, $signed(in_x_im[l*X_W +: X_W]));
            end
            if (en && valid_1 && in_x_re[l*X_W +: X_W] != in_x_re[MATE*X_W +: X_W]) begin
                $fatal(1, "Error: ernn_cmac_array real lanes %0d and %0d share a multiply but got different x (%0d, %0d)",
                    l, MATE, $signed(in_x_re[l*X_W +: X_W]), $signed(in_x_re[MATE*X_W +: X_W]));
            end
        end
        // synthesis translate_on
    end else if (!PAIR_PARTNER) begin : g_lane
        ernn_cmac #(
            .X_W(X_W),
            .W_W(W_W),
            .ACC_W(ACC_W),
            .CMUL_3M(CMUL_3M),
            .DSP_PACK(DSP_PACK),
            .REAL(IS_REAL ? 1 : 0),
            .MREG(MREG),
            .ROUND_SHIFT(ROUND_SHIFT)
        )
        cmac_inst (
            .clk(clk),
            .rst(rst),
            .en(en),
            .in_valid(valid_1),
            .in_first(first_1),
            .in_zero_start(zero_start),
            .in_last(last_1),
            .x_re(in_x_re[l*X_W +: X_W]),
            .x_im(in_x_im[l*X_W +: X_W]),
            .w_re(w_word[2*l*W_W +: W_W]),
            .w_im(w_word[(2*l+1)*W_W +: W_W]),
            .acc_valid(lane_valid[l]),
            .acc_re(acc_re[l*ACC_W +: ACC_W]),
            .acc_im(acc_im[l*ACC_W +: ACC_W])
        );
    end else begin : g_partner
        // PAIR_PARTNER: driven by its leader's g_pair (lane l - REAL_BINS), whose zero start it shares
        /* verilator lint_off UNUSEDSIGNAL */
        wire unused_zero = zero_start;
        /* verilator lint_on UNUSEDSIGNAL */
    end
end

endgenerate

// the lanes run in lockstep: lane 0 speaks for all
assign acc_valid = lane_valid[0];

// the other lanes' copies of the same flag
/* verilator lint_off UNUSEDSIGNAL */
wire unused_valid = &{1'b0, lane_valid};
/* verilator lint_on UNUSEDSIGNAL */

endmodule

`resetall
