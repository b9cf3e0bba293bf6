"""Stage 4, simulation: the exported model on the golden model and on the RTL, compared bit for bit.

=============  ===============================================================================
runner         builds and runs Verilog with cocotb's runner on Icarus or Verilator
elab_tb        the cocotb module that elaboration-error checks start (the design stops at time 0)
rtl            ``ernn_top`` on a stream of frames: cocotbext-axi drivers, every output with its cycle
compare        sequences through the RTL and the golden model, first mismatches, cycles per step
inference      the golden model on users' arrays (``ernn golden``, ``ernn evaluate``)
funcov         functional coverage bins of ernn_top runs (back-pressure per stage, job kinds, reset
               per controller state), sampled by ``rtl`` when ERNN_COVERAGE is set (``make coverage``)
report         the main job's report: float vs golden vs RTL, summary and figure (``ernn report``)
=============  ===============================================================================
"""
