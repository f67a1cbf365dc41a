"""Unique names: the one rule by which the graph builder, the ONNX importer and the ONNX exporter pick a
name that nothing has taken yet.

    unique_name("fc1", {"fc1"})                         -> "fc1_2"
    unique_name("fc", {"fc1"}, map(str, count(1)))      -> "fc2"
    Numbering().name(nodes, ("op", "fc"), "fc")         -> "fc3" for nodes fc1, fc3 (the builder's automatic names)
"""

from collections import Counter
from itertools import count


def _numbered(number):
    return "" if number == 1 else f"_{number}"


def unique_name(base, taken, suffixes=None, limit=None, numbers=None):
    """The first ``base + suffix`` not in ``taken``, for suffix in ``suffixes`` (an endless iterable; by
    default "", "_2", "_3", ...); with ``limit``, ``base`` is cut so that each candidate has at most
    ``limit`` characters. The name is added to ``taken`` and returned.

    ``numbers``, a dict the caller keeps with ``taken``, makes the default numbering resume where the
    last call for the same base stopped (the numbers before it are taken, and names are never given
    back), so n names from one base cost O(n), not O(n²); the names are the same."""
    first = 1 if numbers is None else numbers.get((base, limit), 1)
    for number, suffix in enumerate(map(_numbered, count(first)) if suffixes is None else suffixes, first):
        name = (base if limit is None else base[:limit - len(suffix)]) + suffix
        if name not in taken:
            taken.add(name)
            if numbers is not None and suffixes is None:
                numbers[(base, limit)] = number
            return name


class Numbering:
    """The graph builder's automatic names: ``base`` + the first number, from one more than the nodes of
    that kind so far, that no node's name has taken. ``name(nodes, kind, base)`` follows the list of nodes
    (dicts with "name" and "op" or "block"; kinds ("op", op) and ("block", block)) as it grows, so n names
    cost O(n) in all, not O(n) each: only new nodes are read, and each kind's numbering resumes where its
    last name was found (the numbers before it are taken, and names are only added). A list replaced or
    shortened is read again."""

    def __init__(self):
        self.nodes, self.read, self.taken, self.kinds, self.resume = None, 0, set(), Counter(), {}

    def name(self, nodes, kind, base):
        if nodes is not self.nodes or len(nodes) < self.read:
            self.__init__()
            self.nodes = nodes
        for node in nodes[self.read:]:
            self.taken.add(node.get("name"))
            self.kinds.update([("op", node["op"])] if "op" in node else [("block", node.get("block"))])
        self.read = len(nodes)
        number = max(self.kinds[kind] + 1, self.resume.get(kind, 1))
        while f"{base}{number}" in self.taken:
            number += 1
        self.resume[kind] = number  # taken once the node is added (it may still be refused)
        return f"{base}{number}"
