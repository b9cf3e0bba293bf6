# E-RNN toolkit: Vivado non-project batch flow, RTL + exported model -> bitstream.
#
#   vivado -mode batch -source fpga/vivado/build.tcl -tclargs <board> <model_dir> <out_dir>
#
# (`make bitstream BOARD=<board> MODEL=<model_dir>` runs exactly this.) Reads the RTL (rtl/*.v), the
# board wrapper and its constraints, the exported model's header (include directory) and $readmemh
# images (absolute MEM_DIR generic), then synth_design, opt_design, place_design, phys_opt_design,
# route_design, the utilization / timing summary / power / logic-level reports and write_bitstream, all into
# <out_dir>. A post-route timing failure (WNS < 0 or hold WHS < 0) stops the build with an error, after
# the reports are written.

if {[llength $argv] != 3} {
    error "usage: vivado -mode batch -source build.tcl -tclargs <board> <model_dir> <out_dir>"
}
lassign $argv board model_dir out_dir

set script_dir [file dirname [file normalize [info script]]]
set repo_root [file dirname [file dirname $script_dir]]
source [file join $script_dir boards.tcl]

if {![dict exists $ernn_boards $board]} {
    error "unknown board '$board': choose one of [dict keys $ernn_boards]"
}
set cfg [dict get $ernn_boards $board]
set part [dict get $cfg part]
set model_dir [file normalize $model_dir]
set out_dir [file normalize $out_dir]
foreach needed [list [file join $model_dir ernn_params.vh] [file join $model_dir config.json]] {
    if {![file exists $needed]} {
        error "$needed is missing: export a model with 'ernn export' first"
    }
}
file mkdir $out_dir

# ---- sources ------------------------------------------------------------------------------------
create_project -in_memory -part $part
set rtl_files [lsort [glob -directory [file join $repo_root rtl] *.v]]
read_verilog $rtl_files
read_verilog [file join $script_dir ernn_board_top.v]
read_xdc [file join $repo_root fpga boards ${board}.xdc]
set_property include_dirs [list $model_dir] [current_fileset]

# ---- synthesis and implementation -----------------------------------------------------------------
set generics [list DIFF_CLK=[dict get $cfg diff_clock] MEM_DIR=\"[file join $model_dir mem]\" \
                   VEC_DIR=\"[file join $model_dir vectors]\"]
synth_design -top ernn_board_top -part $part -generic $generics
write_checkpoint -force [file join $out_dir post_synth.dcp]
report_utilization -file [file join $out_dir utilization_synth.rpt]

opt_design
place_design
phys_opt_design
route_design
write_checkpoint -force [file join $out_dir post_route.dcp]

# ---- reports ----------------------------------------------------------------------------------------
report_utilization -file [file join $out_dir utilization.rpt]
report_timing_summary -delay_type min_max -max_paths 10 -file [file join $out_dir timing_summary.rpt]
report_power -file [file join $out_dir power.rpt]
# logic levels of the worst paths, to set beside the Yosys estimate's count (ernn.fpga.logic_depth)
report_design_analysis -logic_level_distribution -file [file join $out_dir logic_levels.rpt]

set setup_path [get_timing_paths -delay_type max -max_paths 1 -nworst 1]
set hold_path [get_timing_paths -delay_type min -max_paths 1 -nworst 1]
set wns [get_property SLACK $setup_path]
set whs [get_property SLACK $hold_path]
set fh [open [file join $out_dir timing.json] w]
puts $fh "{\"board\": \"$board\", \"part\": \"$part\", \"clock_mhz\": [dict get $cfg clock_mhz], \"wns_ns\": $wns, \"whs_ns\": $whs}"
close $fh
if {$wns < 0 || $whs < 0} {
    error "post-route timing failed on $board: WNS = $wns ns, WHS = $whs ns (see [file join $out_dir timing_summary.rpt])"
}

write_bitstream -force [file join $out_dir ernn_${board}.bit]
puts "bitstream: [file join $out_dir ernn_${board}.bit] (WNS $wns ns at [dict get $cfg clock_mhz] MHz)"
