"""`graphnn viz A --diff B`: A's drawing with B's changes outlined (graphnn/viz/diffview.py)."""

import json
import re
from pathlib import Path

from graphnn.viz.diffview import diff_view
from tests.helpers import cli

MLP = Path(__file__).resolve().parents[2] / "models" / "mlp784.json"


def changed_mlp(folder):
    document = json.loads(MLP.read_text())
    nodes = {node["name"]: node for node in document["nodes"]}
    nodes["fc2"]["units"] = 64
    nodes["fc3"]["name"] = "head"  # renamed: same op and inputs
    document["nodes"].insert(7, {"name": "fc4", "op": "fc", "inputs": ["head"], "units": 10})
    nodes["loss"]["inputs"] = ["fc4", "label"]
    document["train"]["lr"]["base_lr"] = 0.05
    path = Path(folder) / "b.json"
    path.write_text(json.dumps(document))
    return path


def marks(svg):
    return {name: kind for kind, name in
                re.findall(r'class="node(?: error)? diff-(\w+)"[^>]*data-name="([^"]+)"', svg)}


def test_the_svg_outlines_each_kind_of_change(tmp_path):
    b = changed_mlp(tmp_path)
    result = cli("viz", MLP, "--diff", b, "-o", tmp_path / "d.svg")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote ") and "9 nodes" in result.stdout  # A's 8 and the added fc4
    svg = (tmp_path / "d.svg").read_text()
    assert marks(svg) == {"fc2": "changed", "act2": "changed", "fc3": "renamed", "loss": "changed", "fc4": "added"}
    assert "against " in svg and "units: 50 -&gt; 64" in svg
    assert "setting /train/lr/base_lr: 0.1 -> 0.05" in result.stderr


def test_the_html_page_carries_the_marks(tmp_path):
    b = changed_mlp(tmp_path)
    assert cli("viz", MLP, "--diff", b, "-o", tmp_path / "d.html").returncode == 0
    assert "diff-added" in (tmp_path / "d.html").read_text()


def test_the_added_node_is_wired_in(tmp_path):
    view, difference = diff_view(MLP, changed_mlp(tmp_path))
    ids = {node.name: node.id for node in view.nodes}
    edges = {(edge.source, edge.target) for edge in view.edges}
    assert (ids["fc3"], ids["fc4"]) in edges and (ids["fc4"], ids["loss"]) in edges
    assert difference.renamed == {"fc3": "head"}


def test_no_difference_marks_nothing_and_bad_b_exits_2(tmp_path):
    assert cli("viz", MLP, "--diff", MLP, "-o", tmp_path / "same.svg").returncode == 0
    assert "diff-" not in (tmp_path / "same.svg").read_text().split("</style>")[1]
    (tmp_path / "broken.json").write_text("{")
    result = cli("viz", MLP, "--diff", tmp_path / "broken.json", "-o", tmp_path / "x.svg")
    assert result.returncode == 2 and result.stderr.startswith("error: ")
