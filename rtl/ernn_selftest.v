/*

E-RNN toolkit: on-chip self-test of one exported model (test vectors in ROM -> ernn_top -> compare)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Streams the exported test vectors (VEC_DIR/input.mem, last.mem: the first test sequences back
 * to back, Q(ERNN_DATA_W, ERNN_DATA_F) samples, one per line) through ernn_top and compares every
 * sample of every output vector, and its TLAST, with the golden model's (VEC_DIR/expected_out.mem).
 * This is what a board runs to show, on its LEDs, that the FPGA reproduces the golden model bit for
 * bit; the same harness is simulated by tb/ernn_selftest.
 *
 * The ROMs are one sample wide (BRAM friendly): a frame is assembled over INPUT_SIZE cycles and an
 * output vector checked over OUTPUT_SIZE cycles (m_axis_tready low meanwhile, which also exercises
 * the accelerator's back-pressure). Input and output sides run independently, so frames overlap.
 *
 * done goes high after the last expected output vector; pass = done and no mismatch;
 * mismatches counts wrong samples and wrong TLASTs (saturating at 2**32 - 1).
 * After rst the test runs once more from the first frame.
 */
module ernn_selftest #
(
    // directory of the model's $readmemh images (mem/), without a trailing slash
    parameter MEM_DIR = "mem",
    // directory of the model's test vectors (vectors/), without a trailing slash
    parameter VEC_DIR = "vectors"
)
(
    input  wire        clk,
    input  wire        rst,
    output wire        done,
    output wire        pass,
    output wire [31:0] mismatches
);

