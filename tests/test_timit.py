"""The TIMIT recipe (ernn.data.timit, ``ernn data timit``) on a miniature corpus in TIMIT's layout.

TIMIT is licensed and not here: the fixture writes a few speakers of each kind (training, core test,
development, neither) with SA/SI/SX sentences of synthetic audio in NIST SPHERE files whose headers copy
TIMIT's fields, and .PHN files with real TIMIT phone symbols (h#, q, pau, epi, closures).
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ernn import cli
from ernn.data import timit
from ernn.files import manifest

RATE, WIN, HOP = 16000, 400, 160  # 25 ms windows every 10 ms at 16 kHz
N_FFT = 512  # the FFT block around each window: the next power of two of 400 samples

# Lee & Hon (1989) folding, as written in the issue; every other symbol but q is its own class
FOLDS = {
    "ao": "aa", "ax": "ah", "ax-h": "ah", "axr": "er", "hv": "hh", "ix": "ih", "el": "l", "em": "m",
    "en": "n", "nx": "n", "eng": "ng", "zh": "sh", "ux": "uw", "pcl": "sil", "tcl": "sil", "kcl": "sil",
    "bcl": "sil", "dcl": "sil", "gcl": "sil", "h#": "sil", "pau": "sil", "epi": "sil",
}  # fmt: skip

TRAIN_SPEAKERS = {"DR1": ["FCJF0", "MWAR0"], "DR2": ["FAEM0"]}
CORE, DEV, OTHER = "MDAB0", "FAKS0", "MABC0"
TEST_SPEAKERS = {"DR1": [CORE, DEV], "DR2": ["MTAS1", OTHER]}
SENTENCES = ("SA1", "SA2", "SI1027", "SX127", "SX217")

# one sentence with hand-made boundaries: the frame labels are checked against these
KNOWN = (CORE, "SI1027")
KNOWN_SEGMENTS = [
    (0, 1000, "h#"),
    (1000, 2300, "aa"),
    (2300, 2700, "q"),
    (2700, 3400, "iy"),
    (3400, 3800, "bcl"),
    (3800, 4500, "b"),
    (4500, 5300, "ix"),
    (5300, 5600, "pau"),
    (5600, 6400, "h#"),
]


def write_sphere(path: Path, samples: np.ndarray, utterance: str) -> None:
    """A 16-bit NIST SPHERE file with TIMIT's header fields (1024-byte header, little-endian samples)."""
    x = samples.astype("<i2")
    fields = [
        "database_id -s5 TIMIT",
        "database_version -s3 1.0",
        f"utterance_id -s{len(utterance)} {utterance}",
        "channel_count -i 1",
        f"sample_count -i {len(x)}",
        f"sample_rate -i {RATE}",
        f"sample_min -i {x.min()}",
        f"sample_max -i {x.max()}",
        "sample_n_bytes -i 2",
        "sample_byte_format -s2 01",
        "sample_sig_bits -i 16",
        "end_head",
    ]
    header = ("NIST_1A\n   1024\n" + "\n".join(fields) + "\n").encode("ascii")
    path.write_bytes(header + b" " * (1024 - len(header)) + x.tobytes())


def _segments(rng: np.random.Generator, phones, n: int) -> list[tuple[int, int, str]]:
    lead = int(rng.integers(800, 1600))
    out, pos = [(0, lead, "h#")], lead
    while pos < n - 1600:
        length = int(rng.integers(400, 1200))
        out.append((pos, pos + length, next(phones)))
        pos += length
    return [*out, (pos, n, "h#")]


def _audio(rng: np.random.Generator, segments) -> np.ndarray:
    """A tone per phone (its frequency depends on the symbol) plus a little noise."""
    parts = []
    for start, end, phone in segments:
        t = np.arange(end - start) / RATE
        tone = (
            0.0
            if phone in ("h#", "pau")
            else np.sin(2 * np.pi * (150 + 55 * timit.PHONES_61.index(phone)) * t)
        )
        parts.append(0.3 * tone + 0.01 * rng.normal(size=len(t)))
    return np.round(np.concatenate(parts) * 32767 * 0.5)


def write_corpus(root: Path) -> None:
    rng = np.random.default_rng(14)
    cycle = iter([p for p in timit.PHONES_61 if p != "h#"] * 20)
    for part, regions in (("TRAIN", TRAIN_SPEAKERS), ("TEST", TEST_SPEAKERS)):
        for region, speakers in regions.items():
            for speaker in speakers:
                folder = root / part / region / speaker
                folder.mkdir(parents=True)
                for sentence in SENTENCES:
                    if (speaker, sentence) == KNOWN:
                        segments = KNOWN_SEGMENTS
                    else:
                        segments = _segments(rng, cycle, int(rng.integers(int(0.3 * RATE), int(0.5 * RATE))))
                    write_sphere(
                        folder / f"{sentence}.WAV", _audio(rng, segments), f"{speaker}_{sentence}".lower()
                    )
                    (folder / f"{sentence}.PHN").write_text("".join(f"{s} {e} {p}\n" for s, e, p in segments))
                    (folder / f"{sentence}.TXT").write_text("0 6400 Some words.\n")  # ignored


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("timit") / "TIMIT"
    write_corpus(root)
    return root


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "timit-data"
    meta = timit.build(corpus, out, workers=1)
    return out, meta


