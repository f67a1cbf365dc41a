"""Drawing a model with blocks: each block instance and repeated chain is one box (a chain's says ×N) whose
own drawing the page opens; the counts add up; --flat draws every node; DOT nests clusters."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphnn.cli import main
from graphnn.model import load_model
from graphnn.viz import load_view, render
from graphnn.viz.html import page_data
from graphnn.viz.svg import graph_svg, layout_view, scope_graph
from graphnn.viz.view import view_of_model
from tests.viz.test_viz import overlaps


@pytest.fixture(scope="module")
def resnet50():
    model = load_model("resnet50")
    return model, view_of_model(model, "resnet50.json")


def test_groups_follow_the_file(resnet50):
    model, view = resnet50
    top = [view.groups[item].path if item in view.groups else next(n.name for n in view.nodes if n.id == item)
           for item in view.top]
    assert top == ["image", "label", "stem", "stage1", "stage2", "stage3", "stage4", "pool", "fc", "loss"]
    stage2 = next(group for group in view.groups.values() if group.path == "stage2")
    assert (stage2.kind, stage2.block, stage2.count, stage2.first) == ("chain", "bottleneck", 4, "bottleneck_down")
    assert [view.groups[member].path for member in stage2.members] == [f"stage2.block{k}" for k in range(1, 5)]
    block1 = view.groups[stage2.members[0]]
    assert (block1.kind, block1.block, block1.nodes) == ("instance", "bottleneck_down", 12)
    assert sum(view.groups[item].parameters if item in view.groups else 0 for item in view.top) + \
        sum(node.parameters for node in view.nodes if node.group is None) == model.plan.parameter_count()
    assert stage2.parameters == sum(model.plan.parameter_count(step) for step in model.plan.steps
                                    if step.name.startswith("stage2."))


def test_each_scope_is_drawn_with_what_feeds_it(resnet50):
    _, view = resnet50
    items, edges = scope_graph(view)
    assert len(items) == 10 and all(not key.startswith(("in:", "out:")) for key in items)
    stage2 = next(group for group in view.groups.values() if group.path == "stage2")
    items, edges = scope_graph(view, stage2.id)
    assert items["in:stage1"] == "from stage1" and items["out:stage3"] == "to stage3"
    assert [(e.source, e.target) for e in edges][:2] == [("in:stage1", stage2.members[0]),
                                                        (stage2.members[0], stage2.members[1])]
    layout = layout_view(view, stage2.id)[0]
    boxes = list(layout.boxes.values())
    assert not any(overlaps(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    top = graph_svg(view)
    assert "bottleneck ×4 (first: bottleneck_down)" in top and top.count('class="group"') == 5
    assert len(re.findall(r'class="node[ "]', top)) == 5  # image, label, pool, fc, loss


def test_the_page_holds_every_scope_and_the_groups(resnet50):
    _, view = resnet50
    page = render(view, "html")
    scopes = re.findall(r'<div class="scope" data-scope="(g?\d*)"', page)
    assert scopes == [""] + list(view.groups)
    assert len(re.findall(r'class="node[ "]', page)) == len(view.nodes)  # each node drawn once, in its own scope
    data = page_data(view)
    assert data["groups"][view.top[3]]["path"] == "stage1"
    assert data["nodes"]["n10"]["group"] in data["groups"]


def test_flat_draws_every_node_and_dot_nests_clusters(tmp_path):
    flat = load_view("models/resnet18.json", flat=True)
    assert not flat.groups and len(scope_graph(flat)[0]) == 71
    runner = CliRunner()
    result = runner.invoke(main, ["viz", "resnet18", "-o", str(tmp_path / "r.dot")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "r.dot").read_text()
    assert text.count("subgraph cluster_") == 1 + 4 + 8  # the stem, 4 chains, 8 instances
    assert 'label="stage2 · basic ×2 (first: basic_down)"' in text
    pydot = pytest.importorskip("pydot")
    (graph,) = pydot.graph_from_dot_data(text)
    assert graph.get_name() == '"resnet18"'
    result = runner.invoke(main, ["viz", "resnet18", "--flat", "-o", str(tmp_path / "flat.svg")])
    assert result.exit_code == 0 and 'class="group"' not in (tmp_path / "flat.svg").read_text()


def test_an_invalid_model_with_blocks_is_still_drawn(tmp_path):
    text = Path("models/resnet18.json").read_text().replace('"width": 128', '"width": 0')
    path = tmp_path / "bad.json"
    path.write_text(text)
    view = load_view(path)
    assert view.errors and all("stage2" in error for error in view.errors)
    assert "stage2" in {node.name for node in view.nodes}  # the use node, drawn as written
    assert "<svg" in render(view, "html")
