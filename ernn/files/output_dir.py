"""Output directories (runs, models, reports, synthesis folders), replaced in one step or not at all.

``with output_directory(out, "model", force=...) as stage:`` — the command writes its files into ``stage``,
a hidden sibling of ``out`` (``.NAME.ernn-stage-PID-XXXX``); when the block ends without an exception the
stage gets an ``ernn-manifest.json`` (:mod:`ernn.files.manifest`) and becomes ``out``:

1. **Before any work** (:func:`check_output_dir`): ``out`` is a folder or absent; a folder that holds
   another kind of ernn directory is refused (a model never replaces a training run); one of the same kind is
   replaced only with ``force``; a folder of the user's (files, no manifest) is written into only with
   ``force``, and then only beside the user's files.
2. **Commit** (parent folder locked with ``flock`` so that concurrent writers take turns, and everything
   re-checked): the user's files in the old ``out`` (every file its manifest does not list) are hard-linked
   into the stage (copied where links are impossible); a user's file whose name the new output uses stops
   the command. Then the stage and ``out`` are exchanged atomically (``renameat2(RENAME_EXCHANGE)``; where
   the file system cannot, two renames, see below), and the previous directory (now at the stage's name:
   the tool's old files and second names of the user's) is deleted.
3. **Interrupted** at any point: Ctrl-C or SIGTERM removes the stage (``out`` untouched); a SIGKILL leaves
   a stage that the next write of ``out`` deletes, after checking that its process is gone. ``out`` is the
   previous directory or the new one, complete, never a mix. With the two-rename fallback a kill between the
   renames leaves the previous directory at ``.NAME.ernn-previous-PID-XXXX``: the next write of ``out`` (or
   :func:`restore_interrupted`) renames it back.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

from ernn.files import interrupts
from ernn.files import manifest as mf
from ernn.files.atomic import folder_lock, fsync_dir, probe_folder, signals_held, stale_siblings, temp_sibling

STAGE_TAG = ".ernn-stage-"
PREVIOUS_TAG = ".ernn-previous-"

#: the environment variable the fault-injection tests set to kill a writer at a named step of the commit
FAULT_ENV = "ERNN_FAULT_POINT"
FAULT_POINTS = ("staged", "linked", "exchanged", "cleaning")


def _fault_point(name: str) -> None:
    """SIGKILL this process here if the tests asked for it (tests/test_fault_injection.py): the only way
    to prove that a kill at every step of the commit leaves a whole directory."""
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def restore_interrupted(out: Path) -> None:
    """Undo what a killed writer of ``out`` left: put a previous directory back if ``out`` is missing,
    delete stale stages and stale previous directories (their user files live on in ``out``)."""
    previous = sorted(stale_siblings(out, PREVIOUS_TAG), key=lambda p: p.stat().st_mtime)
    if previous and not out.exists():
        os.rename(previous.pop(), out)
    for stale in [*previous, *stale_siblings(out, STAGE_TAG)]:
        shutil.rmtree(stale, ignore_errors=True)


def _manifest_or_none(out: Path) -> mf.Manifest | None:
    try:
        return mf.read(out)
    except mf.ManifestError:
        return None  # unreadable: nothing in it can be confirmed as the tool's


def check_output_dir(out: str | Path, kind: str, *, force: bool) -> Path:
    """Check that ``kind`` output may go to ``out`` (see the module docstring); return it as a Path.

    Raises NotADirectoryError, FileExistsError or PermissionError naming the folder and what to do.
    """
    out = Path(out)
    if str(out) in ("", "."):
        raise ValueError("an output folder must be named (not the current folder)")
    if out.is_symlink():  # replace the folder the link points at, and keep the link
        out = out.resolve()
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} is a file; {mf.describe(kind)} needs a folder")
    if out.is_dir():
        own = _manifest_or_none(out)
        if own is not None and own.kind != kind:
            raise FileExistsError(
                f"{out} is {mf.describe(own.kind)}; it is not replaced by {mf.describe(kind)}: choose another folder"
            )
        if own is not None and not force:
            raise FileExistsError(f"{out} already holds {mf.describe(kind)}; pass --force to replace it")
        if own is None and any(out.iterdir()) and not force:
            raise FileExistsError(
                f"{out} holds files that ernn did not write (no valid {mf.MANIFEST}); pass --force to add "
                f"{mf.describe(kind)} beside them (none of them is replaced), or choose another folder"
            )
    parent = out.parent if str(out.parent) else Path(".")
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(f"{out}: {parent} is a file, not a folder")
    probe_folder(parent, str(out))
    return out


def _entries(root: Path) -> tuple[list[str], list[str]]:
    """(non-directory entries, directories) under ``root`` as relative POSIX paths; symbolic links count
    as entries and are not followed."""
    files, dirs = [], []
    for top, dirnames, filenames in os.walk(root, followlinks=False):
        rel_top = Path(top).relative_to(root)
        for d in dirnames:
            (files if os.path.islink(os.path.join(top, d)) else dirs).append((rel_top / d).as_posix())
        files += [(rel_top / f).as_posix() for f in filenames]
    return files, dirs


def _second_name(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        shutil.copy2(src, dst, follow_symlinks=False)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step; False where the kernel or file system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        rename2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    rc = rename2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
    fsync_dir(root)


def _commit(stage: Path, out: Path, kind: str, *, force: bool) -> mf.Manifest:
    interrupts.raise_if_received()  # an interrupt Python swallowed: the user asked to stop, publish nothing
    new = mf.build(stage, kind)
    (stage / mf.MANIFEST).write_text(new.text())
    _fsync_tree(stage)
    _fault_point("staged")
    parent = out.parent if str(out.parent) else Path(".")
    with folder_lock(parent):
        restore_interrupted(out)
        check_output_dir(out, kind, force=force)  # again: another writer may have finished meanwhile
        if not out.exists():
            with signals_held():
                interrupts.raise_if_received()
                os.rename(stage, out)
            fsync_dir(parent)
            return new
        old = _manifest_or_none(out)
        own = {n for n in old.files if mf.is_inside(out, n)} | {mf.MANIFEST} if old else set()
        files, dirs = _entries(out)
        users = [n for n in files if n not in own]
        clash = sorted(n for n in users if os.path.lexists(stage / n))
        if clash:
            raise FileExistsError(
                f"{out}: {', '.join(clash[:5])} {'is' if len(clash) == 1 else 'are'} not ernn's but the new "
                f"{kind} writes {'that name' if len(clash) == 1 else 'those names'}; nothing was changed. Move "
                "them away or choose another folder"
            )
        for name in users:
            _second_name(out / name, stage / name)
        for name in dirs:  # the user's (possibly empty) folders
            (stage / name).mkdir(parents=True, exist_ok=True)
        _fault_point("linked")
        with signals_held():
            interrupts.raise_if_received()
            if not _exchange(stage, out):
                previous = temp_sibling(out, PREVIOUS_TAG)
                os.rename(out, previous)
                os.rename(stage, out)
                os.rename(previous, stage)
        fsync_dir(parent)
        _fault_point("exchanged")
        # files that appeared in the old directory after it was listed are moved over, not lost
        late, _ = _entries(stage)
        for name in late:
            if name not in own and name not in users and not os.path.lexists(out / name):
                (out / name).parent.mkdir(parents=True, exist_ok=True)
                os.rename(stage / name, out / name)
    for name in sorted(_entries(stage)[0])[:1]:  # half-deleted previous directory
        (stage / name).unlink()
        _fault_point("cleaning")
    shutil.rmtree(stage, ignore_errors=True)
    return new


@contextlib.contextmanager
def output_directory(out: str | Path, kind: str, *, force: bool) -> Iterator[Path]:
    """Yield a fresh stage folder to write ``kind`` output into; it becomes ``out`` when the block ends."""
    restore_interrupted(Path(out))
    out = check_output_dir(out, kind, force=force)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = temp_sibling(out, STAGE_TAG)
    stage.mkdir()
    try:
        yield stage
        _commit(stage, out, kind, force=force)
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:  # a failed write (disk full...): name the output
            raise OSError(exc.errno, exc.strerror or str(exc), str(out)) from exc
        raise
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


def claim_work_folder(out: Path, marker: str, tool: str, *, force: bool = False) -> None:
    """Make ``out`` the work folder of a tool that rewrites files in it by name and resumes from them (the
    verification drivers: formal, coverage, mutation): a new or empty folder, or one an earlier run of the
    same tool claimed (``marker``, a hidden file inside). A folder holding other files is refused without
    ``force``, so a mistyped ``--out`` never has a user's files replaced or removed. ``tool`` names the tool
    in the error."""
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file, not a folder")
    if out.is_dir() and not (out / marker).exists() and any(out.iterdir()) and not force:
        raise FileExistsError(
            f"--out {out} holds files that {tool} did not write; choose a new or empty folder, "
            "or pass --force to write beside them (files of the same names would be replaced)"
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / marker).touch()
