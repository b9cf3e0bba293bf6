"""The TIMIT recipe: ``ernn data timit --root DIR`` turns a copy of the LDC TIMIT corpus into frame-labelled
data for ``ernn train --task frames`` (docs/speech.md, "TIMIT recipe").

**Layout** (LDC93S1; upper- or lower-case names, as copies differ)::

    ROOT/TRAIN/DR1..DR8/SPEAKER/SENTENCE.WAV   NIST SPHERE, 16 kHz 16-bit
    ROOT/TRAIN/DR1..DR8/SPEAKER/SENTENCE.PHN   "start end phone" lines, sample offsets, 61 phone symbols
    ROOT/TEST/...                               the same

A speaker folder is named sex (F/M) + three letters + a digit (``MDAB0``); a sentence is ``SA``, ``SI`` or
``SX`` + a number. Other files (``.TXT``, ``.WRD``, converted ``.WAV.wav`` copies) are ignored. A root without
``TRAIN/`` and ``TEST/``, a folder where a dialect region or a speaker is expected, a sentence without its
``.PHN`` (or a ``.PHN`` without its ``.WAV``), a ``.PHN`` line that is not ``start end phone`` with a known
symbol, or an unreadable recording stop the recipe with a ValueError that names the path and the rule;
nothing is written.

**Sentences and splits.** The two SA sentences, read by every speaker, are excluded (they would bias the
phone statistics). ``train``: every TRAIN speaker's SI and SX sentences (462 speakers, 3696 sentences).
``dev``: the 50-speaker development set (:data:`DEV_SPEAKERS`, Halberstadt's, as in Kaldi's recipe; 400).
``test``: the 24-speaker core test set (:data:`CORE_TEST_SPEAKERS`; 192). Both are drawn from TEST; the
other 94 TEST speakers are not used. Listed speakers that a copy lacks are recorded in ``dataset.json``
(``speakers.missing``); a split left empty, or a listed speaker found under TRAIN, is refused.

**Labels.** The 61 TIMIT phones are folded to the 39 of Lee & Hon (1989), as Kaldi's
``phones.60-48-39.map`` (:data:`FOLD`); class index i is ``PHONES_39[i]`` (alphabetical). The glottal stop
``q`` is removed: its samples take the label of the phone before it (of the phone after it when an
utterance starts with ``q``). Frame t is the FFT block [t·hop, t·hop + n_fft) with the window centred in
it (:mod:`ernn.data.features`, no padding at the ends) and is labelled by the segment of the ``.PHN`` file
that holds its centre sample t·hop + n_fft/2 (:meth:`~ernn.data.features.FeatureConfig.centre`; at 16 kHz:
t·160 + 256); a centre in no segment (a gap, or past the last end) takes the nearest segment's
label.

**Features** (:data:`TIMIT_FEATURES`, SR1's input size): 16 kHz, 25 ms Hann windows every 10 ms, 50 log-mel
energies + the frame log energy = 51, with deltas and delta-deltas (9-frame regression): 3 × 51 = 153 per
frame. Other ``--features`` options give other sizes.

Output (one step, with a manifest, kind ``dataset``): ``train.npz``, ``dev.npz``, ``test.npz`` (per-frame
labels y (N, T_max), -1 past each end) and ``dataset.json`` (labels, fold map, speakers per split, feature
configuration, counts, the training split's normalisation statistics, every sentence with its SHA-256).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ernn import data
from ernn.data import audio, features
from ernn.files import manifest
from ernn.files.output_dir import check_output_dir, output_directory

KIND = "dataset"

#: 50 log-mel channels + frame log energy = 51, with deltas and delta-deltas: 153 per frame (SR1's input)
TIMIT_FEATURES = features.FeatureConfig(kind="logmel", sample_rate=16000, n_mels=50, deltas=2, energy=True)

#: the 24 speakers of the core test set (TIMIT's documentation, 2 men and 1 woman per dialect region)
CORE_TEST_SPEAKERS = (
    "MDAB0 MWBT0 FELC0 MTAS1 MWEW0 FPAS0 MJMP0 MLNT0 FPKT0 MLLL0 MTLS0 FJLM0 "
    "MBPM0 MKLT0 FNLP0 MCMJ0 MJDH0 FMGD0 MGRT0 MNJM0 FDHC0 MJLN0 MPAM0 FMLD0"
).split()

#: the 50 speakers of the development set (Halberstadt 1998; Kaldi's egs/timit/s5/conf/dev_spk.list)
DEV_SPEAKERS = (
    "FAKS0 MMDB1 MBDG0 FEDW0 MTDT0 FSEM0 MDVC0 MRJM4 MJSW0 MTEB0 FDAC1 MMDM2 MBWM0 MGJF0 MTHC0 MBNS0 MERS0 "
    "FCAL1 MREB0 MJFC0 FJEM0 MPDF0 MCSH0 MGLB0 MWJG0 MMJR0 FMAH0 MMWH0 FGJD0 MRJR0 MGWT0 FCMH0 FADG0 MRTK0 "
    "FNMR0 MDLS0 FDRW0 FJSJ0 FJMG0 FMML0 MJAR0 FKMS0 FDMS0 MTAA0 FREW0 MDLF0 MRCS0 MAJC0 MROA0 MRWS1"
).split()

#: the 61 phone symbols of TIMIT's .PHN files
PHONES_61 = (
    "aa ae ah ao aw ax ax-h axr ay b bcl ch d dcl dh dx eh el em en eng epi er ey f g gcl h# hh hv ih ix iy "
    "jh k kcl l m n ng nx ow oy p pau pcl q r s sh t tcl th uh uw ux v w y z zh"
).split()

_FOLDED = {
    "ao": "aa",
    "ax": "ah",
    "ax-h": "ah",
    "axr": "er",
    "hv": "hh",
    "ix": "ih",
    "el": "l",
    "em": "m",
    "en": "n",
    "nx": "n",
    "eng": "ng",
    "zh": "sh",
    "ux": "uw",
    **dict.fromkeys(("pcl", "tcl", "kcl", "bcl", "dcl", "gcl", "h#", "pau", "epi"), "sil"),
}
#: 61 -> 39 (Lee & Hon 1989); ``q`` maps to None: removed, its samples join a neighbour (module docstring)
FOLD: dict[str, str | None] = {p: None if p == "q" else _FOLDED.get(p, p) for p in PHONES_61}

#: the 39 classes in index order (alphabetical)
PHONES_39: list[str] = sorted({p for p in FOLD.values() if p is not None})
assert len(PHONES_61) == 61 and len(PHONES_39) == 39

_DIALECT = re.compile(r"DR[1-8]")
_SPEAKER = re.compile(r"[FM][A-Z]{3}[0-9]")
_SENTENCE = re.compile(r"(S[AIX])([0-9]+)\.(WAV|PHN)")


@dataclass(frozen=True)
class Sentence:
    wav: Path
    phn: Path
    name: str  # relative to the root, POSIX, as found on disk
    part: str  # TRAIN or TEST
    dialect: str  # DR1..DR8
    speaker: str  # upper case
    sentence: str  # e.g. SI1027, upper case


# ---------------------------------------------------------------------------------------------- layout
def _folder(parent: Path, name: str) -> Path | None:
    """The sub-folder of ``parent`` called ``name`` in any letter case."""
    for child in parent.iterdir():
        if child.is_dir() and child.name.upper() == name:
            return child
    return None


def _layout_hint(root: Path) -> str:
    for child in sorted(root.iterdir()) if root.is_dir() else ():
        if child.is_dir() and _folder(child, "TRAIN") and _folder(child, "TEST"):
            return f"; {child} holds them: pass --root {child}"
    return ""


def scan(root: str | Path) -> list[Sentence]:
    """Every SA/SI/SX sentence of the corpus at ``root``, sorted by path (see the module docstring)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"--root {root} is not a folder (expected the TIMIT corpus holding TRAIN/ and TEST/)"
        )
    found: list[Sentence] = []
    for part in ("TRAIN", "TEST"):
        top = _folder(root, part)
        if top is None:
            raise ValueError(
                f"{root}: no {part}/ folder; a TIMIT root holds TRAIN/ and TEST/, each with dialect regions "
                f"DR1..DR8/SPEAKER/SENTENCE.WAV + .PHN" + _layout_hint(root)
            )
        regions = sorted(d for d in top.iterdir() if d.is_dir())
        if not regions:
            raise ValueError(f"{top}: holds no dialect-region folders (expected DR1..DR8)")
        for region in regions:
            if not _DIALECT.fullmatch(region.name.upper()):
                raise ValueError(f"{region}: not a dialect-region folder; {top} should hold only DR1..DR8")
            for speaker in sorted(d for d in region.iterdir() if d.is_dir()):
                if not _SPEAKER.fullmatch(speaker.name.upper()):
                    raise ValueError(
                        f"{speaker}: not a speaker folder; expected a name such as MDAB0 "
                        "(sex F or M, three letters, a digit)"
                    )
                found.extend(_speaker_sentences(root, speaker, part, region.name.upper()))
    return found


