# Xilinx VC709, Virtex-7 XC7VX690T-FFG1761-2 (the ESE / E-RNN Virtex-7 part).
# 200 MHz system clock (LVDS), GPIO LEDs 0..3 and the centre push button (1.8 V).
set_property -dict {PACKAGE_PIN H19 IOSTANDARD LVDS} [get_ports clk_p]
set_property -dict {PACKAGE_PIN G18 IOSTANDARD LVDS} [get_ports clk_n]
create_clock -period 5.000 -name clk_200mhz [get_ports clk_p]

set_property -dict {PACKAGE_PIN AV40 IOSTANDARD LVCMOS18} [get_ports rst_btn]
set_property -dict {PACKAGE_PIN AM39 IOSTANDARD LVCMOS18 SLEW SLOW DRIVE 4} [get_ports {led[0]}]
set_property -dict {PACKAGE_PIN AN39 IOSTANDARD LVCMOS18 SLEW SLOW DRIVE 4} [get_ports {led[1]}]
set_property -dict {PACKAGE_PIN AR37 IOSTANDARD LVCMOS18 SLEW SLOW DRIVE 4} [get_ports {led[2]}]

set_property CFGBVS GND [current_design]
set_property CONFIG_VOLTAGE 1.8 [current_design]
set_false_path -from [get_ports rst_btn]
set_false_path -to [get_ports {led[*]}]
