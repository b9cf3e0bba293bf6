/*

E-RNN toolkit: real-input k-point FFT (bins 0..k/2), fully pipelined

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Forward FFT of one real block x[0..K-1] per clock, bit-exact with ernn.golden.fft.fft_real:
 *
 *   X[m] = sum_n x[n] W_K^(n m),   W_K = exp(-2 pi j / K),   m = 0..K/2 (the K/2+1 bins
 *   a real signal needs; X[K-m] = conj X[m] is never formed)
 *
 * Radix-2 decimation in time: the input is read in bit-reversed order (wiring only), the
 * output comes out in natural order. Stage s = 1..log2 K (ernn_fft_stage, INVERSE = 0)
 * combines 2**(s-1)-point spectra with the butterflies of ernn_fft_bfly (twiddle index
 * m = j K / 2**s); valid and tuser ride along in ernn_delay. No scaling: the
 * input is Q(OUT_W - log2 K, F) (IN_W bits sign-extended), stage s is Q(OUT_W - log2 K + s, F)
 * (one bit of growth per stage, saturated there), the output is Q(OUT_W, F). The twiddle
 * products are exact and rounded half-up once per component (back to F). Stages 1 and 2
 * only use W = 1 and W = -j and have no multipliers; later stages multiply only where
 * m is not 0 or K/4. Only the butterflies that feed bins 0..K/2 exist in the last stage.
 *
 * Twiddles come from TW_FILE ($readmemh, K/2 words of 2 TW_W bits, word m = {im, re} of
 * W_K^m: the exporter's mem/twiddle.mem, from ernn.golden.fft.twiddles()); not needed for
 * K = 4.
 *
 * Interface: one block per beat on s_axis (sample n at tdata[n*IN_W +: IN_W]), one
 * spectrum per beat on m_axis (bin m: re at tdata[2m*OUT_W +: OUT_W], im at
 * tdata[(2m+1)*OUT_W +: OUT_W], Q(OUT_W, F)); tuser is carried along.
 * Initiation interval 1 (a new block every clock), latency LATENCY = 2 log2 K - 2 +
 * MREG (log2 K - 2) clocks (one register level in stages 1-2, two in the multiplier stages,
 * three with MREG = 1: the multiplier outputs registered, ernn_cmul). The whole pipeline
 * stalls while m_axis is valid and not ready (s_axis_tready = m_axis_tready || !m_axis_tvalid).
 */
module ernn_fft #
(
    // block size K: power of two, 4..64
    parameter K = 16,
    // input sample word (data format, e.g. Q16.12)
    parameter IN_W = 16,
    // output bin word (fft_out format, e.g. Q20.12); must be >= IN_W + log2 K
    parameter OUT_W = 20,
    // twiddle word (e.g. Q18.16)
    parameter TW_W = 18,
    // twiddle fraction bits
    parameter TW_F = 16,
    // $readmemh file of the twiddles: K/2 words {im, re} of W_K^m
    parameter TW_FILE = "",
    // sideband carried from s_axis_tuser to m_axis_tuser
    parameter USER_W = 1,
    // complex multiplier form (1: three multipliers)
    parameter CMUL_3M = 1,
    // 1: register the multiplier outputs in stages 3.. (one more clock each)
    parameter MREG = 0
)
(
    input  wire                        clk,
    input  wire                        rst,

    input  wire [K*IN_W-1:0]           s_axis_tdata,
    input  wire [USER_W-1:0]           s_axis_tuser,
    input  wire                        s_axis_tvalid,
    output wire                        s_axis_tready,

    output wire [(K/2+1)*2*OUT_W-1:0]  m_axis_tdata,
    output wire [USER_W-1:0]           m_axis_tuser,
    output wire                        m_axis_tvalid,
    input  wire                        m_axis_tready
);

// log2 of the block size
localparam LOG2K = $clog2(K);
// bins produced
localparam BINS = K / 2 + 1;
// word of the stage-0 values (the sign-extended input, natural order)
localparam D_W = OUT_W - LOG2K;

