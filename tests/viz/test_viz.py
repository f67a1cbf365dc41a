"""The visualiser: what it reads (model, bundle, run directory, invalid models), the layout's promises
(layers, no overlaps, edges only through their own slots), and the SVG, DOT and HTML it writes.
The browser test (tests/viz/test_browser.py) reuses the builders defined here."""

import itertools
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from graphnn.cli import main
from graphnn.executor import Network
from graphnn.io.bundle import Bundle, save_bundle
from graphnn.model import load_model, model_from_dict
from graphnn.model.builder import Graph
from graphnn.viz import load_view, render
from graphnn.viz.layout import layered_layout
from graphnn.viz.svg import layout_view

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "models" / "mlp784.json"
SVG = "{http://www.w3.org/2000/svg}"

# name -> (model text, nodes the errors point at). Each is broken in one way `graphnn check` reports.
_MLP_NODES = [
    {"name": "image", "op": "data", "shape": [784], "field": "x"},
    {"name": "label", "op": "data", "shape": [10], "field": "y"},
    {"name": "fc1", "op": "fc", "inputs": ["image"], "units": 50},
    {"name": "act1", "op": "activation", "inputs": ["fc1"], "function": "tanh"},
    {"name": "fc2", "op": "fc", "inputs": ["act1"], "units": 10},
    {"name": "loss", "op": "loss", "inputs": ["fc2", "label"], "function": "softmax_cross_entropy"},
]


def _model_text(changes=None, extra=()):
    nodes = [dict(node, **(changes or {}).get(node["name"], {})) for node in _MLP_NODES] + list(extra)
    return json.dumps({"format": "graphnn/1", "name": "broken", "nodes": nodes}, indent=1)


INVALID_MODELS = {
    "unknown_input": (_model_text({"fc2": {"inputs": ["act9"]}}), {"fc2"}),
    "shape_mismatch": (_model_text({"fc2": {"units": 12}}), {"loss"}),
    "schema": (_model_text({"fc1": {"units": -4, "colour": "red"}}), {"fc1"}),
    "unknown_op": (_model_text({"act1": {"op": "activaton"}}), {"act1"}),
    "cycle": (_model_text({"fc1": {"inputs": ["act1"]}}), {"fc1"}),
    "duplicate_name": (_model_text(extra=[{"name": "act1", "op": "activation", "inputs": ["fc2"],
                                           "function": "relu"}]), {"act1"}),
    "syntax": ('{"format": "graphnn/1", "nodes": [\n  {"name": "a", "op": "data",}\n]}', set()),
}


def big_model(blocks=43, name="big"):
    """A valid model of 7 * blocks + 5 nodes: branches joined by concat, a skip connection per block,
    and a long skip over every five blocks (edges that span many layers)."""
    g = Graph(name)
    x = g.data("image", shape=[32])
    y = g.data("label", shape=[10], field="y")
    h = g.fc(x, 16)
    history = [h]
    for block in range(blocks):
        left = g.relu(g.fc(h, 16))
        right = g.tanh(g.fc(h, 16))
        mixed = g.fc(g.concat(left, right), 16)
        if block % 5 == 4:
            h = g.add(mixed, h, history[-5])
        else:
            h = g.add(mixed, h)
        history.append(h)
    g.loss(g.fc(h, 10), y)
    return g.to_dict()


