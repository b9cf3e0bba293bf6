/*

E-RNN toolkit: CSB group array (K x L groups of P x Q PEs running the balanced schedule)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * y = W x for one CSB matrix of GATES stacked gate matrices (ROWS x COLS each), as ernn.golden.csb
 * computes it (docs/numerics.md, section 15), bit for bit, on K x L PE groups of P x Q PEs
 * (ernn_csb_group, ernn_csb_pe) following the schedule of ernn.export.csb_schedule, compiled into
 * program images by ernn.export.csb_program:
 *
 *   per tile row a (block rows a*K .. a*K+K-1 of the gates' stacked block rows):
 *     clear every PE's accumulation buffer (1 clock)
 *     for each MAC step t of the tile row's rounds (lens[a] clocks), in every PE n of every group g:
 *       if en[g, t, n]: acc_{g,n}[bank * BLOCK + row] += value[g, t, n] * x[x_index[g, t, n]]
 *     for r = 0 .. BLOCK-1 (one clock each), for every group row k with a block row i = a*K + k:
 *       s = sum_l own_{k,l}[r] + sum_l down_{k-1,l}[r] + sum_l up_{k+1,l}[r]   (bank 0, 2, 1)
 *       y[gate(i) * ROWS + (i mod BR) * BLOCK + r] = sat_OUT((s + 2**(SHIFT-1)) >>> SHIFT)
 *                                                     (rows past ROWS in a ragged block row dropped)
 *
 * Sharing: a horizontal helper (same group row) adds a neighbour's kernel entries into its own bank 0
 * (same block row), reading the neighbour's input neurons (x_index points into the neighbour's column
 * block: the paper's extra input-buffer port); a vertical helper adds them into bank 1 (owner above)
 * or 2 (owner below), which the owner's group row sums at the reduction (the accumulation path).
 *
 * Formats: x Q(DATA_W) (data), values Q(W_W) (weight), partial and final sums Q(ACC_W) exact (frac =
 * data.frac + weight.frac; ACC_W from the golden rule D_W + W_W + max(2, clog2 T)), y Q(OUT_W)
 * (ifft_out), SHIFT = accumulator.frac - ifft_out.frac (ernn_round_sat, round half up).
 *
 * Program images ($readmemh, ernn.export.csb_program.write; word g*STEPS + t, group g = k*L + l, PE
 * n = p*Q + q in the low field first): EN_FILE (P*Q enable bits), VAL_FILE (P*Q values, W_W bits),
 * X_FILE (P*Q input indices, X_W bits), TGT_FILE (P*Q {bank (2 bits), row offset (INDEX_W bits)}),
 * LENS_FILE (TILE_ROWS words of LEN_W bits: MAC steps per tile row). Elaboration checks the images
 * slot by slot: an input index outside COLS, a bank that is not 0..2, a target block row outside the
 * matrix or a row offset outside its (possibly ragged) block, lengths that do not add up to STEPS, or
 * enabled slots that are not MACS stop the simulation with $error naming the group, tile row, step,
 * PE and the target block (gate, block row).
 *
 * Interface: s_axis (ELEMS x elements per beat, element e of beat b in bits [e*DATA_W +: DATA_W] is
 * x[b*ELEMS + e]; ceil(COLS/ELEMS) beats, lanes past COLS in the last beat ignored; tlast is not
 * needed), m_axis (ELEMS y elements per beat in row order, the same lane order, ceil(GATES*ROWS/ELEMS)
 * beats, lanes past GATES*ROWS in the last beat zero, tlast on the last). ELEMS = 1 is one element per
 * beat; a wider stream only shortens the load and output phases (the buffers take ELEMS elements per
 * clock), which at one element per beat dominate a step of SR1 (docs/csb.md). rst (synchronous, active high) returns to
 * the load phase and drops a vector in flight. stat_mac_cycles counts clocks in the MAC phase and
 * stat_busy enabled PE-slots in them, since reset: utilization = stat_busy / (K*L*P*Q *
 * stat_mac_cycles), which equals the schedule's (ernn.export.csb_schedule.Schedule.utilization).
 *
 * Latency per vector without stalls: ceil(COLS/ELEMS) + TILE_ROWS * (1 + BLOCK) + STEPS +
 * ceil(GATES*ROWS/ELEMS) clocks
 * (ernn.export.csb_program.array_cycles). Resources: K*L*P*Q multipliers, 3*BLOCK*ACC_W bits of
 * partial sums per PE, K reduction trees of 3*L*P*Q inputs and K rounding units, the x and y buffers
 * and the program images.
 */
