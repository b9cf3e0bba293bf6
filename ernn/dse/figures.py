"""Figures written all or nothing: rendered into memory, then renamed into place (:mod:`ernn.files.atomic`),
so that an interrupted plot never leaves half a PNG where the previous one was."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ernn.files import atomic


def save_png(fig: Any, path: str | Path, *, force: bool, dpi: int = 120) -> Path:
    """Render the matplotlib figure ``fig`` as PNG to ``path`` (replacing it only with ``force``) and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return atomic.write_bytes(path, buf.getvalue(), force=force)