// the header names every parameter of the model; the harness needs only the sizes
/* verilator lint_off UNUSEDPARAM */
`include "ernn_params.vh"
/* verilator lint_on UNUSEDPARAM */

// frames in the test stream
localparam FRAMES = ERNN_TEST_FRAMES;
// samples per input / output vector
localparam IN_N = ERNN_INPUT_SIZE;
localparam OUT_N = ERNN_OUTPUT_SIZE;
// sample word, Q(ERNN_DATA_W, ERNN_DATA_F)
localparam W = ERNN_DATA_W;
// AXI-Stream data widths of ernn_top (whole bytes)
localparam IN_TDATA_W = ((IN_N * W + 7) / 8) * 8;
localparam OUT_TDATA_W = ((OUT_N * W + 7) / 8) * 8;
// ROM address widths: the addresses only index the ROMs (FRAMES * N words); after the last word an
// address may wrap, it is not read again (a width for FRAMES * N itself left a bit that Verilator
// reports as truncated when FRAMES * N is a power of two, e.g. SR1's 8 x 512 expected outputs)
localparam IN_ADDR_W = FRAMES * IN_N > 1 ? $clog2(FRAMES * IN_N) : 1;
localparam OUT_ADDR_W = FRAMES * OUT_N > 1 ? $clog2(FRAMES * OUT_N) : 1;
localparam FRAME_W = $clog2(FRAMES + 1);
// index into the per-frame ROMs (FRAMES words); the frame counters reach FRAMES, but the ROMs are read
// only below it, so the index drops the counter's top bit when FRAMES is a power of two
localparam FRAME_IDX_W = FRAMES > 1 ? $clog2(FRAMES) : 1;
// sample counters
localparam IN_CNT_W = $clog2(IN_N + 1);
localparam OUT_CNT_W = $clog2(OUT_N + 1);
// the counts at the counters' widths
/* verilator lint_off WIDTHTRUNC */
localparam [FRAME_W-1:0] FRAMES_C = FRAMES;  // FRAME_W holds FRAMES by construction
localparam [IN_CNT_W-1:0] IN_N_C = IN_N;
localparam [OUT_CNT_W-1:0] OUT_N_C = OUT_N;
/* verilator lint_on WIDTHTRUNC */

initial begin
    if (FRAMES < 1) begin
        $error("Error: ernn_selftest needs at least one test frame (ERNN_TEST_FRAMES = %0d)", FRAMES);
        $finish;
    end
end

// ---- test-vector ROMs (registered reads: block RAM) -------------------------------------------
reg [W-1:0] in_rom [0:FRAMES*IN_N-1];
reg [1:0]   last_rom [0:FRAMES-1];  // 2-bit words: the exporter writes last.mem with word 2
reg [W-1:0] exp_rom [0:FRAMES*OUT_N-1];
reg [1:0]   exp_last_rom [0:FRAMES-1];

initial begin
    $readmemh({VEC_DIR, "/input.mem"}, in_rom);
    $readmemh({VEC_DIR, "/last.mem"}, last_rom);
    $readmemh({VEC_DIR, "/expected_out.mem"}, exp_rom);
    $readmemh({VEC_DIR, "/last.mem"}, exp_last_rom);
end

// ---- input side: assemble a frame, send it ----------------------------------------------------
reg [IN_ADDR_W-1:0]  in_addr_reg;
reg [IN_CNT_W-1:0]   in_cnt_reg;
reg [FRAME_W-1:0]    in_frame_reg;
wire [FRAME_IDX_W-1:0] in_frame_idx = in_frame_reg[FRAME_IDX_W-1:0];
reg [W-1:0]          in_q_reg;
reg                  in_q_valid_reg;
reg                  last_q_reg;
reg [IN_TDATA_W-1:0] s_tdata_reg;
reg                  s_tvalid_reg;
reg                  s_tlast_reg;
wire                 s_tready;

always @(posedge clk) begin
    in_q_valid_reg <= 1'b0;
    if (!s_tvalid_reg && in_frame_reg < FRAMES_C && !in_q_valid_reg && in_cnt_reg < IN_N_C) begin
        // issue one ROM read per cycle until the frame is complete
        in_q_reg <= in_rom[in_addr_reg];
        last_q_reg <= last_rom[in_frame_idx][0];
        in_q_valid_reg <= 1'b1;
        in_addr_reg <= in_addr_reg + 1'b1;
    end
    if (in_q_valid_reg) begin
        s_tdata_reg <= {{W{1'b0}}, s_tdata_reg[IN_TDATA_W-1:W]};
        s_tdata_reg[IN_N*W-1 -: W] <= in_q_reg;
        if (in_cnt_reg + 1'b1 == IN_N_C) begin
            s_tvalid_reg <= 1'b1;
            s_tlast_reg <= last_q_reg;
        end
        in_cnt_reg <= in_cnt_reg + 1'b1;
    end
    if (s_tvalid_reg && s_tready) begin
        s_tvalid_reg <= 1'b0;
        in_cnt_reg <= {IN_CNT_W{1'b0}};
        in_frame_reg <= in_frame_reg + 1'b1;
    end
    if (rst) begin
        in_addr_reg <= {IN_ADDR_W{1'b0}};
        in_cnt_reg <= {IN_CNT_W{1'b0}};
        in_frame_reg <= {FRAME_W{1'b0}};
        in_q_valid_reg <= 1'b0;
        s_tvalid_reg <= 1'b0;
    end
end

// ---- the accelerator --------------------------------------------------------------------------
wire [OUT_TDATA_W-1:0] m_tdata;
wire                   m_tvalid;
wire                   m_tlast;
reg                    m_tready_reg;

ernn_top #(
    .MEM_DIR(MEM_DIR)
)
top_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_tdata_reg),
    .s_axis_tvalid(s_tvalid_reg),
    .s_axis_tready(s_tready),
    .s_axis_tlast(s_tlast_reg),
    .m_axis_tdata(m_tdata),
    .m_axis_tvalid(m_tvalid),
    .m_axis_tready(m_tready_reg),
    .m_axis_tlast(m_tlast)
);

// ---- output side: capture a vector, compare it sample by sample -------------------------------
reg [OUT_TDATA_W-1:0] out_vec_reg;
reg                   checking_reg;
reg [OUT_CNT_W-1:0]   out_cnt_reg;
reg [OUT_ADDR_W-1:0]  exp_addr_reg;
reg [FRAME_W-1:0]     out_frame_reg;
wire [FRAME_IDX_W-1:0] out_frame_idx = out_frame_reg[FRAME_IDX_W-1:0];
reg [W-1:0]           exp_q_reg;
reg [W-1:0]           got_q_reg;
reg                   cmp_valid_reg;
reg [31:0]            mismatch_reg;
reg                   done_reg;

wire take_output = m_tvalid && m_tready_reg;
wire mismatch_now = cmp_valid_reg && (exp_q_reg != got_q_reg);
wire last_wrong = take_output && (m_tlast != exp_last_rom[out_frame_idx][0]);

always @(posedge clk) begin
    cmp_valid_reg <= 1'b0;
    // ready for a vector while idle and not finished
    m_tready_reg <= !checking_reg && !take_output && !done_reg && out_frame_reg < FRAMES_C;
    if (take_output) begin
        out_vec_reg <= m_tdata;
        checking_reg <= 1'b1;
        out_cnt_reg <= {OUT_CNT_W{1'b0}};
        m_tready_reg <= 1'b0;
    end
    if (checking_reg) begin
        exp_q_reg <= exp_rom[exp_addr_reg];
        got_q_reg <= out_vec_reg[W-1:0];
        out_vec_reg <= out_vec_reg >> W;
        cmp_valid_reg <= 1'b1;
        exp_addr_reg <= exp_addr_reg + 1'b1;
        out_cnt_reg <= out_cnt_reg + 1'b1;
        if (out_cnt_reg + 1'b1 == OUT_N_C) begin
            checking_reg <= 1'b0;
            out_frame_reg <= out_frame_reg + 1'b1;
        end
    end
    if ((mismatch_now || last_wrong) && mismatch_reg != 32'hffffffff) begin
        mismatch_reg <= mismatch_reg + ((mismatch_now && last_wrong) ? 32'd2 : 32'd1);
    end
    if (out_frame_reg == FRAMES_C && !checking_reg && !cmp_valid_reg) begin
        done_reg <= 1'b1;
    end
    if (rst) begin
        m_tready_reg <= 1'b0;
        checking_reg <= 1'b0;
        out_cnt_reg <= {OUT_CNT_W{1'b0}};
        exp_addr_reg <= {OUT_ADDR_W{1'b0}};
        out_frame_reg <= {FRAME_W{1'b0}};
        cmp_valid_reg <= 1'b0;
        mismatch_reg <= 32'd0;
        done_reg <= 1'b0;
    end
end

assign done = done_reg;
assign pass = done_reg && mismatch_reg == 32'd0;
assign mismatches = mismatch_reg;

endmodule

`resetall
