"""Unique names: the one rule by which the graph builder, the ONNX importer and the ONNX exporter pick a
name that nothing has taken yet.

    unique_name("fc1", {"fc1"})                         -> "fc1_2"
    unique_name("fc", {"fc1"}, map(str, count(1)))      -> "fc2"    (the builder's automatic names)
"""

from itertools import count


def _numbered(number):
    return "" if number == 1 else f"_{number}"


def unique_name(base, taken, suffixes=None, limit=None):
    """The first ``base + suffix`` not in ``taken``, for suffix in ``suffixes`` (an endless iterable; by
    default "", "_2", "_3", ...); with ``limit``, ``base`` is cut so that each candidate has at most
    ``limit`` characters. The name is added to ``taken`` and returned."""
    for suffix in map(_numbered, count(1)) if suffixes is None else suffixes:
        name = (base if limit is None else base[:limit - len(suffix)]) + suffix
        if name not in taken:
            taken.add(name)
            return name
