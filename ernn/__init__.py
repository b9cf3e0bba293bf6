"""E-RNN toolkit: block-circulant LSTM/GRU, ADMM training, bit-exact fixed-point golden model, FPGA flow.

``ernn.LSTM``, ``ernn.GRU`` and ``ernn.from_torch`` are imported lazily: the fixed-point golden model and
the RTL testbenches (one Python process per simulation) do not pay for importing torch.
"""

from typing import Any

__all__ = ["GRU", "LSTM", "from_torch"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ernn.train import models

        return getattr(models, name)
    raise AttributeError(f"module 'ernn' has no attribute {name!r}")
