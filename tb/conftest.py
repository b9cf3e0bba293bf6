"""pytest configuration of the RTL testbenches (tb/).

Tests marked ``slow`` under tb/ are left out unless a ``-m`` expression is given (``make test-long`` runs
``pytest -m slow``), so that ``make test`` (plain ``pytest -n 2``) stays within its time budget.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_TB_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("markexpr", default=""):
        return
    keep, drop = [], []
    for item in items:
        in_tb = _TB_DIR in Path(str(item.path)).resolve().parents
        (drop if in_tb and item.get_closest_marker("slow") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