def test_speaker_lists_are_the_standard_ones():
    assert len(timit.CORE_TEST_SPEAKERS) == len(set(timit.CORE_TEST_SPEAKERS)) == 24
    assert len(timit.DEV_SPEAKERS) == len(set(timit.DEV_SPEAKERS)) == 50
    assert not set(timit.CORE_TEST_SPEAKERS) & set(timit.DEV_SPEAKERS)
    # the core test set: 2 men and 1 woman from each of the 8 dialect regions
    assert sum(s.startswith("F") for s in timit.CORE_TEST_SPEAKERS) == 8
    for speakers in TRAIN_SPEAKERS.values():
        assert not set(speakers) & (set(timit.CORE_TEST_SPEAKERS) | set(timit.DEV_SPEAKERS))
    assert OTHER not in timit.CORE_TEST_SPEAKERS + timit.DEV_SPEAKERS


def test_61_phones_fold_to_39_classes():
    assert len(timit.PHONES_61) == len(set(timit.PHONES_61)) == 61
    for phone in timit.PHONES_61:
        assert timit.FOLD[phone] == (None if phone == "q" else FOLDS.get(phone, phone)), phone
    want = sorted({FOLDS.get(p, p) for p in timit.PHONES_61 if p != "q"})
    assert timit.PHONES_39 == want and len(want) == 39


def test_q_takes_the_preceding_phone_or_the_following_at_the_start():
    segs = [(0, 10, "q"), (10, 20, "ix"), (20, 30, "q"), (30, 40, "q"), (40, 50, "tcl")]
    assert [p for _, _, p in timit.fold_segments(segs)] == ["ih", "ih", "ih", "ih", "sil"]
    with pytest.raises(ValueError, match="only q"):
        timit.fold_segments([(0, 10, "q")], "X.PHN")


def test_gaps_and_the_tail_take_the_nearest_segment():
    cfg = timit.TIMIT_FEATURES
    segs = [(0, 1000, "aa"), (1500, 3000, "iy")]
    labels = timit.frame_labels(segs, 20, cfg)
    for t, label in enumerate(labels):
        centre = t * HOP + N_FFT // 2
        nearest = "aa" if centre < 1000 or centre - 999 < 1500 - centre else "iy"
        assert timit.PHONES_39[label] == nearest, (t, centre)


def test_sa_is_excluded_and_speakers_land_in_their_splits(built):
    out, meta = built
    names = [r["name"] for part in meta["recordings"].values() for r in part]
    assert names and not any(Path(n).stem.startswith("SA") for n in names)
    per_speaker = len(SENTENCES) - 2
    assert meta["speakers"]["train"] == sorted(s for ss in TRAIN_SPEAKERS.values() for s in ss)
    assert meta["speakers"]["dev"] == [DEV]
    assert meta["speakers"]["test"] == sorted([CORE, "MTAS1"])
    assert meta["counts"] == {"train": 3 * per_speaker, "dev": per_speaker, "test": 2 * per_speaker}
    assert OTHER not in json.dumps(meta["recordings"])  # TEST speakers of neither list are not used
    assert len(meta["speakers"]["missing"]["test"]) == 22 and len(meta["speakers"]["missing"]["dev"]) == 49
    for part, count in meta["counts"].items():
        with np.load(out / f"{part}.npz") as f:
            assert f["x"].shape[0] == f["lengths"].shape[0] == f["y"].shape[0] == count


def test_frame_labels_every_10_ms_follow_the_phn_boundaries(built):
    out, meta = built
    assert meta["labels"] == timit.PHONES_39 and meta["task"] == "frames"
    index = [r["name"] for r in meta["recordings"]["test"]].index(f"TEST/DR1/{CORE}/{KNOWN[1]}.WAV")
    with np.load(out / "test.npz") as f:
        lengths, y = f["lengths"], f["y"]
    n = KNOWN_SEGMENTS[-1][1]
    frames = 1 + (n - N_FFT) // HOP  # FFT blocks [t*HOP, t*HOP + N_FFT) that fit in the signal
    assert lengths[index] == frames
    assert (y[index, frames:] == -1).all()
    expected = []
    for t in range(frames):
        centre = t * HOP + N_FFT // 2
        phone = next(p for s, e, p in KNOWN_SEGMENTS if s <= centre < e)
        expected.append("aa" if phone == "q" else FOLDS.get(phone, phone))  # this q follows aa
    assert [meta["labels"][c] for c in y[index, :frames]] == expected
    assert {"aa", "iy", "sil", "b", "ih"} == set(expected)


