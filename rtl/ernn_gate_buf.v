/*

E-RNN toolkit: accelerator gate buffer — the PE's row blocks until the feeder reads them

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * y[slot][block]: four slots (LSTM gates i, f, g, o; GRU r, z, W_in x, W_hn h) of DEPTH
 * blocks, each block K samples of Q(IFFT_OUT_W, IFFT_F) (the matvec outputs, sample n at
 * [n*IFFT_OUT_W +: IFFT_OUT_W]), in four ernn_state_ram (one write, one registered read
 * port each).
 *
 * A block is *full* from the write of its slot 3 (the PE writes a block's slots in order:
 * LSTM i, f, g, o in one job; GRU r, z in the first, then W_in x, then W_hn h) until the
 * feeder reads it (rd_en: all four slots at once, rd_data one clock later, slot s at
 * [s*K*IFFT_OUT_W +: K*IFFT_OUT_W]). wr_full / rd_full are the flags of the blocks at the
 * write and read addresses: the writer waits while its block is full (the only thing that
 * stalls the PE on a busy cell unit), the reader waits until its block is.
 *
 * rd_full comes from registers, not from a DEPTH-way lookup of the flags at rd_blk: the
 * reader's rd_en depends on rd_full and the read clears the flag, so a lookup closed a loop
 * of about 9 LUT levels through the reader's handshake (SR1, docs/performance.md "Clock
 * evidence"). Each clock registers the next flag of the three blocks the read address can
 * hold next (the same block, rd_blk + 1, block 0) and rd_full picks one by whether the
 * address moved. The reader's contract: rd_blk changes only with rd_en, to rd_blk + 1 or 0
 * (ernn_feeder walks a stage's blocks in order); simulation stops if it does otherwise.
 *
 * With FORWARD a block is full in the clock its completing write comes, too: rd_full also
 * holds when a lane writes slot 3 of rd_blk this clock, and the four slot RAMs read
 * write-first, so the feeder reads a block in the clock the PE writer completes it instead of
 * a clock later from the registered flag (docs/performance.md, "The gate buffer forwarded to
 * the feeder"). The compare is the one the registered flags already make (completes), an OR
 * behind it; but the write enable, which comes late (behind the write lanes' flag selects and
 * the PE writer's handshake), then runs on through the feeder's read into the flags' clear:
 * a longer loop, which is why the exporter sets it (ERNN_GATE_FORWARD) only where it saves
 * clocks (not on SR1, whose step is the PE's issue).
 *
 * WR_LANES write ports (the PE's IFFTs side by side, N_IFFT): lane i writes row i of a
 * beat of consecutive rows of one job. Each slot is split into WR_LANES banks by block
 * (block b in bank b mod WR_LANES, word b / WR_LANES), so the lanes of a beat never share
 * a RAM: rows of the same slot in one beat are the same gate of consecutive blocks (at
 * most WR_LANES of them). The read takes the bank of rd_blk; with one lane this is the
 * single RAM per slot.
 */
module ernn_gate_buf #
(
    // samples per block
    parameter K = 8,
    // sample word, Q(IFFT_OUT_W, IFFT_F)
    parameter IFFT_OUT_W = 19,
    // blocks per slot (hidden blocks p; >= 2)
    parameter DEPTH = 4,
    // write lanes (rows written per clock): 1, 2, 4 or 8
    parameter WR_LANES = 1,
    // 1: rd_full includes this clock's completing write and the RAMs read write-first (above)
    parameter FORWARD = 0,
    // block address width (derived; do not override)
    parameter ADDR_W = $clog2(DEPTH)
)
(
    input  wire                      clk,
    input  wire                      rst,

    // lane i: wr_en[i], slot wr_slot[2i +: 2], block wr_blk[i ADDR_W +: ADDR_W], the row at
    // wr_data[i K IFFT_OUT_W +: K IFFT_OUT_W]; wr_full[i]: that block is full
    input  wire [WR_LANES-1:0]       wr_en,
    input  wire [WR_LANES*2-1:0]     wr_slot,
    input  wire [WR_LANES*ADDR_W-1:0] wr_blk,
    input  wire [WR_LANES*K*IFFT_OUT_W-1:0] wr_data,
    output wire [WR_LANES-1:0]       wr_full,

    input  wire                      rd_en,
    input  wire [ADDR_W-1:0]         rd_blk,
    output wire                      rd_full,
    output wire [4*K*IFFT_OUT_W-1:0] rd_data
);

