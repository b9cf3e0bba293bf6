"""Verification evidence beside the testbenches (after simulation): properties proven for every input.

=============  ===============================================================================
formal         Yosys + yosys-smtbmc on the property wrappers of ``formal/``: bounded proofs and
               k-induction, the failing property and step named (``make formal``)
=============  ===============================================================================
"""