def make_run(folder, model_path=MLP, iterations=60):
    """A run directory like `graphnn run` writes: model.gnn, metrics.jsonl (with one bad line), summary.json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = load_model(model_path)
    network = Network.initialise(model, seed=0)
    save_bundle(folder / "model.gnn", Bundle(model, network.weights, network.state,
                                             {"training": {"iterations": iterations, "seed": 0}}))
    records = []
    for i in range(1, iterations + 1):
        records.append({"phase": "train", "iteration": i, "epoch": i / 600, "loss": 2.3 * 0.97 ** i,
                        "accuracy": 1 - 0.9 * 0.96 ** i, "lr": 0.1 * (1 + 0.0005 * i) ** -0.75, "elapsed": i / 50})
        if i % 20 == 0:
            records.append({"phase": "test", "iteration": i, "loss": 2.4 * 0.97 ** i, "accuracy": 1 - 0.92 * 0.96 ** i})
    lines = [json.dumps(record) for record in records]
    lines.insert(3, "this line is not JSON")
    (folder / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    summary = {"model": model.name, "test": {"accuracy": 0.91, "loss": 0.31, "samples": 10000},
               "train": {"iterations": iterations, "seconds": 1.5}}
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder, network


def check_errors(path):
    """The error lines `graphnn check` prints for a model file, without their "error: " prefix."""
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 2, result.output
    return [line.removeprefix("error: ") for line in result.stderr.splitlines()]


def write_invalid(tmp_path, case):
    text, nodes = INVALID_MODELS[case]
    path = tmp_path / f"{case}.json"
    path.write_text(text)
    return path, nodes


def overlaps(a, b):
    """Whether two (x, y, width, height) rectangles share interior area."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


# --- reading -----------------------------------------------------------------------------------------

def test_model_view_has_every_node_edge_shape_and_count():
    view = load_view(MLP)
    model = load_model(MLP)
    assert [node.name for node in view.nodes] == [node["name"] for node in model.nodes]
    assert not view.errors
    by_name = {node.name: node for node in view.nodes}
    assert by_name["fc1"].out_shape == (50,) and by_name["fc1"].parameters == 784 * 50 + 50
    assert by_name["fc1"].params["init"] == "xavier" and by_name["fc1"].params["bias"] is True  # a default
    assert view.total_parameters == model.plan.parameter_count()
    edges = {(view.nodes[int(e.source[1:])].name, view.nodes[int(e.target[1:])].name): e.shape for e in view.edges}
    assert edges[("image", "fc1")] == (784,) and edges[("label", "loss")] == (10,)
    assert len(edges) == 7


def test_bundle_view_has_weight_statistics(tmp_path):
    folder, network = make_run(tmp_path / "run")
    view = load_view(folder / "model.gnn")
    assert view.kind == "bundle" and view.metadata["training"]["iterations"] == 60
    fc1 = next(node for node in view.nodes if node.name == "fc1")
    W = network.weights["fc1"]["W"].astype(np.float64)
    stats = fc1.weights["W"]
    assert stats["shape"] == [784, 50]
    assert stats["min"] == pytest.approx(W.min()) and stats["max"] == pytest.approx(W.max())
    assert stats["mean"] == pytest.approx(W.mean()) and stats["std"] == pytest.approx(W.std())
    assert sum(stats["histogram"]["counts"]) == W.size
    assert len(stats["histogram"]["edges"]) == len(stats["histogram"]["counts"]) + 1


def test_a_bundle_is_known_by_its_magic_bytes_whatever_its_name(tmp_path):
    folder, _ = make_run(tmp_path / "run")
    renamed = tmp_path / "trained.bin"
    renamed.write_bytes((folder / "model.gnn").read_bytes())
    view = load_view(renamed)
    assert view.kind == "bundle" and view.nodes[2].weights["W"]["shape"] == [784, 50]


def test_run_view_reads_curves_summary_and_notes_bad_lines(tmp_path):
    folder, _ = make_run(tmp_path / "run")
    view = load_view(folder)
    assert view.kind == "run" and view.summary["test"]["accuracy"] == 0.91
    assert len(view.curves["loss"]["train"]) == 60 and len(view.curves["loss"]["test"]) == 3
    assert set(view.curves["lr"]) == {"train"} and view.curves["accuracy"]["test"][0][0] == 20
    assert len(view.notes) == 1 and "metrics.jsonl:4" in view.notes[0]


