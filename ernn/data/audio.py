"""Reading recordings: WAV (8/16/24/32-bit PCM and float, mono or stereo) and NIST SPHERE (TIMIT's ``.WAV``).

:func:`read_audio` returns one mono float32 signal in [-1, 1) at the requested sample rate:

* files are read with `soundfile <https://python-soundfile.readthedocs.io>`_ (libsndfile), which knows
  RIFF WAV in every PCM width and NIST SPHERE from the file's header, not its name;
* several channels are averaged to one;
* another sample rate is resampled with ``librosa.resample`` (soxr, high quality);
* an unreadable, truncated or empty file, or one that is not audio, raises :class:`AudioError` naming the
  file and the cause.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class AudioError(ValueError):
    """A recording that cannot be used (named in the message)."""


def read_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Mono float32 samples of ``path`` at ``sample_rate`` Hz (see the module docstring)."""
    import soundfile

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such recording")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: an empty file (0 bytes)")
    try:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError, TypeError, ValueError) as exc:
        raise AudioError(f"{path}: not a readable WAV or SPHERE recording ({exc})") from exc
    if samples.shape[0] == 0:
        raise AudioError(f"{path}: holds no samples")
    signal = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    if not np.all(np.isfinite(signal)):
        raise AudioError(f"{path}: holds NaN or infinite samples")
    if rate != sample_rate:
        import librosa

        signal = librosa.resample(signal, orig_sr=rate, target_sr=sample_rate, res_type="soxr_hq")
    return np.ascontiguousarray(signal, dtype=np.float32)
