/*

E-RNN toolkit: accelerator PE writer — PE row blocks to the gate buffer or, projected, to h

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Takes the PE's row blocks (s_axis: K samples of Q(IFFT_OUT_W, IFFT_F), sample n at
 * [n*IFFT_OUT_W +: IFFT_OUT_W]) in the order of the exporter's job table, which it steps
 * through job by job (port `job`), and writes each one where the cell side needs it:
 *
 *   gate job   rows (block b, gate g), g = 0..gates_last: gate-buffer slot g, block b
 *   in / hn    row b: slot 2 / slot 3, block b (GRU W_in x, W_hn h)
 *   proj       row b: rnd(y, IFFT_F - DATA_F) saturated to Q(DATA_W, DATA_F) (numerics R12,
 *              point proj_out; ernn_cell_rnd), padding samples of the last output block
 *              zeroed, to the h memory at h_base + b (h_*; HAS_PROJ = 1 only)
 *
 * A row is accepted only when its destination is free: a gate-buffer block that the feeder
 * has not read yet (y_full) stalls the PE, and so does the last layer's projection while
 * the output vector waits on m_axis (out_full). blk is the block of the row on s_axis.
 */
module ernn_pe_writer #
(
    // 1: LSTM projection (proj jobs; without it the rounding below is not built)
    parameter HAS_PROJ = 0,
    // block size K
    parameter K = 8,
    // layer output size (projection or hidden): the valid samples of the last h block
    parameter OUT_SIZE = 32,
    // data word, Q(DATA_W, DATA_F)
    parameter DATA_W = 16,
    // data fraction bits
    parameter DATA_F = 12,
    // matvec output word, Q(IFFT_OUT_W, IFFT_F)
    parameter IFFT_OUT_W = 19,
    // IFFT fraction bits
    parameter IFFT_F = 14,
    // job-table row index width
    parameter JOB_W = 1,
    // block index width
    parameter IDX_W = 4,
    // h-memory address width
    parameter H_ADDR_W = 2
)
(
    input  wire                    clk,
    input  wire                    rst,

    // job-table read port (ernn_job_table): the job whose rows arrive, and its fields
    output wire [JOB_W-1:0]        job,
    input  wire [1:0]              job_kind,
    input  wire [1:0]              job_gates_last,
    input  wire [IDX_W-1:0]        job_last_blk,
    input  wire                    job_last_layer,
    input  wire                    job_step_last,
    input  wire [H_ADDR_W-1:0]     job_h_base,

    // row blocks of the PE, Q(IFFT_OUT_W, IFFT_F)
    input  wire [K*IFFT_OUT_W-1:0] s_axis_tdata,
    input  wire                    s_axis_tvalid,
    output wire                    s_axis_tready,

    // block of the row on s_axis (gate buffer and h write address within the layer)
    output wire [IDX_W-1:0]        blk,
    // gate-buffer write: the row into slot y_slot of block blk, Q(IFFT_OUT_W, IFFT_F); y_full: that
    // block is still full
    output wire                    y_we,
    output wire [1:0]              y_slot,
    output wire [K*IFFT_OUT_W-1:0] y_data,
    input  wire                    y_full,

    // projection output to the h memory, Q(DATA_W, DATA_F) samples
    output wire                    h_we,
    output wire [H_ADDR_W-1:0]     h_addr,
    output wire [K*DATA_W-1:0]     h_data,
    output wire                    h_last,       // the layer's last h block
    output wire                    h_last_layer, // the last layer's (the output vector)
    output wire                    h_par,        // step parity of the write

    // the output vector is complete and waits for m_axis
    input  wire                    out_full
);

function integer cdiv(input integer a, input integer b);
    begin
        cdiv = (a + b - 1) / b;
    end
endfunction

// blocks of a layer output and the valid samples of the last one
localparam QH = cdiv(OUT_SIZE, K);
localparam O_TAIL = OUT_SIZE - (QH - 1) * K;
// R12: projection output Q(ifft_out) -> Q(data)
localparam SH_PROJ = IFFT_F - DATA_F;

// job kinds (ernn_job_table)
localparam [1:0] JOB_GATE = 2'd0;
localparam [1:0] JOB_IN = 2'd1;
localparam [1:0] JOB_PROJ = 2'd3;

// check configuration
initial begin
    if (OUT_SIZE < 1 || K < 1 || SH_PROJ < 0) begin
        $error("Error: ernn_pe_writer needs OUT_SIZE, K >= 1 and IFFT_F >= DATA_F (got %0d, %0d, %0d, %0d)",
            OUT_SIZE, K, IFFT_F, DATA_F);
        $finish;
    end
end

reg [JOB_W-1:0] job_reg;
reg [1:0] gate_reg;             // gate within the block (gate job)
reg [IDX_W-1:0] blk_reg;
reg par_reg;

assign job = job_reg;
assign blk = blk_reg;

wire gate_last = gate_reg == job_gates_last;
wire blk_last = blk_reg == job_last_blk;
wire proj = job_kind == JOB_PROJ;

assign s_axis_tready = proj ? !(job_last_layer && out_full) : !y_full;
wire fire = s_axis_tvalid && s_axis_tready;

// gate buffer slot: LSTM i, f, g, o; GRU r, z, in, hn
assign y_slot = job_kind == JOB_GATE ? gate_reg : (job_kind == JOB_IN ? 2'd2 : 2'd3);
assign y_we = fire && !proj;
assign y_data = s_axis_tdata;

always @(posedge clk) begin
    if (fire) begin
        if (gate_last) begin
            gate_reg <= 2'd0;
            if (blk_last) begin
                blk_reg <= {IDX_W{1'b0}};
                if (job_step_last) begin
                    job_reg <= {JOB_W{1'b0}};
                    par_reg <= !par_reg;
                end else begin
                    job_reg <= job_reg + 1'b1;
                end
            end else begin
                blk_reg <= blk_reg + 1'b1;
            end
        end else begin
            gate_reg <= gate_reg + 1'b1;
        end
    end

    if (rst) begin
        job_reg <= {JOB_W{1'b0}};
        gate_reg <= 2'd0;
        blk_reg <= {IDX_W{1'b0}};
        par_reg <= 1'b0;
    end
end

// projection output: rnd(y, I - D), saturated to Q(data) (R12, point proj_out); padding zeroed
genvar n;

generate
if (HAS_PROJ) begin : g_proj
    for (n = 0; n < K; n = n + 1) begin : g_rnd
        wire [DATA_W-1:0] v;  // Q(data)
        ernn_cell_rnd #(.IN_W(IFFT_OUT_W), .SHIFT(SH_PROJ), .OUT_W(DATA_W))
        rnd_inst (.in(s_axis_tdata[n*IFFT_OUT_W +: IFFT_OUT_W]), .out(v));
        if (n >= O_TAIL) begin : g_tail
            // a padding sample of the last block
            assign h_data[n*DATA_W +: DATA_W] = blk_last ? {DATA_W{1'b0}} : v;
        end else begin : g_keep
            assign h_data[n*DATA_W +: DATA_W] = v;
        end
    end
end else begin : g_no_proj
    // no projection jobs: nothing goes to h from here
    assign h_data = {K*DATA_W{1'b0}};
end
endgenerate

assign h_we = fire && proj;
assign h_addr = job_h_base + blk_reg[H_ADDR_W-1:0];
assign h_last = blk_last;
assign h_last_layer = job_last_layer;
assign h_par = par_reg;

endmodule

`resetall
