"""The golden model on batches (issue 18): a batch of ragged sequences run together on the compiled kernels
gives exactly what each sequence gives alone on the numpy path, and the kernels equal ``golden/fft.py``.

``GoldenNetwork.run`` advances N sequences together; for large batches the FFT/IFFT go through the
compiled twins of ``ernn.golden.kernels``, the MAC through float64 BLAS (exact below 2**53) and the
activations through a table of every input code. The reference here is the per-sequence run with every
one of those off (``matvec.COMPILED_MIN_BLOCKS = None``): today's numpy path. Compared: every output
integer (h and, for LSTMs, c of every layer) and every saturation point's saturated and seen counts,
summed over the sequences. The inputs are scaled so that several points saturate.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from ernn.golden import batched, cells, fft, fused, kernels, matvec, unrolled
from ernn.golden.float_reference import random_model
from ernn.golden.formats import QFormat
from ernn.golden.network import GoldenNetwork, numerics_for_model
from ernn.golden.ops import SaturationLog

MODELS = {
    "lstm": {"cell": "lstm", "block_size": 8},
    "lstmp_peephole": {"cell": "lstm", "block_size": 4, "proj_size": 12, "peephole": True},
    "gru": {"cell": "gru", "block_size": 16},
    "lstm_2layer": {"cell": "lstm", "block_size": 8, "num_layers": 2},
    "gru_2layer_k4": {"cell": "gru", "block_size": 4, "num_layers": 2},
    "lstm_peephole_k4": {"cell": "lstm", "block_size": 4, "peephole": True},
}


def _summed(logs: list[SaturationLog]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for log in logs:
        for key, val in log.as_dict().items():
            acc = out.setdefault(key, {"saturated": 0, "seen": 0})
            acc["saturated"] += val["saturated"]
            acc["seen"] += val["seen"]
    return out


@pytest.mark.parametrize("name", sorted(MODELS))
def test_batched_equals_sequence_at_a_time(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The step-by-step fast path (the batch-minor runner off)."""
    _compare_batched(name, monkeypatch)


#: models the batch-minor runner (ernn.golden.batched) takes: block size 4 in the default suite (each
#: block size compiles its own unrolled kernels, seconds each), 8 and 16 in the slow one
BATCH_MINOR = ["gru_2layer_k4", "lstm_peephole_k4", pytest.param("lstm", marks=pytest.mark.slow)]


