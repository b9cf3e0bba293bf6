# Xilinx ZCU102, Zynq UltraScale+ XCZU9EG-FFVB1156-2-E (programmable logic only).
# 125 MHz user clock (LVDS_25), GPIO LEDs 0..2 and the CPU_RESET-adjacent user button (3.3 V).
set_property -dict {PACKAGE_PIN G21 IOSTANDARD LVDS_25} [get_ports clk_p]
set_property -dict {PACKAGE_PIN F21 IOSTANDARD LVDS_25} [get_ports clk_n]
create_clock -period 8.000 -name clk_125mhz [get_ports clk_p]

set_property -dict {PACKAGE_PIN AM13 IOSTANDARD LVCMOS33} [get_ports rst_btn]
set_property -dict {PACKAGE_PIN AG14 IOSTANDARD LVCMOS33 SLEW SLOW DRIVE 8} [get_ports {led[0]}]
set_property -dict {PACKAGE_PIN AF13 IOSTANDARD LVCMOS33 SLEW SLOW DRIVE 8} [get_ports {led[1]}]
set_property -dict {PACKAGE_PIN AE13 IOSTANDARD LVCMOS33 SLEW SLOW DRIVE 8} [get_ports {led[2]}]

set_false_path -from [get_ports rst_btn]
set_false_path -to [get_ports {led[*]}]
