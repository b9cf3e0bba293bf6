/*

E-RNN toolkit: microcoded training engine for tensor-train networks (one MAC, one update unit)

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Runs one training step (or one inference pass) of a tensor-train network from a program
 * ROM (PROG_FILE, written by ernn/export/tt_program.py from the golden configuration: a
 * TT-MLP, or a TT-GRU classifier over T time steps), bit-exact with golden/tt_train.py: the
 * forward contraction core by core, the gate arithmetic, the output error, the backward
 * contraction (core gradients exact, activation gradients rounded to `grad`), the bias
 * gradients and the update w <- sat(w - SR(g, s)) with the lane LFSRs (ernn_tt_lfsr) in the
 * golden draw order, the rank masks and pruning. Every address, shift and saturation width
 * is in the program, so the controller is a program counter; the compiler inserts NOPs where
 * an operand was written fewer than 4 slots before (the pipeline below).
 *
 * Data memory: DEPTH words of DW bits (two copies of ernn_state_ram, one per read port;
 * block RAM). Cores (core format), biases/activations (inter), gradients of activations
 * (grad) and the exact core gradients all live here, sign-extended. The multiplier takes
 * the low MUL_W bits of each operand (signed); the accumulator is DW bits.
 *
 * Instruction (LSB first): op[3:0] first[4] last[5] shift[10:6] satw[16:11] a b dst (AW
 * each). op 0 NOP; 1 MAC: acc = (first ? 0 : acc) + a*b, on last mem[dst] =
 * sat_satw(round_half_up(acc >> shift)) (satw 0: no saturation); 9 ACC: the same with
 * mem[a] itself (all DW bits) as the term (an exact gradient carried across time steps);
 * 2 UPD: draw r of `shift` bits, mem[dst] = sat_satw(mem[b] - ((mem[a] + r) >>> shift));
 * 3 LDI: mem[dst] = a <<< shift (a sign-extended: a short immediate times 2^shift); 4 END;
 * 5 MAX: mem[dst] = max(mem[a], mem[b]); 6 GE: mem[dst] = (mem[a] * 2^shift >= mem[b])
 * (rank pruning's largest energy and keep test, a sequence's t < length); 7 CLIP: mem[dst] =
 * min(max(mem[a], first ? 0 : -mem[b]), mem[b]) (hard sigmoid's [0, 1], hard tanh's
 * [-1, 1]); 8 IN: mem[dst] = (-mem[b] < mem[a] < mem[b]) (their derivative masks).
 *
 * Pipeline: F (ROM read) -> S1 (memory read) -> S2 (multiply / LFSR draw and the shift of
 * the update) -> S3 (accumulate / subtract) -> S4 (round, saturate, write). One
 * instruction per clock; start (with mode: 0 step from pc 0, 1 inference from INFER_PC)
 * runs to END, then done pulses one clock as the pipeline drains. While not busy the host
 * port reads (one clock latency) and writes the memory.
 */
module ernn_tt_engine #
(
    // memory word width (exact core gradients, accumulator)
    parameter DW = 48,
    // multiplier operand width
    parameter MUL_W = 24,
    // data memory words and address width
    parameter DEPTH = 1024,
    parameter AW = 10,
    // program words, the ROM file and the inference program's first instruction
    parameter PROG_DEPTH = 4096,
    parameter PROG_FILE = "",
    parameter INFER_PC = 0,
    // stochastic rounding lanes and seed (TTTrainFormats.sr_lanes, .seed)
    parameter LANES = 8,
    parameter [31:0] SEED = 32'd1,
    // program counter and instruction widths (derived; do not override)
    parameter PC_W = $clog2(PROG_DEPTH),
    parameter PW = 17 + 3 * AW
)
(
    input  wire          clk,
    input  wire          rst,

    input  wire          start,
    input  wire          mode,
    output reg           busy,
    output reg           done,

    input  wire          host_wr_en,
    input  wire          host_rd_en,
    input  wire [AW-1:0] host_addr,
    input  wire [DW-1:0] host_wr_data,
    output wire [DW-1:0] host_rd_data
);

localparam [3:0] OP_NOP = 4'd0, OP_MAC = 4'd1, OP_UPD = 4'd2, OP_LDI = 4'd3, OP_END = 4'd4,
                 OP_MAX = 4'd5, OP_GE = 4'd6, OP_CLIP = 4'd7, OP_IN = 4'd8, OP_ACC = 4'd9;
// instruction fields: op, first, last, shift, satw, then the addresses a, b, dst
localparam F_FIRST = 4, F_LAST = 5, F_SHIFT = 6, F_SATW = 11, F_A = 17;

initial begin
    if (PROG_FILE == "") begin
        $error("Error: ernn_tt_engine needs PROG_FILE (the program of ernn/export/tt_program.py)");
        $finish;
    end
    if (DEPTH > (1 << AW) || 2 * MUL_W > DW || DW > 64 || INFER_PC >= PROG_DEPTH) begin
        $error("Error: ernn_tt_engine: DEPTH %0d must fit AW %0d bits, MUL_W %0d with 2 * MUL_W <= DW %0d <= 64, INFER_PC %0d < PROG_DEPTH %0d",
            DEPTH, AW, MUL_W, DW, INFER_PC, PROG_DEPTH);
        $finish;
    end
