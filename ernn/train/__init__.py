"""Stage 1, model design: block-circulant LSTM/GRU modules mirroring ``torch.nn`` and their training.

=============  ===============================================================================
circulant      block-circulant maths in torch: expansion, FFT-domain products, projection
models         ``LSTM``, ``GRU``, ``from_torch``: modules with the arguments of ``torch.nn.LSTM/GRU``
trainer        dense / direct / ADMM training, run directories (``ernn train``)
=============  ===============================================================================
"""
