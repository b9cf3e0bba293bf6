"""The design-space exploration's side of the structure seam: a structure's hardware cost model.

A structure's cost module (registered under ``"cost"``; block-circulant: :mod:`ernn.dse.cost_model`)
provides:

* ``HwConfig.build(shape, numerics, lanes)`` — the engine configuration of a model shape (formats from
  ``NumericsConfig.for_shape`` when no weights exist yet);
* ``estimate(config, coeffs=None, family="xcu")`` — cycles per time step, ideal cycles and resources
  (LUT, FF, DSP, BRAM36) per functional block;
* ``load_coefficients()`` — the calibrated coefficients (bench/bench_cost_samples.py --fit).
"""

from __future__ import annotations

FUNCTIONS = ("HwConfig", "estimate", "load_coefficients")
