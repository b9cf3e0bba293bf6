"""Bit-exact fixed-point golden model of the E-RNN datapath (int64 numpy; the RTL matches it bit for bit).

The numerics contract is docs/numerics.md. Modules, one job each:

=================  ==========================================================================
formats            QFormat, NumericsConfig (every format, JSON, validation), width formulas
ops                quantize, round_shift, saturate, SaturationLog, hex_words
fft                twiddles, fft_real, ifft_real (radix-2 DIT, stage by stage)
activation         piecewise-linear sigmoid / tanh tables and evaluation, measured error
matvec             weight-spectrum quantization, complex MAC, circulant matvec
csb                CSB stored kernels (counts, indices, values) and their exact integer matvec
cells              LSTM / GRU cell updates after the matvecs
network            GoldenNetwork: quantize a float model description, run batches / streams
float_reference    float64 PyTorch-semantics reference of the same network, random models
reference          independent slow fxpmath implementation (cross-check on small cases)
bounds             worst-case error bounds computed from the formats
=================  ==========================================================================
"""

from .activation import ActivationTable, activate, activation_error, activation_table, sigmoid, tanh
from .cells import gate_preact, gru_cell, gru_output, lstm_cell, lstm_cell_state, lstm_output, peephole_term
from .fft import bit_reverse_indices, fft_real, hermitian_full, ifft_real, twiddle_product, twiddles
from .formats import ActivationSpec, NumericsConfig, QFormat, accumulator_word, clog2
from .matvec import (
    Spectra,
    acc_to_ifft,
    circulant_matvec,
    cmac,
    input_spectra,
    output_blocks,
    quantize_spectra,
    weight_spectra_float,
)
from .network import GoldenNetwork, GoldenResult, QuantizedLayer, describe_model, numerics_for_model
from .ops import (
    SaturationLog,
    align,
    dequantize,
    floor_shift,
    hex_words,
    quantize,
    round_shift,
    saturate,
)

__all__ = [
    "ActivationSpec",
    "ActivationTable",
    "GoldenNetwork",
    "GoldenResult",
    "NumericsConfig",
    "QFormat",
    "QuantizedLayer",
    "SaturationLog",
    "Spectra",
    "acc_to_ifft",
    "accumulator_word",
    "activate",
    "activation_error",
    "activation_table",
    "align",
    "bit_reverse_indices",
    "circulant_matvec",
    "clog2",
    "cmac",
    "dequantize",
    "describe_model",
    "fft_real",
    "floor_shift",
    "gate_preact",
    "gru_cell",
    "gru_output",
    "hermitian_full",
    "hex_words",
    "ifft_real",
    "input_spectra",
    "lstm_cell",
    "lstm_cell_state",
    "lstm_output",
    "numerics_for_model",
    "output_blocks",
    "peephole_term",
    "quantize",
    "quantize_spectra",
    "round_shift",
    "saturate",
    "sigmoid",
    "tanh",
    "twiddle_product",
    "twiddles",
    "weight_spectra_float",
]
