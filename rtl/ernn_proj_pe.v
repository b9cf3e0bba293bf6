/*

E-RNN toolkit: projection engine — the LSTM projection h = W_hr m on the cell writer's m stream

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * The projection of an LSTMP layer, h_t = W_hr m_t (QH x PB blocks of K x K circulants),
 * computed beside the PE as the cell writer hands it m_t one block a clock, bit-exact with
 * ernn.golden.matvec (accumulate, finish) and the projection's R12 (ernn.golden.network,
 * point proj_out), the same arithmetic as the PE's projection job:
 *
 *   X_j      = FFT(m_j)                                  Q(FFT_W, DATA_F), bins 0..K/2
 *   A[b][m]  = sum_j S[b][j][m] X_j[m]                   exact, Q(ACC_W, DATA_F + WS_F)
 *   Y_b      = IFFT(sat_sym(rnd(A[b], ACC_SHIFT)))       Q(IFFT_W, IFFT_F) in, Q(IFFT_OUT_W, IFFT_F) out
 *   h_b      = sat(rnd(Y_b, IFFT_F - DATA_F))            Q(DATA_W, DATA_F); the last block's
 *                                                        samples past OUT_SIZE are zero
 *
 * Why: in the PE a projection is a job of its own: m_t goes to the m memory, is loaded
 * back through the PE's FFT, waits for a MAC round and the gearbox, and its rows leave
 * through the PE writer, some 14 clocks at K = 4 after the last m block. Here the last m
 * block's spectrum meets its weights as it leaves the FFT, and h_0 is written
 * FFT + MREG + 2 + IFFT clocks after it came in (7 at K = 4 with MREG = 1): the recurrence
 * h_{t-1} -> gates -> cell -> m -> h is shorter by the difference, and the PE no longer
 * issues projection rounds (docs/accelerator.md, "Projection engine").
 *
 * Pipeline (never stalls up to the latch): ernn_fft (LATENCY FFT_LAT) on s_*; the weight
 * ROM (W_FILE, one word per (layer, m block j): QH x BINS complex spectra, element
 * e = b BINS + m at [e 2 WS_W +: 2 WS_W], re low, im high, Q(WS_W, WS_F)) is addressed
 * FFT_LAT - 1 clocks after the block came in, so that its registered word meets the block's
 * spectrum; QH x BINS ernn_cmul (MREG); the accumulators (a block with j = 0 starts them);
 * the sums of a layer's last block go to one of two latch entries. A reader rounds an entry
 * one output block a clock into a register in front of ernn_ifft, whose m_axis is this
 * module's: the only stall is m_ready, which holds the IFFT and the reader. A last block
 * is taken only while fewer than two layers hold or are about to hold an entry (claims),
 * so a latch write never finds both entries full; s_ready is that condition.
 *
 * Interface: s_* one m block per beat (samples Q(DATA_W, DATA_F), sample n at
 * s_data[n DATA_W +: DATA_W]), its block index j in the layer (s_blk), the layer's last
 * block (s_last), the layer (s_layer) and a sideband (s_user, carried to its layer's
 * h blocks). m_*: one h block per beat, in order b = 0..QH-1, with m_blk = b, m_last
 * (b = QH - 1), m_layer, m_user.
 */
