/*

E-RNN toolkit: one radix-2 DIT stage of the k-point FFT / IFFT, pipelined

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Stage s = STAGE (1..log2 K) of the radix-2 decimation-in-time transforms ernn_fft and
 * ernn_ifft, bit for bit as ernn.golden.fft (fft_stage<s> / ifft_stage<s>): it combines the
 * K / 2**s pairs of 2**(s-1)-point spectra into 2**s-point spectra with K/2 butterflies
 * (ernn_fft_bfly). With span N = 2**s, H = N/2, group g, butterfly j < H:
 *
 *   a = v[g N + j],  b = v[g N + j + H],  W = W_K^m,  m = j K / N,  W_K = exp(-2 pi j / K)
 *   forward  (INVERSE = 0):  v'[a] = sat(a + rnd(W b)),             v'[b] = sat(a - rnd(W b))
 *   inverse  (INVERSE = 1):  v'[a] = sat(rnd((a + rnd(W* b)) / 2)),  v'[b] = sat(rnd((a - rnd(W* b)) / 2))
 *
 * rnd = round half up (the twiddle product is exact and rounded once by TW_F, per
 * component; the inverse halving is the stage's share of 1/K), sat = clamp to OUT_W bits,
 * never wrap. Formats: input Q(IN_W, F), output Q(OUT_W, F), the same fraction F (the
 * FFT grows one bit per stage, OUT_W = IN_W + 1; the IFFT keeps its word, except for the
 * one-bit-wider mirrored input of stage 1 and the ifft_out word of the last stage).
 * Twiddles W = 1 (m = 0) and W = -j (m = K/4) need no multiplier; stages 1 and 2 have only
 * those, later stages one complex multiplier (ernn_cmul) per other butterfly.
 *
 * Order: stage 1 reads its input in bit-reversed order (the permutation of DIT, wiring
 * only), so the transform feeds it in natural order; the outputs of stage s are in the
 * in-place DIT order, natural order after the last stage. The last stage (STAGE = log2 K)
 * prunes what the transforms never read: the forward stage keeps bins 0..K/2 only, the
 * inverse stage the real parts only; the pruned output words are driven with zeros.
 *
 * Twiddles: TW_FILE ($readmemh, K/2 words of 2 TW_W bits, word m = {im, re} of W_K^m,
 * Q(TW_W.TW_F): the exporter's mem/twiddle.mem, ernn.golden.fft.twiddles()); read only
 * by stages 3.. (constants after synthesis), not needed below.
 *
 * Interface: clk, en (the transform's stall-all enable: every register advances only while
 * en = 1; data registers are not reset); in_re / in_im, element n at [n*IN_W +: IN_W];
 * out_re / out_im, element n at [n*OUT_W +: OUT_W]. Latency LEVELS clocks of en: 1 in
 * stages 1-2 (output register), 2 + MREG in later stages (with MREG = 1 the multiplier
 * output register, ernn_cmul MREG; product register, then round, add, saturate and output
 * register); a K-point transform thus takes 2 log2 K - 2 + MREG (log2 K - 2) clocks.
 */
module ernn_fft_stage #
(
    // block size K: power of two, 4..64
    parameter K = 16,
    // stage index s, 1..log2 K
    parameter STAGE = 1,
    // input word per component (Q(IN_W, F))
    parameter IN_W = 16,
    // output word per component (Q(OUT_W, F), saturating)
    parameter OUT_W = 17,
    // twiddle word (e.g. Q18.16)
    parameter TW_W = 18,
    // twiddle fraction bits
    parameter TW_F = 16,
    // $readmemh file of the twiddles: K/2 words {im, re} of W_K^m (stages >= 3)
    parameter TW_FILE = "",
    // 0: forward butterflies (W), 1: inverse (conj(W), outputs halved)
    parameter INVERSE = 0,
    // complex multiplier form (1: three multipliers)
    parameter CMUL_3M = 1,
    // 1: multiplier stages register the multiplier outputs too (one more clock)
    parameter MREG = 0
)
(
    input  wire                clk,
    input  wire                en,

    input  wire [K*IN_W-1:0]   in_re,
    input  wire [K*IN_W-1:0]   in_im,

    output wire [K*OUT_W-1:0]  out_re,
    output wire [K*OUT_W-1:0]  out_im
);

// log2 of the block size
localparam LOG2K = $clog2(K);
// butterfly span N = 2**s, half span H
localparam N = 1 << STAGE;
localparam H = N / 2;
// the last stage prunes its outputs
localparam LAST = STAGE == LOG2K;
// stages with general twiddles (and multipliers)
localparam MUL = STAGE >= 3;
// register levels: multiplier stages register the product too (and with MREG the multiplier outputs)
localparam LEVELS = MUL ? 2 + MREG : 1;

