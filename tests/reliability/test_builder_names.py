"""The graph builder's automatic names (graphnn/model/names.py Numbering): the rule is unchanged — ``op`` +
the first number, from one more than the nodes of that op (or uses of that block) so far, that no name has
taken — and n names cost time linear in n (they were O(n) each: a count and a set of every name per node).

Generated sequences of builder calls (automatic names, given names that take future automatic ones, uses
of blocks, a node refused by its check, nodes appended to the list by hand, a list replaced) give the names
of the rule written plainly; growth is checked by ratio, as tests/model/test_scaling.py does.
"""

import random
from itertools import count

import pytest

from graphnn.errors import GraphnnError
from graphnn.model.builder import Graph
from graphnn.model.names import unique_name
from tests.helpers import assert_grows_linearly


def plain_rule(nodes, key, kind):
    """The automatic name written as the rule says (quadratic, for reference)."""
    first = sum(node.get(key) == kind for node in nodes) + 1
    return unique_name(kind, {node["name"] for node in nodes}, map(str, count(first)))


def calls(seed, length=120):
    rng = random.Random(seed)
    for _ in range(length):
        yield rng.choice(["fc", "fc", "relu", "named", "named", "use", "refused", "by_hand", "replace"]), rng


@pytest.mark.parametrize("seed", range(40))
def test_automatic_names_follow_the_rule(seed):
    g = Graph("names")
    g.blocks["act"] = {"inputs": ["x"], "outputs": ["o"], "nodes": [
        {"name": "o", "op": "activation", "inputs": ["x"], "function": "relu"}]}
    x = g.data("x", shape=[4])
    for call, rng in calls(seed):
        if call == "fc":
            expected = plain_rule(g.nodes, "op", "fc")
            assert g.fc(x, 2) == expected
        elif call == "relu":
            expected = plain_rule(g.nodes, "op", "activation")
            assert g.relu(x) == expected
        elif call == "named":  # a name an automatic one would take later
            name = f"{rng.choice(['fc', 'activation', 'act'])}{rng.randint(1, 60)}"
            if name not in {node["name"] for node in g.nodes}:
                g.fc(x, 2, name=name)
        elif call == "use":
            expected = plain_rule(g.nodes, "block", "act")
            assert g.use("act", x) == expected
        elif call == "refused":
            with pytest.raises(GraphnnError):
                g.fc(x, 0)  # units must be >= 1: not added, its name not taken
        elif call == "by_hand":
            g.nodes.append({"name": f"fc{rng.randint(1, 80)}_", "op": "fc", "inputs": [x], "units": 2})
        elif call == "replace" and rng.random() < 0.2:
            g.nodes = list(g.nodes[: rng.randint(1, len(g.nodes))])


def many_automatic_names(n):
    return n


def build(n):
    g = Graph("wide")
    x = g.data("x", shape=[4])
    for index in range(n):
        g.fc(x, 2, name=f"fc{2 * index + 1}")  # every other number taken
        g.fc(x, 2)
    return g


def test_automatic_names_grow_linearly():
    assert_grows_linearly(many_automatic_names, build, 2000)  # 0.1 s or more: above a busy machine's jitter
