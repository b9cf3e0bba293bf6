/*

E-RNN toolkit: accelerator issue queue — the PE jobs in the order the command side issued them

*/

// Language: Verilog 2001

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * A first-in first-out queue of DEPTH entries of W bits (no data path: job-table row
 * indices and flags). With the stages of a slot interleaved (ernn_cmd INTERLEAVE) the PE's
 * rows come in the command side's issue order, which is not the table's stage-by-stage
 * order; the command side pushes each job as it issues it ({job, step parity, tlast}) and
 * the PE writer takes its rows' job from the head and pops it at the job's last row.
 *
 * head: the oldest entry, next: the one after it (the PE writer looks the next job's fields
 * up before the head's last row; a next that is not there yet is repaired by that unit, see
 * ernn_pe_writer). count: entries held. full holds the command side: the PE keeps only a
 * few jobs in flight (ernn_pe), so a full queue means that many jobs are issued and not yet
 * written, and the next command waits instead of overwriting the head. Popping an empty
 * queue is an error ($fatal in simulation).
 */
module ernn_issue_q #
(
    // entry width
    parameter W = 4,
    // entries (a power of two, >= 2)
    parameter DEPTH = 8
)
(
    input  wire         clk,
    input  wire         rst,

    input  wire         push,
    input  wire [W-1:0] push_data,
    output wire         full,

    input  wire         pop,
    output wire [W-1:0] head,
    output wire [W-1:0] next,
    output wire         empty
);

localparam PTR_W = $clog2(DEPTH);
localparam integer DEPTH_I = DEPTH;
localparam [PTR_W:0] FULL_COUNT = DEPTH_I[PTR_W:0];

// check configuration
initial begin
    if (DEPTH < 2 || (DEPTH & (DEPTH - 1)) != 0 || W < 1) begin
        $error("Error: ernn_issue_q DEPTH must be a power of two >= 2 and W >= 1 (got %0d, %0d)", DEPTH, W);
        $finish;
    end
end

reg [W-1:0] mem_reg [0:DEPTH-1];
reg [PTR_W-1:0] wr_ptr_reg;
reg [PTR_W-1:0] rd_ptr_reg;
reg [PTR_W:0] count_reg;

wire [PTR_W-1:0] rd_next = rd_ptr_reg + 1'b1;

assign head = mem_reg[rd_ptr_reg];
assign next = mem_reg[rd_next];
assign full = count_reg == FULL_COUNT;
assign empty = count_reg == {(PTR_W+1){1'b0}};

always @(posedge clk) begin
    if (push) begin
        mem_reg[wr_ptr_reg] <= push_data;
        wr_ptr_reg <= wr_ptr_reg + 1'b1;
    end
    if (pop) begin
        rd_ptr_reg <= rd_next;
    end
    count_reg <= count_reg + {{PTR_W{1'b0}}, push} - {{PTR_W{1'b0}}, pop};

    if (rst) begin
        wr_ptr_reg <= {PTR_W{1'b0}};
        rd_ptr_reg <= {PTR_W{1'b0}};
        count_reg <= {(PTR_W+1){1'b0}};
    end
end

// synthesis translate_off
always @(posedge clk) begin
    if (!rst && pop && count_reg == {(PTR_W+1){1'b0}}) begin
        $fatal(1, "Error: ernn_issue_q popped while empty (a job's rows arrived that was never issued)");
    end
    if (!rst && push && full) begin
        $fatal(1, "Error: ernn_issue_q pushed while full");
    end
end
// synthesis translate_on

endmodule

`resetall
