"""The speech front end: log-mel filterbank energies or MFCCs, with deltas, from a mono signal.

Computed with `librosa <https://librosa.org>`_ (well kept, numpy-based; torchaudio has no release for the
pinned torch 2.13, and python_speech_features is unmaintained since 2017):

* frames of ``win_ms`` (25 ms) every ``hop_ms`` (10 ms), Hann window, FFT size ``n_fft`` the next power
  of two of the window, no padding at the ends: frame t is the FFT block [t·hop, t·hop + n_fft) with the
  window centred in it, so its centre is sample t·hop + n_fft/2 (:meth:`FeatureConfig.centre`; librosa's
  framing with ``center=False``);
* ``logmel``: ``n_mels`` mel filterbank power energies (Slaney mel scale, fmin 20 Hz, fmax = rate / 2),
  natural log with a floor of 1e-10;
* ``mfcc``: the first ``n_mfcc`` DCT-II coefficients of those log energies (orthonormal);
* ``energy``: the frame's log energy (sum of squared samples) as one more column;
* ``cmn``: cepstral mean normalisation — each static feature's mean over the utterance subtracted
  (before the deltas, which it does not change). It removes a fixed channel and speaker colouring of the
  spectrum, which matters when test speakers are not in the training set. It needs the whole utterance
  first: the host computes it before streaming frames to the accelerator (a live stream would use a
  running mean instead; not provided);
* ``deltas`` (0, 1 or 2): first and second time derivatives appended (``librosa.feature.delta``, a
  regression over ``delta_width`` frames, edges by nearest frame).

Feature count: (n_mels or n_mfcc) + energy, times (1 + deltas). Normalisation is not done here: the
training split's statistics are computed where the data set is written (``ernn.data.wav``) and travel
with the trained model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

KINDS = ("logmel", "mfcc")


@dataclass(frozen=True)
class FeatureConfig:
    kind: str = "logmel"
    sample_rate: int = 8000
    n_mels: int = 40
    n_mfcc: int = 13
    win_ms: float = 25.0
    hop_ms: float = 10.0
    deltas: int = 1
    delta_width: int = 9
    energy: bool = False
    fmin: float = 20.0
    cmn: bool = False

    def validate(self) -> FeatureConfig:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise ValueError(f"features: {what}")

        need(self.kind in KINDS, f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        need(
            4000 <= self.sample_rate <= 96000,
            f"sample_rate must be in [4000, 96000] Hz, got {self.sample_rate}",
        )
        need(1 <= self.n_mels <= 256, f"n_mels must be in [1, 256], got {self.n_mels}")
        need(self.kind != "mfcc" or 1 <= self.n_mfcc <= self.n_mels, "n_mfcc must be in [1, n_mels]")
        need(5.0 <= self.win_ms <= 100.0, f"win_ms must be in [5, 100], got {self.win_ms}")
        need(1.0 <= self.hop_ms <= self.win_ms, f"hop_ms must be in [1, win_ms], got {self.hop_ms}")
        need(self.deltas in (0, 1, 2), f"deltas must be 0, 1 or 2, got {self.deltas}")
        need(self.delta_width >= 3 and self.delta_width % 2 == 1, "delta_width must be odd and >= 3")
        need(0.0 <= self.fmin < self.sample_rate / 2, f"fmin must be in [0, {self.sample_rate / 2}) Hz")
        return self

    @property
    def win(self) -> int:
        return round(self.sample_rate * self.win_ms / 1000)

    @property
    def hop(self) -> int:
        return round(self.sample_rate * self.hop_ms / 1000)

    @property
    def n_fft(self) -> int:
        return 1 << (self.win - 1).bit_length()

    @property
    def num_features(self) -> int:
        base = (self.n_mels if self.kind == "logmel" else self.n_mfcc) + int(self.energy)
        return base * (1 + self.deltas)

    def frames(self, num_samples: int) -> int:
        """Frames of a signal of ``num_samples`` (0 if shorter than one FFT block)."""
        return 0 if num_samples < self.n_fft else 1 + (num_samples - self.n_fft) // self.hop

    def centre(self, frame: int) -> int:
        """The sample at the centre of ``frame``'s window (frame labels are taken there)."""
        return frame * self.hop + self.n_fft // 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FeatureConfig:
        return cls(**raw).validate()


def extract(signal: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """(T, num_features) float32 features of a mono signal at ``cfg.sample_rate``.

    ValueError if the signal is shorter than one window (no frame).
    """
    import librosa

    signal = np.asarray(signal, dtype=np.float32)
    if cfg.frames(len(signal)) == 0:
        raise ValueError(
            f"{len(signal)} samples ({1000 * len(signal) / cfg.sample_rate:.1f} ms) are shorter than one "
            f"{1000 * cfg.n_fft / cfg.sample_rate:g} ms analysis frame ({cfg.win_ms:g} ms window)"
        )
    mel = librosa.feature.melspectrogram(
        y=signal,
        sr=cfg.sample_rate,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop,
        win_length=cfg.win,
        window="hann",
        center=False,
        power=2.0,
        n_mels=cfg.n_mels,
        fmin=cfg.fmin,
        fmax=cfg.sample_rate / 2,
    )
    logmel = np.log(np.maximum(mel, 1e-10))
    base = logmel if cfg.kind == "logmel" else librosa.feature.mfcc(S=logmel, n_mfcc=cfg.n_mfcc, norm="ortho")
    if cfg.energy:
        # the window's samples of each FFT block (the same centre as the mel energies)
        blocks = librosa.util.frame(signal, frame_length=cfg.n_fft, hop_length=cfg.hop)
        start = (cfg.n_fft - cfg.win) // 2
        window = blocks[start : start + cfg.win].astype(np.float64)
        energy = np.log(np.maximum((window**2).sum(axis=0), 1e-10))
        base = np.vstack([base, energy[None, : base.shape[1]]])
    if cfg.cmn:
        base = base - base.mean(axis=1, keepdims=True)
    parts = [base]
    if cfg.deltas:
        # the regression window cannot be wider than the utterance; 3 frames at least
        width = min(cfg.delta_width, base.shape[1] if base.shape[1] % 2 else base.shape[1] - 1)
        for order in range(1, cfg.deltas + 1):
            if width >= 3:
                parts.append(librosa.feature.delta(base, width=width, order=order, mode="nearest"))
            else:  # one or two frames: no slope to speak of
                parts.append(np.zeros_like(base))
    return np.vstack(parts).T.astype(np.float32)
