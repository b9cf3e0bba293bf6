"""Verification evidence beside the testbenches: proofs, coverage, waveforms and the mutation score.

=============  ===============================================================================
formal         Yosys + yosys-smtbmc on the property wrappers of ``formal/``: bounded proofs and
               k-induction, the failing property and step named (``make formal``)
coverage       Verilator line/branch/toggle coverage of a subset of the suite, annotated sources,
               figures per file (``make coverage``; functional bins from
               ``ernn.sim.funcov``)
mutate         single-point RTL mutants run against their testbenches: killed, survived,
               equivalent (``make mutate``)
waves          the signal names of an FST or VCD waveform (``ernn sim --waves``, ``ERNN_WAVES=1``)
=============  ===============================================================================
"""