// clocks from s_axis to m_axis: ernn_fft_stage takes 1 clock in stages 1-2, 2 + MREG in later stages
localparam LATENCY = 2 * LOG2K - 2 + MREG * (LOG2K - 2);

// check configuration
initial begin
    if (K < 4 || K > 64 || (K & (K - 1)) != 0) begin
        $error("Error: ernn_fft K must be a power of two in [4, 64] (got %0d)", K);
        $finish;
    end
    if (IN_W < 2 || OUT_W < IN_W + LOG2K) begin
        $error("Error: ernn_fft OUT_W (%0d) must be >= IN_W + log2 K = %0d (one bit of growth per stage)",
            OUT_W, IN_W + LOG2K);
        $finish;
    end
    if (TW_F < 2 || TW_F > TW_W - 2) begin
        $error("Error: ernn_fft TW_F (%0d) must be in [2, TW_W - 2 = %0d] so that +1.0 is representable",
            TW_F, TW_W - 2);
        $finish;
    end
    if (K > 4 && TW_FILE == "") begin
        $error("Error: ernn_fft K = %0d needs TW_FILE (the twiddle table)", K);
        $finish;
    end
    if (USER_W < 1) begin
        $error("Error: ernn_fft USER_W must be >= 1 (got %0d)", USER_W);
        $finish;
    end
end

// global pipeline enable: stall everything while the output is held
wire en = m_axis_tready || !m_axis_tvalid;

assign s_axis_tready = en;

// valid and tuser travel beside the stages
ernn_delay #(
    .DEPTH(LATENCY),
    .WIDTH(USER_W)
)
delay_inst (
    .clk(clk),
    .rst(rst),
    .en(en),
    .in_valid(s_axis_tvalid),
    .in_data(s_axis_tuser),
    .out_valid(m_axis_tvalid),
    .out_data(m_axis_tuser)
);

genvar s, n;

generate

for (s = 0; s <= LOG2K; s = s + 1) begin : st
    // word of the values after stage s
    localparam SW = D_W + s;

    // values after stage s (DIT order); the last stage's pruned entries are not read
    /* verilator lint_off UNUSEDSIGNAL */
    wire [K*SW-1:0] re;
    wire [K*SW-1:0] im;
    /* verilator lint_on UNUSEDSIGNAL */

    if (s == 0) begin : g_input
        // input in natural order, sign-extended to Q(D_W, F); the imaginary parts are zero
        for (n = 0; n < K; n = n + 1) begin : g_n
            ernn_round_sat #(.IN_W(IN_W), .SHIFT(0), .OUT_W(SW))
            ext_inst (.in(s_axis_tdata[n*IN_W +: IN_W]), .out(re[n*SW +: SW]));
        end
        assign im = {K*SW{1'b0}};
    end else begin : g_stage
        // Q(SW - 1, F) -> Q(SW, F): one bit of growth, saturated
        ernn_fft_stage #(
            .K(K),
            .STAGE(s),
            .IN_W(SW - 1),
            .OUT_W(SW),
            .TW_W(TW_W),
            .TW_F(TW_F),
            .TW_FILE(TW_FILE),
            .INVERSE(0),
            .CMUL_3M(CMUL_3M),
            .MREG(MREG)
        )
        stage_inst (
            .clk(clk),
            .en(en),
            .in_re(st[s-1].re),
            .in_im(st[s-1].im),
            .out_re(re),
            .out_im(im)
        );
    end
end

for (n = 0; n < BINS; n = n + 1) begin : g_out
    assign m_axis_tdata[2*n*OUT_W +: OUT_W] = st[LOG2K].re[n*OUT_W +: OUT_W];
    assign m_axis_tdata[(2*n+1)*OUT_W +: OUT_W] = st[LOG2K].im[n*OUT_W +: OUT_W];
end

endgenerate

endmodule

`resetall
