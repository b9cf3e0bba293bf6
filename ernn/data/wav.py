"""A folder of recordings becomes a data set: ``ernn data wav`` (and its FSDD preset, ``ernn data fsdd``).

Labels come from a **rule**:

* a file-name pattern such as ``{label}_{speaker}_{take}.wav`` (FSDD's): ``{label}`` is required,
  ``{speaker}`` and ``{take}`` (an integer) are needed by the splits that use them, ``{*}`` matches
  anything; the pattern must match the whole name (relative to the root, ``/`` between folders);
* or a CSV file with a header and the columns ``path`` (relative to the root) and ``label``, optionally
  ``speaker`` and ``take``.

The **split** says which recordings are the test set:

* ``takes:A-B`` — takes A to B of every speaker and label (FSDD's own split is ``takes:0-4``);
* ``speakers:F/K`` — the speakers, sorted by name, dealt round-robin into K folds; fold F (0-based) is
  the test set: speaker-independent, and K runs with F = 0..K-1 are K-fold cross-validation over speakers
  (``speakers:F/N`` with N speakers is leave-one-speaker-out);
* ``speakers:NAME,NAME`` — these speakers are the test set.

Every recording is read (:mod:`ernn.data.audio`), turned into features (:mod:`ernn.data.features`) and
stored zero-padded in ``train.npz`` / ``test.npz`` (the toolkit's data format, :mod:`ernn.data`);
``dataset.json`` records the rule, the split, the feature configuration, the label names (class index i is
``labels[i]``), every recording with its SHA-256, and the training split's per-feature mean and standard
deviation (``ernn train`` computes the same from ``train.npz``; the test split plays no part in them).
The folder is written in one step with a manifest (:mod:`ernn.files.output_dir`, kind ``dataset``).
"""

from __future__ import annotations

import csv
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
AUDIO_SUFFIXES = (".wav", ".sph", ".nist", ".flac")
FIELDS = ("label", "speaker", "take")


@dataclass(frozen=True)
class Recording:
    path: Path  # absolute
    name: str  # relative to the root, POSIX
    label: str
    speaker: str | None = None
    take: int | None = None


# ---------------------------------------------------------------------------------------------- rules
def pattern_regex(pattern: str) -> re.Pattern[str]:
    """The regular expression of a file-name pattern (see the module docstring)."""
    names = re.findall(r"\{([^}]*)\}", pattern)
    for name in names:
        if name not in (*FIELDS, "*"):
            raise ValueError(
                f"--pattern {pattern!r}: unknown field {{{name}}}; use {{label}}, {{speaker}}, {{take}}, {{*}}"
            )
        if name != "*" and names.count(name) > 1:
            raise ValueError(f"--pattern {pattern!r}: {{{name}}} appears twice")
    if "label" not in names:
        raise ValueError(f"--pattern {pattern!r}: needs a {{label}} field")
    parts = re.split(r"(\{[^}]*\})", pattern)
    out = []
    for part in parts:
        if part == "{take}":
            out.append(r"(?P<take>\d+)")
        elif part == "{*}":
            out.append(r".*?")
        elif part.startswith("{") and part.endswith("}"):
            out.append(rf"(?P<{part[1:-1]}>[^/]+?)")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out))


def scan_pattern(root: Path, pattern: str, left_out: list[str] | None = None) -> list[Recording]:
    """Every audio file under ``root`` whose relative name matches ``pattern``; the names of the files
    left out (other files, audio files the pattern does not match) are appended to ``left_out``."""
    regex = pattern_regex(pattern)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise ValueError(f"{root}: holds no audio files ({', '.join(AUDIO_SUFFIXES)})")
    found, unmatched = [], []
    for path in files:
        name = path.relative_to(root).as_posix()
        m = regex.fullmatch(name)
        if m is None:
            unmatched.append(name)
            continue
        g = m.groupdict()
        found.append(Recording(path.resolve(), name, g["label"], g.get("speaker"), _int(g.get("take"))))
    if not found:
        raise ValueError(
            f"--pattern {pattern!r} matches none of the {len(files)} audio files under {root} "
            f"(for example {unmatched[0]!r})"
        )
    if left_out is not None:
        others = [
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and p.suffix.lower() not in AUDIO_SUFFIXES
        ]
        left_out.extend(sorted(unmatched + others))
    return found