localparam YBLK_W = K * IFFT_OUT_W;
// bank select bits (block mod WR_LANES) and words per bank
localparam BANK_W = $clog2(WR_LANES);
localparam BANK_SEL_W = BANK_W > 0 ? BANK_W : 1;
localparam BANK_DEPTH = (DEPTH + WR_LANES - 1) / WR_LANES < 2 ? 2 : (DEPTH + WR_LANES - 1) / WR_LANES;
localparam BANK_ADDR_W = $clog2(BANK_DEPTH);

// check configuration
initial begin
    if (DEPTH < 2 || ADDR_W != $clog2(DEPTH)) begin
        $error("Error: ernn_gate_buf needs DEPTH >= 2 and the derived ADDR_W (got DEPTH=%0d ADDR_W=%0d)", DEPTH, ADDR_W);
        $finish;
    end
    if (WR_LANES != 1 && WR_LANES != 2 && WR_LANES != 4 && WR_LANES != 8) begin
        $error("Error: ernn_gate_buf WR_LANES must be 1, 2, 4 or 8 (got %0d)", WR_LANES);
        $finish;
    end
end

genvar s;
genvar v;
genvar bw;

// the word in its bank of a block address (block / WR_LANES); x's upper bits are zero
/* verilator lint_off UNUSEDSIGNAL */
function [BANK_ADDR_W-1:0] bank_word(input [ADDR_W-1:0] blk_addr);
    reg [31:0] x;
    begin
        x = {{(32-ADDR_W){1'b0}}, blk_addr} >> BANK_W;
        bank_word = x[BANK_ADDR_W-1:0];
    end
endfunction

// the bank of a block address (block mod WR_LANES)
function [BANK_SEL_W-1:0] bank_of(input [ADDR_W-1:0] blk_addr);
    reg [31:0] x;
    begin
        x = {{(32-ADDR_W){1'b0}}, blk_addr};
        bank_of = BANK_W > 0 ? x[BANK_SEL_W-1:0] : {BANK_SEL_W{1'b0}};
    end
endfunction
/* verilator lint_on UNUSEDSIGNAL */

// registered bank of the read (rd_data is one clock after rd_en)
reg [BANK_SEL_W-1:0] rd_bank_reg;

generate
for (s = 0; s < 4; s = s + 1) begin : g_ybuf
    wire [WR_LANES*YBLK_W-1:0] bank_rd;

    for (v = 0; v < WR_LANES; v = v + 1) begin : g_bank
        // the lane (at most one) that writes this slot and bank. The address and data are those of
        // the lowest lane whose slot and bank match, enabled or not, so that they do not wait for
        // the PE writer's handshake (wr_en: the full-flag select, then the handshake); only the
        // write enable does. The same lane as "the enabled one that matches": the enabled lanes are
        // a prefix 0 .. rows - 1 (checked below), so a matching lane below an enabled match would
        // itself be enabled and share its slot and bank, which the banking rules out
        reg we;
        reg [BANK_ADDR_W-1:0] waddr;
        reg [YBLK_W-1:0] wdata;
        integer l;

        always @* begin
            we = 1'b0;
            waddr = {BANK_ADDR_W{1'b0}};
            wdata = {YBLK_W{1'b0}};
            for (l = WR_LANES - 1; l >= 0; l = l - 1) begin
                if (wr_slot[2*l +: 2] == s && bank_of(wr_blk[l*ADDR_W +: ADDR_W]) == v) begin
                    waddr = bank_word(wr_blk[l*ADDR_W +: ADDR_W]);
                    wdata = wr_data[l*YBLK_W +: YBLK_W];
                end
            end
            for (l = 0; l < WR_LANES; l = l + 1) begin
                if (wr_en[l] && wr_slot[2*l +: 2] == s && bank_of(wr_blk[l*ADDR_W +: ADDR_W]) == v) begin
                    we = 1'b1;
                end
            end
        end

        ernn_state_ram #(
            .WIDTH(YBLK_W),
            .DEPTH(WR_LANES == 1 ? DEPTH : BANK_DEPTH),
            .WRITE_FIRST(FORWARD)
        )
        ybuf_inst (
            .clk(clk),
            .wr_en(we),
            .wr_addr(waddr),
            .wr_data(wdata),
            .rd_en(rd_en),
            .rd_addr(bank_word(rd_blk)),
            .rd_data(bank_rd[v*YBLK_W +: YBLK_W])
        );
    end

    if (WR_LANES == 1) begin : g_one
        assign rd_data[s*YBLK_W +: YBLK_W] = bank_rd;
        /* verilator lint_off UNUSEDSIGNAL */
        wire unused_bank = &{1'b0, rd_bank_reg};
        /* verilator lint_on UNUSEDSIGNAL */
    end else begin : g_sel
        // bit by bit: each output bit indexes the vector of its banks' bits with the bank register, a
        // plain mux (one LUT6 for 4 banks). The word select bank_rd[rd_bank_reg*YBLK_W +: YBLK_W] had
        // Yosys compute the bit offset with an adder (2 CARRY4) and shift by it (two more levels),
        // in front of the cell's rounding and adders: SR1's 16-level path rd_bank_reg -> the LSTM
        // front's registers (docs/performance.md)
        for (v = 0; v < YBLK_W; v = v + 1) begin : g_bit
            wire [WR_LANES-1:0] col;
            for (bw = 0; bw < WR_LANES; bw = bw + 1) begin : g_bank_bit
                assign col[bw] = bank_rd[bw*YBLK_W + v];
            end
            assign rd_data[s*YBLK_W + v] = col[rd_bank_reg];
        end
    end
end
endgenerate

// full flags: set by the writes that complete a block, cleared when the feeder reads it
reg [DEPTH-1:0] full_reg;

// the blocks whose completing write (slot 3) comes this clock, decoded block by block against
// constants: set at a variable index (set_vec[wr_blk] = 1), Yosys 0.23 built a 32-bit bounds
// compare, 8 CARRY4 in front of every flag, the design's longest path (docs/performance.md).
// The decode of each lane's (slot, block) comes from the writer's registers, early; its write enable
// comes last, behind the full-flag select and the writer's handshake. The decode is kept as its own
// net (keep: a boundary for Yosys's optimisation and ABC) so that the enable meets it in the last
// LUT: without it Yosys folded the enables into the decode and the selects behind it (SR1 packed,
// 9 LUT + 10 MUXF from the flags back into the read side's flags, session 36)
wire [WR_LANES-1:0] set_dec [0:DEPTH-1];  // lane cl completes block d if it writes
reg [DEPTH-1:0] set_vec;
integer sw;
integer sd;

genvar dd_i;
genvar dl_i;
generate
for (dd_i = 0; dd_i < DEPTH; dd_i = dd_i + 1) begin : g_set_dec
    for (dl_i = 0; dl_i < WR_LANES; dl_i = dl_i + 1) begin : g_lane
        (* keep *) wire dec;
        assign dec = wr_slot[2*dl_i +: 2] == 2'd3
                     && {{(32-ADDR_W){1'b0}}, wr_blk[dl_i*ADDR_W +: ADDR_W]} == dd_i;
        assign set_dec[dd_i][dl_i] = dec;
    end
end
endgenerate

always @* begin
    set_vec = {DEPTH{1'b0}};
    for (sd = 0; sd < DEPTH; sd = sd + 1) begin
        for (sw = 0; sw < WR_LANES; sw = sw + 1) begin
            if (wr_en[sw] && set_dec[sd][sw]) begin
                set_vec[sd] = 1'b1;
            end
        end
    end
end

// the block the feeder reads this clock, one-hot (cleared at the clock edge)
reg [DEPTH-1:0] clr_vec;
integer cd;

always @* begin
    clr_vec = {DEPTH{1'b0}};
    for (cd = 0; cd < DEPTH; cd = cd + 1) begin
        if (rd_en && {{(32-ADDR_W){1'b0}}, rd_blk} == cd) begin
            clr_vec[cd] = 1'b1;
        end
    end
end

// the flags' next values (set by this clock's completing writes, before the feeder's clear)
wire [DEPTH-1:0] full_wr = full_reg | set_vec;

generate
for (v = 0; v < WR_LANES; v = v + 1) begin : g_full
    assign wr_full[v] = full_reg[wr_blk[v*ADDR_W +: ADDR_W]];
end
endgenerate

// the flags' next values at the three blocks the read address can hold next clock
// (a read clears its block; the writer never completes a block that is full, so a read of a
// full block never meets its completing write; with FORWARD a read may come in the clock of
// that write, which then leaves the block empty: the clear wins, as in full_reg below)

// rd_blk + 1; past the last block (DEPTH not a power of two) the read address wraps to 0 instead
localparam integer DEPTH_I = DEPTH;
localparam [ADDR_W:0] DEPTH_A = DEPTH_I[ADDR_W:0];
wire [ADDR_W:0] inc_blk = {1'b0, rd_blk} + 1'b1;
wire inc_ok = inc_blk < DEPTH_A;
wire [ADDR_W-1:0] inc_addr = inc_ok ? inc_blk[ADDR_W-1:0] : {ADDR_W{1'b0}};
wire rd_zero = rd_blk == {ADDR_W{1'b0}};

// full_wr at an address, as the flag from registers or a completing write to that address this
// clock (a compare per write lane): the write side's late (slot, block) then meets a compare, not
// the DEPTH-way decode and a DEPTH-way select behind it (SR1, docs/performance.md "Clock evidence").
// Written out per address, not as a function of it: a function that reads the write port, called in a
// continuous assignment, is re-evaluated by Icarus only when its argument changes, so a completing
// write that changed nothing else reached the flag a clock late there (not in Verilator or synthesis)
wire [ADDR_W-1:0] cmp_at [0:2];  // the three addresses: rd_blk, inc_addr, block 0
wire [2:0] completes;
assign cmp_at[0] = rd_blk;
assign cmp_at[1] = inc_addr;
assign cmp_at[2] = {ADDR_W{1'b0}};

genvar ca_i;
genvar cl_i;
generate
for (ca_i = 0; ca_i < 3; ca_i = ca_i + 1) begin : g_completes
    // lane cl writes the completing row of the block at cmp_at if it is enabled (the compare kept
    // apart from the late enable, as set_dec above)
    wire [WR_LANES-1:0] hit;
    for (cl_i = 0; cl_i < WR_LANES; cl_i = cl_i + 1) begin : g_lane
        (* keep *) wire at;
        assign at = wr_slot[2*cl_i +: 2] == 2'd3 && wr_blk[cl_i*ADDR_W +: ADDR_W] == cmp_at[ca_i];
        assign hit[cl_i] = wr_en[cl_i] && at;
    end
    assign completes[ca_i] = |hit;
end
endgenerate

// the flags from registers at the three addresses (kept: selects of registers, ready early)
(* keep *) wire held_same;
(* keep *) wire held_inc;
assign held_same = full_reg[rd_blk];
assign held_inc = full_reg[inc_addr];
wire next_same = !rd_en && (held_same || completes[0]);
wire next_inc = inc_ok && (held_inc || completes[1]);
wire next_zero = !(rd_en && rd_zero) && (full_reg[0] || completes[2]);

reg full_same_reg;
reg full_inc_reg;
reg full_zero_reg;
reg moved_reg;

always @(posedge clk) begin
    full_same_reg <= next_same;
    full_inc_reg <= next_inc;
    full_zero_reg <= next_zero;
    moved_reg <= rd_en;
    if (rst) begin
        full_same_reg <= 1'b0;
        full_inc_reg <= 1'b0;
        full_zero_reg <= 1'b0;
        moved_reg <= 1'b0;
    end
end

wire full_held = !moved_reg ? full_same_reg : (rd_zero ? full_zero_reg : full_inc_reg);
assign rd_full = full_held || (FORWARD != 0 && completes[0]);

// synthesis translate_off
// the write-port select above relies on it: the enabled lanes are a prefix, and no two enabled lanes
// share a slot and a bank
integer ca;
integer cb;
always @(posedge clk) begin
    if (!rst) begin
        for (ca = 1; ca < WR_LANES; ca = ca + 1) begin
            if (wr_en[ca] && !wr_en[ca - 1]) begin
                $fatal(1, "Error: ernn_gate_buf write lanes %b are not a prefix", wr_en);
            end
            for (cb = 0; cb < ca; cb = cb + 1) begin
                if (wr_en[ca] && wr_en[cb] && wr_slot[2*ca +: 2] == wr_slot[2*cb +: 2]
                        && bank_of(wr_blk[ca*ADDR_W +: ADDR_W]) == bank_of(wr_blk[cb*ADDR_W +: ADDR_W])) begin
                    $fatal(1, "Error: ernn_gate_buf write lanes %0d and %0d meet in slot %0d, bank %0d",
                        cb, ca, wr_slot[2*ca +: 2], bank_of(wr_blk[ca*ADDR_W +: ADDR_W]));
                end
            end
        end
    end
end

// the reader's contract (above): the address moves only with rd_en, to rd_blk + 1 or 0
reg [ADDR_W-1:0] rd_blk_prev_reg;
reg rd_seen_reg;

always @(posedge clk) begin
    rd_blk_prev_reg <= rd_blk;
    rd_seen_reg <= !rst;
    if (rd_seen_reg && !rst && (moved_reg
            ? !(rd_zero || {1'b0, rd_blk} == {1'b0, rd_blk_prev_reg} + 1'b1)
            : rd_blk != rd_blk_prev_reg)) begin
        $fatal(1, "Error: ernn_gate_buf rd_blk moved from %0d to %0d (%s): it may only move with rd_en, to rd_blk + 1 or 0",
            rd_blk_prev_reg, rd_blk, moved_reg ? "after a read" : "without a read");
    end
end
// synthesis translate_on

always @(posedge clk) begin
    // a read of a block and its completing write in one clock (FORWARD): the clear wins
    full_reg <= full_wr & ~clr_vec;
    if (rd_en) begin
        rd_bank_reg <= bank_of(rd_blk);
    end

    if (rst) begin
        full_reg <= {DEPTH{1'b0}};
    end
end

endmodule

`resetall
