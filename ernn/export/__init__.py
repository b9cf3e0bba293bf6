"""Stage 3, export: a trained run becomes a model directory the RTL reads.

=============  ===============================================================================
layout         the hardware layout: PE job schedule, memory images of ``rtl/ernn_top.v``, cycle model
writer         ``ernn export``: formats, Verilog header, ``$readmemh`` memories, test vectors, checksums
=============  ===============================================================================
"""