def _int(text: str | None) -> int | None:
    return None if text is None else int(text)


def scan_csv(root: Path, table: Path) -> list[Recording]:
    """The recordings a CSV lists (see the module docstring)."""
    try:
        with table.open(newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"--labels {table}: not a readable CSV file ({exc})") from exc
    if not rows or not {"path", "label"} <= set(rows[0]):
        raise ValueError(f"--labels {table}: needs a header with the columns path and label, and rows")
    out = []
    for line, row in enumerate(rows, start=2):
        path = root / row["path"]
        if not path.is_file():
            raise ValueError(f"--labels {table} line {line}: {path} does not exist")
        if not row["label"]:
            raise ValueError(f"--labels {table} line {line}: empty label")
        take = row.get("take") or None
        if take is not None and not take.isdigit():
            raise ValueError(f"--labels {table} line {line}: take {take!r} is not a whole number")
        out.append(
            Recording(path.resolve(), row["path"], row["label"], row.get("speaker") or None, _int(take))
        )
    return out


# ---------------------------------------------------------------------------------------------- splits
def split_test(recordings: Sequence[Recording], rule: str) -> list[bool]:
    """For each recording: is it in the test set under ``rule`` (see the module docstring)?"""
    kind, _, arg = rule.partition(":")
    if kind == "takes":
        m = re.fullmatch(r"(\d+)-(\d+)", arg)
        if not m or int(m[1]) > int(m[2]):
            raise ValueError(f"--split {rule!r}: expected takes:A-B with A <= B, e.g. takes:0-4")
        missing = [r.name for r in recordings if r.take is None]
        if missing:
            raise ValueError(f"--split {rule!r} needs a take for every recording; {missing[0]} has none")
        lo, hi = int(m[1]), int(m[2])
        return [lo <= r.take <= hi for r in recordings]
    if kind == "speakers":
        missing = [r.name for r in recordings if r.speaker is None]
        if missing:
            raise ValueError(f"--split {rule!r} needs a speaker for every recording; {missing[0]} has none")
        speakers = sorted({r.speaker for r in recordings})
        m = re.fullmatch(r"(\d+)/(\d+)", arg)
        if m:
            fold, folds = int(m[1]), int(m[2])
            if folds < 2 or fold >= folds:
                raise ValueError(f"--split {rule!r}: expected speakers:F/K with K >= 2 and 0 <= F < K")
            if folds > len(speakers):
                raise ValueError(
                    f"--split {rule!r}: {folds} folds but only {len(speakers)} speakers ({', '.join(speakers)})"
                )
            test = {s for i, s in enumerate(speakers) if i % folds == fold}
        else:
            test = set(arg.split(","))
            unknown = sorted(test - set(speakers))
            if not arg or unknown:
                raise ValueError(
                    f"--split {rule!r}: unknown speaker(s) {', '.join(unknown) or '(none given)'}; "
                    f"the speakers are {', '.join(speakers)}"
                )
        return [r.speaker in test for r in recordings]
    raise ValueError(f"--split {rule!r}: expected takes:A-B, speakers:F/K or speakers:NAME,...")


def label_names(labels: Sequence[str]) -> list[str]:
    """Class names in index order: numerically if every name is a whole number, else alphabetically."""
    names = sorted(set(labels))
    return sorted(names, key=int) if all(n.isdigit() for n in names) else names


# ---------------------------------------------------------------------------------------------- build
def _features_of(job: tuple[Path, features.FeatureConfig]) -> np.ndarray:
    path, cfg = job
    signal = audio.read_audio(path, cfg.sample_rate)
    try:
        return features.extract(signal, cfg)
    except ValueError as exc:
        raise audio.AudioError(f"{path}: {exc}") from exc


