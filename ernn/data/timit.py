"""TIMIT recipe (being written): ``ernn data timit --root DIR``."""

from __future__ import annotations

from ernn.data.features import FeatureConfig

#: 50 log-mel channels + frame log energy = 51, with deltas and delta-deltas: 153 per frame (SR1's input)
TIMIT_FEATURES = FeatureConfig(kind="logmel", sample_rate=16000, n_mels=50, deltas=2, energy=True)


def build(root, out, *, feature_cfg=None, workers=1, force=False, quiet=True):
    raise NotImplementedError("the TIMIT recipe is being written")
