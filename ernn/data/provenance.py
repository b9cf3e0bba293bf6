"""Finding exactly the data a run or a model was trained with, by content hash.

``ernn train`` records, in the run's and then the model's ``config.json`` (``data.provenance``), each
split's absolute path (``None`` for the embedded JapaneseVowels data; a relative path lies inside the
directory that records it, as ``data/test.npz`` of a random-weight export) and the SHA-256 of its content
(:func:`ernn.data.split_sha256`: the arrays, not the file's bytes, so a re-saved copy still matches).

:func:`test_split` is how export, ``ernn evaluate`` and ``ernn report`` get the test split they score:

* with ``data_file`` (the commands' ``--data``): that file, and only if its content hash is the recorded
  one;
* else the recorded path (or the embedded data), checked the same way.

There is no fallback: data that cannot be found, or whose hash differs, stops the command with a message
that says where it looked and how to point at the right file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ernn import data


def _recorded(recorded: dict[str, Any], owner: Path) -> tuple[str, str, str | None, str]:
    prov = recorded.get("provenance")
    try:
        test = prov["test"]
        return prov["name"], prov["task"], test["path"], test["sha256"]
    except (TypeError, KeyError) as exc:
        raise ValueError(
            f"{owner}: records no data provenance (written by an older version of ernn): train and export "
            "it again"
        ) from exc


def test_split(
    recorded: dict[str, Any], *, owner: str | Path, data_file: str | Path | None = None
) -> tuple[data.Split, str]:
    """(the recorded test split, where it was found); see the module docstring."""
    owner = Path(owner)
    name, task, path, want = _recorded(recorded, owner)
    short = want[:12]
    if data_file is not None:
        split = data.load_npz(data_file, task)
        got = data.split_sha256(split)
        if got != want:
            raise ValueError(
                f"--data {data_file}: not the test data {owner} was trained with (its content hash is "
                f"{got[:12]}, the recorded one {short}; that data was {path or 'the embedded ' + name})"
            )
        return split, str(data_file)
    if path is None:
        split = data.load(task).test
        if data.split_sha256(split) != want:
            raise ValueError(
                f"{owner}: the embedded {name} data of this installation is not the data it was trained with "
                f"(content hash {short} recorded); pass --data with the test split it used"
            )
        return split, f"the embedded {name} data"
    where = Path(path) if Path(path).is_absolute() else owner / path  # relative: inside the owner
    if not where.is_file():
        raise FileNotFoundError(
            f"{owner}: its test data {where} (content hash {short}) does not exist any more; pass "
            "--data PATH/TO/TEST.npz to point at that split where it is now"
        )
    split = data.load_npz(where, task)
    got = data.split_sha256(split)
    if got != want:
        raise ValueError(
            f"{owner}: its test data {where} was changed since training (content hash {got[:12]}, recorded "
            f"{short}); pass --data with the split it was trained with"
        )
    return split, str(where)
