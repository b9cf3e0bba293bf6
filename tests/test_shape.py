"""ernn.shape: the one shape type, its validation, and number formats from a shape alone."""

import dataclasses

import pytest

from ernn.dse import cost_model
from ernn.dse import phase2 as dse_hw
from ernn.golden.float_reference import random_model
from ernn.golden.formats import NumericsConfig
from ernn.golden.network import GoldenNetwork, numerics_for_model
from ernn.shape import BlockCirculant, ModelShape

SHAPES = [
    dict(cell="lstm", input_size=12, hidden_size=32, block_size=8),
    dict(cell="gru", input_size=5, hidden_size=20, num_layers=2, block_size=4),
    dict(cell="lstm", input_size=9, hidden_size=24, proj_size=10, num_layers=2, peephole=True, block_size=4),
    dict(cell="lstm", input_size=40, hidden_size=64, proj_size=16, block_size=16),
]


@pytest.mark.parametrize("spec", SHAPES)
def test_shape_round_trip_and_golden_info_agree(spec):
    shape = ModelShape.from_dict(spec)
    assert ModelShape.from_dict(shape.to_dict()) == shape
    desc = random_model(spec["cell"], spec["input_size"], spec["hidden_size"],
                        **{k: v for k, v in spec.items() if k not in ("cell", "input_size", "hidden_size")})  # fmt: skip
    net = GoldenNetwork(desc)
    # the golden model's ModelInfo is this shape plus weight statistics
    assert net.info.shape == shape
    assert net.info.max_blocks == shape.max_input_blocks
    assert net.info.max_spectrum > 0


@pytest.mark.parametrize("spec", SHAPES)
@pytest.mark.parametrize("bits", [8, 12, 16])
def test_formats_from_the_shape_have_the_widths_of_the_fitted_ones(spec, bits):
    """Weights only move fraction bits: every word width comes from the shape and the data bits."""
    shape = ModelShape.from_dict(spec)
    desc = random_model(spec["cell"], spec["input_size"], spec["hidden_size"], seed=bits,
                        **{k: v for k, v in spec.items() if k not in ("cell", "input_size", "hidden_size")})  # fmt: skip
    fitted = numerics_for_model(desc, bits)
    from_shape = NumericsConfig.for_shape(shape, bits)
    for f in dataclasses.fields(NumericsConfig):
        a, b = getattr(fitted, f.name), getattr(from_shape, f.name)
        assert getattr(a, "word", a) == getattr(b, "word", b), f.name
    # the cost model's configuration is the same whichever way the formats were obtained, but for the
    # rounding shift (DATA_F + WS_F - IFFT_F: fraction bits, which the weights move; it sets the lane
    # rounders' kept bits, acc_w - acc_shift)
    net = GoldenNetwork(desc, data_bits=bits)
    built = cost_model.HwConfig.build(net.info, net.numerics, 5)
    from_spec = dse_hw.config_for_shape(spec, 5, bits)
    assert dataclasses.replace(built, acc_shift=from_spec.acc_shift) == from_spec
    assert 0 <= built.acc_shift < built.acc_w and 0 <= from_spec.acc_shift < from_spec.acc_w
    assert cost_model.HwConfig.build(net.info, net.numerics, 5).shape == shape


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cell": "rnn"}, "'cell' must be 'lstm' or 'gru'"),
        ({"hidden_size": 0}, "'hidden_size' must be an integer >= 1"),
        ({"input_size": 2.5}, "'input_size' must be an integer"),
        ({"block_size": 6}, "block_size must be a power of two"),
        ({"proj_size": 40}, r"'proj_size' must be in \[0, hidden_size - 1 = 31\]"),
        ({"cell": "gru", "peephole": True}, "LSTM options"),
        ({"block_size": None, "structure": {"name": "kronecker"}}, "structure must be one of circulant"),
    ],
)
def test_bad_shapes_name_the_key(change, message):
    spec = {**SHAPES[0], **change}
    if spec.get("block_size") is None:
        spec.pop("block_size")
    with pytest.raises(ValueError, match=message):
        ModelShape.from_dict(spec, where="my.json")


def test_missing_key_is_named_with_the_source():
    with pytest.raises(ValueError, match=r"my\.json: missing key 'hidden_size'"):
        ModelShape.from_dict({"cell": "lstm", "input_size": 3, "block_size": 4}, where="my.json")


def test_sr1_input_blocks():
    sr1 = ModelShape(cell="lstm", input_size=153, hidden_size=1024, proj_size=512, num_layers=2,
                     peephole=True, structure=BlockCirculant(16))  # fmt: skip
    blocks = lambda n: -(-n // 16)  # noqa: E731
    # layer 0: x then h blocks; layer 1: h-sized input then h; the projection: blocks of m (hidden)
    expected = max(blocks(153) + blocks(512), blocks(512) + blocks(512), blocks(1024))
    assert sr1.max_input_blocks == expected
    assert sr1.output_size == 512 and sr1.layer_input_size(1) == 512 and sr1.gates == 4
