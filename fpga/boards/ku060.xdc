# Alpha Data ADM-PCIE-KU3, Kintex UltraScale XCKU060-FFVA1156-2-E (the E-RNN / C-LSTM part).
# Pins from the board's pinout: REFCLK200M (LVDS, 1.8 V bank), LED_0..2 and USER_SW (3.3 V bank).
set_property -dict {PACKAGE_PIN W23 IOSTANDARD LVDS DIFF_TERM_ADV TERM_100} [get_ports clk_p]
set_property -dict {PACKAGE_PIN W24 IOSTANDARD LVDS DIFF_TERM_ADV TERM_100} [get_ports clk_n]
create_clock -period 5.000 -name clk_200mhz [get_ports clk_p]

set_property -dict {PACKAGE_PIN AH12 IOSTANDARD LVCMOS33} [get_ports rst_btn]
set_property -dict {PACKAGE_PIN AE12 IOSTANDARD LVCMOS33 SLEW SLOW DRIVE 8} [get_ports {led[0]}]
set_property -dict {PACKAGE_PIN AF12 IOSTANDARD LVCMOS33 SLEW SLOW DRIVE 8} [get_ports {led[1]}]
set_property -dict {PACKAGE_PIN AD11 IOSTANDARD LVCMOS33 SLEW SLOW DRIVE 8} [get_ports {led[2]}]

set_false_path -from [get_ports rst_btn]
set_false_path -to [get_ports {led[*]}]
