"""Models and stimulus of the ernn_top testbench: trained and random exports, input streams, golden outputs.

Model directories live under ``build/tb_models/<case>`` so that a later session reuses the simulators'
builds (the exports are deterministic: seeded training, seeded random weights). A lock file serialises
the export between pytest-xdist workers; a directory is only rewritten when its case description changed.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ernn import data, paths
from ernn.export import dsp_pack, schedule
from ernn.export import writer as export
from ernn.golden.network import GoldenNetwork
from ernn.train import run_directory as runs
from ernn.train import trainer as train

MODEL_ROOT = paths.cache_dir() / "tb_models"


@dataclass(frozen=True)
class Case:
    """One model of the testbench: trained on JapaneseVowels (``trained``) or PyTorch's random init."""

    name: str
    cell: str = "lstm"
    input_size: int = 12
    hidden_size: int = 32
    num_layers: int = 1
    proj_size: int = 0
    peephole: bool = False
    block_size: int = 8
    lanes: int | None = None  # None: the exporter's default
    data_bits: int = 16
    dsp_pack: bool = False  # export --dsp-pack: two weight products per MAC multiply
    trained: bool = False
    epochs: int = 3
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def key(self) -> str:
        """What the cached export depends on: the case and the model-directory format (a new format, such
        as the job table in the header, exports the case again)."""
        return json.dumps({**asdict(self), "format_version": export.FORMAT_VERSION}, sort_keys=True)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _hardware_current(out: Path) -> bool:
    """Whether the cached export holds the hardware choices the exporter makes now (the cell lanes, the
    PE's IFFTs and a GRU's job order depend on the schedule's timing model, not only on the case)."""
    if not (out / "config.json").is_file():
        return False
    hw = json.loads((out / "config.json").read_text()).get("hardware", {})
    info = export.ExportedModel(out).net.info
    lanes = hw.get("lanes", 0)
    table = schedule.parse_job_table((out / "ernn_params.vh").read_text())
    return (
        hw.get("cell_lanes") == schedule.cell_lanes(info, lanes)
        and hw.get("n_ifft") == schedule.n_ifft(info, lanes)
        and hw.get("split", False) == schedule.split(info, lanes)
        and hw.get("real_bins") == dsp_pack.real_bins(info.block_size, lanes)
        and "dsp_pack" in hw
        and table
        == schedule.job_table(
            info,
            lanes,
            schedule.gru_in_first(info, lanes),
            schedule.load_ahead(info, lanes),
            schedule.interleave(info, lanes),
            schedule.gru_fused(info, lanes),
            schedule.split(info, lanes),
        )
    )


def model_dir(case: Case) -> Path:
    """The exported model of ``case`` (exported on first use, then reused)."""
    out = MODEL_ROOT / case.name
    stamp = out / "tb_case.json"
    with _locked(MODEL_ROOT / f".{case.name}.lock"):
        if stamp.is_file() and stamp.read_text() == case.key() and _hardware_current(out):
            return out
        if case.trained:
            ds = data.load()  # JapaneseVowels (sktime wheel, offline)
            cfg = train.TrainConfig(
                cell=case.cell,
                hidden_size=case.hidden_size,
                num_layers=case.num_layers,
                proj_size=case.proj_size,
                peephole=case.peephole,
                block_size=case.block_size,
                epochs=case.epochs,
                admm_fraction=0.34,
                seed=case.seed,
            )
            model, metrics = train.train(cfg, ds, quiet=True)
            run = out / "run"
            runs.save_run(run, cfg, ds, model, metrics, force=True)
            export.export(
                run,
                out,
                num_sequences=8,
                force=True,
                dataset=ds,
                lanes=case.lanes,
                data_bits=case.data_bits,
                dsp_pack=case.dsp_pack,
            )
        else:
            export.export_random(
                out,
                cell=case.cell,
                input_size=case.input_size,
                hidden_size=case.hidden_size,
                num_layers=case.num_layers,
                proj_size=case.proj_size,
                peephole=case.peephole,
                block_size=case.block_size,
                lanes=case.lanes,
                data_bits=case.data_bits,
                dsp_pack=case.dsp_pack,
                seed=case.seed,
                force=True,
            )
        stamp.write_text(case.key())
    return out