module ernn_csb_array #
(
    // group rows and columns
    parameter K = 2,
    parameter L = 2,
    // PE rows and columns of a group
    parameter P = 2,
    parameter Q = 2,
    // gate matrices stacked (LSTM 4, GRU 3, projection 1)
    parameter GATES = 1,
    // rows of one gate matrix
    parameter ROWS = 8,
    // columns (input elements)
    parameter COLS = 8,
    // elements per input beat and per output beat (the stream width)
    parameter ELEMS = 1,
    // CSB block size M
    parameter BLOCK = 4,
    // data (x) word
    parameter DATA_W = 16,
    // kernel value word
    parameter W_W = 16,
    // accumulator word (> DATA_W + W_W)
    parameter ACC_W = 40,
    // output (ifft_out) word
    parameter OUT_W = 19,
    // accumulator.frac - ifft_out.frac (round half up when > 0, exact left shift when < 0)
    parameter SHIFT = 12,
    // bits of a row offset (max(1, clog2 BLOCK)) and of an input index (max(1, clog2 COLS))
    parameter INDEX_W = 2,
    parameter X_W = 3,
    // MAC steps of the whole program, tile rows (ceil(GATES * block rows / K)), bits of a length
    parameter STEPS = 1,
    parameter TILE_ROWS = 1,
    parameter LEN_W = 1,
    // enabled slots of the program (the matrix's kernel entries)
    parameter MACS = 1,
    // width of the statistics counters
    parameter STAT_W = 32,
    // $readmemh program images (ernn.export.csb_program.write)
    parameter EN_FILE = "",
    parameter VAL_FILE = "",
    parameter X_FILE = "",
    parameter TGT_FILE = "",
    parameter LENS_FILE = ""
)
(
    input  wire                clk,
    input  wire                rst,

    input  wire [ELEMS*DATA_W-1:0] s_axis_tdata,  // Q(DATA_W) per lane: ELEMS x elements
    input  wire                s_axis_tvalid,
    output wire                s_axis_tready,
    // the vector length is COLS: tlast is not needed to find its end
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire                s_axis_tlast,
    /* verilator lint_on UNUSEDSIGNAL */

    output wire [ELEMS*OUT_W-1:0] m_axis_tdata,  // Q(OUT_W) per lane: ELEMS y elements
    output wire                m_axis_tvalid,
    input  wire                m_axis_tready,
    output wire                m_axis_tlast,

    output reg  [STAT_W-1:0]   stat_mac_cycles,  // clocks in the MAC phase since reset
    output reg  [STAT_W-1:0]   stat_busy         // enabled PE-slots in them
);

localparam GROUPS = K * L;
localparam PES = P * Q;
localparam BR = (ROWS + BLOCK - 1) / BLOCK;
localparam BLOCK_ROWS = GATES * BR;
localparam OUTS = GATES * ROWS;
localparam T_W = 2 + INDEX_W;
localparam PROG_DEPTH = GROUPS * STEPS > 0 ? GROUPS * STEPS : 1;
localparam PB_W = $clog2(PES + 1);
localparam GB_W = $clog2(GROUPS * PES + 1);
localparam IN_BEATS = (COLS + ELEMS - 1) / ELEMS;
localparam OUT_BEATS = (OUTS + ELEMS - 1) / ELEMS;
localparam X_CW = $clog2(IN_BEATS + 1);
localparam O_W = $clog2(OUTS + 1);
localparam OB_W = $clog2(OUT_BEATS + 1);
localparam TR_W = $clog2(TILE_ROWS + 1);
localparam S_W = $clog2(STEPS + 2);
localparam R_W = $clog2(BLOCK + 1);