def _speaker_sentences(root: Path, folder: Path, part: str, dialect: str) -> list[Sentence]:
    files: dict[str, dict[str, Path]] = {}
    for f in folder.iterdir():
        m = _SENTENCE.fullmatch(f.name.upper())
        if m and f.is_file():
            files.setdefault(m[1] + m[2], {})[m[3]] = f
    out = []
    for sentence, pair in sorted(files.items()):
        for have, need in (("WAV", "PHN"), ("PHN", "WAV")):
            if need not in pair:
                got = pair[have]
                raise ValueError(
                    f"{got}: no {got.stem}.{need if got.suffix.isupper() else need.lower()} beside it; every "
                    "TIMIT sentence needs its recording (.WAV) and its phone labels (.PHN)"
                )
        wav, name = pair["WAV"], pair["WAV"].relative_to(root).as_posix()
        out.append(Sentence(wav, pair["PHN"], name, part, dialect, folder.name.upper(), sentence))
    if not any(not s.sentence.startswith("SA") for s in out):
        raise ValueError(f"{folder}: holds no SI or SX sentence (SENTENCE.WAV with SENTENCE.PHN)")
    return out


# ---------------------------------------------------------------------------------------------- labels
def read_phn(path: str | Path) -> list[tuple[int, int, str]]:
    """The segments (start, end, phone) of a ``.PHN`` file, checked (ValueError names the file and line)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable .PHN text file ({exc})") from exc
    segments = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 3 or not fields[0].isdigit() or not fields[1].isdigit():
            raise ValueError(
                f"{path} line {number}: {line.strip()!r} is not 'start end phone' (sample offsets)"
            )
        start, end, phone = int(fields[0]), int(fields[1]), fields[2].lower()
        if phone not in FOLD:
            raise ValueError(f"{path} line {number}: {fields[2]!r} is not one of TIMIT's 61 phone symbols")
        if end < start or (segments and start < segments[-1][0]):
            raise ValueError(
                f"{path} line {number}: segment {start}..{end} ends before it starts or starts before the "
                "previous one; segments must be in time order"
            )
        segments.append((start, end, phone))
    if not segments:
        raise ValueError(f"{path}: holds no phone segments")
    return segments


def fold_segments(segments: Sequence[tuple[int, int, str]], source: str = "") -> list[tuple[int, int, str]]:
    """Segments with 39-phone labels: ``q`` takes the preceding phone's label (the following one's at the
    start), every other phone is folded with :data:`FOLD`."""
    folded = [FOLD[p] for _, _, p in segments]
    last = None
    for i, label in enumerate(folded):  # forward: q after a phone becomes that phone
        if label is None:
            folded[i] = last
        last = folded[i]
    following = None
    for i in range(len(folded) - 1, -1, -1):  # backward: the leading q's take the next phone
        if folded[i] is None:
            folded[i] = following
        following = folded[i]
    if following is None:
        raise ValueError(f"{source}: holds only q (glottal stop) segments; nothing to label frames with")
    return [(s, e, label) for (s, e, _), label in zip(segments, folded, strict=True)]


def frame_labels(
    segments: Sequence[tuple[int, int, str]], num_frames: int, cfg: features.FeatureConfig
) -> np.ndarray:
    """(num_frames,) class indices (into :data:`PHONES_39`) of folded ``segments``: the segment holding each
    frame's centre sample (``cfg.centre(t)``), or the nearest segment when none does."""
    index = {p: i for i, p in enumerate(PHONES_39)}
    starts = np.array([s for s, _, _ in segments], dtype=np.int64)
    ends = np.array([e for _, e, _ in segments], dtype=np.int64)
    labels = np.array([index[p] for _, _, p in segments], dtype=np.int64)
    centres = np.array([cfg.centre(t) for t in range(num_frames)], dtype=np.int64)
    # samples from each centre to each segment [start, end): 0 inside, >= 1 outside (and for empty segments)
    c = centres[:, None]
    distance = np.maximum(starts[None, :] - c, 0) + np.maximum(c - ends[None, :] + 1, 0)
    return labels[distance.argmin(axis=1)]  # ties (overlapping segments, a centre midway): the earlier one