# ------------------------------------------------------------------------------------------------------
# stimulus
STYLES = ("moderate", "full", "zeros", "impulse", "alternating", "max", "min")


def random_stream(
    net: GoldenNetwork, rng: np.random.Generator, frames: int, *, styles: tuple[str, ...] = STYLES
) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of random lengths back to back, each in one input style; TLAST on the last frame of each."""
    d = net.numerics.data
    n_in = net.info.input_size
    xs, lasts = [], []
    left = frames
    while left > 0:
        n = int(min(left, rng.integers(1, 12)))
        style = str(rng.choice(styles))
        if style == "moderate":  # the trained-network regime: N(0, 1) features
            x = np.clip(np.rint(rng.standard_normal((n, n_in)) * 2.0**d.frac), d.min_int, d.max_int)
        elif style == "full":
            x = rng.integers(d.min_int, d.max_int, size=(n, n_in), endpoint=True)
        elif style == "zeros":
            x = np.zeros((n, n_in))
        elif style == "impulse":
            x = np.zeros((n, n_in))
            x[rng.integers(0, n), rng.integers(0, n_in)] = rng.choice([d.min_int, d.max_int])
        elif style == "alternating":
            x = np.where((np.arange(n)[:, None] + np.arange(n_in)[None]) % 2 == 0, d.max_int, d.min_int)
        elif style == "max":
            x = np.full((n, n_in), d.max_int)
        else:
            x = np.full((n, n_in), d.min_int)
        xs.append(np.asarray(x, dtype=np.int64))
        flags = np.zeros(n, dtype=bool)
        flags[-1] = True
        lasts.append(flags)
        left -= n
    return np.concatenate(xs), np.concatenate(lasts)


def saturating_stream(
    net: GoldenNetwork, rng: np.random.Generator, frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """Long full-scale sequences (random signs at the format's extremes) that drive gates and c into saturation."""
    d = net.numerics.data
    x = rng.choice(np.array([d.min_int, d.max_int]), size=(frames, net.info.input_size))
    last = np.zeros(frames, dtype=bool)
    last[frames // 2] = True
    last[-1] = True
    return x.astype(np.int64), last


def vector_stream(model: Path) -> tuple[np.ndarray, np.ndarray]:
    """The exporter's test vectors: real (quantized) test sequences back to back."""
    with np.load(model / "vectors" / "vectors.npz") as vec:
        return vec["input"].astype(np.int64), vec["last"].astype(bool)


# ------------------------------------------------------------------------------------------------------
# golden per layer (for locating a divergence)
def _split(last: np.ndarray) -> list[tuple[int, int]]:
    ends = [int(e) + 1 for e in np.flatnonzero(last)]
    if not ends or ends[-1] != len(last):
        ends.append(len(last))
    return [(s, e) for s, e in zip([0, *ends[:-1]], ends, strict=True) if e > s]


def golden_layers(net: GoldenNetwork, frames: np.ndarray, last: np.ndarray) -> list[np.ndarray]:
    """h_t of every layer for a stream (T, out) per layer, TLAST resetting the state (as run_stream)."""
    bounds = _split(last)
    lens = np.array([e - s for s, e in bounds])
    batch = np.zeros((len(bounds), int(lens.max()), frames.shape[1]), dtype=np.int64)
    for row, (s, e) in enumerate(bounds):
        batch[row, : e - s] = frames[s:e]
    res = net.run(batch, lens)
    return [np.concatenate([h[row, :ln] for row, ln in enumerate(lens)]) for h in res.h_int]


def first_frame_flags(last: np.ndarray) -> np.ndarray:
    """True where a frame starts a sequence (zero state)."""
    first = np.zeros(len(last), dtype=bool)
    if len(last):
        first[0] = True
        first[1:] = last[:-1]
    return first
