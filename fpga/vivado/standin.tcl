# Stand-ins for the Vivado Tcl commands that build.tcl uses, for checking the flow without Vivado:
#
#   tclsh fpga/vivado/standin.tcl <slack_ns> <log_file> -- <board> <model_dir> <out_dir>
#
# Every stand-in checks its arguments the way Vivado would need them (files and directories exist,
# the top module is among the sources read, steps run in order) and appends one line per call to
# <log_file>. Any command that is not a Tcl built-in and not stubbed here is an error (no auto-exec),
# so a misspelt or undocumented command fails the check. <slack_ns> is what timing queries return.

lassign $argv standin_slack standin_log sep
if {$sep ne "--"} { error "usage: tclsh standin.tcl <slack_ns> <log_file> -- <board> <model_dir> <out_dir>" }
set argv [lrange $argv 3 end]
set standin_fh [open $standin_log w]
set standin_state [dict create project 0 sources {} synth 0 opt 0 place 0 route 0 includes {}]

proc standin_log {args} { puts $::standin_fh [join $args " "]; flush $::standin_fh }
proc standin_need {cond msg} { if {![uplevel 1 [list expr $cond]]} { error "stand-in check failed: $msg" } }
proc standin_step {name after} {
    foreach step $after {
        standin_need [dict get $::standin_state $step] "$name before $step"
    }
    dict set ::standin_state $name 1
}
proc standin_file_arg {args_list} {
    set idx [lsearch -exact $args_list -file]
    standin_need {$idx >= 0} "-file missing in [lindex [info level -1] 0]"
    set path [lindex $args_list [expr {$idx + 1}]]
    standin_need [file isdirectory [file dirname $path]] "directory of $path does not exist"
    return $path
}
proc standin_touch {path} { set fh [open $path w]; puts $fh "stand-in"; close $fh }

proc unknown {args} { error "not a Vivado command known to the stand-in: [lindex $args 0]" }

proc create_project {args} {
    standin_need {[lsearch -exact $args -in_memory] >= 0} "create_project must be -in_memory (non-project flow)"
    set part [lindex $args [expr {[lsearch -exact $args -part] + 1}]]
    standin_need {[regexp {^xc[a-z0-9]+(-[a-zA-Z0-9]+)*$} $part]} "bad part name '$part'"
    dict set ::standin_state project 1
    standin_log create_project $part
}
proc read_verilog {files} {
    standin_need [dict get $::standin_state project] "read_verilog before create_project"
    foreach f $files {
        standin_need [file isfile $f] "read_verilog: $f does not exist"
        standin_need [string match *.v $f] "read_verilog: $f is not a .v file"
        dict lappend ::standin_state sources $f
        standin_log read_verilog $f
    }
}
proc read_xdc {file} {
    standin_need [file isfile $file] "read_xdc: $file does not exist"
    # The constraints must only use constraint commands and name the wrapper's ports.
    set child [interp create -safe]
    foreach cmd {set_property create_clock set_false_path} {
        interp alias $child $cmd {} standin_xdc_cmd $cmd
    }
    interp alias $child get_ports {} standin_get_ports
    interp alias $child current_design {} return design
    $child eval [list proc unknown {args} {error "not an XDC command: [lindex $args 0]"}]
    set fh [open $file]; set text [read $fh]; close $fh
    $child eval $text
    interp delete $child
    standin_log read_xdc $file
}
proc standin_xdc_cmd {cmd args} { return $cmd }
proc standin_get_ports {pattern} {
    set ports {clk_p clk_n rst_btn {led[0]} {led[1]} {led[2]} {led[*]}}
    foreach p [lindex $pattern 0] {
        standin_need {[lsearch -exact $ports $p] >= 0} "XDC names port '$p', not a port of ernn_board_top"
    }
    return $pattern
}
proc current_fileset {} { return sources_1 }
proc current_design {} { return design }
proc set_property {name value objects} {
    if {$name eq "include_dirs"} {
        foreach d $value { standin_need [file isdirectory $d] "include dir $d does not exist" }
        dict set ::standin_state includes $value
    }
    standin_log set_property $name
}
proc synth_design {args} {
    set top [lindex $args [expr {[lsearch -exact $args -top] + 1}]]
    set found 0
    foreach f [dict get $::standin_state sources] {
        set fh [open $f]; set text [read $fh]; close $fh
        if {[regexp "module\\s+$top\\M" $text]} { set found 1 }
    }
    standin_need $found "synth_design -top $top: no source defines module $top"
    set header 0
    foreach d [dict get $::standin_state includes] {
        if {[file exists [file join $d ernn_params.vh]]} { set header 1 }
    }
    standin_need $header "ernn_params.vh is not in any include directory"
    set gidx [lsearch -exact $args -generic]
    if {$gidx >= 0} {
        foreach g [lindex $args [expr {$gidx + 1}]] {
            if {[regexp {^(MEM_DIR|VEC_DIR)="(.*)"$} $g -> name dir]} {
                standin_need [file isdirectory $dir] "$name $dir does not exist"
            }
        }
    }
    standin_step synth {}
    standin_log synth_design $top
}
proc opt_design {} { standin_step opt {synth}; standin_log opt_design }
proc place_design {} { standin_step place {synth opt}; standin_log place_design }
proc phys_opt_design {} { standin_need [dict get $::standin_state place] "phys_opt_design before place"; standin_log phys_opt_design }
proc route_design {} { standin_step route {synth opt place}; standin_log route_design }
proc write_checkpoint {args} {
    set path [lindex $args end]
    standin_need [file isdirectory [file dirname $path]] "write_checkpoint: no directory for $path"
    standin_touch $path
    standin_log write_checkpoint [file tail $path]
}
proc report_utilization {args} { standin_need [dict get $::standin_state synth] "report before synth"; standin_touch [standin_file_arg $args]; standin_log report_utilization }
proc report_timing_summary {args} { standin_need [dict get $::standin_state route] "timing report before route"; standin_touch [standin_file_arg $args]; standin_log report_timing_summary }
proc report_power {args} { standin_need [dict get $::standin_state route] "power report before route"; standin_touch [standin_file_arg $args]; standin_log report_power }
proc report_design_analysis {args} {
    standin_need [dict get $::standin_state route] "design analysis before route"
    standin_need {[lsearch -exact $args -logic_level_distribution] >= 0} "report_design_analysis without -logic_level_distribution"
    standin_touch [standin_file_arg $args]
    standin_log report_design_analysis
}
proc get_timing_paths {args} { standin_need [dict get $::standin_state route] "timing query before route"; return timing_path }
proc get_property {name object} {
    standin_need {$name eq "SLACK" && $object eq "timing_path"} "get_property $name $object"
    return $::standin_slack
}
proc write_bitstream {args} {
    standin_need [dict get $::standin_state route] "write_bitstream before route_design"
    set path [lindex $args end]
    standin_touch $path
    standin_log write_bitstream [file tail $path]
}

# ERNN_BUILD_TCL lets the tests check that a broken script is caught.
set script [file join [file dirname [file normalize [info script]]] build.tcl]
if {[info exists ::env(ERNN_BUILD_TCL)]} { set script $::env(ERNN_BUILD_TCL) }
set code [catch {source $script} result]
close $standin_fh
if {$code} { puts stderr "build.tcl: $result"; exit 1 }
exit 0
