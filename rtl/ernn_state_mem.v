/*

E-RNN toolkit: accelerator state memories — h, c and m of every layer, and the h producer's progress

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * The recurrent state between time steps and layers, one block (K samples) per word, all
 * ernn_state_ram (one write port, one registered read port; BRAM-inferable):
 *
 *   h   H_DEPTH blocks, Q(DATA_W, DATA_F): every layer's h_t (the job table's h_base: layer
 *       * q_h); written by the h producer (the cell writer, or with a projection the PE
 *       writer), read by the command side (x_t of the layer above, h_{t-1})
 *   h'  (GRU) a second copy of h with its own read port: the feeder's h_{t-1}
 *   c   (LSTM) C_DEPTH blocks, Q(CELL_W, CELL_F): c_t per (layer, hidden block), written by
 *       the cell writer, read by the feeder
 *   m   (LSTM projection) M_DEPTH blocks, Q(DATA_W, DATA_F): m_t = o tanh(c_t) of the
 *       stage being projected, written by the cell writer, read by the command side
 *
 * The feeder's state port st_* reads c (LSTM) or h' (GRU). The progress of the writers is
 * what the command side waits on before it sends a block to the PE: h_stage counts the
 * stages (mod 4) whose h is complete (the write of a layer's last block, h_wr_last, moves
 * it on), h_count the blocks of the stage being written; m_tag / m_count: the stage and
 * blocks of the last m write. With FORWARD the progress the loads wait on (h_stage_now,
 * h_count, m_tag, m_count) includes the write of this clock, combinationally from the write
 * port (h_stage, which the command issue checks, does not), and h and m read write-first
 * (ernn_state_ram WRITE_FIRST): the command side requests a block in the clock it is written,
 * not a clock later from a registered count (docs/performance.md, "Loads forwarded from the
 * writers"). The per-layer progress of LAYER_SKEW (hl_*, ml_*) stays registered even so: the
 * command side compares the write ports with an h_{t-1} or m block it awaits (ernn_cmd FORWARD;
 * the adder and layer selects of a forwarded per-layer count on that path made SR1's longest
 * path). Without FORWARD every progress output is registered, and h_stage_now is h_stage.
 * With INTERLEAVE (a slot's gate jobs before its projections, ernn_cmd) every layer has its
 * own m region (m_wr_addr: the cell writer's c address, layer * p + block; M_DEPTH = C_DEPTH)
 * and its own m progress (ml_done, ml_count, as hl_* for h): the layers' cells write m before
 * their projections read it.
 */
