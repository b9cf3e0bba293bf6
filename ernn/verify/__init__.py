"""Stage 5, verification evidence beside the testbenches: properties proven for every input.

=============  ===============================================================================
formal         Yosys + yosys-smtbmc on the property wrappers of ``formal/``: bounded proofs and
               k-induction, the failing property and step named (``make formal``)
=============  ===============================================================================
"""
