"""Stage 1, model design: block-circulant LSTM/GRU modules mirroring ``torch.nn`` and their training.

=============  ===============================================================================
circulant      block-circulant maths in torch: expansion, FFT-domain products, projection
csb            CSB-RNN structured blocks: row-then-column projection, pattern, storage (training only)
sparse         unstructured magnitude pruning, ESE's load-balanced variant (training only)
models         ``LSTM``, ``GRU``, ``from_torch``: modules with the arguments of ``torch.nn.LSTM/GRU``
trainer        dense / direct / ADMM training (``ernn train``)
search         progressive prune-rate search for csb / sparse (``ernn train --search``)
qat            quantization-aware fine-tuning through the golden model's formats (``--qat-bits``)
metrics        frame and phone error rates of per-frame labelling (``--task frames``)
run_directory  run directories: written in one step, verified before use, data recorded by hash
=============  ===============================================================================
"""