module ernn_state_mem #
(
    // 1: LSTM (c memory), 0: GRU (a second h memory)
    parameter CELL_LSTM = 1,
    // 1: LSTM projection (m memory)
    parameter HAS_PROJ = 0,
    // block size K
    parameter K = 8,
    // data word, Q(DATA_W, DATA_F)
    parameter DATA_W = 16,
    // LSTM cell-state word, Q(CELL_W, CELL_F)
    parameter CELL_W = 24,
    // h blocks (layers * q_h; >= 2)
    parameter H_DEPTH = 4,
    // c blocks (layers * p; >= 2)
    parameter C_DEPTH = 4,
    // m blocks (p; INTERLEAVE: layers * p; >= 2)
    parameter M_DEPTH = 4,
    // 1: m per layer and its progress per layer (ml_done, ml_count)
    parameter INTERLEAVE = 0,
    // block index width
    parameter IDX_W = 4,
    // stage counter width (h_stage, m_tag; ernn_cmd)
    parameter STAGE_W = 2,
    // 1: keep the h producer's progress per layer (hl_done, hl_count; layers pipelined)
    parameter LAYER_SKEW = 0,
    // 1: the loads' progress includes this clock's write and h, m read write-first (see above;
    // LAYER_SKEW: the per-layer progress stays registered)
    parameter FORWARD = 0,
    // stacked layers (L)
    parameter NUM_LAYERS = 1,
    // layer index width
    parameter LAYER_W = 1,
    // step number width of hl_done
    parameter TAG_W = 1,
    // h address width (derived; do not override)
    parameter H_ADDR_W = $clog2(H_DEPTH),
    // c address width (derived; do not override)
    parameter C_ADDR_W = $clog2(C_DEPTH),
    // m address width (derived; do not override)
    parameter M_ADDR_W = $clog2(M_DEPTH),
    // the feeder's state port address: c (LSTM) or h (GRU) (derived; do not override)
    parameter ST_ADDR_W = CELL_LSTM ? C_ADDR_W : H_ADDR_W,
    // the feeder's state word: K samples of Q(cell) or Q(data) (derived; do not override)
    parameter ST_W = CELL_LSTM ? K * CELL_W : K * DATA_W
)
(
    input  wire                 clk,
    input  wire                 rst,

    // h write port (the h producer): block h_wr_blk of its layer, the layer's last block
    input  wire                 h_we,
    input  wire [H_ADDR_W-1:0]  h_wr_addr,
    input  wire [K*DATA_W-1:0]  h_wr_data,
    input  wire [IDX_W-1:0]     h_wr_blk,
    input  wire                 h_wr_last,
    input  wire [LAYER_W-1:0]   h_wr_layer,
    // h read port (command side)
    input  wire                 h_rd_en,
    input  wire [H_ADDR_W-1:0]  h_rd_addr,
    output wire [K*DATA_W-1:0]  h_rd_data,
    // progress of the h producer: h_stage as of the last clock (the command side's issue checks);
    // h_stage_now and h_count with this clock's write (the loads)
    output wire [STAGE_W-1:0]   h_stage,
    output wire [STAGE_W-1:0]   h_stage_now,
    output wire [IDX_W-1:0]     h_count,
    // LAYER_SKEW: per layer l the steps whose h is complete (mod 2**TAG_W, at [l*TAG_W +: TAG_W])
    // and the blocks written of the next (at [l*IDX_W +: IDX_W])
    output wire [NUM_LAYERS*TAG_W-1:0] hl_done,
    output wire [NUM_LAYERS*IDX_W-1:0] hl_count,

    // c write port (cell writer, LSTM)
    input  wire                 c_we,
    input  wire [C_ADDR_W-1:0]  c_wr_addr,
    input  wire [K*CELL_W-1:0]  c_wr_data,

    // m write port (cell writer, projection): block m_wr_blk of stage m_wr_stage (mod 4) at
    // m_wr_addr; INTERLEAVE: of layer m_wr_layer, its last block m_wr_last
    input  wire                 m_we,
    input  wire [M_ADDR_W-1:0]  m_wr_addr,
    input  wire [IDX_W-1:0]     m_wr_blk,
    input  wire                 m_wr_last,
    input  wire [LAYER_W-1:0]   m_wr_layer,
    input  wire [K*DATA_W-1:0]  m_wr_data,
    input  wire [STAGE_W-1:0]   m_wr_stage,
    // m read port (command side)
    input  wire                 m_rd_en,
    input  wire [M_ADDR_W-1:0]  m_rd_addr,
    output wire [K*DATA_W-1:0]  m_rd_data,
    // progress of the m writer
    output wire [STAGE_W-1:0]   m_tag,
    output wire [IDX_W-1:0]     m_count,
    // INTERLEAVE: per layer the steps whose m is complete and the blocks written of the next
    output wire [NUM_LAYERS*TAG_W-1:0] ml_done,
    output wire [NUM_LAYERS*IDX_W-1:0] ml_count,

    // the feeder's state read port: c_{t-1} (LSTM) or h_{t-1} (GRU) of a block
    input  wire                 st_rd_en,
    input  wire [ST_ADDR_W-1:0] st_rd_addr,
    output wire [ST_W-1:0]      st_rd_data
);

localparam BLK_W = K * DATA_W;
localparam CBLK_W = K * CELL_W;

