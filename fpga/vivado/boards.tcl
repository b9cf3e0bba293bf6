# Board table of the Vivado flow: one entry per board.
#   part       Vivado part name
#   clock_mhz  board clock that drives the accelerator directly (no MMCM)
#   diff_clock 1 when the board clock is a differential pair (clk_p/clk_n, IBUFDS in the wrapper)
#   xdc        pins and clock constraints, fpga/boards/<board>.xdc
#   family     Yosys synth_xilinx family for the open-source estimate
set ernn_boards [dict create \
    ku060   [dict create part xcku060-ffva1156-2-e  clock_mhz 200 diff_clock 1 family xcu  \
             desc "Alpha Data ADM-PCIE-KU3 (Kintex UltraScale XCKU060)"] \
    vc709   [dict create part xc7vx690tffg1761-2    clock_mhz 200 diff_clock 1 family xc7  \
             desc "Xilinx VC709 (Virtex-7 690T)"] \
    zcu102  [dict create part xczu9eg-ffvb1156-2-e  clock_mhz 125 diff_clock 1 family xcup \
             desc "Xilinx ZCU102 (Zynq UltraScale+ ZU9EG)"] \
    arty_a7 [dict create part xc7a35ticsg324-1L     clock_mhz 100 diff_clock 0 family xc7  \
             desc "Digilent Arty A7-35T (Artix-7 35T)"] \
]
