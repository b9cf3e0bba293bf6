/*

E-RNN toolkit: accelerator top level for one exported model (AXI4-Stream in and out)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * The block-circulant LSTM/GRU accelerator of one model directory written by
 * `ernn export --lanes P` (docs/export.md, docs/accelerator.md):
 *
 *   ernn_params.vh   sizes, cell options, every fixed-point format, the PE lanes P, the
 *                    cell-unit lanes, the PE's IFFTs side by side (N_IFFT), the
 *                    memory depths and the PE job table (the
 *                    schedule of a time step, ernn.export.schedule); included here, so
 *                    the build needs the model directory on the include path
 *   MEM_DIR/*.mem    $readmemh images: twiddles, PE weight spectra in the PE's layout
 *                    (pe_weights.mem), merged biases and peepholes per block
 *                    (cell_bias.mem, cell_peephole.mem), sigmoid / tanh tables
 *
 * Computes, per input frame x_t and layer l (golden: GoldenNetwork.run_stream),
 *   h_t^l = cell( W_ih x_t^l + W_hh h_{t-1}^l + b, c_{t-1}^l ),   x_t^{l+1} = h_t^l
 * with the circulant matvecs in the frequency domain (ernn_pe) and the element-wise cell
 * update of ernn_lstm_cell / ernn_gru_cell; the LSTM projection is one more PE job.
 * Formats: input and output samples Q(ERNN_DATA_W, ERNN_DATA_F).
 *
 * s_axis: one whole input vector per beat: INPUT_SIZE samples, sample n at
 *         tdata[n*DATA_W +: DATA_W], padded with zeros to a multiple of 8 bits;
 *         tlast marks the last frame of a sequence (the state is zero for the next one).
 * m_axis: one output vector per time step (the last layer's h_t, or its projection),
 *         OUTPUT_SIZE samples packed the same way; tlast mirrors the input's.
 * Back-pressure on m_axis stalls the pipeline without losing or repeating a vector;
 * s_axis may have any tvalid gaps. rst is synchronous, active high; after it the next
 * frame starts a new sequence.
 */
module ernn_top #
(
    // directory of the $readmemh files (the model directory's mem/), without a trailing slash
    parameter MEM_DIR = "mem"
)
(
    clk,
    rst,
    s_axis_tdata,
    s_axis_tvalid,
    s_axis_tready,
    s_axis_tlast,
    m_axis_tdata,
    m_axis_tvalid,
    m_axis_tready,
    m_axis_tlast
);

`include "ernn_params.vh"

// s_axis_tdata: INPUT_SIZE samples padded to whole bytes
localparam IN_TDATA_W = ((ERNN_INPUT_SIZE * ERNN_DATA_W + 7) / 8) * 8;
// m_axis_tdata: OUTPUT_SIZE samples padded to whole bytes
localparam OUT_TDATA_W = ((ERNN_OUTPUT_SIZE * ERNN_DATA_W + 7) / 8) * 8;

input  wire                   clk;
input  wire                   rst;

input  wire [IN_TDATA_W-1:0]  s_axis_tdata;
input  wire                   s_axis_tvalid;
output wire                   s_axis_tready;
input  wire                   s_axis_tlast;

output wire [OUT_TDATA_W-1:0] m_axis_tdata;
output wire                   m_axis_tvalid;
input  wire                   m_axis_tready;
output wire                   m_axis_tlast;

// check configuration (the core checks the rest)
initial begin
    if (ERNN_OUTPUT_SIZE != (ERNN_PROJ_SIZE > 0 ? ERNN_PROJ_SIZE : ERNN_HIDDEN_SIZE)) begin
        $error("Error: ernn_top ERNN_OUTPUT_SIZE (%0d) must be the projection or hidden size", ERNN_OUTPUT_SIZE);
        $finish;
    end
    if (ERNN_GATES != (ERNN_CELL_LSTM != 0 ? 4 : 3) || ERNN_BINS != ERNN_K / 2 + 1) begin
        $error("Error: ernn_top ernn_params.vh is inconsistent (ERNN_GATES = %0d, ERNN_BINS = %0d)", ERNN_GATES, ERNN_BINS);
        $finish;
    end
    if (ERNN_FFT_OUT_F != ERNN_DATA_F || ERNN_IFFT_OUT_F != ERNN_IFFT_F
            || ERNN_ACCUMULATOR_F != ERNN_DATA_F + ERNN_WEIGHT_SPECTRUM_F) begin
        $error("Error: ernn_top formats violate the numerics contract (fft_out.frac = data.frac, ifft_out.frac = ifft.frac, accumulator.frac = data.frac + weight_spectrum.frac)");
        $finish;
    end
end

// the header also names formats and counts the core does not need
/* verilator lint_off UNUSEDPARAM */
localparam UNUSED_HEADER = ERNN_TEST_FRAMES;
/* verilator lint_on UNUSEDPARAM */

// the matvec unit behind the controller: the circulant PE, or the CSB unit where the exporter's
// header defines ERNN_STRUCTURE_CSB (ernn.export.csb_unit; k = ERNN_CSB_K, docs/csb.md)
`ifdef ERNN_STRUCTURE_CSB
localparam CSB = 1, CTRL_K = ERNN_CSB_K, CSB_BLOCK = ERNN_CSB_BLOCK, CSB_FIELDS = ERNN_CSB_UNIT_FIELDS;
localparam CSB_RED_ROWS = ERNN_CSB_RED_ROWS;
localparam CSB_GK = ERNN_CSB_GRID_K, CSB_GL = ERNN_CSB_GRID_L, CSB_GP = ERNN_CSB_GRID_P, CSB_GQ = ERNN_CSB_GRID_Q;
localparam [ERNN_JOBS*CSB_FIELDS*32-1:0] CSB_TABLE = ERNN_CSB_UNIT_TABLE;
`else
localparam CSB = 0, CTRL_K = ERNN_K, CSB_BLOCK = 4, CSB_FIELDS = 7;
localparam CSB_RED_ROWS = 1;
localparam CSB_GK = 1, CSB_GL = 1, CSB_GP = 1, CSB_GQ = 1;
localparam [ERNN_JOBS*CSB_FIELDS*32-1:0] CSB_TABLE = {(ERNN_JOBS*CSB_FIELDS*32){1'b0}};
`endif