def test_153_features_per_frame(built):
    out, meta = built
    assert meta["num_features"] == timit.TIMIT_FEATURES.num_features == 3 * (50 + 1) == 153
    with np.load(out / "train.npz") as f:
        x, lengths = f["x"], f["lengths"]
    assert x.shape[2] == 153 and x.dtype == np.float32
    assert np.isfinite(x).all() and (np.abs(x[0, : lengths[0]]).sum(axis=1) > 0).all()


def test_lower_case_copies_are_read_alike(corpus, tmp_path):
    lower = tmp_path / "timit"
    for path in sorted(corpus.rglob("*")):
        target = lower / path.relative_to(corpus).as_posix().lower()
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            shutil.copyfile(path, target)
    upper_splits = timit.assign_splits(timit.scan(corpus), corpus)
    lower_splits = timit.assign_splits(timit.scan(lower), lower)
    for part in ("train", "dev", "test"):
        assert [s.sentence for s in lower_splits[part]] == [s.sentence for s in upper_splits[part]]
        assert [s.speaker for s in lower_splits[part]] == [s.speaker for s in upper_splits[part]]
        assert all(s.phn.suffix == ".phn" for s in lower_splits[part])


def test_cli_writes_a_verified_folder_and_training_reports_fer_and_per(corpus, tmp_path, capsys):
    out = tmp_path / "data"
    assert cli.main(["data", "timit", "--root", str(corpus), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "timit" in printed and "153 features" in printed and "39 classes" in printed
    checked = manifest.verify(out, "dataset")
    assert set(checked.files) >= {"train.npz", "dev.npz", "test.npz", "dataset.json"}
    run = tmp_path / "run"
    args = ["train", "--train", str(out / "train.npz"), "--test", str(out / "test.npz"), "--task", "frames",
            "--epochs", "1", "--hidden-size", "8", "--block-size", "4", "--mode", "direct", "--out", str(run),
            "--quiet"]  # fmt: skip
    assert cli.main(args) == 0
    assert "phone error rate" in capsys.readouterr().out
    m = json.loads((run / "metrics.json").read_text())
    assert m["frame_error_rate"] == pytest.approx(100 - m["test_accuracy"])
    assert 0 <= m["frame_error_rate"] <= 100 and m["phone_error_rate"] >= 0


def _copy(corpus: Path, tmp_path: Path) -> Path:
    root = tmp_path / "copy"
    shutil.copytree(corpus, root)
    return root


def _break_no_train(root: Path) -> tuple[Path, str]:
    shutil.rmtree(root / "TRAIN")
    return root, "no TRAIN/ folder"


def _break_nested(root: Path) -> tuple[Path, str]:
    return root.parent, f"pass --root {root}"  # the folder above the corpus


def _break_missing_phn(root: Path) -> tuple[Path, str]:
    (root / "TRAIN/DR1/MWAR0/SX127.PHN").unlink()
    return root, "TRAIN/DR1/MWAR0/SX127.WAV: no SX127.PHN beside it"


def _break_empty_wav(root: Path) -> tuple[Path, str]:
    (root / "TEST/DR1/FAKS0/SI1027.WAV").write_bytes(b"")
    return root, "TEST/DR1/FAKS0/SI1027.WAV: an empty file"


def _break_garbage_wav(root: Path) -> tuple[Path, str]:
    (root / "TRAIN/DR2/FAEM0/SX217.WAV").write_bytes(b"not a recording" * 100)
    return root, "TRAIN/DR2/FAEM0/SX217.WAV: not a readable WAV or SPHERE recording"


def _break_phn_symbol(root: Path) -> tuple[Path, str]:
    path = root / "TEST/DR2/MTAS1/SX127.PHN"
    path.write_text(path.read_text().replace("h#", "sil", 1))
    return root, "TEST/DR2/MTAS1/SX127.PHN line 1: 'sil' is not one of TIMIT's 61 phone symbols"


def _break_speaker_folder(root: Path) -> tuple[Path, str]:
    (root / "TRAIN/DR1/notes").mkdir()
    return root, "TRAIN/DR1/notes: not a speaker folder"


@pytest.mark.parametrize(
    "damage",
    [
        _break_no_train,
        _break_nested,
        _break_missing_phn,
        _break_empty_wav,
        _break_garbage_wav,
        _break_phn_symbol,
        _break_speaker_folder,
    ],
)
def test_a_bad_corpus_is_named_exit_2_nothing_written(corpus, tmp_path, capsys, damage):
    root, message = damage(_copy(corpus, tmp_path))
    out = tmp_path / "outputs" / "data"
    out.parent.mkdir()
    argv = ["data", "timit", "--root", str(root), "--out", str(out), "--quiet", "--workers", "2"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert list(out.parent.iterdir()) == []  # no folder, no hidden stage
