"""Stage 5, design-space exploration: which model (Phase I) and which hardware (Phase II).

=============  ===============================================================================
phase1         cell x block size x hidden x layers x seed sweep, selection under an accuracy budget
cost_model     cycles, LUT, FF, DSP, BRAM of ``ernn_top`` vs P, k and widths (calibrated)
phase2         the MAC lanes P for a model on a device: sweep, Pareto front, choice
explore        ``ernn dse``: both phases into one claimed, resumable output folder (report.json, report.md)
figures        PNG plots written all or nothing
=============  ===============================================================================
"""
