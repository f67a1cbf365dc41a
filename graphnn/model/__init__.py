"""From text to a validated plan: JSON text with locations (jsontext), limits, the JSON Schema (schema),
validation in two stages (validate), the graph rules (rules), the plan (plan), loading (load), the
canonical writer (writer) and the Python graph builder (builder).

    model = load_model("models/mlp784.json")     # Model: document, graph, plan

The names below are imported on first use, so that reading one submodule (e.g. limits) loads nothing else.
"""

EXPORTS = {"Model": "load", "load_model": "load", "model_from_dict": "load", "model_from_text": "load",
           "read_text": "load", "Graph": "builder", "Plan": "plan"}


def __getattr__(name):
    if name in EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"graphnn.model.{EXPORTS[name]}"), name)
    raise AttributeError(f"module 'graphnn.model' has no attribute {name!r}")
