/*

E-RNN toolkit: k-point IFFT of Hermitian bins 0..k/2 to a real block, fully pipelined

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Inverse FFT of one Hermitian spectrum per clock, bit-exact with
 * ernn.golden.fft.ifft_real (and the final saturation of ernn.golden.matvec.output_blocks):
 *
 *   y[n] = (1/K) sum_m X[m] W_K^(-n m),   X[K-m] = conj X[m],   n = 0..K-1
 *
 * Only bins 0..K/2 enter; the imaginary parts of bins 0 and K/2 are taken as zero and the
 * upper half is mirrored (X[K-m] = conj X[m]). The contract keeps the input in the
 * symmetric range (acc_to_ifft saturates to +-(2**(IN_W-1) - 1)); the RTL forms the negated
 * imaginary part of a mirrored bin exactly anyway (one extra bit in stage 1), so even the
 * most negative code cannot wrap. Radix-2 DIT, bit-reversed input (wiring), natural-order output:
 * log2 K stages of ernn_fft_stage (INVERSE = 1); valid and tuser ride along in ernn_delay.
 * Every stage: t = round_half_up(conj(W) b), outputs round_half_up((a +- t) / 2) saturated
 * to Q(IN_W, F): the log2 K halvings are the 1/K. The last stage forms real parts only and
 * saturates them straight to Q(OUT_W, F) (OUT_W <= IN_W: the ifft_out format; set
 * OUT_W = IN_W for the bare transform). Multipliers only where the twiddle is not 1 or +j.
 *
 * Twiddles: TW_FILE as in ernn_fft (the same table; the inverse uses the conjugates).
 *
 * Interface: one spectrum per beat on s_axis (bin m: re at tdata[2m*IN_W +: IN_W], im at
 * tdata[(2m+1)*IN_W +: IN_W]), one block per beat on m_axis (sample n at
 * tdata[n*OUT_W +: OUT_W]); tuser is carried along. Initiation interval 1, latency
 * LATENCY = 2 log2 K - 2 + MREG (log2 K - 2) clocks (MREG: as in ernn_fft); the pipeline
 * stalls while m_axis is valid and not ready.
 */
module ernn_ifft #
(
    // block size K: power of two, 4..64
    parameter K = 16,
    // word of the input bins and of every stage (ifft format, e.g. Q23.14)
    parameter IN_W = 23,
    // output sample word (ifft_out format, e.g. Q19.14), <= IN_W
    parameter OUT_W = 19,
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

    input  wire [(K/2+1)*2*IN_W-1:0]   s_axis_tdata,
    input  wire [USER_W-1:0]           s_axis_tuser,
    input  wire                        s_axis_tvalid,
    output wire                        s_axis_tready,

    output wire [K*OUT_W-1:0]          m_axis_tdata,
    output wire [USER_W-1:0]           m_axis_tuser,
    output wire                        m_axis_tvalid,
    input  wire                        m_axis_tready
);

// log2 of the block size
localparam LOG2K = $clog2(K);

// clocks from s_axis to m_axis: ernn_fft_stage takes 1 clock in stages 1-2, 2 + MREG in later stages
localparam LATENCY = 2 * LOG2K - 2 + MREG * (LOG2K - 2);

// word of the values after stage s: the mirrored input needs one more bit for the negation
function integer stage_w(input integer s);
    begin
        if (s == 0) begin
            stage_w = IN_W + 1;
        end else if (s == LOG2K) begin
            stage_w = OUT_W;
        end else begin
            stage_w = IN_W;
        end
    end
endfunction

// check configuration
initial begin
    if (K < 4 || K > 64 || (K & (K - 1)) != 0) begin
        $error("Error: ernn_ifft K must be a power of two in [4, 64] (got %0d)", K);
        $finish;
    end
    if (IN_W < 4 || OUT_W < 2 || OUT_W > IN_W) begin
        $error("Error: ernn_ifft needs 2 <= OUT_W <= IN_W and IN_W >= 4 (got IN_W=%0d OUT_W=%0d)", IN_W, OUT_W);
        $finish;
    end
    if (TW_F < 2 || TW_F > TW_W - 2) begin
        $error("Error: ernn_ifft TW_F (%0d) must be in [2, TW_W - 2 = %0d] so that +1.0 is representable",
            TW_F, TW_W - 2);
        $finish;
    end
    if (K > 4 && TW_FILE == "") begin
        $error("Error: ernn_ifft K = %0d needs TW_FILE (the twiddle table)", K);
        $finish;
    end
    if (USER_W < 1) begin
        $error("Error: ernn_ifft USER_W must be >= 1 (got %0d)", USER_W);
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

// (the entry genvar is not called n: Verilator took the stages' function argument n for a
// hiding of it when several IFFTs sit side by side in ernn_pe)
genvar s, e;

generate

for (s = 0; s <= LOG2K; s = s + 1) begin : st
    // word of the values after stage s
    localparam SW = stage_w(s);

    // values after stage s; the last stage forms real parts only, its im bus is not read
    /* verilator lint_off UNUSEDSIGNAL */
    wire [K*SW-1:0] re;
    wire [K*SW-1:0] im;
    /* verilator lint_on UNUSEDSIGNAL */

    if (s == 0) begin : g_input
        // full Hermitian spectrum X[0..K-1] in natural order, Q(IN_W + 1, F)
        for (e = 0; e < K; e = e + 1) begin : g_full
            // the stored bin this entry comes from
            localparam SRC = e <= K / 2 ? e : K - e;
            wire [IN_W-1:0] bin_re = s_axis_tdata[2*SRC*IN_W +: IN_W];
            wire [IN_W-1:0] bin_im = s_axis_tdata[(2*SRC+1)*IN_W +: IN_W];
            assign re[e*SW +: SW] = {bin_re[IN_W-1], bin_re};
            if (e == 0 || e == K / 2) begin : g_real
                assign im[e*SW +: SW] = {SW{1'b0}};
                /* verilator lint_off UNUSEDSIGNAL */
                wire unused_bin_im = &{1'b0, bin_im};
                /* verilator lint_on UNUSEDSIGNAL */
            end else if (e < K / 2) begin : g_low
                assign im[e*SW +: SW] = {bin_im[IN_W-1], bin_im};
            end else begin : g_mirror
                // exact negation: -(-2**(IN_W-1)) needs IN_W + 1 bits
                assign im[e*SW +: SW] = -{bin_im[IN_W-1], bin_im};
            end
        end
    end else begin : g_stage
        // Q(stage_w(s - 1), F) -> Q(stage_w(s), F): halved, saturated
        ernn_fft_stage #(
            .K(K),
            .STAGE(s),
            .IN_W(stage_w(s - 1)),
            .OUT_W(SW),
            .TW_W(TW_W),
            .TW_F(TW_F),
            .TW_FILE(TW_FILE),
            .INVERSE(1),
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

assign m_axis_tdata = st[LOG2K].re;

endgenerate

endmodule

`resetall
