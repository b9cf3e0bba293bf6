"""``ernn-manifest.json``: what a tool-written directory holds, and the check that it still does.

Every directory a command writes (a training run, a model, a report, a synthesis folder) carries one::

    {"format": "ernn-manifest", "version": 1, "kind": "model",
     "files": {"config.json": "<sha256>", "mem/twiddle.mem": "<sha256>", ...},
     "digest": "<sha256 over the sorted 'name sha256' lines>"}

* ``files`` lists every file the tool wrote there, ``config.json`` included, by its path relative to the
  directory; the manifest itself is not listed. Files that are not listed are the user's: the tool never
  replaces or deletes them (:mod:`ernn.files.output_dir`).
* ``digest`` is one hash over all of them: the model's identity. Two models with the same digest hold the
  same bytes; ``ernn sim`` and the reports quote it.
* :func:`verify` recomputes every listed file's hash and the digest, and raises one error that names every
  file that was changed, is missing, or lies outside the directory; a manifest that lists nothing, or lacks a
  file its kind requires, is refused too. This catches accidents (an edited config, a truncated checkpoint,
  a half-copied folder), not forgery: anyone can write a matching manifest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "ernn-manifest.json"
FORMAT = "ernn-manifest"
VERSION = 1

#: what each kind of directory must list (more may be listed)
REQUIRED: dict[str, tuple[str, ...]] = {
    "run": ("config.json", "checkpoint.pt", "metrics.json"),
    "model": ("config.json", "model.npz", "params.npz", "ernn_params.vh"),
    "report": ("summary.json", "sim_report.json"),
    "synth": ("report.json",),
    "dse": (),
}

#: how the messages call each kind, and which command writes it
WRITTEN_BY = {
    "run": ("a training run", "ernn train"),
    "model": ("a model directory", "ernn export"),
    "report": ("a report", "ernn report"),
    "synth": ("a synthesis folder", "ernn synth"),
    "dse": ("a design-space exploration", "ernn dse"),
}


def describe(kind: str) -> str:
    what, command = WRITTEN_BY.get(kind, (f"an ernn {kind} directory", "ernn"))
    return f"{what} (written by '{command}')"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def digest_of(files: dict[str, str]) -> str:
    lines = "".join(f"{name} {files[name]}\n" for name in sorted(files))
    return hashlib.sha256(lines.encode()).hexdigest()


def is_inside(directory: Path, name: str) -> bool:
    """True if the listed ``name`` is a relative path that resolves (symbolic links followed) to a place
    inside ``directory``."""
    rel = Path(name)
    if not name or rel.is_absolute() or ".." in rel.parts or name != rel.as_posix():
        return False
    return (directory / rel).resolve().is_relative_to(directory.resolve())


class ManifestError(ValueError):
    """A directory's manifest is missing, unreadable or does not match the files."""


@dataclass(frozen=True)
class Manifest:
    kind: str
    files: dict[str, str]

    @property
    def digest(self) -> str:
        return digest_of(self.files)

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "kind": self.kind,
            "files": dict(sorted(self.files.items())),
            "digest": self.digest,
        }

    def text(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def build(directory: Path, kind: str, skip: Iterable[str] = ()) -> Manifest:
    """The manifest of every regular file under ``directory`` (all of them written by the caller)."""
    skipped = {MANIFEST, *skip}
    files = {}
    for path in sorted(directory.rglob("*")):
        name = path.relative_to(directory).as_posix()
        if path.is_file() and not path.is_symlink() and name not in skipped:
            files[name] = sha256(path)
    return Manifest(kind, files)


def read(directory: Path) -> Manifest | None:
    """The directory's manifest; None if it has none. ManifestError if it is there but unreadable or
    inconsistent (its digest does not match its own file list)."""
    path = directory / MANIFEST
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{path}: not a readable manifest ({exc})") from exc
    if not isinstance(raw, dict) or (raw.get("format"), raw.get("version")) != (FORMAT, VERSION):
        raise ManifestError(f"{path}: not an {FORMAT} v{VERSION} file")
    files, kind = raw.get("files"), raw.get("kind")
    if not isinstance(kind, str) or not isinstance(files, dict):
        raise ManifestError(f"{path}: 'kind' and 'files' are missing")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise ManifestError(f"{path}: 'files' must map names to SHA-256 strings")
    manifest = Manifest(kind, dict(files))
    if raw.get("digest") != manifest.digest:
        raise ManifestError(f"{path}: its digest does not match its own file list (the manifest was edited)")
    return manifest


def verify(directory: str | Path, kind: str) -> Manifest:
    """Check that ``directory`` is an intact ``kind`` directory; return its manifest.

    Raises FileNotFoundError (no such directory), ManifestError naming every difference.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(
            f"{directory} does not exist or is not a folder; {describe(kind)} was expected"
        )
    manifest = read(directory)
    if manifest is None:
        raise ManifestError(
            f"{directory} has no {MANIFEST}: it is not {describe(kind)}, or was written by an older version "
            "of ernn (write it again) or was not completely copied"
        )
    if manifest.kind != kind:
        raise ManifestError(f"{directory} is {describe(manifest.kind)}, not {describe(kind)}")
    missing_required = [name for name in REQUIRED.get(kind, ()) if name not in manifest.files]
    if missing_required or (not manifest.files and REQUIRED.get(kind)):
        raise ManifestError(
            f"{directory / MANIFEST}: does not list {', '.join(missing_required) or 'any file'}, which "
            f"{describe(kind)} holds"
        )
    problems = []
    for name, recorded in sorted(manifest.files.items()):
        path = directory / name
        if not is_inside(directory, name):
            problems.append(f"{name!r} lies outside the directory")
        elif not path.is_file():
            problems.append(f"{name} is missing")
        elif sha256(path) != recorded:
            problems.append(f"{name} was changed")
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise ManifestError(
            f"{directory} does not match its {MANIFEST} ({shown}): it is not the {kind} that was written "
            "there. Write it again, or restore the files"
        )
    return manifest