def test_run_directory_without_bundle_is_one_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["viz", str(tmp_path), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 2
    assert "no model.gnn" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("case", sorted(INVALID_MODELS))
def test_invalid_model_lists_check_errors_and_marks_nodes(tmp_path, case):
    path, nodes = write_invalid(tmp_path, case)
    expected = check_errors(path)
    view = load_view(path)
    assert view.errors == expected
    assert {node.name for node in view.nodes if node.errors} == nodes
    page = render(view, "html")
    errors_section = re.search(r'<section id="errors".*?</section>', page, re.DOTALL).group()
    for error in expected:
        assert f"<li>{_html(error)}</li>" in errors_section
    marked = set(re.findall(r'<g class="node error" id="node-\w+" data-id="\w+" data-name="([^"]*)"', page))
    assert marked == nodes


def _html(text):
    from html import escape

    return escape(text)


def test_invalid_model_draws_what_it_can(tmp_path):
    path, _ = write_invalid(tmp_path, "unknown_input")
    view = load_view(path)
    by_name = {node.name: node for node in view.nodes}
    assert by_name["act1"].out_shape == (50,)  # upstream of the error: inferred
    assert by_name["fc2"].out_shape is None and by_name["loss"].out_shape is None  # at and below it: '?'
    assert "?" in [edge.shape is None and "?" for edge in view.edges]
    svg = render(view, "svg")
    assert ">?</text>" in svg and "out ?" in svg


def test_cycle_is_drawn_with_its_closing_edge_flagged(tmp_path):
    path, _ = write_invalid(tmp_path, "cycle")
    view = load_view(path)
    assert sum(edge.cyclic for edge in view.edges) == 1
    root = ET.fromstring(render(view, "svg").split("\n", 1)[1])
    assert len([g for g in root.iter(f"{SVG}g") if g.get("class") == "edge cyclic"]) == 1


# --- layout ------------------------------------------------------------------------------------------

def test_layout_of_300_nodes_keeps_layers_and_never_overlaps():
    document = big_model()
    model = model_from_dict(document)
    assert len(model.plan.steps) >= 300
    view = load_view_of(document)
    layout, placed, _ = layout_view(view)
    rects = list(layout.boxes.values()) + [label for label in layout.labels if label]
    order = sorted(range(len(rects)), key=lambda i: rects[i][1])
    for position, i in enumerate(order):  # sweep down: only rectangles starting above i's bottom can meet it
        for j in order[position + 1:]:
            if rects[j][1] >= rects[i][1] + rects[i][3]:
                break
            assert not overlaps(rects[i], rects[j]), (rects[i], rects[j])
    for edge, route in zip(placed, layout.routes):
        source, target = layout.boxes[edge.source], layout.boxes[edge.target]
        assert target[1] >= source[1] + source[3]  # every edge runs downward, layer to later layer
        for (x0, y0), (x1, y1) in itertools.pairwise(route):
            assert y1 >= y0
            for bx, by, bw, bh in layout.boxes.values():
                if y0 < by + bh - 0.5 and by + 0.5 < y1:  # beside a box, an edge runs straight down, clear of it
                    assert x0 == x1 and not bx <= x0 <= bx + bw, (edge, (bx, by, bw, bh))


def load_view_of(document):
    from graphnn.viz.view import view_of_model

    return view_of_model(model_from_dict(document), "big.json")


def test_layout_orders_to_remove_crossings():
    # file order puts a, b over d, c; the barycentre pass uncrosses them
    layout = layered_layout({key: (40, 20) for key in "abdc"}, [("a", "c"), ("b", "d")])
    x = {key: box[0] for key, box in layout.boxes.items()}
    assert (x["a"] < x["b"]) == (x["c"] < x["d"])


def test_layout_sinks_a_source_next_to_its_consumer():
    layout = layered_layout({key: (40, 20) for key in "xyzl"}, [("x", "y"), ("y", "z"), ("l", "z")])
    assert layout.boxes["l"][1] == layout.boxes["y"][1]


def test_layout_refuses_a_cycle():
    with pytest.raises(ValueError, match="acyclic"):
        layered_layout({"a": (10, 10), "b": (10, 10)}, [("a", "b"), ("b", "a")])


# --- output ------------------------------------------------------------------------------------------

def test_svg_parses_and_draws_every_node_and_edge():
    view = load_view(MLP)
    text = render(view, "svg")
    root = ET.fromstring(text.encode())
    nodes = [g for g in root.iter(f"{SVG}g") if "node" in (g.get("class") or "").split()]
    assert [g.get("data-name") for g in nodes] == [node.name for node in view.nodes]
    edges = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    assert len(edges) == len(view.edges)
    labels = sorted(g.find(f"{SVG}text").text for g in edges)
    assert labels == sorted(["784", "50", "50", "50", "50", "10", "10"])


def test_dot_is_accepted_by_pydot_and_networkx():
    pydot = pytest.importorskip("pydot")
    import networkx as nx

    view = load_view(MLP)
    (graph,) = pydot.graph_from_dot_data(render(view, "dot"))
    names = {node.get_name() for node in graph.get_nodes()} - {"node", "edge", "graph"}
    assert names == {node.id for node in view.nodes}
    assert len(graph.get_edges()) == len(view.edges)
    digraph = nx.nx_pydot.from_pydot(graph)
    assert nx.is_directed_acyclic_graph(digraph) and digraph.number_of_edges() == 7
    label = graph.get_node("n2")[0].get("label")
    assert "fc1" in label and "units=50" in label


def test_dot_of_an_invalid_model_parses_and_names_its_errors(tmp_path):
    pydot = pytest.importorskip("pydot")
    path, _ = write_invalid(tmp_path, "cycle")
    view = load_view(path)
    (graph,) = pydot.graph_from_dot_data(render(view, "dot"))
    assert "graph has a cycle" in graph.get("label")
    assert any(edge.get("style") == '"dashed"' or edge.get("style") == "dashed" for edge in graph.get_edges())


def test_html_is_self_contained_and_escapes_the_model(tmp_path):
    document = json.loads(MLP.read_text())
    document["description"] = "</script><script>alert(1)</script> & <b>bold</b>"
    path = tmp_path / "tricky.json"
    path.write_text(json.dumps(document))
    page = render(load_view(path), "html")
    assert "<script>alert(1)" not in page and "<b>bold" not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"\b(src|href)\s*=", page)
    assert set(re.findall(r"https?://[^\s\"')]+", page)) == {"http://www.w3.org/2000/svg"}
    data = re.search(r'<script type="application/json" id="graphnn-data">(.*?)</script>', page, re.DOTALL).group(1)
    assert json.loads(data)["nodes"]["n2"]["params"]["units"] == 50