module ernn_proj_pe #
(
    // block size K: power of two, 4..64
    parameter K = 4,
    // output (projection) blocks per layer
    parameter QH = 2,
    // input (hidden, m) blocks per layer
    parameter PB = 4,
    // layers (the weight ROM holds LAYERS x PB words)
    parameter LAYERS = 1,
    // projection size: the valid samples of the last output block
    parameter OUT_SIZE = 8,
    // data word and fraction (m and h), Q(DATA_W, DATA_F)
    parameter DATA_W = 16,
    parameter DATA_F = 12,
    // FFT output bin word (fft_out format, fraction DATA_F)
    parameter FFT_W = 18,
    // twiddles (not needed for K = 4)
    parameter TW_W = 18,
    parameter TW_F = 16,
    parameter TW_FILE = "",
    // weight spectrum word and fraction
    parameter WS_W = 16,
    parameter WS_F = 12,
    // accumulator word (fraction DATA_F + WS_F; wide enough that a layer's sums cannot overflow)
    parameter ACC_W = 40,
    // IFFT input word and fraction (ifft format); output word (ifft_out format, same fraction)
    parameter IFFT_W = 23,
    parameter IFFT_F = 14,
    parameter IFFT_OUT_W = 19,
    // weight spectra, $readmemh (see above)
    parameter W_FILE = "",
    // sideband carried from a layer's last m block to its h blocks
    parameter USER_W = 1,
    // complex multiplier form (1: three multipliers)
    parameter CMUL_3M = 1,
    // 1: register the multiplier outputs (here and in the transforms' multiplier stages)
    parameter MREG = 1,
    // derived widths (do not override)
    parameter IDX_W = PB > 1 ? $clog2(PB) : 1,
    parameter OIDX_W = QH > 1 ? $clog2(QH) : 1,
    parameter LAYER_W = LAYERS > 1 ? $clog2(LAYERS) : 1
)
(
    input  wire                 clk,
    input  wire                 rst,

    // m blocks of a layer, j = 0..PB-1
    input  wire                 s_valid,
    output wire                 s_ready,
    input  wire [K*DATA_W-1:0]  s_data,
    input  wire [IDX_W-1:0]     s_blk,
    input  wire                 s_last,
    input  wire [LAYER_W-1:0]   s_layer,
    input  wire [USER_W-1:0]    s_user,

    // h blocks of the layer, b = 0..QH-1
    output wire                 m_valid,
    input  wire                 m_ready,
    output wire [K*DATA_W-1:0]  m_data,
    output wire [OIDX_W-1:0]    m_blk,
    output wire                 m_last,
    output wire [LAYER_W-1:0]   m_layer,
    output wire [USER_W-1:0]    m_user
);

localparam LOG2K = $clog2(K);
localparam BINS = K / 2 + 1;
// ernn_fft / ernn_ifft latency
localparam FFT_LAT = 2 * LOG2K - 2 + MREG * (LOG2K - 2);
// exact complex product word (ernn_cmul)
localparam P_W = FFT_W + WS_W + 1;
// accumulator -> IFFT input: drop the fraction bits above IFFT_F
localparam ACC_SHIFT = DATA_F + WS_F - IFFT_F;
// IFFT output -> data (R12)
localparam SH_PROJ = IFFT_F - DATA_F;
// valid samples of the last output block
localparam O_TAIL = OUT_SIZE - (QH - 1) * K;
// one weight word: QH x BINS complex spectra
localparam WWORD = QH * BINS * 2 * WS_W;
localparam W_DEPTH = LAYERS * PB;
localparam W_ADDR_W = W_DEPTH > 1 ? $clog2(W_DEPTH) : 1;
// a layer's QH x BINS complex sums
localparam SUMS = QH * BINS;
localparam ENT_W = SUMS * 2 * ACC_W;
// what rides with a block through the FFT and the multipliers: j, last, layer, user
localparam TAG_W = IDX_W + 1 + LAYER_W + USER_W;
// what rides with an output block through the IFFT: b, last, layer, user
localparam OTAG_W = OIDX_W + 1 + LAYER_W + USER_W;

// check configuration
initial begin
    if (K < 4 || (1 << LOG2K) != K || QH < 1 || PB < 1 || LAYERS < 1) begin
        $error("Error: ernn_proj_pe needs K a power of two >= 4 and QH, PB, LAYERS >= 1 (got K=%0d QH=%0d PB=%0d LAYERS=%0d)",
               K, QH, PB, LAYERS);
        $finish;
    end
    if (O_TAIL < 1 || O_TAIL > K) begin
        $error("Error: ernn_proj_pe OUT_SIZE (%0d) must fill QH = %0d blocks of %0d", OUT_SIZE, QH, K);
        $finish;
    end
    if (ACC_W < P_W || ACC_SHIFT < 1 || ACC_SHIFT > ACC_W - 1 || SH_PROJ < 0) begin
        $error("Error: ernn_proj_pe needs ACC_W >= FFT_W + WS_W + 1 = %0d, 1 <= DATA_F + WS_F - IFFT_F <= ACC_W - 1 and IFFT_F >= DATA_F (got ACC_W=%0d, shift %0d, IFFT_F=%0d)",
               P_W, ACC_W, ACC_SHIFT, IFFT_F);
        $finish;
    end
    if (W_FILE == "") begin
        $error("Error: ernn_proj_pe needs W_FILE (the projection's weight spectra)");
        $finish;
    end
    if (IDX_W != (PB > 1 ? $clog2(PB) : 1) || OIDX_W != (QH > 1 ? $clog2(QH) : 1)
        || LAYER_W != (LAYERS > 1 ? $clog2(LAYERS) : 1)) begin
        $error("Error: ernn_proj_pe IDX_W, OIDX_W and LAYER_W are derived; do not override them");
        $finish;
    end
