"""Issue 16's blocks against the limits of graphnn/model/limits.py, counted before anything is expanded
(graphnn/model/blocks.py's _Measure):

- blocks nested up to 20 deep with ``repeat`` up to 10,000 are refused at once (the issue's case took 27 s),
  in one located line naming the node or instance where the limit is passed, found arithmetically: it is the
  node the expansion itself would make past MAX_NODES (checked against a real expansion under a small limit,
  on generated nests);
- the count is exact: for the zoo and generated valid nests, the nodes counted are the nodes expanded;
- a name longer than MAX_NAME_LENGTH because of its instance path is one error that gives the whole name,
  its length and the limit, located at the definition of the node (or use) that makes it; a name of
  exactly the limit loads, trains a step and round-trips through a bundle (whose keys take the same limit);
- counting and refusing cost time linear in the file (by ratio, as tests/model/test_scaling.py).
"""

import json
import random
import time

import pytest

from graphnn.errors import LimitError, ModelInvalid
from graphnn.executor import Network
from graphnn.io import bundle
from graphnn.model import blocks, load_model, model_from_dict, model_from_text, zoo
from graphnn.model.limits import MAX_NAME_LENGTH, MAX_NODES
from tests.fuzzing import assert_clean_refusal
from tests.helpers import assert_grows_linearly
from tests.model.test_scaling import load_text

ACT = {"inputs": ["x"], "outputs": ["o"], "nodes": [{"name": "o", "op": "activation", "inputs": ["x"],
                                                     "function": "relu"}]}


def nest(depth, repeat, top_repeat=None, name="s", inner="o"):
    """A model whose node ``name`` uses block b{depth-1}, each b{k} a chain of ``repeat`` b{k-1}, b0 one
    activation named ``inner``: repeat ** depth activations."""
    found = {"b0": {"inputs": ["x"], "outputs": [inner], "nodes": [
        {"name": inner, "op": "activation", "inputs": ["x"], "function": "relu"}]}}
    for level in range(1, depth):
        found[f"b{level}"] = {"inputs": ["x"], "outputs": ["o"], "nodes": [
            {"name": "o", "block": f"b{level - 1}", "inputs": ["x"], "repeat": repeat}]}
    use = {"name": name, "block": f"b{depth - 1}", "inputs": ["x"]}
    if top_repeat is not None:
        use["repeat"] = top_repeat
    return {"format": "graphnn/1", "name": "nest", "blocks": found, "nodes": [
        {"name": "x", "op": "data", "shape": [4]}, {"name": "y", "op": "data", "shape": [], "field": "y"}, use,
        {"name": "fc", "op": "fc", "inputs": [name], "units": 3},
        {"name": "loss", "op": "loss", "inputs": ["fc", "y"], "function": "softmax_cross_entropy"}]}


def refusal(document):
    with pytest.raises(ModelInvalid) as caught:
        model_from_text(json.dumps(document, indent=1), file="nest.json")
    for error in caught.value.errors:
        assert_clean_refusal(error)
    return caught.value.errors


# ----- refused before expanding, where the limit is passed ---------------------------------------------

@pytest.mark.parametrize("depth, repeat", [(20, 10_000), (32, 10_000), (20, 2), (3, 10_000), (2, 10_000)])
def test_deep_repeats_are_refused_at_once(depth, repeat):
    started = time.process_time()
    errors = refusal(nest(depth, repeat, top_repeat=repeat))
    assert time.process_time() - started < 1.0
    limits = [error for error in errors if f"{MAX_NODES:,} nodes" in error.message]
    assert len(limits) == 1 and isinstance(limits[0], LimitError)
    assert limits[0].path == "/blocks/b0/nodes/0" and limits[0].instance.startswith("s.block")
    assert str(limits[0]).startswith("nest.json:")


def generated_nests(count, seed=0):
    """Random block models: up to 5 blocks, each of op nodes and uses (chains, ``first``, repeats given
    as arguments) of the blocks before it."""
    rng = random.Random(seed)
    for _ in range(count):
        found = {}
        for level in range(rng.randint(1, 5)):
            nodes, last = [], "x"
            for index in range(rng.randint(1, 3)):
                name = f"n{index}"
                if level and rng.random() < 0.6:
                    used = f"b{rng.randrange(level)}"
                    node = {"name": name, "block": used, "inputs": [last]}
                    repeat = rng.choice([None, 1, 2, 3, 7, "$r"])
                    if repeat is not None:
                        node["repeat"] = repeat
                    if rng.random() < 0.5:
                        node["args"] = {"r": rng.choice([1, 2, 5, "$r"])}
                    if repeat is not None and rng.random() < 0.3:
                        node["first"] = {"block": f"b{rng.randrange(level)}"}
                else:
                    node = {"name": name, "op": "activation", "inputs": [last], "function": "relu"}
                nodes.append(node)
                last = name
            found[f"b{level}"] = {"inputs": ["x"], "outputs": [last], "params": {"r": {"type": "integer", "default": 2}},
                                  "nodes": nodes}
        top = {"name": "top", "block": f"b{len(found) - 1}", "inputs": ["x"], "repeat": rng.randint(1, 4)}
        yield {"format": "graphnn/1", "blocks": found,
               "nodes": [{"name": "x", "op": "data", "shape": [2]}, top]}


