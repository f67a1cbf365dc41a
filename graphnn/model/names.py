"""Unique names: the one rule by which the graph builder, the ONNX importer and the ONNX exporter pick a
name that nothing has taken yet.

    unique_name("fc1", {"fc1"})                         -> "fc1_2"
    unique_name("fc", {"fc1"}, map(str, count(1)))      -> "fc2"    (the builder's automatic names)
"""

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
