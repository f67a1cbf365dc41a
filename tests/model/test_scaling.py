"""Checking a model costs time linear in its size, whatever it holds (issue 14, class 5).

Each attack below is a generator of model texts of size n; loading the text of size 4n must take less
than tests/helpers.GROWTH_RATIO times as long as the text of size n (tests/helpers.assert_grows_linearly says how it is
timed so that a busy machine does not decide). A quadratic cost gives about 16. The first two are the attacks that were quadratic: nodes that each read
a missing name (a did-you-mean over every name per error) and one node with many missing inputs (each
error's line found by scanning from the start); the others are more of the same kind. Names have a fixed
width, so that only their number grows.
"""

import json

import pytest

from graphnn.errors import ModelInvalid
from graphnn.model import model_from_text
from graphnn.model.rules import NameSuggester
from tests.helpers import assert_grows_linearly


def _document(nodes, tail="h"):
    head = [{"name": "x", "op": "data", "shape": [4]}, {"name": "y", "op": "data", "shape": [], "field": "y"}]
    loss = {"name": "loss", "op": "loss", "inputs": [tail, "y"], "function": "softmax_cross_entropy"}
    return json.dumps({"format": "graphnn/1", "name": "big", "nodes": head + nodes + [loss]}, indent=1)


def missing_inputs(n):
    """n nodes, each reading a name no node has."""
    return _document([{"name": f"h{i:05d}", "op": "fc", "inputs": [f"m{i:05d}"], "units": 2} for i in range(n)],
                     "h00000")


def many_bad_inputs(n):
    """One concat reading 10 n names that no node has."""
    return _document([{"name": "h", "op": "concat", "inputs": [f"m{i:05d}" for i in range(10 * n)]}])


def duplicate_names(n):
    """n nodes, all called the same."""
    return _document([{"name": "h", "op": "fc", "inputs": ["x"], "units": 2} for _ in range(n)])


def unknown_ops(n):
    """n nodes of ops that do not exist, each a near miss."""
    return _document([{"name": f"h{i:05d}", "op": f"fcc{i:05d}", "inputs": ["x"]} for i in range(n)], "h00000")


def bad_parameters(n):
    """n nodes, each with a wrong type, a bound broken and an unknown key."""
    return _document([{"name": f"h{i:05d}", "op": "fc", "inputs": ["x"], "units": -1.5, "init": 3, f"k{i:05d}": 0}
                      for i in range(n)], "h00000")


def unknown_keys(n):
    """One node with 10 n keys its op does not have."""
    return _document([{"name": "h", "op": "fc", "inputs": ["x"], "units": 2, **{f"k{i:05d}": 0 for i in range(10 * n)}}])


def long_input_name(n):
    """One node reading a name of 10,000 n characters."""
    return _document([{"name": "h", "op": "fc", "inputs": ["m" * 10_000 * n], "units": 2}])


def long_chain(n):
    """A valid chain of n activations (nothing wrong: the whole pipeline, plan included)."""
    nodes = [{"name": "h00000", "op": "fc", "inputs": ["x"], "units": 2}]
    nodes += [{"name": f"h{i:05d}", "op": "activation", "inputs": [f"h{i - 1:05d}"], "function": "relu"}
              for i in range(1, n)]
    return _document(nodes, f"h{n - 1:05d}")


def cycle(n):
    """A cycle through n nodes."""
    nodes = [{"name": f"h{i:05d}", "op": "activation", "inputs": [f"h{(i + 1) % n:05d}"], "function": "relu"}
             for i in range(n)]
    return _document(nodes, "h00000")


def everything_reads_one_node(n):
    """n adds, each reading the chain so far and one early node (valid)."""
    nodes = [{"name": "h00000", "op": "fc", "inputs": ["x"], "units": 4},
             {"name": "h00001", "op": "activation", "inputs": ["h00000"], "function": "relu"}]
    nodes += [{"name": f"h{i:05d}", "op": "add", "inputs": [f"h{i - 1:05d}", "h00000"]} for i in range(2, n)]
    return _document(nodes, f"h{n - 1:05d}")


ATTACKS = [missing_inputs, many_bad_inputs, duplicate_names, unknown_ops, bad_parameters, unknown_keys,
           long_input_name, long_chain, cycle, everything_reads_one_node]
SIZE = 300  # n; 4n stays under the node limit


def load_text(text):
    try:
        return model_from_text(text, file="big.json")
    except ModelInvalid as invalid:
        assert all("\n" not in str(error) for error in invalid.errors)


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda attack: attack.__name__)
def test_checking_grows_linearly(attack):
    assert_grows_linearly(attack, load_text, SIZE)


@pytest.mark.parametrize("attack", [long_chain, everything_reads_one_node], ids=lambda attack: attack.__name__)
def test_the_valid_generators_make_valid_models(attack):
    assert load_text(attack(50)) is not None


def test_every_error_is_located_and_the_lines_are_right():
    text = many_bad_inputs(50)
    with pytest.raises(ModelInvalid) as caught:
        model_from_text(text, file="big.json")
    lines = text.splitlines()
    for error in caught.value.errors:
        assert lines[error.line - 1][error.column - 1:].startswith(f'"m{int(error.path.rsplit("/", 1)[1]):05d}"')


def longest_error(text):
    try:
        model_from_text(text, file="big.json")
    except ModelInvalid as invalid:
        assert all("\n" not in str(error) for error in invalid.errors)
        return max(len(str(error)) for error in invalid.errors)
    return 0


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda attack: attack.__name__)
def test_every_error_is_a_line_that_does_not_grow_with_the_input(attack):
    at_n, at_4n = longest_error(attack(SIZE)), longest_error(attack(4 * SIZE))
    assert at_4n <= at_n + 16 and at_4n < 2000, (at_n, at_4n)  # (a known-ops list is as long as the registry)


def test_many_unknown_keys_are_counted_in_a_short_line():
    with pytest.raises(ModelInvalid) as caught:
        model_from_text(unknown_keys(1000), file="big.json")
    (error,) = caught.value.errors
    assert "unknown key 'k00000'" in str(error) and "and 9,995 more unknown keys" in str(error)
    assert len(str(error)) < 400


def test_a_long_cycle_is_named_in_a_short_line():
    with pytest.raises(ModelInvalid) as caught:
        model_from_text(cycle(2000), file="big.json")
    message = str(caught.value.errors[0])
    assert "graph has a cycle of 2,000 nodes: h00000 -> h01999 -> " in message and len(message) < 300, message


def test_the_suggestion_still_finds_a_typo_among_many_names():
    names = [f"conv{i}_relu" for i in range(5000)] + ["classifier", "fc_final"]
    suggest = NameSuggester(names)
    assert suggest("conv123_rleu") == " (did you mean 'conv123_relu'?)"
    assert suggest("fc_finl") == " (did you mean 'fc_final'?)"
    assert suggest("xconv77_relu") == " (did you mean 'conv77_relu'?)"  # the end is shared
    assert suggest("clasifier") == " (did you mean 'classifier'?)"
    assert suggest("zzz") == ""