reg [PES-1:0]        en_mem  [0:PROG_DEPTH-1];
reg [PES*W_W-1:0]    val_mem [0:PROG_DEPTH-1];  // Q(W_W) per PE
reg [PES*X_W-1:0]    xi_mem  [0:PROG_DEPTH-1];
reg [PES*T_W-1:0]    tgt_mem [0:PROG_DEPTH-1];
reg [LEN_W-1:0]      lens_mem [0:TILE_ROWS-1];

// elaboration-time bookkeeping in integers (mixed-width reads of the images; cw only indexes them)
/* verilator lint_off UNUSEDSIGNAL */
integer ca, cs, cg, cn, cstep, cmacs, cw, cx, cbank, crow, cblk, cspan;
reg [PES*X_W-1:0] cx_word;
reg [PES*T_W-1:0] ct_word;
/* verilator lint_on UNUSEDSIGNAL */
/* verilator lint_off WIDTHEXPAND */
/* verilator lint_off WIDTHTRUNC */
initial begin
    if (K < 1 || L < 1 || P < 1 || Q < 1 || GATES < 1 || ROWS < 1 || COLS < 1 || ELEMS < 1) begin
        $error("Error: ernn_csb_array K, L, P, Q, GATES, ROWS, COLS, ELEMS must be >= 1 (got %0d, %0d, %0d, %0d, %0d, %0d, %0d, %0d)",
               K, L, P, Q, GATES, ROWS, COLS, ELEMS);
        $finish;
    end
    if (BLOCK < 2 || (1 << INDEX_W) < BLOCK || (1 << X_W) < COLS) begin
        $error("Error: ernn_csb_array BLOCK = %0d must be >= 2, INDEX_W = %0d and X_W = %0d wide enough for BLOCK and COLS = %0d",
               BLOCK, INDEX_W, X_W, COLS);
        $finish;
    end
    if (ACC_W <= DATA_W + W_W || OUT_W < 2 || OUT_W > ACC_W) begin
        $error("Error: ernn_csb_array ACC_W = %0d must be > DATA_W + W_W = %0d and >= OUT_W = %0d", ACC_W, DATA_W + W_W, OUT_W);
        $finish;
    end
    if (TILE_ROWS != (BLOCK_ROWS + K - 1) / K || STEPS < 0 || (1 << LEN_W) <= STEPS) begin
        $error("Error: ernn_csb_array TILE_ROWS = %0d is not ceil(%0d block rows / K = %0d), or LEN_W = %0d cannot hold STEPS = %0d",
               TILE_ROWS, BLOCK_ROWS, K, LEN_W, STEPS);
        $finish;
    end
    if (EN_FILE == "" || VAL_FILE == "" || X_FILE == "" || TGT_FILE == "" || LENS_FILE == "") begin
        $error("Error: ernn_csb_array needs EN_FILE, VAL_FILE, X_FILE, TGT_FILE and LENS_FILE");
        $finish;
    end
    $readmemh(LENS_FILE, lens_mem);
    if (STEPS > 0) begin
        $readmemh(EN_FILE, en_mem);
        $readmemh(VAL_FILE, val_mem);
        $readmemh(X_FILE, xi_mem);
        $readmemh(TGT_FILE, tgt_mem);
    end
    // the program, slot by slot
    cstep = 0;
    cmacs = 0;
    for (ca = 0; ca < TILE_ROWS; ca = ca + 1) begin
        if (cstep + lens_mem[ca] > STEPS) begin
            $error("Error: ernn_csb_array tile row %0d: the lengths run past STEPS = %0d", ca, STEPS);
            $finish;
        end
        for (cs = 0; cs < lens_mem[ca]; cs = cs + 1) begin
            for (cg = 0; cg < GROUPS; cg = cg + 1) begin
                cw = cg * STEPS + cstep;
                cx_word = xi_mem[cw];
                ct_word = tgt_mem[cw];
                for (cn = 0; cn < PES; cn = cn + 1) begin
                    if (en_mem[cw][cn]) begin
                        cmacs = cmacs + 1;
                        cx = (cx_word >> (cn * X_W)) & ((1 << X_W) - 1);
                        cbank = (ct_word >> (cn * T_W + INDEX_W)) & 3;
                        crow = (ct_word >> (cn * T_W)) & ((1 << INDEX_W) - 1);
                        cblk = ca * K + cg / L + (cbank == 1 ? -1 : cbank == 2 ? 1 : 0);
                        cspan = (cblk % BR + 1) * BLOCK > ROWS ? ROWS - (cblk % BR) * BLOCK : BLOCK;
                        if (cx >= COLS) begin
                            $error("Error: ernn_csb_array group (%0d, %0d), tile row %0d, step %0d, PE %0d: input index %0d outside COLS = %0d",
                                   cg / L, cg % L, ca, cs, cn, cx, COLS);
                            $finish;
                        end
                        if (cbank == 3 || (cbank == 1 && cg / L == 0) || (cbank == 2 && cg / L == K - 1) || cblk < 0 || cblk >= BLOCK_ROWS || crow >= cspan) begin
                            $error("Error: ernn_csb_array group (%0d, %0d), tile row %0d, step %0d, PE %0d: target bank %0d row %0d is outside CSB block (gate %0d, block row %0d)",
                                   cg / L, cg % L, ca, cs, cn, cbank, crow,
                                   cblk < 0 ? -1 : cblk / BR, cblk < 0 ? -1 : cblk % BR);
                            $finish;
                        end
                    end
                end
            end
            cstep = cstep + 1;
        end
    end
    if (cstep != STEPS || cmacs != MACS) begin
        $error("Error: ernn_csb_array the program holds %0d steps and %0d enabled slots; STEPS = %0d, MACS = %0d",
               cstep, cmacs, STEPS, MACS);
        $finish;
    end