def test_run_page_has_curves_summary_and_weights(tmp_path):
    folder, _ = make_run(tmp_path / "run")
    page = render(load_view(folder), "html")
    assert [m for m in re.findall(r'data-metric="(\w+)"', page)] == ["loss", "accuracy", "lr"]
    assert 'id="summary"' in page and "test.accuracy" in page and 'id="metadata-table"' in page
    data = json.loads(re.search(r'id="graphnn-data">(.*?)</script>', page, re.DOTALL).group(1))
    assert data["nodes"]["n2"]["weights"]["W"]["shape"] == [784, 50]


# --- command line ------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".html", ".svg", ".dot"])
def test_cli_writes_each_format(tmp_path, suffix):
    out = tmp_path / f"mlp{suffix}"
    result = CliRunner().invoke(main, ["viz", str(MLP), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {out}: 8 nodes, 42,310 parameters")
    assert out.read_text().strip()


def test_cli_refuses_an_unknown_suffix_before_reading(tmp_path):
    result = CliRunner().invoke(main, ["viz", str(MLP), "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "end its name with one of" in result.output


def test_cli_draws_an_invalid_model_and_says_so(tmp_path):
    path, _ = write_invalid(tmp_path, "schema")
    result = CliRunner().invoke(main, ["viz", str(path), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 0 and "errors, marked on the drawing" in result.output


def test_python_m_graphnn_viz_runs(tmp_path):
    out = tmp_path / "run.html"
    folder, _ = make_run(tmp_path / "run")
    result = subprocess.run([sys.executable, "-m", "graphnn", "viz", str(folder), "-o", str(out)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "note: " in result.stderr and out.exists()