// check configuration
initial begin
    if (H_DEPTH < 2 || C_DEPTH < 2 || M_DEPTH < 2) begin
        $error("Error: ernn_state_mem needs H_DEPTH, C_DEPTH, M_DEPTH >= 2 (got %0d, %0d, %0d)", H_DEPTH, C_DEPTH, M_DEPTH);
        $finish;
    end
    if (H_ADDR_W != $clog2(H_DEPTH) || C_ADDR_W != $clog2(C_DEPTH) || M_ADDR_W != $clog2(M_DEPTH)
            || ST_ADDR_W != (CELL_LSTM ? C_ADDR_W : H_ADDR_W) || ST_W != (CELL_LSTM ? CBLK_W : BLK_W)) begin
        $error("Error: ernn_state_mem the address widths, ST_ADDR_W and ST_W are derived; do not override them");
        $finish;
    end
end

// ---------------------------------------------------------------------------------------
// h per (layer, block)

ernn_state_ram #(
    .WIDTH(BLK_W),
    .DEPTH(H_DEPTH),
    .WRITE_FIRST(FORWARD)
)
h_ram_inst (
    .clk(clk),
    .wr_en(h_we),
    .wr_addr(h_wr_addr),
    .wr_data(h_wr_data),
    .rd_en(h_rd_en),
    .rd_addr(h_rd_addr),
    .rd_data(h_rd_data)
);

reg [STAGE_W-1:0] h_stage_reg; // stage (mod 2**STAGE_W) whose h blocks are being written
reg [IDX_W-1:0] h_count_reg;    // h blocks of that stage written so far

