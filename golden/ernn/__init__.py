"""E-RNN toolkit: block-circulant LSTM/GRU, ADMM training, bit-exact fixed-point golden model, FPGA flow."""

from .models import GRU, LSTM, from_torch

__all__ = ["GRU", "LSTM", "from_torch"]
__version__ = "0.1.0"