ernn_ctrl #(
    .CELL_LSTM(ERNN_CELL_LSTM),
    .INPUT_SIZE(ERNN_INPUT_SIZE),
    .HIDDEN_SIZE(ERNN_HIDDEN_SIZE),
    .PROJ_SIZE(ERNN_PROJ_SIZE),
    .NUM_LAYERS(ERNN_NUM_LAYERS),
    .PEEPHOLE(ERNN_PEEPHOLE),
    .K(CTRL_K),
    .P(ERNN_LANES),
    .CELL_LANES(ERNN_CELL_LANES),
    .N_IFFT(ERNN_N_IFFT),
    .LAYER_SKEW(ERNN_LAYER_SKEW),
    .INTERLEAVE(ERNN_INTERLEAVE),
    .SPLIT(ERNN_SPLIT),
    .GATE_FORWARD(ERNN_GATE_FORWARD),
    .PROJ_ENGINE(ERNN_PROJ_ENGINE),
    .REAL_BINS(ERNN_REAL_BINS),
    .DSP_PACK(ERNN_DSP_PACK),
    .DATA_W(ERNN_DATA_W),
    .DATA_F(ERNN_DATA_F),
    .TW_W(ERNN_TWIDDLE_W),
    .TW_F(ERNN_TWIDDLE_F),
    .FFT_W(ERNN_FFT_OUT_W),
    .WS_W(ERNN_WEIGHT_SPECTRUM_W),
    .WS_F(ERNN_WEIGHT_SPECTRUM_F),
    .ACC_W(ERNN_ACCUMULATOR_W),
    .IFFT_W(ERNN_IFFT_W),
    .IFFT_F(ERNN_IFFT_F),
    .IFFT_OUT_W(ERNN_IFFT_OUT_W),
    .BIAS_W(ERNN_BIAS_W),
    .BIAS_F(ERNN_BIAS_F),
    .GATE_W(ERNN_GATE_W),
    .GATE_F(ERNN_GATE_F),
    .ACT_W(ERNN_ACT_W),
    .ACT_F(ERNN_ACT_F),
    .ACT_SLOPE_W(ERNN_ACT_SLOPE_W),
    .ACT_SLOPE_F(ERNN_ACT_SLOPE_F),
    .PEEP_W(ERNN_PEEPHOLE_W),
    .PEEP_F(ERNN_PEEPHOLE_F),
    .CELL_W(ERNN_CELL_W),
    .CELL_F(ERNN_CELL_F),
    .SIGMOID_RANGE_LOG2(ERNN_SIGMOID_RANGE_LOG2),
    .SIGMOID_SEG_BITS(ERNN_SIGMOID_SEG_BITS),
    .TANH_RANGE_LOG2(ERNN_TANH_RANGE_LOG2),
    .TANH_SEG_BITS(ERNN_TANH_SEG_BITS),
    .W_DEPTH(ERNN_W_DEPTH),
    .XBUF_DEPTH(ERNN_XBUF_DEPTH),
    .JOBS(ERNN_JOBS),
    .JOB_FIELDS(ERNN_JOB_FIELDS),
    .JOB_TABLE(ERNN_JOB_TABLE),
    .TW_FILE({MEM_DIR, "/twiddle.mem"}),
    .W_FILE({MEM_DIR, "/pe_weights.mem"}),
    .PROJ_W_FILE({MEM_DIR, "/proj_weights.mem"}),
    .BIAS_FILE({MEM_DIR, "/cell_bias.mem"}),
    .PEEP_FILE({MEM_DIR, "/cell_peephole.mem"}),
    .SIGMOID_VALUE_FILE({MEM_DIR, "/sigmoid_values.mem"}),
    .SIGMOID_SLOPE_FILE({MEM_DIR, "/sigmoid_slopes.mem"}),
    .TANH_VALUE_FILE({MEM_DIR, "/tanh_values.mem"}),
    .TANH_SLOPE_FILE({MEM_DIR, "/tanh_slopes.mem"}),
    .CSB(CSB),
    .CSB_BLOCK(CSB_BLOCK),
    .CSB_RED_ROWS(CSB_RED_ROWS),
    .CSB_GRID_K(CSB_GK),
    .CSB_GRID_L(CSB_GL),
    .CSB_GRID_P(CSB_GP),
    .CSB_GRID_Q(CSB_GQ),
    .CSB_UNIT_FIELDS(CSB_FIELDS),
    .CSB_UNIT_TABLE(CSB_TABLE),
    .CSB_MEM_DIR(MEM_DIR)
)
core_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .s_axis_tlast(s_axis_tlast),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready),
    .m_axis_tlast(m_axis_tlast)
);

endmodule

`resetall
