"""Resumable output directories (``ernn dse``): claimed once, written file by file, sealed at the end.

A design-space exploration runs for hours and keeps every finished point, so that the next run resumes
where the last one stopped; it cannot be staged and swapped into place as a whole
(:mod:`ernn.files.output_dir`). Instead:

1. **Claim** (:func:`claim`, before any work): ``out`` absent or empty becomes a new directory with an
   ``ernn-manifest.json`` of the kind that lists nothing yet; one whose manifest is of the same kind is
   resumed; one of another kind (a training run, a model) is refused; a folder of the user's (files, no
   manifest) is refused unless ``force``, and then only if none of the names the tool writes
   (``reserved``) is already there: the tool then writes beside the user's files and never touches them.
2. **Write** every file on its own, all or nothing (:mod:`ernn.files.atomic`): an interrupted run leaves
   whole files, the previous ones or the new ones.
3. **Seal** (:func:`seal`): the manifest is rewritten to list the tool's files with their hashes, so that
   ``ernn verify`` can check them. After a run that was interrupted before its seal, the manifest may list
   fewer files than the directory holds, or an older hash of a rewritten report; the next run's seal
   lists them all again.

Once claimed, the reserved names are the tool's: a file at one of them that the manifest does not list yet
is taken to be left by an interrupted run, not the user's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ernn.files import atomic
from ernn.files import manifest as mf
from ernn.files.atomic import folder_lock


def claim(out: str | Path, kind: str, *, force: bool, reserved: Iterable[str] = ()) -> Path:
    """Make ``out`` a ``kind`` directory to write into, or resume one; return it as a Path.

    ``reserved`` names the files and folders (relative to ``out``) the tool writes: in a folder of the
    user's they must not exist yet, even with ``force``. Raises NotADirectoryError, FileExistsError or
    PermissionError naming the folder and what to do; ManifestError for an unreadable manifest.
    """
    out = Path(out)
    if str(out) in ("", "."):
        raise ValueError("an output folder must be named (not the current folder)")
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} is a file; {mf.describe(kind)} needs a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        raise PermissionError(f"{out}: the folder cannot be created there") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise PermissionError(f"{out}: the folder cannot be written")
    with folder_lock(out):  # two runs claiming one new folder: the second one resumes
        try:
            own = mf.read(out)
        except mf.ManifestError as exc:
            raise mf.ManifestError(f"{exc}; move the folder away or choose another --out") from None
        if own is not None:
            if own.kind != kind:
                raise FileExistsError(
                    f"{out} is {mf.describe(own.kind)}; {mf.describe(kind)} is not written into it: "
                    "choose another --out"
                )
            return out  # resume
        if any(out.iterdir()):
            if not force:
                raise FileExistsError(
                    f"{out} holds files that ernn did not write (no {mf.MANIFEST}); pass --force to write "
                    f"{mf.describe(kind)} beside them (none of them is replaced), or choose another --out"
                )
            clash = sorted(name for name in reserved if os.path.lexists(out / name))
            if clash:
                raise FileExistsError(
                    f"{out}: {', '.join(clash)} {'is' if len(clash) == 1 else 'are'} not ernn's but "
                    f"{mf.describe(kind)} writes {'that name' if len(clash) == 1 else 'those names'}; "
                    "nothing was changed. Move them away or choose another --out"
                )
        atomic.write_text(out / mf.MANIFEST, mf.Manifest(kind, {}).text(), force=True)
    return out


def seal(out: str | Path, kind: str, names: Iterable[str]) -> mf.Manifest:
    """Rewrite ``out``'s manifest to list exactly ``names`` (relative paths of the tool's files) with
    their current hashes; return it. Every name must be a file inside ``out``."""
    out = Path(out)
    with folder_lock(out):
        files = {}
        for name in sorted(set(names)):
            path = out / name
            if name == mf.MANIFEST or not mf.is_inside(out, name) or not path.is_file() or path.is_symlink():
                raise ValueError(f"{out}: {name!r} is not a file the tool wrote there")
            files[name] = mf.sha256(path)
        manifest = mf.Manifest(kind, files)
        atomic.write_text(out / mf.MANIFEST, manifest.text(), force=True)
    return manifest
