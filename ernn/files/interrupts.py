"""Ctrl-C and SIGTERM remembered, so that an interrupt Python swallowed still stops the command.

The handlers raise KeyboardInterrupt, as Python's own SIGINT handler does, and also record that a signal
came. Why the record: when a signal lands while Python runs a finalizer (an object's ``__del__``, a
generator's ``close``, a weakref callback), the KeyboardInterrupt raised there is printed as "Exception
ignored" and dropped, and the command would run on and publish its output after the user asked it to
stop. With the record, the long loops (:func:`raise_if_received` once per epoch) and the commit of every
output directory (:mod:`ernn.files.output_dir`) raise it again, and nothing is published.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

_received: int | None = None


def _handler(signum, frame):
    global _received
    _received = signum
    raise KeyboardInterrupt


def received() -> int | None:
    """The signal that came since :func:`handled` began (SIGINT or SIGTERM), or None."""
    return _received


def raise_if_received() -> None:
    """Raise KeyboardInterrupt if an interrupt came, even one whose exception was swallowed."""
    if _received is not None:
        raise KeyboardInterrupt


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise KeyboardInterrupt and are recorded; afterwards the
    previous handlers are back and the record is cleared. Outside the main thread (no handlers can be
    set there) the block runs with the handlers it has."""
    global _received
    _received = None
    previous = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, _handler)
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        _received = None
