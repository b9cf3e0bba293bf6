"""The timing model of the accelerator's schedule (ernn.export.timing): properties that follow from the
resources it models, and the exporter's cell-lanes choice built on it. Its agreement with the RTL is
checked by simulation (tb/ernn_top/test_ernn_top_cycles.py, bench/bench_cycles.py)."""

from __future__ import annotations

import pytest

from ernn.export import schedule
from ernn.export.timing import step_timing
from ernn.shape import BlockCirculant, ModelShape


def _shape(cell: str, n_in: int, hidden: int, k: int, **kw) -> ModelShape:
    return ModelShape(cell=cell, input_size=n_in, hidden_size=hidden, structure=BlockCirculant(k), **kw)


SHAPES = [
    _shape("lstm", 12, 32, 8),
    _shape("gru", 6, 32, 4),
    _shape("lstm", 12, 32, 16, proj_size=16, peephole=True, num_layers=2),
    _shape("gru", 37, 12, 16, num_layers=2),
]


@pytest.mark.parametrize(
    "info", SHAPES, ids=lambda s: f"{s.cell}{s.input_size}x{s.hidden_size}l{s.num_layers}"
)
@pytest.mark.parametrize("lanes", [1, 5, 32, 256])
def test_more_resources_never_cost_clocks(info: ModelShape, lanes: int) -> None:
    k = info.block_size
    cm = schedule.cycle_model(info, lanes)
    base = step_timing(info, lanes, schedule.default_cell_lanes(k)).cycles
    assert base >= cm.ideal - 2, (
        "one PE cannot beat the MAC time plus one pipeline depth by more than a hand-off"
    )
    assert base >= cm.pe_issue_cycles, "the step cannot be shorter than the PE's MAC issue"
    assert step_timing(info, lanes, k).cycles <= base
    assert step_timing(info, lanes, schedule.default_cell_lanes(k), iffts=4).cycles <= base
    if info.num_layers == 1:
        assert step_timing(info, lanes, schedule.default_cell_lanes(k), layer_skew=True).cycles == base


def test_mac_bound_step_is_issue_plus_depth() -> None:
    """At P = 1 the MACs dominate: the step is the MAC issue plus the recurrence the last round exposes."""
    info = SHAPES[0]
    cm = schedule.cycle_model(info, 1)
    st = step_timing(info, 1, 2)
    assert cm.pe_issue_cycles < st.cycles <= cm.pe_issue_cycles + cm.pipeline_depth + 10


def test_cell_lanes_choice() -> None:
    """An LSTM keeps k / 4 lanes; a GRU whose rows come at a clock each gets all k (its cell would
    otherwise start late and have every block's beats still to do); the choice is what cycle_model and
    the export record."""
    lstm = SHAPES[0]
    assert schedule.cell_lanes(lstm, 16) == schedule.default_cell_lanes(8)
    gru = SHAPES[1]
    assert schedule.cell_lanes(gru, 32) == 4
    quarter = step_timing(gru, 32, 1).cycles
    assert schedule.cycle_model(gru, 32).predicted < 0.8 * quarter
    assert schedule.cycle_model(gru, 32).cell_lanes == 4