always @(posedge clk) begin
    if (h_we) begin
        if (h_wr_last) begin
            h_stage_reg <= h_stage_reg + 1'b1;
            h_count_reg <= {IDX_W{1'b0}};
        end else begin
            h_count_reg <= h_wr_blk + 1'b1;
        end
    end

    if (rst) begin
        h_stage_reg <= {STAGE_W{1'b0}};
        h_count_reg <= {IDX_W{1'b0}};
    end
end

// FORWARD: this clock's write included (the loads), or not (the command issue: its checks are not
// worth the writer's path into the PE's command handshake)
assign h_stage = h_stage_reg;
assign h_stage_now = FORWARD != 0 && h_we && h_wr_last ? h_stage_reg + 1'b1 : h_stage_reg;
assign h_count = FORWARD == 0 || !h_we ? h_count_reg : h_wr_last ? {IDX_W{1'b0}} : h_wr_blk + 1'b1;

// layers pipelined across steps: a stage's sources are the same step of the layer below and
// the previous step of its own layer, not a fixed number of stages back, so the progress is
// kept per layer (each layer's stages come in step order: the count of complete ones is the
// number of the step being written)
generate
if (LAYER_SKEW != 0) begin : g_layers
    ernn_layer_progress #(.NUM_LAYERS(NUM_LAYERS), .LAYER_W(LAYER_W), .TAG_W(TAG_W), .IDX_W(IDX_W))
    h_progress_inst (
        .clk(clk),
        .rst(rst),
        .wr_en(h_we),
        .wr_layer(h_wr_layer),
        .wr_blk(h_wr_blk),
        .wr_last(h_wr_last),
        .done(hl_done),
        .count(hl_count)
    );
end else begin : g_no_layers
    assign hl_done = {(NUM_LAYERS*TAG_W){1'b0}};
    assign hl_count = {(NUM_LAYERS*IDX_W){1'b0}};

    // the layers in order need only the stage count
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_layer = &{1'b0, h_wr_layer};
    /* verilator lint_on UNUSEDSIGNAL */
end
endgenerate

// ---------------------------------------------------------------------------------------
// the feeder's state: c (LSTM) or a copy of h (GRU)

generate
if (CELL_LSTM) begin : g_c
    ernn_state_ram #(
        .WIDTH(CBLK_W),
        .DEPTH(C_DEPTH)
    )
    c_ram_inst (
        .clk(clk),
        .wr_en(c_we),
        .wr_addr(c_wr_addr),
        .wr_data(c_wr_data),
        .rd_en(st_rd_en),
        .rd_addr(st_rd_addr),
        .rd_data(st_rd_data)
    );
end else begin : g_hprev
    // the other copy's read port feeds the PE
    ernn_state_ram #(
        .WIDTH(BLK_W),
        .DEPTH(H_DEPTH)
    )
    hprev_ram_inst (
        .clk(clk),
        .wr_en(h_we),
        .wr_addr(h_wr_addr),
        .wr_data(h_wr_data),
        .rd_en(st_rd_en),
        .rd_addr(st_rd_addr),
        .rd_data(st_rd_data)
    );

    // a GRU has no cell state
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_c = &{1'b0, c_we, c_wr_addr, c_wr_data};
    /* verilator lint_on UNUSEDSIGNAL */
end
endgenerate

// ---------------------------------------------------------------------------------------
// m_t (LSTM projection input) per hidden block

reg [STAGE_W-1:0] m_tag_reg;    // stage (mod 2**STAGE_W) of the last m block written
reg [IDX_W-1:0] m_count_reg;    // m blocks of that stage written so far

// FORWARD: this clock's write included (no projection: never written)
assign m_tag = FORWARD != 0 && m_we && HAS_PROJ != 0 ? m_wr_stage : m_tag_reg;
assign m_count = FORWARD != 0 && m_we && HAS_PROJ != 0 ? m_wr_blk + 1'b1 : m_count_reg;

generate
if (HAS_PROJ) begin : g_m
    ernn_state_ram #(
        .WIDTH(BLK_W),
        .DEPTH(M_DEPTH),
        .WRITE_FIRST(FORWARD)
    )
    m_ram_inst (
        .clk(clk),
        .wr_en(m_we),
        .wr_addr(m_wr_addr),
        .wr_data(m_wr_data),
        .rd_en(m_rd_en),
        .rd_addr(m_rd_addr),
        .rd_data(m_rd_data)
    );

    always @(posedge clk) begin
        if (m_we) begin
            m_tag_reg <= m_wr_stage;
            m_count_reg <= m_wr_blk + 1'b1;
        end

        if (rst) begin
            m_tag_reg <= {STAGE_W{1'b0}};
            m_count_reg <= {IDX_W{1'b0}};
        end
    end
end else begin : g_no_m
    assign m_rd_data = {BLK_W{1'b0}};

    always @(posedge clk) begin
        m_tag_reg <= {STAGE_W{1'b0}};
        m_count_reg <= {IDX_W{1'b0}};
    end

    // no projection: no m
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_m = &{1'b0, m_we, m_wr_addr, m_wr_blk, m_wr_data, m_wr_stage, m_rd_en, m_rd_addr};
    /* verilator lint_on UNUSEDSIGNAL */
end
endgenerate

// INTERLEAVE: m progress per layer (each layer's stages come in step order)
generate
if (INTERLEAVE != 0 && HAS_PROJ) begin : g_m_layers
    ernn_layer_progress #(.NUM_LAYERS(NUM_LAYERS), .LAYER_W(LAYER_W), .TAG_W(TAG_W), .IDX_W(IDX_W))
    m_progress_inst (
        .clk(clk),
        .rst(rst),
        .wr_en(m_we),
        .wr_layer(m_wr_layer),
        .wr_blk(m_wr_blk),
        .wr_last(m_wr_last),
        .done(ml_done),
        .count(ml_count)
    );
end else begin : g_no_m_layers
    assign ml_done = {(NUM_LAYERS*TAG_W){1'b0}};
    assign ml_count = {(NUM_LAYERS*IDX_W){1'b0}};

    // one m region: the m progress is the stage tag's
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_m_layer = &{1'b0, m_wr_last, m_wr_layer};
    /* verilator lint_on UNUSEDSIGNAL */
end
endgenerate

endmodule

`resetall