end
/* verilator lint_on WIDTHTRUNC */
/* verilator lint_on WIDTHEXPAND */

localparam [2:0] S_LOAD = 3'd0, S_CLEAR = 3'd1, S_MAC = 3'd2, S_RED = 3'd3, S_OUT = 3'd4;

reg [2:0]          state_reg;
reg [DATA_W-1:0]   x_buf [0:COLS-1];   // Q(DATA_W)
reg [OUT_W-1:0]    y_buf [0:OUTS-1];   // Q(OUT_W)
reg [X_CW-1:0]     x_count_reg;        // input beat
reg [TR_W-1:0]     a_reg;              // tile row
reg [S_W-1:0]      s_reg;              // MAC step within the tile row
reg [S_W-1:0]      t_reg;              // MAC step of the program
reg [R_W-1:0]      r_reg;              // reduction row
reg [OB_W-1:0]     o_reg;              // output beat

/* verilator lint_off WIDTHEXPAND */
/* verilator lint_off WIDTHTRUNC */
wire [LEN_W-1:0] cur_len = lens_mem[a_reg];
wire pe_clear = (state_reg == S_CLEAR);
wire pe_mac = (state_reg == S_MAC);
wire [INDEX_W-1:0] red_row = r_reg;  // r_reg < BLOCK <= 2**INDEX_W

// group outputs: reduction sums (own, up, down) and busy slots, group g = k*L + l
// (the top group row's bank 1 and the bottom row's bank 2 are never targeted, and never read)
/* verilator lint_off UNUSEDSIGNAL */
wire [GROUPS*3*ACC_W-1:0] red_bus;
/* verilator lint_on UNUSEDSIGNAL */
wire [GROUPS*PB_W-1:0] busy_bus;  // enabled slots per group this step
reg  [K*ACC_W-1:0]     red_sum;   // Q(ACC_W) per group row: its reduction sum
reg  [ACC_W-1:0]       red_acc;   // Q(ACC_W)
reg  [GB_W-1:0]        busy_all;  // enabled slots of all groups this step
// reduction outputs per group row: the rounded sum, its output row, and whether that row exists
wire [K-1:0] red_valid;
wire [K*O_W-1:0] red_addr;
wire [K*OUT_W-1:0] red_y;  // Q(OUT_W) per group row

