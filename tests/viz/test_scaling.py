"""Drawing a model costs time linear (or n log n) in its nodes and edges (issue 14, class 5).

A chain whose every node also reads one early node needed a bend slot per rank for each long edge:
n²/2 slots (400 nodes: 10 s and 187 MB; 800: 72 s). Past a budget the longest edges are now drawn in
lanes beside the layers (graphnn/viz/layout.py). Each graph generator below is laid out at n and 4n
nodes; the CPU time must grow less than tests/helpers.GROWTH_RATIO times. The lane drawings keep the
layout's promises: no two boxes or labels overlap, every edge runs downward, and beside a box an edge
runs straight down, clear of it. Below the budget nothing changes (no lanes).
"""

import itertools
import json
import random

import pytest

from graphnn.model import model_from_dict, model_from_text
from graphnn.viz import render
from graphnn.viz.layout import layered_layout
from graphnn.viz.svg import layout_view
from graphnn.viz.view import view_of_model
from tests.helpers import assert_grows_linearly

SIZE = 100


def reads_one_early_node(n):
    """A chain whose every node also reads node 0 (the attack of issue 14)."""
    return [(i - 1, i) for i in range(1, n)] + [(0, i) for i in range(2, n)]


def last_reads_everything(n):
    """A chain, and a final node reading every node of it."""
    return [(i - 1, i) for i in range(1, n)] + [(i, n) for i in range(n - 1)]


def halving_skips(n):
    """A chain whose node i also reads node i // 2: many sources, each with a long edge."""
    return [(i - 1, i) for i in range(1, n)] + [(i // 2, i) for i in range(3, n)]


def wide(n):
    """One node feeding n in parallel, all read by one node: a wide layer, short edges."""
    return [(0, i) for i in range(1, n + 1)] + [(i, n + 1) for i in range(1, n + 1)]


def random_dag(n, seed=0):
    """Each node reads up to three random earlier nodes."""
    rng = random.Random(seed)
    return sorted({(rng.randrange(i), i) for i in range(1, n) for _ in range(rng.randint(1, 3))})


GRAPHS = [reads_one_early_node, last_reads_everything, halving_skips, wide, random_dag]


def lay_out(edges):
    nodes = sorted({node for edge in edges for node in edge})
    sizes = {node: (60 + 7 * (node % 5), 30) for node in nodes}
    return layered_layout(sizes, edges, [(20, 10)] * len(edges))


@pytest.mark.parametrize("graph", GRAPHS, ids=lambda graph: graph.__name__)
def test_layout_grows_linearly(graph):
    assert_grows_linearly(graph, lay_out, SIZE)


def _overlaps(a, b):
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def check_promises(layout, edges):
    rects = list(layout.boxes.values()) + [label for label in layout.labels if label]
    order = sorted(range(len(rects)), key=lambda i: rects[i][1])
    for position, i in enumerate(order):
        for j in order[position + 1:]:
            if rects[j][1] >= rects[i][1] + rects[i][3]:
                break
            assert not _overlaps(rects[i], rects[j]), (rects[i], rects[j])
    boxes_by_top = sorted(layout.boxes.values(), key=lambda box: box[1])
    for (source, target), route in zip(edges, layout.routes):
        assert layout.boxes[target][1] >= layout.boxes[source][1] + layout.boxes[source][3]
        for (x0, y0), (x1, y1) in itertools.pairwise(route):
            assert y1 >= y0
            for bx, by, bw, bh in boxes_by_top:
                if by > y1:
                    break
                if y0 < by + bh - 0.5 and by + 0.5 < y1:
                    assert x0 == x1 and not bx <= x0 <= bx + bw, ((source, target), (bx, by, bw, bh))
    assert layout.width >= max(x for route in layout.routes for x, _ in route)


@pytest.mark.parametrize("graph", GRAPHS, ids=lambda graph: graph.__name__)
@pytest.mark.parametrize("n", [40, 300])
def test_lane_drawings_keep_the_layout_promises(graph, n):
    edges = graph(n)
    layout = lay_out(edges)
    check_promises(layout, edges)
    if graph in (reads_one_early_node, last_reads_everything) and n == 300:
        assert layout.lanes  # the budget was passed: these are drawn with lanes


def test_models_below_the_budget_have_no_lanes():
    from tests.viz.test_viz import big_model

    layout, _, _ = layout_view(view_of_model(model_from_dict(big_model()), "big.json"))
    assert not layout.lanes


def model_text(n):
    nodes = [{"name": "x", "op": "data", "shape": [4]}, {"name": "y", "op": "data", "shape": [], "field": "y"},
             {"name": "h00000", "op": "fc", "inputs": ["x"], "units": 4},
             {"name": "h00001", "op": "activation", "inputs": ["h00000"], "function": "relu"}]
    nodes += [{"name": f"h{i:05d}", "op": "add", "inputs": [f"h{i - 1:05d}", "h00000"]} for i in range(2, n)]
    nodes.append({"name": "loss", "op": "loss", "inputs": [f"h{n - 1:05d}", "y"], "function": "softmax_cross_entropy"})
    return json.dumps({"format": "graphnn/1", "name": "big", "nodes": nodes})


@pytest.mark.parametrize("fmt", ["svg", "html"])
def test_viz_of_a_model_whose_every_node_reads_one_early_node_grows_linearly(fmt):
    def draw(text):
        render(view_of_model(model_from_text(text), "big.json"), fmt)

    assert_grows_linearly(model_text, draw, 100, runs=2)