# ---------------------------------------------------------------------------------------------- build
def _features_of(job: tuple[Path, features.FeatureConfig]) -> tuple[np.ndarray, str]:
    path, cfg = job
    signal = audio.read_audio(path, cfg.sample_rate)
    try:
        return features.extract(signal, cfg), manifest.sha256(path)
    except ValueError as exc:
        raise audio.AudioError(f"{path}: {exc}") from exc


def _extract_all(
    sentences: Sequence[Sentence], cfg: features.FeatureConfig, workers: int, quiet: bool
) -> list[tuple[np.ndarray, str]]:
    from tqdm.auto import tqdm

    jobs = [(s.wav, cfg) for s in sentences]
    if workers <= 1:
        return [_features_of(j) for j in tqdm(jobs, desc="features", disable=quiet, leave=False)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(tqdm(pool.map(_features_of, jobs, chunksize=16), total=len(jobs), desc="features",
                         disable=quiet, leave=False))  # fmt: skip


def assign_splits(sentences: Sequence[Sentence], root: Path) -> dict[str, list[Sentence]]:
    """SA excluded; train = TRAIN, dev = :data:`DEV_SPEAKERS`, test = :data:`CORE_TEST_SPEAKERS`."""
    core, dev = set(CORE_TEST_SPEAKERS), set(DEV_SPEAKERS)
    splits: dict[str, list[Sentence]] = {"train": [], "dev": [], "test": []}
    for s in sentences:
        if s.sentence.startswith("SA"):
            continue
        if s.part == "TRAIN":
            if s.speaker in core or s.speaker in dev:
                which = "core test" if s.speaker in core else "development"
                raise ValueError(
                    f"{s.wav.parent}: {s.speaker} is a {which} speaker, who belongs under TEST/, not TRAIN/; "
                    "is this copy's layout rearranged?"
                )
            splits["train"].append(s)
        elif s.speaker in core:
            splits["test"].append(s)
        elif s.speaker in dev:
            splits["dev"].append(s)
    for part, where, rule in (
        ("train", "TRAIN", "any speaker"),
        ("dev", "TEST", "a speaker of the 50-speaker development set (ernn.data.timit.DEV_SPEAKERS)"),
        ("test", "TEST", "a speaker of the 24-speaker core test set (ernn.data.timit.CORE_TEST_SPEAKERS)"),
    ):
        if not splits[part]:
            raise ValueError(f"{root}: the {part} split is empty: no SI/SX sentence of {rule} under {where}/")
    return splits


def build(
    root: str | Path,
    out: str | Path,
    *,
    feature_cfg: features.FeatureConfig | None = None,
    workers: int = 1,
    force: bool = False,
    quiet: bool = True,
) -> dict[str, Any]:
    """Write the TIMIT data set folder ``out`` from the corpus at ``root``; return ``dataset.json``."""
    root = Path(root)
    cfg = (feature_cfg or TIMIT_FEATURES).validate()
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    out = check_output_dir(out, KIND, force=force)
    splits = assign_splits(scan(root), root)
    segments = {s: fold_segments(read_phn(s.phn), str(s.phn)) for part in splits.values() for s in part}
    order = [s for part in ("train", "dev", "test") for s in splits[part]]
    extracted = dict(zip(order, _extract_all(order, cfg, workers, quiet), strict=True))
    arrays: dict[str, data.Split] = {}
    for part, sentences in splits.items():
        feats = [extracted[s][0] for s in sentences]
        lengths = np.array([len(f) for f in feats], dtype=np.int64)
        x = np.zeros((len(feats), int(lengths.max()), cfg.num_features), dtype=np.float32)
        y = np.full(x.shape[:2], -1, dtype=np.int64)
        for i, (s, f) in enumerate(zip(sentences, feats, strict=True)):
            x[i, : len(f)] = f
            y[i, : len(f)] = frame_labels(segments[s], len(f), cfg)
        arrays[part] = data.validate_split(data.Split(x, lengths, y), "frames", f"{part} split of {root}")
    train = arrays["train"]
    frames = train.x[train.frame_mask]
    found = {part: sorted({s.speaker for s in sentences}) for part, sentences in splits.items()}
    meta = {
        "format": "ernn-dataset",
        "version": 1,
        "name": "timit",
        "task": "frames",
        "root": str(root.resolve()),
        "rule": {
            "recipe": "timit",
            "sentences": "SI and SX (SA1, SA2 excluded)",
            "train": "every TRAIN speaker",
            "dev": "the 50-speaker development set",
            "test": "the 24-speaker core test set",
            "labels": "61 phones folded to 39 (Lee & Hon 1989); q takes the preceding phone's label "
            "(the following one's at the start); frame t is labelled by the segment holding sample "
            "t*hop + n_fft//2, its centre (nearest segment if none)",
        },
        "features": cfg.to_dict(),
        "num_features": cfg.num_features,
        "labels": PHONES_39,
        "fold": FOLD,
        "normalisation": {"mean": frames.mean(axis=0).tolist(), "std": frames.std(axis=0).tolist()},
        "counts": {part: len(s) for part, s in arrays.items()},
        "frames": {
            part: {
                "total": int(s.lengths.sum()),
                "max": int(s.lengths.max()),
                "mean": float(s.lengths.mean()),
            }
            for part, s in arrays.items()
        },
        "speakers": {
            **found,
            "missing": {
                "dev": sorted(set(DEV_SPEAKERS) - set(found["dev"])),
                "test": sorted(set(CORE_TEST_SPEAKERS) - set(found["test"])),
            },
        },
        "recordings": {
            part: [
                {"name": s.name, "speaker": s.speaker, "dialect": s.dialect, "sha256": extracted[s][1]}
                for s in sentences
            ]
            for part, sentences in splits.items()
        },
    }
    with output_directory(out, KIND, force=force) as stage:
        for part, split in arrays.items():
            data.save_npz(stage / f"{part}.npz", split)
        (stage / "dataset.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta
