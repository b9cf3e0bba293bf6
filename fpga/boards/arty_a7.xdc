# Digilent Arty A7-35T, Artix-7 XC7A35TICSG324-1L: the common small board.
# 100 MHz oscillator, BTN0 as reset, LD4..LD6 (3.3 V). clk_n is unused (single-ended clock).
set_property -dict {PACKAGE_PIN E3 IOSTANDARD LVCMOS33} [get_ports clk_p]
create_clock -period 10.000 -name clk_100mhz [get_ports clk_p]

set_property -dict {PACKAGE_PIN D9 IOSTANDARD LVCMOS33} [get_ports rst_btn]
set_property -dict {PACKAGE_PIN H5 IOSTANDARD LVCMOS33} [get_ports {led[0]}]
set_property -dict {PACKAGE_PIN J5 IOSTANDARD LVCMOS33} [get_ports {led[1]}]
set_property -dict {PACKAGE_PIN T9 IOSTANDARD LVCMOS33} [get_ports {led[2]}]

set_property CFGBVS VCCO [current_design]
set_property CONFIG_VOLTAGE 3.3 [current_design]
set_false_path -from [get_ports rst_btn]
set_false_path -to [get_ports {led[*]}]