def extract_all(
    recordings: Sequence[Recording], cfg: features.FeatureConfig, workers: int = 1, quiet: bool = True
) -> list[np.ndarray]:
    """Features of every recording, in order (``workers`` processes)."""
    from tqdm.auto import tqdm

    jobs = [(r.path, cfg) for r in recordings]
    if workers <= 1:
        return [_features_of(j) for j in tqdm(jobs, desc="features", disable=quiet, leave=False)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(tqdm(pool.map(_features_of, jobs, chunksize=16), total=len(jobs), desc="features",
                         disable=quiet, leave=False))  # fmt: skip


def pad(feats: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(N, T_max, F) zero-padded and (N,) lengths."""
    lengths = np.array([len(f) for f in feats], dtype=np.int64)
    x = np.zeros((len(feats), int(lengths.max()), feats[0].shape[1]), dtype=np.float32)
    for i, f in enumerate(feats):
        x[i, : len(f)] = f
    return x, lengths


def _record(r: Recording) -> dict[str, Any]:
    return {
        "name": r.name,
        "label": r.label,
        "speaker": r.speaker,
        "take": r.take,
        "sha256": manifest.sha256(r.path),
    }


def build(
    root: str | Path,
    out: str | Path,
    *,
    split: str,
    pattern: str | None = None,
    labels_csv: str | Path | None = None,
    feature_cfg: features.FeatureConfig | None = None,
    workers: int = 1,
    force: bool = False,
    quiet: bool = True,
    name: str | None = None,
) -> dict[str, Any]:
    """Write the data set folder ``out`` from the recordings under ``root``; return ``dataset.json``."""
    root = Path(root)
    cfg = (feature_cfg or features.FeatureConfig()).validate()
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    if not root.is_dir():
        raise FileNotFoundError(f"--root {root} is not a folder of recordings")
    if (pattern is None) == (labels_csv is None):
        raise ValueError("give a label rule: --pattern (a file-name pattern) or --labels (a CSV), not both")
    out = check_output_dir(out, KIND, force=force)
    left_out: list[str] = []
    recordings = scan_pattern(root, pattern, left_out) if pattern else scan_csv(root, Path(labels_csv))
    is_test = split_test(recordings, split)
    if all(is_test) or not any(is_test):
        raise ValueError(
            f"--split {split!r} puts {'every' if all(is_test) else 'no'} recording in the test set"
        )
    names = label_names([r.label for r in recordings])
    index = {n: i for i, n in enumerate(names)}
    feats = extract_all(recordings, cfg, workers, quiet)
    splits = {}
    for part, want in (("train", False), ("test", True)):
        idx = [i for i, t in enumerate(is_test) if t == want]
        x, lengths = pad([feats[i] for i in idx])
        y = np.array([index[recordings[i].label] for i in idx], dtype=np.int64)
        splits[part] = (data.Split(x, lengths, y), [recordings[i] for i in idx])
    train_split = splits["train"][0]
    frames = train_split.x[train_split.frame_mask]
    meta = {
        "format": "ernn-dataset",
        "version": 1,
        "name": name or root.name,
        "task": "classify",
        "root": str(root.resolve()),
        "rule": {"pattern": pattern} if pattern else {"labels_csv": str(Path(labels_csv).resolve())},
        "split": split,
        "features": cfg.to_dict(),
        "num_features": cfg.num_features,
        "labels": names,
        "normalisation": {"mean": frames.mean(axis=0).tolist(), "std": frames.std(axis=0).tolist()},
        "counts": {part: len(s) for part, (s, _) in splits.items()},
        "left_out": left_out,
        "frames": {
            part: {"max": int(s.lengths.max()), "mean": float(s.lengths.mean())}
            for part, (s, _) in splits.items()
        },
        "recordings": {
            part: [
                {
                    "name": r.name,
                    "label": r.label,
                    "speaker": r.speaker,
                    "take": r.take,
                    "sha256": manifest.sha256(r.path),
                }
                for r in recs
            ]
            for part, (_, recs) in splits.items()
        },
    }
    with output_directory(out, KIND, force=force) as stage:
        for part, (s, _) in splits.items():
            data.validate_split(s, "classify", f"{part} split of {root}")
            data.save_npz(stage / f"{part}.npz", s)
        (stage / "dataset.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


#: FSDD (Free Spoken Digit Dataset): file names and its own split
FSDD_PATTERN = "{label}_{speaker}_{take}.wav"
FSDD_SPLIT = "takes:0-4"
