"""The graph picture's colours (graphnn/viz/svg.py): every colour key is a registered op (a new op
without one gets a fallback colour)."""

from graphnn import ops
from graphnn.viz.svg import FALLBACK_COLOURS, OP_COLOURS, op_colour


def test_every_colour_key_is_a_registered_op():
    assert set(OP_COLOURS) <= set(ops.names()), set(OP_COLOURS) - set(ops.names())


def test_an_op_without_a_colour_gets_a_fallback():
    assert op_colour("conv3d") in FALLBACK_COLOURS and op_colour("conv2d") == OP_COLOURS["conv2d"]