end

// ---------------------------------------------------------------------------------------------
// input: the FFT of each m block, its weights fetched to meet the spectrum
reg [1:0] claims_reg;          // layers holding a latch entry or with their last block in flight
wire take = s_valid && s_ready;
assign s_ready = claims_reg != 2'd2;

wire [(BINS*2*FFT_W)-1:0] spec;
wire [TAG_W-1:0] spec_tag;
wire spec_valid;
/* verilator lint_off PINCONNECTEMPTY */
ernn_fft #(
    .K(K), .IN_W(DATA_W), .OUT_W(FFT_W), .TW_W(TW_W), .TW_F(TW_F), .TW_FILE(TW_FILE),
    .USER_W(TAG_W), .CMUL_3M(CMUL_3M), .MREG(MREG)
) fft_inst (
    .clk(clk), .rst(rst),
    .s_axis_tdata(s_data), .s_axis_tuser({s_user, s_layer, s_last, s_blk}),
    .s_axis_tvalid(take), .s_axis_tready(),
    .m_axis_tdata(spec), .m_axis_tuser(spec_tag), .m_axis_tvalid(spec_valid), .m_axis_tready(1'b1)
);
/* verilator lint_on PINCONNECTEMPTY */

// the ROM address of (layer, j), FFT_LAT - 1 clocks after the block came in (its registered
// word then comes out with the block's spectrum)
localparam integer PB_I = PB;
localparam [W_ADDR_W-1:0] PB_A = PB_I[W_ADDR_W-1:0];
// j zero-extended to the address (W_ADDR_W >= IDX_W: the ROM holds LAYERS x PB words)
wire [W_ADDR_W-1:0] blk_ext = {{(W_ADDR_W-IDX_W){1'b0}}, s_blk};
wire [W_ADDR_W-1:0] w_addr_in;
generate
if (LAYERS > 1) begin : g_layers
    wire [W_ADDR_W-1:0] layer_ext = {{(W_ADDR_W-LAYER_W){1'b0}}, s_layer};
    assign w_addr_in = layer_ext * PB_A + blk_ext;
end else begin : g_one_layer
    assign w_addr_in = blk_ext;
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_layer = &{1'b0, PB_A};
    /* verilator lint_on UNUSEDSIGNAL */
end
endgenerate
wire [W_ADDR_W-1:0] w_addr;
generate
if (FFT_LAT > 1) begin : g_addr_delay
    /* verilator lint_off PINCONNECTEMPTY */
    ernn_delay #(.DEPTH(FFT_LAT - 1), .WIDTH(W_ADDR_W), .VALID(0)) addr_delay_inst (
        .clk(clk), .rst(rst), .en(1'b1), .in_valid(1'b0), .in_data(w_addr_in),
        .out_valid(), .out_data(w_addr)
    );
    /* verilator lint_on PINCONNECTEMPTY */
end else begin : g_addr_now
    assign w_addr = w_addr_in;
end
endgenerate

wire [WWORD-1:0] w_word;
ernn_rom #(.WIDTH(WWORD), .DEPTH(W_DEPTH < 2 ? 2 : W_DEPTH), .INIT_FILE(W_FILE)) w_rom_inst (
    .clk(clk), .en(1'b1), .addr(w_addr), .rdata(w_word)
);

// ---------------------------------------------------------------------------------------------
// products S[b][j][m] X_j[m], MREG clocks after the spectrum
wire [SUMS*2*P_W-1:0] prod;
wire [TAG_W-1:0] prod_tag;
wire prod_valid;
genvar b, m;
generate
for (b = 0; b < QH; b = b + 1) begin : g_out
    for (m = 0; m < BINS; m = m + 1) begin : g_bin
        localparam integer E = b * BINS + m;
        ernn_cmul #(.X_W(FFT_W), .C_W(WS_W), .CONJ(0), .MUL3(CMUL_3M), .MREG(MREG)) cmul_inst (
            .clk(clk), .en(1'b1),
            .x_re(spec[(2*m)*FFT_W +: FFT_W]), .x_im(spec[(2*m+1)*FFT_W +: FFT_W]),
            .c_re(w_word[(2*E)*WS_W +: WS_W]), .c_im(w_word[(2*E+1)*WS_W +: WS_W]),
            .p_re(prod[(2*E)*P_W +: P_W]), .p_im(prod[(2*E+1)*P_W +: P_W])
        );
    end
end
if (MREG != 0) begin : g_prod_delay
    ernn_delay #(.DEPTH(1), .WIDTH(TAG_W)) prod_delay_inst (
        .clk(clk), .rst(rst), .en(1'b1), .in_valid(spec_valid), .in_data(spec_tag),
        .out_valid(prod_valid), .out_data(prod_tag)
    );
end else begin : g_prod_now
    assign prod_valid = spec_valid;
    assign prod_tag = spec_tag;
end
endgenerate

wire [IDX_W-1:0] prod_blk = prod_tag[IDX_W-1:0];
wire prod_last = prod_tag[IDX_W];
wire [LAYER_W-1:0] prod_layer = prod_tag[IDX_W+1 +: LAYER_W];
wire [USER_W-1:0] prod_user = prod_tag[IDX_W+1+LAYER_W +: USER_W];

// ---------------------------------------------------------------------------------------------
// accumulators: a block with j = 0 starts the sums; a last block's sums go to the latch
reg [ENT_W-1:0] acc_reg;
wire [ENT_W-1:0] sum;
generate
for (b = 0; b < 2 * SUMS; b = b + 1) begin : g_sum
    wire [ACC_W-1:0] p_ext = {{(ACC_W-P_W){prod[b*P_W+P_W-1]}}, prod[b*P_W +: P_W]};
    wire [ACC_W-1:0] base = prod_blk == {IDX_W{1'b0}} ? {ACC_W{1'b0}} : acc_reg[b*ACC_W +: ACC_W];
    assign sum[b*ACC_W +: ACC_W] = base + p_ext;
end
endgenerate

always @(posedge clk) begin
    if (prod_valid && !prod_last) begin
        acc_reg <= sum;
    end
end

// the latch: two entries, written in turn, read in turn
reg [ENT_W-1:0] ent_reg [0:1];
reg [LAYER_W+USER_W-1:0] ent_tag_reg [0:1];
reg [1:0] ent_full_reg;
reg wr_ent_reg;
reg rd_ent_reg;
reg [OIDX_W-1:0] rd_blk_reg;

wire latch = prod_valid && prod_last;

always @(posedge clk) begin
    if (latch) begin
        ent_reg[wr_ent_reg] <= sum;
        ent_tag_reg[wr_ent_reg] <= {prod_user, prod_layer};
    end
end

// ---------------------------------------------------------------------------------------------
// reader: one output block a clock, rounded to Q(ifft) into the register in front of the IFFT
reg [BINS*2*IFFT_W-1:0] rnd_reg;
reg [OTAG_W-1:0] rnd_tag_reg;
reg rnd_valid_reg;
wire ifft_s_ready;
wire rnd_advance = !rnd_valid_reg || ifft_s_ready;
wire ent_ready = ent_full_reg[rd_ent_reg];
wire rd_take = rnd_advance && ent_ready;
localparam integer QH_LAST_I = QH - 1;
localparam [OIDX_W-1:0] QH_LAST = QH_LAST_I[OIDX_W-1:0];
wire rd_last = rd_blk_reg == QH_LAST;

wire [ENT_W-1:0] rd_ent = ent_reg[rd_ent_reg];
wire [LAYER_W+USER_W-1:0] rd_tag = ent_tag_reg[rd_ent_reg];
wire [BINS*2*ACC_W-1:0] rd_sums = rd_ent[rd_blk_reg*BINS*2*ACC_W +: BINS*2*ACC_W];
wire [BINS*2*IFFT_W-1:0] rd_rnd;
generate
for (m = 0; m < 2 * BINS; m = m + 1) begin : g_rnd
    ernn_round_sat #(.IN_W(ACC_W), .SHIFT(ACC_SHIFT), .OUT_W(IFFT_W), .SYMMETRIC(1), .PRE_ROUNDED(0))
    rnd_inst (.in(rd_sums[m*ACC_W +: ACC_W]), .out(rd_rnd[m*IFFT_W +: IFFT_W]));
end
endgenerate

always @(posedge clk) begin
    if (rnd_advance) begin
        rnd_reg <= rd_rnd;
        rnd_tag_reg <= {rd_tag, rd_last, rd_blk_reg};
    end
end

always @(posedge clk) begin
    if (rst) begin
        claims_reg <= 2'd0;
        ent_full_reg <= 2'b00;
        wr_ent_reg <= 1'b0;
        rd_ent_reg <= 1'b0;
        rd_blk_reg <= {OIDX_W{1'b0}};
        rnd_valid_reg <= 1'b0;
    end else begin
        // a last block taken claims an entry; an entry read out gives its claim back
        claims_reg <= claims_reg + (take && s_last ? 2'd1 : 2'd0) - (rd_take && rd_last ? 2'd1 : 2'd0);
        if (latch) begin
            wr_ent_reg <= !wr_ent_reg;
        end
        ent_full_reg <= (ent_full_reg | (latch ? (2'b01 << wr_ent_reg) : 2'b00))
                        & ~(rd_take && rd_last ? (2'b01 << rd_ent_reg) : 2'b00);
        if (rnd_advance) begin
            rnd_valid_reg <= ent_ready;
        end
        if (rd_take) begin
            rd_blk_reg <= rd_last ? {OIDX_W{1'b0}} : rd_blk_reg + 1'b1;
            if (rd_last) begin
                rd_ent_reg <= !rd_ent_reg;
            end
        end
    end
end

// ---------------------------------------------------------------------------------------------
// the IFFT and R12
wire [K*IFFT_OUT_W-1:0] y;
wire [OTAG_W-1:0] y_tag;
ernn_ifft #(
    .K(K), .IN_W(IFFT_W), .OUT_W(IFFT_OUT_W), .TW_W(TW_W), .TW_F(TW_F), .TW_FILE(TW_FILE),
    .USER_W(OTAG_W), .CMUL_3M(CMUL_3M), .MREG(MREG)
) ifft_inst (
    .clk(clk), .rst(rst),
    .s_axis_tdata(rnd_reg), .s_axis_tuser(rnd_tag_reg), .s_axis_tvalid(rnd_valid_reg), .s_axis_tready(ifft_s_ready),
    .m_axis_tdata(y), .m_axis_tuser(y_tag), .m_axis_tvalid(m_valid), .m_axis_tready(m_ready)
);

assign m_blk = y_tag[OIDX_W-1:0];
assign m_last = y_tag[OIDX_W];
assign m_layer = y_tag[OIDX_W+1 +: LAYER_W];
assign m_user = y_tag[OIDX_W+1+LAYER_W +: USER_W];

genvar n;
generate
for (n = 0; n < K; n = n + 1) begin : g_r12
    wire [DATA_W-1:0] v;  // Q(data)
    ernn_cell_rnd #(.IN_W(IFFT_OUT_W), .SHIFT(SH_PROJ), .OUT_W(DATA_W))
    rnd_inst (.in(y[n*IFFT_OUT_W +: IFFT_OUT_W]), .out(v));
    if (n >= O_TAIL) begin : g_tail
        // a padding sample of the last block
        assign m_data[n*DATA_W +: DATA_W] = m_last ? {DATA_W{1'b0}} : v;
    end else begin : g_keep
        assign m_data[n*DATA_W +: DATA_W] = v;
    end
end
endgenerate

endmodule

`resetall
