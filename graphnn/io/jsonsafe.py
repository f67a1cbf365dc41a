"""One rule for numbers JSON cannot hold, for every file a run writes (metrics.jsonl, summary.json, a
bundle's metadata): a NaN or infinite float is written as ``null``, and the document gains a
``"non_finite"`` note mapping each such value's JSON pointer to what it was (``"nan"``, ``"inf"`` or
``"-inf"``), e.g. a test on data of 3e38 floats::

    {"phase": "test", "iteration": 800, "loss": null, "accuracy": 0.1, "non_finite": {"/loss": "inf"}}

Readers see a missing number (graphnn viz leaves it out of the plot) and the note says why; nothing a run
trained is lost because a metric overflowed. Finite values are written exactly as ``json.dumps`` writes them.
"""

import json
import math
import numbers

from graphnn.model.jsontext import pointer


def json_safe(value):
    """``value`` with every non-finite float replaced by None, and the notes ``{pointer: "nan"|"inf"|"-inf"}``
    (empty when there was none). Tuples become lists; other values are returned as they are."""
    notes = {}

    def clean(item, path):
        if isinstance(item, numbers.Real) and not isinstance(item, numbers.Integral) and not math.isfinite(item):
            notes[pointer(path) or "/"] = "nan" if math.isnan(item) else ("inf" if item > 0 else "-inf")
            return None  # a float, or numpy's float32/float64
        if isinstance(item, dict):
            return {key: clean(inner, [*path, str(key)]) for key, inner in item.items()}
        if isinstance(item, (list, tuple)):
            return [clean(inner, [*path, str(index)]) for index, inner in enumerate(item)]
        return item

    return clean(value, []), notes


def noted(value):
    """``json_safe(value)`` with its notes written into the document itself (an object gains a
    ``"non_finite"`` key; anything else that needed a note becomes ``{"value": ..., "non_finite": ...}``)."""
    cleaned, notes = json_safe(value)
    if not notes:
        return cleaned
    if isinstance(cleaned, dict):
        return {**cleaned, "non_finite": notes}
    return {"value": cleaned, "non_finite": notes}


def dumps(value, **options):
    """JSON text of ``noted(value)``; never NaN or Infinity literals (``allow_nan=False`` holds)."""
    return json.dumps(noted(value), allow_nan=False, **options)