@pytest.mark.parametrize("name", BATCH_MINOR)
def test_batch_minor_equals_sequence_at_a_time(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch-minor runner (unrolled FFT/IFFT, one stacked MAC, batch-minor cells) against each
    sequence alone on the numpy path."""
    _compare_batched(name, monkeypatch, batch_minor=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gru", "lstm_2layer"])
def test_batch_minor_equals_sequence_at_a_time_k16(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch-minor runner at k = 16 and on two layers, also on two threads."""
    _compare_batched(name, monkeypatch, batch_minor=True)
    kernels.set_threads(2)
    try:
        _compare_batched(name, monkeypatch, batch_minor=True)
    finally:
        kernels.set_threads(1)


def _compare_batched(name: str, monkeypatch: pytest.MonkeyPatch, batch_minor: bool = False) -> None:
    used = []
    real = batched.run_network

    def spy(*args, **kw):
        used.append(True)
        return real(*args, **kw)

    monkeypatch.setattr(batched, "run_network", spy)
    if not batch_minor:
        monkeypatch.setattr(batched, "supported", lambda layer: False)
    kw = dict(MODELS[name])
    cell = kw.pop("cell")
    seed = sorted(MODELS).index(name)
    desc = random_model(cell, 20, 24, scale=2.0, seed=seed, **kw)
    net = GoldenNetwork(desc)
    rng = np.random.default_rng(seed)
    n, t_max = 7, 9
    x = rng.normal(scale=6.0, size=(n, t_max, 20))  # large enough to saturate the input and the cell
    lengths = np.array([9, 1, 5, 0, 9, 3, 7])

    monkeypatch.setattr(matvec, "COMPILED_MIN_BLOCKS", 1)  # every transform and MAC on the fast path
    run = net.run(x, lengths)
    assert bool(used) == batch_minor, f"{name}: the batch-minor runner {'not ' if batch_minor else ''}taken"
    monkeypatch.setattr(matvec, "COMPILED_MIN_BLOCKS", None)  # today's numpy path
    alone = [net.run(x[i : i + 1, : lengths[i]], lengths[i : i + 1]) for i in range(n)]

    for i in range(n):
        ln = int(lengths[i])
        for layer in range(net.info.num_layers):
            got, want = run.h_int[layer][i, :ln], alone[i].h_int[layer][0]
            if not np.array_equal(got, want):
                t, u = np.argwhere(got != want)[0]
                raise AssertionError(
                    f"{name} (seed {seed}): sequence {i} layer {layer} h first differs at step {t} unit {u}: "
                    f"batched {got[t, u]}, alone {want[t, u]}"
                )
            assert not run.h_int[layer][i, ln:].any(), f"{name}: outputs after sequence {i}'s end"
            if run.c_int is not None:
                assert alone[i].c_int is not None
                np.testing.assert_array_equal(
                    run.c_int[layer][i, :ln], alone[i].c_int[layer][0], err_msg=f"{name}: c, sequence {i}"
                )
    want_log = _summed([a.log for a in alone])
    assert run.log.as_dict() == want_log, f"{name} (seed {seed}): saturation counts differ"
    assert run.log.total > 0, f"{name}: the stimulus must saturate somewhere for the counts to be tested"


@pytest.mark.parametrize("k", [4, 8, 16, 32, 64])
def test_kernels_equal_numpy_fft(k: int) -> None:
    """The compiled FFT and IFFT against golden/fft.py: random and extreme inputs, counts included."""
    rng = np.random.default_rng(k)
    tw = QFormat(18, 16)
    out = QFormat(20, 12)
    in_fmt = QFormat(out.word - int(np.log2(k)), out.frac)
    x = rng.integers(in_fmt.min_int, in_fmt.max_int + 1, size=(70, 3, k))
    x[:20] = rng.choice([in_fmt.min_int, in_fmt.max_int], size=(20, 3, k))
    logs = SaturationLog(), SaturationLog()
    want, got = fft.fft_real(x, tw, out, logs[0]), kernels.fft_real(x, tw, out, logs[1])
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert logs[1].as_dict() == logs[0].as_dict()

    fmt = QFormat(23, 14)
    nb = k // 2 + 1
    re = rng.integers(-fmt.max_int, fmt.max_int + 1, size=(300, nb))
    im = rng.integers(-fmt.max_int, fmt.max_int + 1, size=(300, nb))
    re[:100] = rng.choice([-fmt.max_int, fmt.max_int], size=(100, nb))  # saturates the later stages
    im[:100] = rng.choice([-fmt.max_int, fmt.max_int], size=(100, nb))
    logs = SaturationLog(), SaturationLog()
    want_y = fft.ifft_real(re, im, tw, fmt, logs[0])
    got_y = kernels.ifft_real(re, im, tw, fmt, logs[1])
    np.testing.assert_array_equal(got_y, want_y)
    assert logs[1].as_dict() == logs[0].as_dict()
    if k >= 8:
        assert logs[0].total > 0, "the extreme IFFT inputs must saturate a stage"


def test_kernels_refuse_out_of_format_input() -> None:
    with pytest.raises(ValueError, match="outside its format"):
        kernels.fft_real(np.full((1, 8), 1 << 20), QFormat(18, 16), QFormat(20, 12))
    with pytest.raises(ValueError, match="symmetric IFFT range"):
        kernels.ifft_real(
            np.full((1, 5), -(1 << 22)), np.zeros((1, 5), np.int64), QFormat(18, 16), QFormat(23, 14)
        )


def _random_cell_inputs(cell: str, seed: int):
    """A config and random integers over each operand's whole format (many points saturate)."""
    desc = random_model(cell, 8, 40, block_size=8, peephole=cell == "lstm", seed=seed)
    cfg = numerics_for_model(desc)
    rng = np.random.default_rng(seed)

    def draw(fmt: QFormat, *shape: int) -> np.ndarray:
        return rng.integers(fmt.min_int, fmt.max_int + 1, size=shape)

    n, h = 300, 40
    return cfg, rng, draw, n, h


@pytest.mark.parametrize("peephole", [False, True])
def test_compiled_lstm_cell_equals_numpy(peephole: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """kernels.lstm_cell (through cells.lstm_cell on the fast path) against the numpy cell step: every
    output integer and every saturation count, on operands spread over their formats."""
    cfg, rng, draw, n, h = _random_cell_inputs("lstm", 1 + peephole)
    y = draw(cfg.ifft_out, n, 4, h) >> rng.integers(0, 6, size=(n, 4, h))  # small and saturating values
    c_prev, bias = draw(cfg.cell, n, h), draw(cfg.bias, 4, h)
    peep = draw(cfg.peephole, 3, h) if peephole else None
    runs = []
    for min_blocks in (1, None):
        monkeypatch.setattr(matvec, "COMPILED_MIN_BLOCKS", min_blocks)
        log = SaturationLog()
        runs.append((*cells.lstm_cell(y, c_prev, bias, cfg, log, peep), log.as_dict()))
    (m, c, got_log), (m_ref, c_ref, want_log) = runs
    np.testing.assert_array_equal(c, c_ref)
    np.testing.assert_array_equal(m, m_ref)
    assert got_log == want_log
    for point in ("gate_pre", "cell", "tanh_c_in"):  # (o * tanh(c) cannot leave Q(data))
        assert want_log[point]["saturated"] > 0, f"the stimulus must saturate {point}"


def test_compiled_gru_cell_equals_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """kernels.gru_cell against the numpy GRU cell step: outputs and counts."""
    cfg, rng, draw, n, h = _random_cell_inputs("gru", 3)
    y_rz = draw(cfg.ifft_out, n, 2, h) >> rng.integers(0, 6, size=(n, 2, h))
    y_in = draw(cfg.ifft_out, n, h) >> rng.integers(0, 6, size=(n, h))
    y_hn = draw(cfg.ifft_out, n, h) >> rng.integers(0, 6, size=(n, h))
    h_prev, bias, b_hn = draw(cfg.data, n, h), draw(cfg.bias, 3, h), draw(cfg.bias, h)
    runs = []
    for min_blocks in (1, None):
        monkeypatch.setattr(matvec, "COMPILED_MIN_BLOCKS", min_blocks)
        log = SaturationLog()
        runs.append((cells.gru_cell(y_rz, y_in, y_hn, h_prev, bias, b_hn, cfg, log), log.as_dict()))
    (got, got_log), (want, want_log) = runs
    np.testing.assert_array_equal(got, want)
    assert got_log == want_log
    for point in ("gate_pre", "gru_hn"):
        assert want_log[point]["saturated"] > 0, f"the stimulus must saturate {point}"


@pytest.mark.parametrize(
    ("name", "kernel", "breakage"),
    [
        ("lstm", "compiled_lstm_cell", "output"),
        ("lstmp_peephole", "compiled_lstm_cell", "count"),
        ("gru", "compiled_gru_cell", "output"),
        ("gru", "compiled_gru_cell", "count"),
    ],
)
def test_broken_cell_kernel_is_caught(
    name: str, kernel: str, breakage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batched comparison fails when a compiled cell kernel is off by one LSB in one output, or
    miscounts a saturation: the fast path really goes through the kernels and every integer is checked."""
    good = getattr(cells, kernel)  # cells' names for kernels.lstm_cell / gru_cell

    def broken(*args, **kw):
        out = good(*args, **kw)
        log = args[-1]  # cells passes the log last, positionally
        if breakage == "count":
            assert log is not None
            log.record("hidden", 1, 0)
            return out
        first = out[0] if isinstance(out, tuple) else out
        first[0, 0] += 1
        return out

    monkeypatch.setattr(cells, kernel, broken)
    with pytest.raises(AssertionError):
        _compare_batched(name, monkeypatch)


def test_bins_major_finish_equals_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """kernels.output_blocks_bins_major (the IFFT pass reading the float64 MAC results in BLAS's layout)
    against matvec.output_blocks on the numpy path: outputs and counts, with saturating IFFT inputs."""
    desc = random_model("lstm", 8, 48, block_size=8, seed=5)
    cfg = numerics_for_model(desc)
    rng = np.random.default_rng(5)
    m, g, p, nb = 70, 4, 6, 5
    lim = cfg.accumulator.max_int
    shape = (m, g, p, nb)
    re = rng.integers(-lim, lim + 1, size=shape) >> rng.integers(0, 12, size=shape)
    im = rng.integers(-lim, lim + 1, size=shape) >> rng.integers(0, 12, size=shape)
    im[..., 0] = im[..., -1] = 0  # bins 0 and k/2 of a real block's spectrum are real
    f = np.stack((re, im)).transpose(4, 0, 2, 3, 1).reshape(nb, 2, g * p, m).astype(np.float64)
    logs = SaturationLog(), SaturationLog()
    got = kernels.output_blocks_bins_major(f, cfg, logs[0], "ifft")
    monkeypatch.setattr(matvec, "COMPILED_MIN_BLOCKS", None)
    want = matvec.output_blocks(re, im, p * 8, cfg, logs[1], "ifft")
    assert got is not None
    np.testing.assert_array_equal(got.reshape(m, g, p * 8), want)
    assert logs[0].as_dict() == logs[1].as_dict()
    assert logs[1].counts["ifft_in"] > 0, "the stimulus must saturate the IFFT input"


def test_bins_major_accumulators_sum_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path's accumulators (BLAS layout) add, select gates and convert to the same integers as the
    int64 path's, and refuse to add in float64 when the sum could pass 2**53."""
    rng = np.random.default_rng(6)
    w = matvec.Spectra(rng.integers(-500, 500, size=(3, 4, 5, 9)), rng.integers(-500, 500, size=(3, 4, 5, 9)))
    xs = [
        (rng.integers(-9000, 9000, size=(40, 5, 9)), rng.integers(-9000, 9000, size=(40, 5, 9)))
        for _ in range(2)
    ]
    monkeypatch.setattr(matvec, "COMPILED_MIN_BLOCKS", 1)
    fast = [w._mac_bins_major(xr, xi, 1 << 40, (40,)) for xr, xi in xs]
    assert all(isinstance(a, matvec.BinsMajorAccumulators) for a in fast)
    slow = [matvec.Accumulators(*matvec.cmac(w.re, w.im, xr, xi)) for xr, xi in xs]
    total, want = fast[0] + fast[1], slow[0] + slow[1]
    assert isinstance(total, matvec.BinsMajorAccumulators)
    np.testing.assert_array_equal(total.re, want.re)
    np.testing.assert_array_equal(total.gates(slice(1, 3)).im, want.gates(slice(1, 3)).im)
    mixed = slow[0] + fast[1]  # an int64 accumulator meets a bins-major one (ernn.train.qat does)
    np.testing.assert_array_equal(mixed.im, want.im)
    cat = matvec.concat_gates([fast[0].gates(slice(0, 1)), slow[1].gates(slice(1, 3))])
    np.testing.assert_array_equal(cat.re, np.concatenate((slow[0].re[:, :1], slow[1].re[:, 1:3]), axis=1))
    big = matvec.BinsMajorAccumulators(fast[0].f, (40,), 1 << 52)
    assert isinstance(big + big, matvec.Accumulators)  # 2**53 could be reached: int64 sum instead


def _spread_accumulators(cfg, rng, shape: tuple[int, ...], lim: int) -> tuple[np.ndarray, np.ndarray]:
    """Accumulator re/im (M, G, p, bins) spread over [-lim, lim] (each value shifted right by 0..11 bits,
    so small and saturating values both occur); bins 0 and k/2 real."""
    re = rng.integers(-lim, lim + 1, size=shape) >> rng.integers(0, 12, size=shape)
    im = rng.integers(-lim, lim + 1, size=shape) >> rng.integers(0, 12, size=shape)
    re[:40] = rng.choice([-lim, lim], size=re[:40].shape)  # extremes: the IFFT stages saturate too
    im[:40] = rng.choice([-lim, lim], size=im[:40].shape)
    im[..., 0] = im[..., -1] = 0
    return re, im


def _bins_major(re: np.ndarray, im: np.ndarray) -> np.ndarray:
    m, g, p, nb = re.shape
    return np.stack((re, im)).transpose(4, 0, 2, 3, 1).reshape(nb, 2, g * p, m).astype(np.float64)


@pytest.mark.parametrize("k", [4, 8, 16])
def test_float_finish_equals_int64_finish(k: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The float64 IFFT pass (kernels._finish_bins_major_f_kernel) against the numpy path and the int64
    kernel: two accumulator terms summed where it reads them, values over the whole accumulator format
    (every IFFT point saturates somewhere), 1 and 2 threads: the same integers and counts each time."""
    desc = random_model("lstm", 8, 48, block_size=k, seed=7)
    cfg = numerics_for_model(desc)
    assert kernels.float_ifft_exact(cfg), "the default formats must take the float64 pass"
    rng = np.random.default_rng(k)
    m, g, p, nb = 150, 4, 3, k // 2 + 1
    half = cfg.accumulator.max_int // 2  # the sum of two terms stays inside the format
    (r1, i1), (r2, i2) = (_spread_accumulators(cfg, rng, (m, g, p, nb), half) for _ in range(2))
    f1, f2 = _bins_major(r1, i1), _bins_major(r2, i2)
    runs = []
    for threads in (1, 2):
        kernels.set_threads(threads)
        try:
            log = SaturationLog()
            runs.append((kernels.output_blocks_bins_major(f1, cfg, log, "ifft", f2), log.as_dict()))
        finally:
            kernels.set_threads(1)
    monkeypatch.setattr(kernels, "float_ifft_exact", lambda cfg: False)  # the int64 kernel
    log = SaturationLog()
    runs.append((kernels.output_blocks_bins_major(f1, cfg, log, "ifft", f2), log.as_dict()))
    monkeypatch.setattr(matvec, "COMPILED_MIN_BLOCKS", None)
    log = SaturationLog()
    want = matvec.output_blocks(r1 + r2, i1 + i2, p * k, cfg, log, "ifft")
    want_log = log.as_dict()
    for got, got_log in runs:
        assert got is not None
        np.testing.assert_array_equal(got.reshape(m, g, p * k), want)
        assert got_log == want_log
    assert want_log["ifft_in"]["saturated"] > 0, "the stimulus must saturate the IFFT input"
    stages = sum(want_log[f"ifft_stage{s}"]["saturated"] for s in range(1, int(np.log2(k)) + 1))
    assert stages > 0 or k == 4, "the stimulus must saturate an IFFT stage"  # (k = 4's twiddles cannot)


def test_float_transforms_refused_for_wide_formats() -> None:
    """float_ifft_exact / float_fft_exact are False where a twiddle product could pass 2**52 (then the
    int64 kernels run)."""
    desc = random_model("lstm", 8, 48, block_size=8, seed=7)
    cfg = numerics_for_model(desc)
    wide = cfg.replace(twiddle=QFormat(27, 25), ifft=QFormat(30, 14))
    assert not kernels.float_ifft_exact(wide)
    assert not kernels.float_fft_exact(QFormat(27, 25), QFormat(30, 14))
    assert kernels.fft_bins_major(np.zeros((2, 8), np.int64), 1, QFormat(27, 25), QFormat(30, 14)) is None


@pytest.mark.parametrize("kernel", ["_finish_bins_major_f_kernel", "_fft_bins_major_f_kernel"])
@pytest.mark.parametrize("breakage", ["output", "count"])
def test_broken_float_transform_is_caught(
    kernel: str, breakage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batched comparison fails when the float64 IFFT pass or FFT is off by one LSB or miscounts one
    saturation: the fast path goes through them and every integer is checked."""
    good = getattr(kernels, kernel)
    at = -2 if kernel.startswith("_finish") else -3  # (..., out, counts) / (..., out, counts, peaks)

    def broken(*args):
        good(*args)
        out, counts = args[at], args[at + 1]
        if breakage == "count":
            counts[0, -1] += 1
        else:  # every output one LSB up (a single one can vanish in a later rounding shift)
            out += 1

    monkeypatch.setattr(kernels, kernel, broken)
    with pytest.raises(AssertionError):
        _compare_batched("lstm", monkeypatch)


@pytest.mark.parametrize("name", ["lstm_2layer", "gru"])
def test_batched_equals_sequence_at_a_time_two_threads(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batched comparison with the parallel kernels on two threads."""
    kernels.set_threads(2)
    try:
        _compare_batched(name, monkeypatch)
    finally:
        kernels.set_threads(1)


@pytest.mark.parametrize("k", [4, 16, 64])
def test_fft_bins_major_equals_numpy_fft(k: int) -> None:
    """kernels.fft_bins_major (the float64 FFT writing the MAC operand) against golden/fft.py's FFT laid
    out by spectra_to_bins_major: inputs over the whole input format and at its extremes (the forward
    stages widen by a bit each, so they rarely saturate; the counts are compared all the same), 1 and
    2 threads; the spectra, the counts and the peak |component|."""
    rng = np.random.default_rng(100 + k)
    tw, out = QFormat(18, 16), QFormat(20, 12)
    in_fmt = QFormat(out.word - int(np.log2(k)), out.frac)
    m, q = 45, 3
    x = rng.integers(in_fmt.min_int, in_fmt.max_int + 1, size=(m, q * k)) >> rng.integers(
        0, 8, size=(m, q * k)
    )
    x[:15] = rng.choice([in_fmt.min_int, in_fmt.max_int], size=(15, q * k))
    log = SaturationLog()
    re, im = fft.fft_real(x.reshape(m, q, k), tw, out, log)
    want = kernels.spectra_to_bins_major(re, im)
    for threads in (1, 2):
        kernels.set_threads(threads)
        try:
            got_log = SaturationLog()
            res = kernels.fft_bins_major(x, q, tw, out, got_log)
        finally:
            kernels.set_threads(1)
        assert res is not None
        np.testing.assert_array_equal(res[0], want)
        assert res[1] == max(np.abs(re).max(), np.abs(im).max())
        assert got_log.as_dict() == log.as_dict()


def test_thread_count_option() -> None:
    """kernels.set_threads takes a count >= 1 (the default is 1 on this shared machine) and refuses 0."""
    assert kernels.threads() >= 1
    kernels.set_threads(3)
    try:
        assert kernels.threads() == 3
    finally:
        kernels.set_threads(1)
    with pytest.raises(ValueError, match="threads must be >= 1"):
        kernels.set_threads(0)


def _fft_tiles(x, q, m, cfg, out, col, stride):
    """unrolled.fft_tile over blocks :q and batch columns :m, a tile of LANES at a time (the last one
    partial), writing only the columns :m; the per-block counts (q, log2 k)."""
    k = cfg.block_size
    tile, lanes = unrolled.fft_tile(k, cfg.twiddle), unrolled.LANES
    los, his = unrolled.fft_limits(k, cfg.fft_out)
    tin, tout = np.empty(k * lanes), np.empty((k + 2) * lanes)
    counts = np.zeros((q, int(np.log2(k))), dtype=np.int64)
    for j in range(q):
        for i0 in range(0, m, lanes):
            w = min(lanes, m - i0)
            tile(x, j, i0, w, los, his, out, col, stride, i0, w, tin, tout, counts, j, 0)
    return counts


def _ifft_tiles(acc, rr, m, cfg, y):
    """unrolled.ifft_tile over accumulator rows :rr and batch columns :m into y (rr k, N) int64; the
    per-row counts (rr, log2 k + 3)."""
    k = cfg.block_size
    tile, lanes = unrolled.ifft_tile(k, cfg), unrolled.LANES
    limf, shift = unrolled.ifft_limits(cfg)
    tin, tout = np.empty((k + 2) * lanes), np.empty((1, k * lanes))
    counts = np.zeros((rr, int(np.log2(k)) + 3), dtype=np.int64)
    for r in range(rr):
        for i0 in range(0, m, lanes):
            w = min(lanes, m - i0)
            tile(acc, r, rr, i0, w, limf, shift, tin, tout, 0, counts, r, 0)
            y[r * k : (r + 1) * k, i0 : i0 + w] = tout[0].reshape(k, lanes)[:, :w]
    return counts


@pytest.mark.parametrize("k", [4, *(pytest.param(k, marks=pytest.mark.slow) for k in (8, 16, 32))])
def test_unrolled_transforms_equal_numpy(k: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unrolled FFT tile against golden/fft.py's FFT, and the IFFT tile against matvec.output_blocks on
    the numpy path (accumulator shift, IFFT, output saturation): inputs over their whole formats and at the
    extremes so that the IFFT input, stages and output saturate; two lane tiles, the second partial; the
    counts compared per point."""
    rng = np.random.default_rng(200 + k)
    desc = random_model("lstm", 2 * k, 2 * k, block_size=k, seed=k)
    cfg = numerics_for_model(desc)
    in_fmt = QFormat(cfg.fft_out.word - int(np.log2(k)), cfg.fft_out.frac)
    m, q = unrolled.LANES + 9, 3
    x = rng.integers(in_fmt.min_int, in_fmt.max_int + 1, size=(m, q * k)) >> rng.integers(
        0, 8, size=(m, q * k)
    )
    x[:15] = rng.choice([in_fmt.min_int, in_fmt.max_int], size=(15, q * k))
    log = SaturationLog()
    re, im = fft.fft_real(x.reshape(m, q, k), cfg.twiddle, cfg.fft_out, log)
    nb = k // 2 + 1
    stride = q + 2  # rows of the other operand's blocks in between
    op = np.full((nb, 3 * stride + 1, m + 5), np.nan)
    counts = _fft_tiles(np.ascontiguousarray(x.T), q, m, cfg, op, 1, stride)
    np.testing.assert_array_equal(op[:, 1 : 1 + q, :m], re.transpose(2, 1, 0))
    np.testing.assert_array_equal(op[:, 1 + stride : 1 + stride + q, :m], im.transpose(2, 1, 0))
    np.testing.assert_array_equal(
        op[:, 1 + 2 * stride : 1 + 2 * stride + q, :m], (re + im).transpose(2, 1, 0)
    )
    written = np.zeros(op.shape[1], dtype=bool)
    for base in (1, 1 + stride, 1 + 2 * stride):
        written[base : base + q] = True
    assert np.isnan(op[:, ~written]).all() and np.isnan(op[:, :, m:]).all(), (
        "the FFT tile wrote outside its rows/columns"
    )
    assert [int(c) for c in counts.sum(axis=0)] == [
        log.counts[f"fft_stage{s}"] for s in range(1, counts.shape[1] + 1)
    ]

    rr = 6
    lim = cfg.accumulator.max_int
    shape = (m, rr, nb)
    are = rng.integers(-lim, lim + 1, size=shape) >> rng.integers(0, 12, size=shape)
    aim = rng.integers(-lim, lim + 1, size=shape) >> rng.integers(0, 12, size=shape)
    aim[..., 0] = aim[..., -1] = 0  # bins 0 and k/2 of a real block's spectrum are real
    # the Gauss MAC's products as it leaves them: P1, P2, P3 with Re = P1 - P2, Im = P3 - P1 - P2 (P2
    # random, so both differences matter); of the real bins 0 and k/2, P1 = Re alone
    p2 = (rng.integers(-lim, lim + 1, size=shape) >> 2) >> rng.integers(0, 12, size=shape)
    p2[..., 0] = p2[..., -1] = 0
    p1, p3 = are + p2, aim + are + 2 * p2
    acc = np.concatenate([a.transpose(2, 1, 0) for a in (p1, p2, p3)], axis=1).astype(np.float64)
    acc[[0, nb - 1], rr:] = np.nan  # not read: the real bins' P2 and P3 are never formed
    y = np.zeros((rr * k, m), dtype=np.int64)
    counts = _ifft_tiles(acc, rr, m, cfg, y).sum(axis=0)
    monkeypatch.setattr(matvec, "COMPILED_MIN_BLOCKS", None)
    want_log = SaturationLog()
    want = matvec.output_blocks(are, aim, rr * k, cfg, want_log, "ifft")  # (m, rr k)
    np.testing.assert_array_equal(y.T, want)
    names = ["ifft_in", *(f"ifft_stage{s}" for s in range(1, len(counts) - 2)), "ifft_out"]
    assert counts[0] == 0
    assert dict(zip(names, map(int, counts[1:]), strict=True)) == want_log.counts
    assert want_log.counts["ifft_in"] and want_log.counts["ifft_out"], "the stimulus must saturate"


@pytest.mark.parametrize(
    ("cell", "breakage"),
    [
        ("lstm", "output"),
        ("lstm", "state"),
        ("lstm", "cell"),
        ("lstm", "fft count"),
        ("lstm", "cell count"),
        ("gru", "output"),
    ],
)
def test_broken_fused_step_is_caught(cell: str, breakage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batched comparison fails when the fused step of the batch-minor runner (ernn.golden.fused:
    FFT, MAC, IFFT, cell, store) is off by one LSB (every value of a step one LSB up, as a single one can
    vanish in a later rounding) in the stored h_t or c_t or in the state the next step reads, or miscounts
    one saturation of the FFT or of the cell."""
    good = getattr(fused, f"{cell}_step")
    params = inspect.signature(good)

    def broken(*args):
        counts = good(*args)
        a = params.bind(*args).arguments
        rows = a["order"][: a["m"]]
        if breakage == "output":
            a["h_dst"][rows, a["t"]] += 1
        elif breakage == "cell":
            a["c_dst"][rows, a["t"]] += 1
        elif breakage == "state":
            a["h_new"][:, : a["m"]] += 1
        else:
            counts = counts.copy()
            counts[0 if breakage == "fft count" else -1] += 1
        return counts

    monkeypatch.setattr(fused, f"{cell}_step", broken)
    with pytest.raises(AssertionError):
        _compare_batched(
            {"lstm": "lstm_peephole_k4", "gru": "gru_2layer_k4"}[cell], monkeypatch, batch_minor=True
        )


def test_batch_minor_input_quantization(monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch-minor runner quantizes the input itself (ernn.golden.batched.run_network): integer
    inputs out of Q(data) saturate with the numpy path's xq, outputs and counts; a NaN frame is refused
    with the numpy path's error; a NaN past a sequence's end is not an input frame and runs."""
    desc = random_model("lstm", 20, 24, scale=2.0, seed=3, block_size=4, peephole=True)
    net = GoldenNetwork(desc)
    rng = np.random.default_rng(3)
    lim = net.numerics.data.max_int
    x = rng.integers(-2 * lim, 2 * lim, size=(5, 6, 20))
    lengths = np.array([6, 2, 0, 5, 6])
    monkeypatch.setattr(matvec, "COMPILED_MIN_BLOCKS", 1)
    used = []
    real = batched.run_network
    monkeypatch.setattr(batched, "run_network", lambda *a: used.append(1) or real(*a))
    got = net.run(x, lengths)
    xf = rng.normal(scale=6.0, size=(5, 6, 20))
    xf[1, 4:] = np.nan  # past sequence 1's length (2)
    got_f = net.run(xf, lengths)
    bad = xf.copy()
    bad[3, 4, 7] = np.nan
    with pytest.raises(ValueError, match="cannot quantize NaN"):
        net.run(bad, lengths)
    assert len(used) == 3, "the batch-minor runner must take these runs"
    monkeypatch.setattr(matvec, "COMPILED_MIN_BLOCKS", None)
    for inp, run in ((x, got), (xf, got_f)):
        want = net.run(inp, lengths)
        np.testing.assert_array_equal(run.input_int, want.input_int)
        np.testing.assert_array_equal(run.h_int[0], want.h_int[0])
        assert run.c_int is not None and want.c_int is not None
        np.testing.assert_array_equal(run.c_int[0], want.c_int[0])
        assert run.log.as_dict() == want.log.as_dict()
    assert got.log.counts["input"] > 0, "the integer stimulus must saturate the input"
    with pytest.raises(ValueError, match="cannot quantize NaN"):
        net.run(bad, lengths)  # the numpy path refuses the same input
