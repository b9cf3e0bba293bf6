"""Single output files, written so that nobody ever sees half of one.

Rules (docs/reliability.md):

* **Checked first.** :func:`check_output_file` runs before a command computes anything: the path is not a
  folder, its folder can be written, and it does not exist unless ``force``.
* **Named exactly as given.** ``--output y`` writes ``y``, not ``y.npy``: :func:`save_npy` writes through a
  file object, so numpy adds no suffix. A name without ``.npy`` is still an ``.npy`` file.
* **All or nothing.** The content goes to a hidden sibling (``.NAME.ernn-tmp-PID-XXXX``), is flushed to disk
  and renamed onto the name: a reader sees the old file or the new one. An interrupted command leaves the
  old file (and at most its own hidden sibling, which the next write of that name removes).
* **No silent loss between concurrent writers.** Without ``force`` the new file is linked in place with
  ``link(2)``, which fails if the name appeared meanwhile (another process wrote it): the command then stops
  with a message instead of replacing that result. With ``force`` the last writer wins, as asked.

:func:`publish_files` renames several files in a row with SIGINT/SIGTERM held back, so that Ctrl-C cannot
land between them (a SIGKILL still can: the files are then individually whole).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import os
import secrets
import signal
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

#: hidden siblings this module creates: ``.NAME`` + one of these + ``-PID-TOKEN``
TEMP_TAG = ".ernn-tmp-"


def temp_sibling(path: Path, tag: str = TEMP_TAG) -> Path:
    """A fresh hidden name beside ``path`` (same folder, so a rename is atomic)."""
    return path.parent / f".{path.name}{tag}{os.getpid()}-{secrets.token_hex(4)}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def stale_siblings(path: Path, tag: str) -> list[Path]:
    """Hidden siblings of ``path`` with ``tag`` whose writing process no longer runs (killed mid-write)."""
    prefix = f".{path.name}{tag}"
    stale = []
    with contextlib.suppress(OSError):
        for entry in path.parent.iterdir():
            if not entry.name.startswith(prefix):
                continue
            pid = entry.name[len(prefix) :].split("-", 1)[0]
            if pid.isdigit() and not pid_alive(int(pid)):
                stale.append(entry)
    return stale


def check_output_file(path: str | Path, *, force: bool, what: str = "output") -> Path:
    """Check an output file name before any work; return it as a Path.

    Raises ``IsADirectoryError`` (a folder), ``FileExistsError`` (exists, no ``force``), ``PermissionError``
    (its folder cannot be written), ``NotADirectoryError`` (a parent is a file), each naming the path.
    """
    path = Path(path)
    if str(path) in ("", "."):
        raise ValueError(f"{what}: an empty file name")
    if path.is_symlink():  # write the file the link points at, not over the link
        path = path.resolve()
    if path.is_dir():
        raise IsADirectoryError(f"{what} {path} is a folder; give a file name")
    if path.exists() and not force:
        raise FileExistsError(f"{what} {path} exists; pass --force to overwrite it")
    parent = _existing_ancestor(path.parent)
    if not parent.is_dir():
        raise NotADirectoryError(f"{what} {path}: {parent} is a file, not a folder")
    probe_folder(parent, f"{what} {path}")
    return path


def probe_folder(folder: Path, what: str) -> None:
    """Create and remove a hidden file in ``folder``: the only sure test that it can be written (root
    passes every permission check, /proc and read-only mounts do not take files)."""
    probe = temp_sibling(folder / "probe")
    try:
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as exc:
        raise PermissionError(
            f"{what}: files cannot be created in {folder} ({exc.strerror or exc})"
        ) from None


def _existing_ancestor(folder: Path) -> Path:
    folder = folder if str(folder) else Path(".")
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: not every file system supports it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for a few renames; they are delivered when the block ends."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, ValueError, OSError):  # not the main thread, or no sigmask: nothing to hold
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def folder_lock(folder: Path) -> contextlib.AbstractContextManager[None]:
    """An exclusive ``flock`` on ``folder`` itself: writers in one folder take turns (released on exit,
    or by the kernel if the process dies)."""
    return _flock(os.open(folder, os.O_RDONLY))


def lock_file(path: Path) -> contextlib.AbstractContextManager[None]:
    """An exclusive ``flock`` on the file ``path`` (made if missing; its parent must exist), for a lock
    that must outlive what it guards (a folder that is removed and made again under it)."""
    return _flock(os.open(path, os.O_RDWR | os.O_CREAT, 0o644))


@contextlib.contextmanager
def _flock(fd: int) -> Iterator[None]:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _remove_stale_temps(path: Path) -> None:
    for stale in stale_siblings(path, TEMP_TAG):
        with contextlib.suppress(OSError):
            stale.unlink()


def stage_file(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write a hidden sibling of ``path`` with ``write(file)`` and flush it to disk; return its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(path)
    tmp = temp_sibling(path)
    try:
        with open(tmp, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno is not None and (exc.filename is None or Path(exc.filename) == tmp):  # name the output
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _link_in(tmp: Path, path: Path) -> None:
    """Put ``tmp`` at ``path`` only if ``path`` does not exist (atomic check and create)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsError(
            f"{path} appeared while this command ran (another process wrote it); it was not overwritten. "
            "Pass --force to overwrite it, or choose another name"
        ) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        # a file system without hard links: a plain rename after the check (a small race remains)
        if path.exists():
            raise FileExistsError(f"{path} appeared while this command ran; it was not overwritten") from None
        os.rename(tmp, path)
        return
    tmp.unlink()


def publish_files(pairs: Sequence[tuple[Path, Path]], *, force: bool) -> None:
    """Move staged files (tmp, final) into place together; on failure the ones already placed are removed
    again (they are this command's) and the remaining temporaries deleted."""
    placed: list[Path] = []
    try:
        with signals_held():
            for tmp, path in pairs:
                if force:
                    os.replace(tmp, path)
                else:
                    _link_in(tmp, path)
                placed.append(path)
    except BaseException:
        if not force:
            for path in placed:
                path.unlink(missing_ok=True)
        raise
    finally:
        for tmp, _ in pairs:
            tmp.unlink(missing_ok=True)
    for folder in {path.parent for _, path in pairs}:
        fsync_dir(folder)


def write_file(path: str | Path, write: Callable[[IO[bytes]], None], *, force: bool) -> Path:
    """Write ``path`` all or nothing (see the module docstring)."""
    path = Path(path)
    tmp = stage_file(path, write)
    publish_files([(tmp, path)], force=force)
    return path


def write_bytes(path: str | Path, payload: bytes, *, force: bool) -> Path:
    return write_file(path, lambda f: f.write(payload), force=force)


def write_text(path: str | Path, text: str, *, force: bool) -> Path:
    return write_bytes(path, text.encode(), force=force)


def write_json(path: str | Path, obj: Any, *, force: bool) -> Path:
    return write_text(path, json.dumps(obj, indent=2) + "\n", force=force)


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def save_npy(path: str | Path, array: np.ndarray, *, force: bool) -> Path:
    """``np.save`` to exactly ``path`` (no ``.npy`` appended), all or nothing."""
    return write_bytes(path, npy_bytes(array), force=force)
