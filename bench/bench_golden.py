"""Golden-model speed: time steps per second of the int64 path vs the fxpmath reference, same work.

For each hidden size, one random block-circulant LSTM layer (input size = hidden size, block size k,
batch 1) runs ``--steps`` time steps on the fast int64 path (``GoldenNetwork.run``) and ``--ref-steps``
steps on the fxpmath reference (``ReferenceNetwork.run``, far slower: a few steps, then per-step time).
The first ``--ref-steps`` outputs of both are compared bit for bit. Then the error trend: max / RMS error
of the golden output vs the float64 model for 8, 10, 12 and 16-bit data paths (random LSTM with peepholes
and 2-layer GRU). Prints tables and writes JSON.
Ratios are what to read; absolute times on a shared machine are noisy.

Batched (issue 18, ``--batch``): the same LSTM layer (hidden ``--batched-hidden``, k ``--block``) on a test
set of ``--batch`` sequences of ``--batch-steps`` frames, run in one ``GoldenNetwork.run`` (all sequences
advance together; the batch-minor runner of ``ernn.golden.batched``: each layer step one compiled pass
over tiles of 64 sequences, ``ernn.golden.fused``: unrolled FFT, float64 BLAS MAC over [W_ih | W_hh],
unrolled IFFT and table-activation cell per block of units, result store) against today's numpy path in the same run
(``matvec.COMPILED_MIN_BLOCKS = None``), on the same batch and one sequence at a time
(``--batch-baseline`` of them), against the step-by-step fast path without the batch-minor runner, and
against that with its FFT and IFFT pass on the int64 kernels instead of the float64 ones. ``--threads 1 2`` times the fast path
at each thread count of its parallel kernels (``ernn.golden.kernels.set_threads``). Time steps per
second of each, the ratios, the load average before and after, a cProfile breakdown of the fast path
(own time per function), and a bit-exact check of the fast run against every other (h, c, every
saturation count).

    .venv/bin/python bench/bench_golden.py --out build/bench/golden.json
    .venv/bin/python bench/bench_golden.py --only-batched --out build/bench/golden_batched.json
    .venv/bin/python bench/bench_golden.py --only-batched --threads 1 2 --out build/bench/golden_batched.json
    .venv/bin/python bench/bench_golden.py --only-batched --threads 1 2 --before a9b8f33 --repeats 3 \
        --out build/bench/golden_batched.json

``--before REV`` also loads ``golden/`` as it was at REV into this process and times it against today's
on the same batch, interleaved, at each ``--threads`` count: wall and CPU time (``time.process_time``),
best of ``--repeats``, with a bit-exact check (xq, h, c, every saturation count).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ernn.files import atomic
from ernn.golden import batched as batch_minor
from ernn.golden import kernels, matvec
from ernn.golden.float_reference import random_model, run_float
from ernn.golden.network import GoldenNetwork
from ernn.golden.reference import ReferenceNetwork


def measure(hidden: int, k: int, steps: int, ref_steps: int, seed: int) -> dict:
    desc = random_model("lstm", hidden, hidden, block_size=k, seed=seed)
    net = GoldenNetwork(desc)
    x = np.random.default_rng(seed).normal(size=(1, steps, hidden))
    net.run(x[:, : min(steps, 5)])  # warm-up (tables, caches)
    t0 = time.perf_counter()
    res = net.run(x)
    fast = time.perf_counter() - t0
    ref = ReferenceNetwork(desc, net.numerics)
    xr = res.input_int[:, :ref_steps]
    t0 = time.perf_counter()
    out = ref.run(xr)
    slow = time.perf_counter() - t0
    exact = bool(np.array_equal(out["h_int"][0], res.h_int[0][:, :ref_steps]))
    fast_step = fast / steps
    slow_step = slow / ref_steps
    return {
        "cell": "lstm",
        "hidden": hidden,
        "input_size": hidden,
        "block_size": k,
        "batch": 1,
        "fast_steps": steps,
        "fast_seconds": fast,
        "fast_steps_per_second": 1.0 / fast_step,
        "ref_steps": ref_steps,
        "ref_seconds": slow,
        "ref_steps_per_second": 1.0 / slow_step,
        "fast_over_ref": slow_step / fast_step,
        "bit_exact_on_ref_steps": exact,
        "numerics": net.numerics.to_dict(),
    }


def batched(
    hidden: int, k: int, batch: int, steps: int, baseline: int, seed: int, threads: list[int] | None = None
) -> dict:
    """Time steps per second of one batched run on the fast path (at each of ``threads``, the first one
    the headline) against the same fast path with the int64 FFT/IFFT kernels (the float64 transforms
    off) and the numpy path (today's), the latter both on the same batch and one sequence at a time;
    outputs and saturation counts compared."""
    threads = threads or [1]
    desc = random_model("lstm", hidden, hidden, block_size=k, seed=seed)
    net = GoldenNetwork(desc)
    x = np.random.default_rng(seed).normal(size=(batch, steps, hidden))
    net.run(x[:, :2])  # warm-up: numba compiles its kernels once per process
    loads = [os.getloadavg()[0]]  # the machine is shared: rates scale with the CPU time left to this run
    by_threads: dict[str, float] = {}
    res = None
    for n in threads:
        kernels.set_threads(n)
        try:
            t0 = time.perf_counter()
            run = net.run(x)
            by_threads[str(n)] = batch * steps / (time.perf_counter() - t0)
        finally:
            kernels.set_threads(1)
        res = res or run
        if not _same(run, res):
            raise AssertionError(f"the fast path on {n} threads differs from {threads[0]} thread(s)")
    assert res is not None
    fast = batch * steps / by_threads[str(threads[0])]
    kernels.set_threads(threads[0])
    try:
        profile = _profile_fast_run(net, x)
    finally:
        kernels.set_threads(1)
    with _int64_transforms():
        net.run(x[:, :2])
        t0 = time.perf_counter()
        int_run = net.run(x)
        int_transforms = time.perf_counter() - t0
    with _step_by_step():
        net.run(x[:, :2])
        t0 = time.perf_counter()
        sbs_run = net.run(x)
        step_by_step = time.perf_counter() - t0
    loads.append(os.getloadavg()[0])
    saved = matvec.COMPILED_MIN_BLOCKS
    matvec.COMPILED_MIN_BLOCKS = None
    try:
        net.run(x[:1, :2])
        t0 = time.perf_counter()
        alone = [net.run(x[i : i + 1]) for i in range(baseline)]
        one_at_a_time = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref = net.run(x)
        numpy_batched = time.perf_counter() - t0
    finally:
        matvec.COMPILED_MIN_BLOCKS = saved
    loads.append(os.getloadavg()[0])
    exact = bool(
        _same(ref, res)
        and _same(int_run, res)
        and _same(sbs_run, res)
        and all(np.array_equal(a.h_int[0][0], res.h_int[0][i]) for i, a in enumerate(alone))
    )
    rate = {
        "fast_batched": batch * steps / fast,
        "numpy_batched": batch * steps / numpy_batched,
        "numpy_one_at_a_time": baseline * steps / one_at_a_time,
    }
    return {
        "cell": "lstm",
        "hidden": hidden,
        "input_size": hidden,
        "block_size": k,
        "batch": batch,
        "steps": steps,
        "baseline_sequences": baseline,
        "threads": threads,
        "fast_batched_by_threads": by_threads,
        "seconds": {
            "fast_batched": fast,
            "fast_batched_int64_transforms": int_transforms,
            "fast_step_by_step": step_by_step,
            "numpy_batched": numpy_batched,
            "numpy_one_at_a_time": one_at_a_time,
        },
        "steps_per_second": rate,
        "int64_transforms_steps_per_second": batch * steps / int_transforms,
        "speedup_over_int64_transforms": int_transforms / fast,
        "step_by_step_steps_per_second": batch * steps / step_by_step,
        "speedup_over_step_by_step": step_by_step / fast,
        "speedup_over_numpy_batched": rate["fast_batched"] / rate["numpy_batched"],
        "speedup_over_numpy_one_at_a_time": rate["fast_batched"] / rate["numpy_one_at_a_time"],
        "bit_exact": exact,
        "saturated": res.log.total,
        "load_average_1min": loads[0],
        "load_average_1min_samples": loads,
        "profile": profile,
    }


def load_golden_at(rev: str, where: Path):
    """The golden model as it was at git revision ``rev``: its ``golden/*.py`` written to ``where`` as the
    package ``golden_at_rev`` and imported (``ernn.*`` other than the golden model is today's)."""
    import importlib
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", rev, "golden/"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    pkg = where / "golden_at_rev"
    pkg.mkdir(parents=True, exist_ok=True)
    for name in names:
        if name.endswith(".py"):
            text = subprocess.run(
                ["git", "show", f"{rev}:{name}"], cwd=root, check=True, capture_output=True, text=True
            ).stdout
            # modules that import their siblings by absolute name (``import ernn.golden.x as x``) must
            # get the copy's, or the old network would run today's batched runner (or, its layer
            # classes not being today's, silently refuse it and take the step-by-step path)
            text = text.replace("import ernn.golden.", "import golden_at_rev.")
            (pkg / Path(name).name).write_text(text)
    sys.path.insert(0, str(where))
    network = importlib.import_module("golden_at_rev.network")
    # the structure registry names today's ernn.golden.matvec: point this copy at its own
    old_matvec = importlib.import_module("golden_at_rev.matvec")
    network.implementation = lambda name, stage: old_matvec
    return network


def before_after(
    hidden: int, k: int, batch: int, steps: int, seed: int, rev: str, repeats: int, threads: list[int]
) -> dict:
    """The fast path today against the golden model at ``rev`` on the same batch in this process, runs
    interleaved (``repeats`` each, the fastest kept), at each of ``threads`` (both models' parallel
    kernels; BLAS stays on one thread): wall-clock and CPU-time (process_time: this process's own share
    of the shared machine, all its threads together) steps per second, and a bit-exact check. The
    figures of the first thread count are also given at the top level."""
    import importlib
    import tempfile

    desc = random_model("lstm", hidden, hidden, block_size=k, seed=seed)
    x = np.random.default_rng(seed).normal(size=(batch, steps, hidden))
    n = batch * steps
    by_threads: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        old_mod = load_golden_at(rev, Path(tmp))
        old_kernels = importlib.import_module("golden_at_rev.kernels")
        nets = {"today": GoldenNetwork(desc), "before": old_mod.GoldenNetwork(desc)}
        for net in nets.values():
            net.run(x[:, :2])  # numba compiles once per process
        for nt in threads:
            kernels.set_threads(nt)
            old_kernels.set_threads(nt)
            wall = {name: float("inf") for name in nets}
            cpu = {name: float("inf") for name in nets}
            runs = {}
            loads = [os.getloadavg()[0]]
            try:
                for _ in range(repeats):
                    for name, net in nets.items():
                        w0, c0 = time.perf_counter(), time.process_time()
                        runs[name] = net.run(x)
                        wall[name] = min(wall[name], time.perf_counter() - w0)
                        cpu[name] = min(cpu[name], time.process_time() - c0)
            finally:
                kernels.set_threads(1)
                old_kernels.set_threads(1)
            loads.append(os.getloadavg()[0])
            a, b = runs["today"], runs["before"]
            exact = bool(
                np.array_equal(a.input_int, b.input_int)
                and all(np.array_equal(p, q) for p, q in zip(a.h_int, b.h_int, strict=True))
                and all(np.array_equal(p, q) for p, q in zip(a.c_int or [], b.c_int or [], strict=True))
                and a.log.as_dict() == b.log.as_dict()
            )
            by_threads[str(nt)] = {
                "wall_steps_per_second": {name: n / t for name, t in wall.items()},
                "cpu_steps_per_second": {name: n / t for name, t in cpu.items()},
                "wall_speedup": wall["before"] / wall["today"],
                "cpu_speedup": cpu["before"] / cpu["today"],
                "bit_exact": exact,
                "load_average_1min_samples": loads,
            }
    return {
        "before_rev": rev,
        "repeats": repeats,
        "batch": batch,
        **by_threads[str(threads[0])],
        "by_threads": by_threads,
    }


def _same(a, b) -> bool:
    """Every layer's h and c and every saturation count of two runs equal."""
    return bool(
        all(np.array_equal(p, q) for p, q in zip(a.h_int, b.h_int, strict=True))
        and all(np.array_equal(p, q) for p, q in zip(a.c_int or [], b.c_int or [], strict=True))
        and a.log.as_dict() == b.log.as_dict()
    )


@contextmanager
def _step_by_step():
    """The fast path without the batch-minor runner (``ernn.golden.batched``): the step-by-step loop of
    ``GoldenNetwork._run`` on the batch-major kernels, as before it."""
    saved = batch_minor.supported
    batch_minor.supported = lambda layer: False
    try:
        yield
    finally:
        batch_minor.supported = saved


@contextmanager
def _int64_transforms():
    """The fast path with the FFT and the IFFT pass on the int64 kernels (the float64 ones off)."""
    saved = kernels.float_ifft_exact, kernels.float_fft_exact
    kernels.float_ifft_exact = lambda cfg: False
    kernels.float_fft_exact = lambda tw, out: False
    try:
        yield
    finally:
        kernels.float_ifft_exact, kernels.float_fft_exact = saved


def _profile_fast_run(net: GoldenNetwork, x: np.ndarray, top: int = 8) -> list[dict]:
    """Where the fast path's time goes: the ``top`` functions by own time (cProfile) of a second run of
    the first quarter of the frames, with their share of the run."""
    part = np.ascontiguousarray(
        x[:, : max(1, x.shape[1] // 4)]
    )  # not a strided view: its copy is no part of a run
    prof = cProfile.Profile()
    prof.enable()
    net.run(part)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values())
    rows = sorted(((v[2], f"{Path(f).name}:{fn}") for (f, _, fn), v in stats.items()), reverse=True)[:top]
    return [{"function": name, "seconds": t, "share": t / total} for t, name in rows]


def error_trend(hidden: int, k: int, steps: int, seed: int) -> list[dict]:
    """Max / RMS |golden - float| of the last layer's h for data paths of 8, 10, 12, 16 bits."""
    rows = []
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(4, steps, hidden))
    for cell, kw in (("lstm", {"peephole": True}), ("gru", {"num_layers": 2})):
        desc = random_model(cell, hidden, hidden, block_size=k, seed=seed, **kw)
        ref = run_float(desc, x).output
        for bits in (8, 10, 12, 16):
            res = GoldenNetwork(desc, data_bits=bits).run(x)
            err = res.output - ref
            rows.append(
                {
                    "cell": cell,
                    **{key: v for key, v in kw.items()},
                    "data_bits": bits,
                    "max_abs_error": float(np.abs(err).max()),
                    "rms_error": float(np.sqrt(np.mean(err**2))),
                    "saturations": res.log.total,
                }
            )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hidden", nargs="+", type=int, default=[256, 1024])
    ap.add_argument("--block", type=int, default=16, help="block size k (default 16)")
    ap.add_argument("--steps", type=int, default=300, help="time steps on the fast path (default 300)")
    ap.add_argument("--ref-steps", type=int, default=3, help="time steps on the fxpmath path (default 3)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--trend-hidden", type=int, default=64, help="hidden size of the error-trend models")
    ap.add_argument("--trend-steps", type=int, default=50, help="time steps of the error-trend inputs")
    ap.add_argument("--batched-hidden", type=int, default=256, help="hidden size of the batched run")
    ap.add_argument("--batch", type=int, default=2048, help="sequences in the batched run (default 2048)")
    ap.add_argument("--batch-steps", type=int, default=20, help="frames per sequence (default 20)")
    ap.add_argument("--batch-baseline", type=int, default=8, help="sequences timed one at a time (default 8)")
    ap.add_argument(
        "--threads",
        nargs="+",
        type=int,
        default=[1],
        help="threads of the fast path's parallel kernels, one timed run each (default 1; the first is "
        "the headline, profiled and compared with the other paths)",
    )
    ap.add_argument(
        "--before",
        metavar="REV",
        help="also time the golden model at git revision REV on the same batch, interleaved with today's "
        "(wall and CPU time, at each --threads; e.g. the commit before a change)",
    )
    ap.add_argument("--repeats", type=int, default=2, help="interleaved runs each for --before (default 2)")
    ap.add_argument("--only-batched", action="store_true", help="only the batched comparison")
    ap.add_argument("--out", type=Path, default=Path("build/bench/golden.json"))
    args = ap.parse_args()
    if args.ref_steps < 1 or args.steps < args.ref_steps:
        ap.error("need 1 <= --ref-steps <= --steps")
    if not 1 <= args.batch_baseline <= args.batch:
        ap.error("need 1 <= --batch-baseline <= --batch")
    if min(args.threads) < 1:
        ap.error("--threads must be >= 1")
    b = batched(
        args.batched_hidden,
        args.block,
        args.batch,
        args.batch_steps,
        args.batch_baseline,
        args.seed,
        args.threads,
    )
    r = b["steps_per_second"]
    print(
        f"batched, hidden {b['hidden']}, k {b['block_size']}, {b['batch']} sequences x {b['steps']} frames: "
        f"fast path {r['fast_batched']:.0f} steps/s ("
        + ", ".join(f"{t} thread(s) {v:.0f}" for t, v in b["fast_batched_by_threads"].items())
        + f") | step-by-step fast path {b['step_by_step_steps_per_second']:.0f} "
        f"({b['speedup_over_step_by_step']:.2f}x) | int64 transforms {b['int64_transforms_steps_per_second']:.0f} "
        f"({b['speedup_over_int64_transforms']:.2f}x) | numpy path, same batch {r['numpy_batched']:.0f} "
        f"({b['speedup_over_numpy_batched']:.1f}x) | numpy path, one sequence at a time "
        f"{r['numpy_one_at_a_time']:.0f} ({b['speedup_over_numpy_one_at_a_time']:.1f}x) | "
        f"bit-exact (outputs, c, saturation counts) {b['bit_exact']} | load average "
        + " / ".join(f"{v:.2f}" for v in b["load_average_1min_samples"]),
        flush=True,
    )
    if args.before:
        ba = before_after(
            args.batched_hidden,
            args.block,
            args.batch,
            args.batch_steps,
            args.seed,
            args.before,
            args.repeats,
            args.threads,
        )
        b["before_after"] = ba
        for nt, row in ba["by_threads"].items():
            w, c = row["wall_steps_per_second"], row["cpu_steps_per_second"]
            print(
                f"today vs {args.before} ({nt} thread(s), same batch, interleaved, best of {args.repeats}): wall "
                f"{w['today']:.0f} vs {w['before']:.0f} steps/s ({row['wall_speedup']:.2f}x) | CPU time "
                f"{c['today']:.0f} vs {c['before']:.0f} steps/s ({row['cpu_speedup']:.2f}x) | bit-exact "
                f"{row['bit_exact']} | load average "
                + " / ".join(f"{v:.2f}" for v in row["load_average_1min_samples"]),
                flush=True,
            )
    print(
        "fast path profile (own time): "
        + ", ".join(f"{p['function']} {p['share']:.0%}" for p in b["profile"])
    )
    print()
    payload: dict = {
        "benchmark": "golden model time steps per second: batched fast path vs one sequence at a time",
        "machine": {
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
        "batched": b,
    }
    if args.only_batched:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_json(args.out, payload, force=True)
        print(f"wrote {args.out}")
        return
    results = []
    print(
        f"{'hidden':>7} {'k':>3} {'fast steps/s':>13} {'fxpmath steps/s':>16} {'ratio':>8} {'bit-exact':>9}"
    )
    for hidden in args.hidden:
        r = measure(hidden, args.block, args.steps, args.ref_steps, args.seed)
        results.append(r)
        print(
            f"{hidden:>7} {args.block:>3} {r['fast_steps_per_second']:>13.1f} {r['ref_steps_per_second']:>16.3f} "
            f"{r['fast_over_ref']:>8.0f} {r['bit_exact_on_ref_steps']!s:>9}",
            flush=True,
        )
    trend = error_trend(args.trend_hidden, args.block, args.trend_steps, args.seed)
    print(
        f"\nerror vs float64 (hidden {args.trend_hidden}, k {args.block}, batch 4, {args.trend_steps} steps)"
    )
    print(f"{'cell':>5} {'bits':>5} {'max abs':>10} {'rms':>10}")
    for row in trend:
        print(
            f"{row['cell']:>5} {row['data_bits']:>5} {row['max_abs_error']:>10.2e} {row['rms_error']:>10.2e}"
        )
    payload["results"] = results
    payload["error_trend"] = trend
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(args.out, payload, force=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