def expanded(document):
    return blocks.expand(document)


def test_the_count_is_the_expansion():
    for document in generated_nests(60):
        expansion = expanded(document)
        if expansion.nodes is None:
            continue
        counted = blocks._Measure(document["blocks"]).scope(document["nodes"], "/nodes", None, None)
        assert counted.nodes == len(expansion.nodes)
        assert len(counted.longest) >= max(len(node["name"]) for node in expansion.nodes)  # aliases count too
    for name in zoo.names():
        model = load_model(zoo.path(name))
        measure = blocks._Measure(model.document.get("blocks") or {})
        assert measure.scope(model.document["nodes"], "/nodes", None, None).nodes == len(model.plan.steps), name


@pytest.mark.parametrize("limit", [7, 30, 100])
def test_the_refusal_names_the_node_the_expansion_would_make_past_the_limit(limit, monkeypatch):
    checked = 0
    for document in generated_nests(200, seed=limit):
        made = expanded(document).nodes  # under the real limit: these are small
        if made is None or len(made) <= limit:
            continue
        past = expanded(document).origin(limit)
        with monkeypatch.context() as patched:
            patched.setattr(blocks, "MAX_NODES", limit)
            (error,) = [e for e in expanded(document).errors if "nodes; the limit" in e.message]
        assert (error.path, error.instance, error.node) == (past.path, past.instance.path, past.local)
        checked += 1
    assert checked >= 10


# ----- names: one limit, the instance path included ------------------------------------------------------

@pytest.mark.parametrize("outer, inner, repeat", [(120, 1, 2), (100, 20, 12), (110, 10, 1), (128, 5, None),
                                                  (50, 60, 1000), (90, 30, 3)])
def test_a_name_too_long_with_its_instance_path_is_one_located_error(outer, inner, repeat):
    document = nest(2, 1, top_repeat=repeat, name="a" * outer, inner="c" * inner)
    names = expanded(document)
    longest = max(len(node["name"]) for node in names.nodes) if names.nodes else None
    errors = refusal(document)
    assert len(errors) == 1, [str(e) for e in errors]
    (error,) = errors
    assert isinstance(error, LimitError) and f"at most {MAX_NAME_LENGTH}" in error.message
    assert error.path in ("/blocks/b0/nodes/0/name", "/nodes/2/name", "/blocks/b1/nodes/0/name")
    assert longest is None or str(longest) in error.message or "characters long" in error.message


def test_names_of_exactly_the_limit_load_train_and_round_trip(tmp_path):
    suffix = ".block10.o.block1.c"  # the longest name: outer + suffix, exactly MAX_NAME_LENGTH
    document = nest(2, 1, top_repeat=10, name="a" * (MAX_NAME_LENGTH - len(suffix)), inner="c")
    model = model_from_dict(document)
    assert max(len(step.name) for step in model.plan.steps) == MAX_NAME_LENGTH
    network = Network.initialise(model, seed=0)
    saved = bundle.to_bytes(bundle.Bundle(model, network.weights, network.state))
    assert bundle.to_bytes(bundle.from_bytes(saved)) == saved
    document["nodes"][2]["name"] += "a"
    document["nodes"][3]["inputs"][0] += "a"
    (error,) = refusal(document)
    assert f"{MAX_NAME_LENGTH + 1} characters" in error.message and error.instance == document["nodes"][2]["name"] + \
        ".block10.o.block1"


# ----- linear cost ------------------------------------------------------------------------------------------

def many_refused_uses(n):
    """n uses, each with its own arguments, of a block nested 3 deep with repeat 10,000 (each alone past the
    node limit)."""
    document = nest(3, 10_000)
    document["blocks"]["b2"]["params"] = {"w": {"type": "integer"}}
    head, tail = document["nodes"][:2], document["nodes"][3:]
    uses = [{"name": f"s{i:05d}", "block": "b2", "inputs": ["x"], "args": {"w": i}} for i in range(n)]
    tail[0]["inputs"] = [uses[-1]["name"]]
    document["nodes"] = head + uses + tail
    return json.dumps(document)


def many_counted_blocks(n):
    """n blocks, each a chain of two of the one before (the expansion doubles per level; MAX_BLOCK_DEPTH
    stops it at 32), used with n different arguments: refused by depth or count, never expanded."""
    found = {"b0": ACT | {"params": {"w": {"type": "integer", "default": 0}}}}
    for level in range(1, 30):
        found[f"b{level}"] = {"inputs": ["x"], "outputs": ["o"], "params": {"w": {"type": "integer"}}, "nodes": [
            {"name": "o", "block": f"b{level - 1}", "inputs": ["x"], "repeat": 2, "args": {"w": "$w"}}]}
    uses = [{"name": f"u{i:05d}", "block": "b29", "inputs": ["x"], "args": {"w": i}} for i in range(n)]
    return json.dumps({"format": "graphnn/1", "blocks": found, "nodes": [{"name": "x", "op": "data", "shape": [2]},
                                                                         *uses]})


BLOCK_ATTACKS = [many_refused_uses, many_counted_blocks]


@pytest.mark.parametrize("attack", BLOCK_ATTACKS, ids=lambda attack: attack.__name__)
def test_counting_the_expansion_grows_linearly(attack):
    assert_grows_linearly(attack, load_text, 100)