// bit-reversal of n on LOG2K bits
function integer bitrev(input integer n);
    integer b;
    begin
        bitrev = 0;
        for (b = 0; b < LOG2K; b = b + 1) begin
            bitrev = bitrev | (((n >> b) & 1) << (LOG2K - 1 - b));
        end
    end
endfunction

// element of the input that position n of the butterfly network reads
function integer src(input integer n);
    begin
        src = STAGE == 1 ? bitrev(n) : n;
    end
endfunction

// check configuration
initial begin
    if (K < 4 || K > 64 || (K & (K - 1)) != 0) begin
        $error("Error: ernn_fft_stage K must be a power of two in [4, 64] (got %0d)", K);
        $finish;
    end
    if (STAGE < 1 || STAGE > LOG2K) begin
        $error("Error: ernn_fft_stage STAGE must be in [1, log2 K = %0d] (got %0d)", LOG2K, STAGE);
        $finish;
    end
    if (INVERSE != 0 && INVERSE != 1) begin
        $error("Error: ernn_fft_stage INVERSE must be 0 or 1 (got %0d)", INVERSE);
        $finish;
    end
    if (IN_W < 2 || OUT_W < 2) begin
        $error("Error: ernn_fft_stage needs IN_W >= 2 and OUT_W >= 2 (got IN_W=%0d OUT_W=%0d)", IN_W, OUT_W);
        $finish;
    end
    if (MREG != 0 && MREG != 1) begin
        $error("Error: ernn_fft_stage MREG must be 0 or 1 (got %0d)", MREG);
        $finish;
    end
    if (MUL && TW_FILE == "") begin
        $error("Error: ernn_fft_stage stage %0d of K = %0d needs TW_FILE (the twiddle table)", STAGE, K);
        $finish;
    end
end

genvar g, j;

generate

if (MUL) begin : g_tw
    // twiddle table: tw_rom[m] = {im, re} of W_K^m, each Q(TW_W.TW_F); constant indices only
    reg [2*TW_W-1:0] tw_rom [0:K/2-1];

    initial begin
        if (TW_FILE != "") begin
            $readmemh(TW_FILE, tw_rom);
        end
    end
end

for (g = 0; g < K / N; g = g + 1) begin : g_group
    for (j = 0; j < H; j = j + 1) begin : g_bfly
        localparam IA = g * N + j;
        localparam IB = IA + H;
        localparam M = j * (K / N);
        // 0: W = 1, 1: W = -j, 2: general twiddle (multiplier)
        localparam KIND = M == 0 ? 0 : (M == K / 4 ? 1 : 2);

        // twiddle, Q(TW_W.TW_F); only read when KIND = 2
        wire [TW_W-1:0] w_re;
        wire [TW_W-1:0] w_im;
        if (KIND == 2) begin : g_w
            assign w_re = g_tw.tw_rom[M][TW_W-1:0];
            assign w_im = g_tw.tw_rom[M][2*TW_W-1:TW_W];
        end else begin : g_w1
            assign w_re = {TW_W{1'b0}};
            assign w_im = {TW_W{1'b0}};
        end

        ernn_fft_bfly #(
            .W_IN(IN_W),
            .W_OUT(OUT_W),
            .TW_W(TW_W),
            .TW_F(TW_F),
            .TW_KIND(KIND),
            .INVERSE(INVERSE),
            .LEVELS(LEVELS),
            .OUT_PLUS(1),
            // last forward stage: bins 0..K/2 only (the difference of j = 0 is bin K/2)
            .OUT_MINUS(INVERSE || !LAST || j == 0),
            // last inverse stage: real output samples only
            .OUT_IMAG(!INVERSE || !LAST),
            .CMUL_3M(CMUL_3M)
        )
        bfly_inst (
            .clk(clk),
            .en(en),
            .a_re(in_re[src(IA)*IN_W +: IN_W]),
            .a_im(in_im[src(IA)*IN_W +: IN_W]),
            .b_re(in_re[src(IB)*IN_W +: IN_W]),
            .b_im(in_im[src(IB)*IN_W +: IN_W]),
            .w_re(w_re),
            .w_im(w_im),
            .p_re(out_re[IA*OUT_W +: OUT_W]),
            .p_im(out_im[IA*OUT_W +: OUT_W]),
            .m_re(out_re[IB*OUT_W +: OUT_W]),
            .m_im(out_im[IB*OUT_W +: OUT_W])
        );
    end
end

endgenerate

endmodule

`resetall
