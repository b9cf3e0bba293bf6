"""Stage 3, export: a trained run becomes a model directory the RTL reads.

=============  ===============================================================================
schedule       the PE job schedule and its table for the controller, the cycle model, the choice of P
layout         the memory images of ``rtl/ernn_top.v`` in the order of the schedule (and its names)
model_dir      the one reader of a model directory: manifest, config, shape, formats, hardware section, test data
writer         ``ernn export``: formats, Verilog header, ``$readmemh`` memories, test vectors (written in one step)
=============  ===============================================================================
"""