genvar gg, gk;
generate
    for (gg = 0; gg < GROUPS; gg = gg + 1) begin : group
        // this step's program word (address g*STEPS + t: t_reg stays below STEPS in the MAC phase)
        /* verilator lint_off UNUSEDSIGNAL */
        wire [31:0] addr = gg * STEPS + t_reg;
        /* verilator lint_on UNUSEDSIGNAL */
        wire [PES*X_W-1:0] xi = xi_mem[addr];
        wire [PES*DATA_W-1:0] xv;
        wire [PB_W-1:0] busy;
        genvar gn;
        for (gn = 0; gn < PES; gn = gn + 1) begin : fetch
            wire [X_W-1:0] idx = xi[gn*X_W +: X_W];  // < COLS (elaboration check) when enabled
            assign xv[gn*DATA_W +: DATA_W] = x_buf[idx];
        end

        ernn_csb_group #(
            .P(P),
            .Q(Q),
            .DATA_W(DATA_W),
            .W_W(W_W),
            .ACC_W(ACC_W),
            .BLOCK(BLOCK),
            .INDEX_W(INDEX_W)
        )
        group_inst (
            .clk(clk),
            .clear(pe_clear),
            .mac(pe_mac),
            .en(en_mem[addr]),
            .value(val_mem[addr]),
            .x(xv),
            .target(tgt_mem[addr]),
            .red_row(red_row),
            .red_own(red_bus[(gg*3+0)*ACC_W +: ACC_W]),
            .red_up(red_bus[(gg*3+1)*ACC_W +: ACC_W]),
            .red_down(red_bus[(gg*3+2)*ACC_W +: ACC_W]),
            .busy(busy)
        );

        assign busy_bus[gg*PB_W +: PB_W] = busy;
    end

    // per group row: one rounding of its reduction sum, and the output row it belongs to
    for (gk = 0; gk < K; gk = gk + 1) begin : red
        wire [OUT_W-1:0] y_sat;        // Q(OUT_W)
        /* verilator lint_off UNUSEDSIGNAL */
        wire [31:0] blk = a_reg * K + gk;                   // stacked block row
        wire [31:0] row_in_gate = (blk % BR) * BLOCK + r_reg;
        wire [31:0] out_row = (blk / BR) * ROWS + row_in_gate;
        /* verilator lint_on UNUSEDSIGNAL */
        wire valid = (blk < BLOCK_ROWS) && (row_in_gate < ROWS);

        ernn_round_sat #(
            .IN_W(ACC_W),
            .SHIFT(SHIFT),
            .OUT_W(OUT_W),
            .SYMMETRIC(0)
        )
        round_sat_inst (
            .in(red_sum[gk*ACC_W +: ACC_W]),
            .out(y_sat)
        );

        assign red_valid[gk] = valid;
        assign red_addr[gk*O_W +: O_W] = out_row;
        assign red_y[gk*OUT_W +: OUT_W] = y_sat;
    end
endgenerate

// the reduction of group row k: its own bank 0, bank 2 of the row above, bank 1 of the row below,
// summed over the group columns (one process: a chain of continuous adds made Icarus re-evaluate a wide
// vector quadratically per clock); and the enabled slots of all groups this step
integer kk, ll;