end

// ---------------------------------------------------------------- fetch
reg  [PC_W-1:0] pc;
reg             fetching;
reg             s1_valid;
wire [PW-1:0]   ins;

ernn_rom #(.WIDTH(PW), .DEPTH(PROG_DEPTH), .INIT_FILE(PROG_FILE)) prog_rom (
    .clk(clk), .en(fetching), .addr(pc), .rdata(ins)
);

wire [3:0]    s1_op    = ins[3:0];
wire          s1_end   = s1_valid && s1_op == OP_END;

// ---------------------------------------------------------------- S1: memory read
wire [DW-1:0] rd_a, rd_b;
wire          wr_en;
wire [AW-1:0] wr_addr;
wire [DW-1:0] wr_data;
wire [AW-1:0] rd_addr_a = busy ? ins[F_A +: AW] : host_addr;
wire [AW-1:0] rd_addr_b = ins[F_A + AW +: AW];

ernn_state_ram #(.WIDTH(DW), .DEPTH(1 << AW)) ram_a (
    .clk(clk), .wr_en(wr_en), .wr_addr(wr_addr), .wr_data(wr_data),
    .rd_en(busy ? s1_valid : host_rd_en), .rd_addr(rd_addr_a), .rd_data(rd_a)
);
ernn_state_ram #(.WIDTH(DW), .DEPTH(1 << AW)) ram_b (
    .clk(clk), .wr_en(wr_en), .wr_addr(wr_addr), .wr_data(wr_data),
    .rd_en(s1_valid), .rd_addr(rd_addr_b), .rd_data(rd_b)
);
assign host_rd_data = rd_a;

// control carried down the pipeline: op, first, last, shift, satw, imm (the a field), dst
reg          s2_valid, s3_valid, s4_valid;
reg [3:0]    s2_op, s3_op, s4_op;
reg          s2_first, s3_first, s2_last, s3_last, s4_last;
reg          s4_acc_op;   // MAC or ACC: the accumulator's round-and-saturate path
reg [4:0]    s2_shift, s3_shift, s4_shift;
reg [5:0]    s2_satw, s3_satw, s4_satw;
reg [AW-1:0] s2_imm, s2_dst, s3_dst, s4_dst;

