"""Stage 6, FPGA flows that run here (Yosys estimate, iCE40 place and route); Vivado TCL is in ``fpga/``.

=============  ===============================================================================
open_flow      ``synth_xilinx`` resource estimate, iCE40 bitstream with Fmax (``ernn synth``)
logic_depth    longest register-to-register path of the mapped netlist, in LUT levels
=============  ===============================================================================
"""