always @* begin
    for (kk = 0; kk < K; kk = kk + 1) begin
        red_acc = {ACC_W{1'b0}};
        for (ll = 0; ll < L; ll = ll + 1) begin
            red_acc = red_acc + red_bus[((kk*L+ll)*3+0)*ACC_W +: ACC_W];
            if (kk > 0) begin
                red_acc = red_acc + red_bus[(((kk-1)*L+ll)*3+2)*ACC_W +: ACC_W];
            end
            if (kk < K - 1) begin
                red_acc = red_acc + red_bus[(((kk+1)*L+ll)*3+1)*ACC_W +: ACC_W];
            end
        end
        red_sum[kk*ACC_W +: ACC_W] = red_acc;
    end
    busy_all = {GB_W{1'b0}};
    for (kk = 0; kk < GROUPS; kk = kk + 1) begin
        busy_all = busy_all + busy_bus[kk*PB_W +: PB_W];
    end
end

integer kr, ke;

assign s_axis_tready = (state_reg == S_LOAD);
assign m_axis_tvalid = (state_reg == S_OUT);
assign m_axis_tlast = (o_reg == OUT_BEATS - 1);

// output lanes: y[o_reg*ELEMS + e], zero past the last row
genvar ge;
generate
    for (ge = 0; ge < ELEMS; ge = ge + 1) begin : out_lane
        /* verilator lint_off UNUSEDSIGNAL */
        wire [31:0] oi = o_reg * ELEMS + ge;
        /* verilator lint_on UNUSEDSIGNAL */
        assign m_axis_tdata[ge*OUT_W +: OUT_W] = (oi < OUTS) ? y_buf[oi] : {OUT_W{1'b0}};
    end
endgenerate

always @(posedge clk) begin
    case (state_reg)
        S_LOAD: begin
            if (s_axis_tvalid) begin
                for (ke = 0; ke < ELEMS; ke = ke + 1) begin
                    if (x_count_reg * ELEMS + ke < COLS) begin
                        x_buf[x_count_reg * ELEMS + ke] <= s_axis_tdata[ke*DATA_W +: DATA_W];
                    end
                end
                if (x_count_reg == IN_BEATS - 1) begin
                    x_count_reg <= 0;
                    a_reg <= 0;
                    t_reg <= 0;
                    state_reg <= S_CLEAR;
                end else begin
                    x_count_reg <= x_count_reg + 1;
                end
            end
        end
        S_CLEAR: begin
            // every PE's buffer cleared this clock; a tile row without steps goes straight to its reduction
            s_reg <= 0;
            r_reg <= 0;
            state_reg <= (cur_len == 0) ? S_RED : S_MAC;
        end
        S_MAC: begin
            stat_mac_cycles <= stat_mac_cycles + 1;
            stat_busy <= stat_busy + busy_all;
            t_reg <= t_reg + 1;
            s_reg <= s_reg + 1;
            if (s_reg + 1 == cur_len) begin
                state_reg <= S_RED;
            end
        end
        S_RED: begin
            for (kr = 0; kr < K; kr = kr + 1) begin
                if (red_valid[kr]) begin
                    y_buf[red_addr[kr*O_W +: O_W]] <= red_y[kr*OUT_W +: OUT_W];
                end
            end
            if (r_reg == BLOCK - 1) begin
                if (a_reg == TILE_ROWS - 1) begin
                    o_reg <= 0;
                    state_reg <= S_OUT;
                end else begin
                    a_reg <= a_reg + 1;
                    state_reg <= S_CLEAR;
                end
            end else begin
                r_reg <= r_reg + 1;
            end
        end
        S_OUT: begin
            if (m_axis_tready) begin
                if (o_reg == OUT_BEATS - 1) begin
                    o_reg <= 0;
                    state_reg <= S_LOAD;
                end else begin
                    o_reg <= o_reg + 1;
                end
            end
        end
        default: state_reg <= S_LOAD;
    endcase
    if (rst) begin
        state_reg <= S_LOAD;
        x_count_reg <= 0;
        o_reg <= 0;
        stat_mac_cycles <= {STAT_W{1'b0}};
        stat_busy <= {STAT_W{1'b0}};
    end
end
/* verilator lint_on WIDTHTRUNC */
/* verilator lint_on WIDTHEXPAND */

endmodule

`resetall