// ---------------------------------------------------------------- S2: multiply, draw, shift
wire signed [MUL_W-1:0] opa = rd_a[MUL_W-1:0];
wire signed [MUL_W-1:0] opb = rd_b[MUL_W-1:0];
wire [30:0] rnd;
ernn_tt_lfsr #(.LANES(LANES), .SEED(SEED), .MAX_BITS(31)) lfsr (
    .clk(clk), .rst(rst), .bits(s2_shift), .draw(s2_valid && s2_op == OP_UPD), .value(rnd)
);
wire signed [DW:0] g_plus_r = $signed({rd_a[DW-1], rd_a}) + $signed({{(DW-30){1'b0}}, rnd});

reg signed [2*MUL_W-1:0] s3_prod;
reg signed [DW:0]        s3_step;   // UPD: (g + r) >>> shift
reg signed [DW-1:0]      s3_w;      // UPD: the parameter; LDI: the immediate; MAX, GE, CLIP, IN: mem[b]
reg signed [DW-1:0]      s3_a;      // MAX, GE, CLIP, IN: mem[a]; ACC: the term

// ---------------------------------------------------------------- S3: accumulate, subtract
reg signed [DW-1:0] acc;
reg signed [DW+1:0] s4_res;         // UPD: w - step; LDI: the immediate
// GE: a * 2^shift >= b, compared on DW + 32 bits (shift <= 31)
wire signed [DW+31:0] a_scaled = $signed({{32{s3_a[DW-1]}}, s3_a}) <<< s3_shift;
wire signed [DW+31:0] b_wide = $signed({{32{s3_w[DW-1]}}, s3_w});
// CLIP's and IN's bounds: mem[b] above, 0 (CLIP with first) or -mem[b] below; the program's
// bounds are small constants (1.0 in act, 2.0 and 1.0 in inter): -mem[b] does not overflow
wire signed [DW-1:0]  neg_w = -s3_w;
wire signed [DW-1:0]  clip_lo = s3_first ? {DW{1'b0}} : neg_w;
reg  signed [DW-1:0]  s3_value;
always @* begin
    case (s3_op)
        OP_LDI:  s3_value = s3_w;
        OP_MAX:  s3_value = s3_a > s3_w ? s3_a : s3_w;
        OP_GE:   s3_value = a_scaled >= b_wide ? {{(DW-1){1'b0}}, 1'b1} : {DW{1'b0}};
        OP_CLIP: s3_value = s3_a < clip_lo ? clip_lo : (s3_a > s3_w ? s3_w : s3_a);
        OP_IN:   s3_value = (s3_a > neg_w && s3_a < s3_w) ? {{(DW-1){1'b0}}, 1'b1} : {DW{1'b0}};
        default: s3_value = {DW{1'b0}};  // MAC, ACC, UPD, NOP, END: not this path
    endcase
end
wire                 s3_acc_op = s3_op == OP_MAC || s3_op == OP_ACC;
wire signed [DW-1:0] acc_base = s3_first ? {DW{1'b0}} : acc;
wire signed [DW-1:0] acc_term = s3_op == OP_ACC ? s3_a
                              : $signed({{(DW-2*MUL_W){s3_prod[2*MUL_W-1]}}, s3_prod});
wire signed [DW-1:0] acc_next = acc_base + acc_term;

// ---------------------------------------------------------------- S4: round, saturate, write
function signed [DW+1:0] sat;
    input signed [DW+1:0] v;
    input [5:0] w;
    reg signed [DW+1:0] hi, lo;
    begin
        hi = ({{(DW+1){1'b0}}, 1'b1} <<< (w - 1)) - 1;
        lo = -({{(DW+1){1'b0}}, 1'b1} <<< (w - 1));
        if (w == 0)
            sat = v;
        else if (v > hi)
            sat = hi;
        else if (v < lo)
            sat = lo;
        else
            sat = v;
    end
endfunction

wire signed [DW+1:0] acc_ext = {{2{acc[DW-1]}}, acc};
wire signed [DW+1:0] half = $signed({{(DW+1){1'b0}}, 1'b1} << s4_shift) >>> 1;  // 2^(shift-1); 0 for shift 0
wire signed [DW+1:0] rounded = (acc_ext + half) >>> s4_shift;
// the program saturates every stored word to at most DW bits (satw <= DW, exact sums fit DW):
// the two top bits are sign copies
/* verilator lint_off UNUSEDSIGNAL */
wire signed [DW+1:0] result = s4_acc_op ? sat(rounded, s4_satw) : sat(s4_res, s4_satw);
/* verilator lint_on UNUSEDSIGNAL */

assign wr_en   = busy ? s4_valid && (s4_acc_op ? s4_last : s4_op != OP_NOP && s4_op != OP_END)
                      : host_wr_en;
assign wr_addr = busy ? s4_dst : host_addr;
assign wr_data = busy ? result[DW-1:0] : host_wr_data;

always @(posedge clk) begin
    // S1 -> S2
    s2_valid <= s1_valid && !s1_end;
    s2_op <= s1_op;
    s2_first <= ins[F_FIRST];
    s2_last <= ins[F_LAST];
    s2_shift <= ins[F_SHIFT +: 5];
    s2_satw <= ins[F_SATW +: 6];
    s2_imm <= ins[F_A +: AW];
    s2_dst <= ins[F_A + 2 * AW +: AW];
    // S2 -> S3
    s3_valid <= s2_valid;
    s3_op <= s2_op;
    s3_first <= s2_first;
    s3_last <= s2_last;
    s3_shift <= s2_shift;
    s3_satw <= s2_satw;
    s3_dst <= s2_dst;
    s3_prod <= opa * opb;
    s3_step <= g_plus_r >>> s2_shift;
    s3_w <= s2_op == OP_LDI ? $signed({{(DW-AW){s2_imm[AW-1]}}, s2_imm}) <<< s2_shift : rd_b;
    s3_a <= rd_a;
    // S3 -> S4
    s4_valid <= s3_valid;
    s4_op <= s3_op;
    s4_acc_op <= s3_acc_op;
    s4_last <= s3_last;
    s4_shift <= s3_shift;
    s4_satw <= s3_satw;
    s4_dst <= s3_dst;
    s4_res <= s3_op == OP_UPD ? {{2{s3_w[DW-1]}}, s3_w} - {s3_step[DW], s3_step} : {{2{s3_value[DW-1]}}, s3_value};
    if (s3_valid && s3_acc_op)
        acc <= acc_next;

    if (rst) begin
        busy <= 1'b0;
        done <= 1'b0;
        fetching <= 1'b0;
        s1_valid <= 1'b0;
        s2_valid <= 1'b0;
        s3_valid <= 1'b0;
        s4_valid <= 1'b0;
        pc <= {PC_W{1'b0}};
    end else begin
        done <= 1'b0;
        s1_valid <= fetching && !s1_end;
        if (fetching && !s1_end)
            pc <= pc + 1'b1;
        if (s1_end)
            fetching <= 1'b0;
        if (start && !busy) begin
            busy <= 1'b1;
            fetching <= 1'b1;
            pc <= mode ? INFER_PC[PC_W-1:0] : {PC_W{1'b0}};
        end
        // the END leaves S1 and the three instructions before it finish: then done
        if (busy && !fetching && !s1_valid && !s2_valid && !s3_valid && !s4_valid) begin
            busy <= 1'b0;
            done <= 1'b1;
        end
    end
end

endmodule

`resetall
