"""Training-step time: FFT-domain block-circulant path vs the dense-expanded path, side by side.

For each hidden size and block size, one LSTM layer (input size = hidden size) does forward + backward +
Adam step on a (batch, steps) batch, once with ``matvec="fft"`` and once with ``matvec="dense"`` (the
circulant vectors expanded to dense matrices every step), alternating, on the same weights and data.
Prints a table and writes JSON. Ratios are what to read; absolute times on a shared machine are noisy.

    .venv/bin/python bench/bench_train_step.py --out build/bench/train_step.json
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

from ernn.files import atomic
from ernn.train import models


def step_time(model: models.LSTM, x: torch.Tensor, opt: torch.optim.Optimizer) -> float:
    t0 = time.perf_counter()
    out, _ = model(x)
    loss = out.pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return time.perf_counter() - t0


def measure(hidden: int, k: int, batch: int, steps: int, reps: int) -> dict:
    torch.manual_seed(0)
    model = models.LSTM(hidden, hidden, block_size=k)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randn(steps, batch, hidden)
    times = {"fft": [], "dense": []}
    for path in ("fft", "dense"):  # warm-up
        model.matvec = path
        step_time(model, x, opt)
    for _ in range(reps):
        for path in ("fft", "dense"):
            model.matvec = path
            times[path].append(step_time(model, x, opt))
    fft, dense = statistics.median(times["fft"]), statistics.median(times["dense"])
    return {
        "hidden": hidden,
        "block_size": k,
        "fft_seconds": fft,
        "dense_seconds": dense,
        "dense_over_fft": dense / fft,
        "multiplies_per_step": model.multiplies_per_step(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hidden", nargs="+", type=int, default=[256, 512, 1024])
    ap.add_argument("--blocks", nargs="+", type=int, default=[8, 16])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", default="build/bench/train_step.json")
    args = ap.parse_args()
    rows = [measure(h, k, args.batch, args.steps, args.reps) for h in args.hidden for k in args.blocks]
    print(f"{'hidden':>6} {'k':>3} {'FFT step s':>11} {'dense step s':>13} {'dense/FFT':>10}")
    for r in rows:
        print(
            f"{r['hidden']:>6} {r['block_size']:>3} {r['fft_seconds']:>11.4f} {r['dense_seconds']:>13.4f} "
            f"{r['dense_over_fft']:>10.2f}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "batch": args.batch,
        "steps": args.steps,
        "reps": args.reps,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": platform.machine(),
    }
    atomic.write_json(out, {"config": meta, "results": rows}, force=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
