"""Loading a model: text -> dict -> schema -> blocks expanded -> graph rules -> plan, each stage's errors located.

    load_model("models/mlp784.json")     # from a file
    model_from_text(text, file="x.json")  # from a string
    model_from_dict(document)             # from a dict (the builder's output)

Every stage collects all the errors it can before stopping; they are raised together as
``ModelInvalid`` (``.errors`` lists each, one line apiece, with file, line and column where known).
A file with blocks (graphnn/model/blocks.py) is expanded after the schema stage; the graph rules and the
plan see plain nodes with path names (``stage2.block3.conv1``), and their errors are moved back to where
each node is written (the instance, the block, the JSON path in the block's definition).
"""

from pathlib import Path

from graphnn.errors import GraphnnError, LimitError, ModelInvalid
from graphnn.io.regular import require_regular_file
from graphnn.model import jsontext, zoo
from graphnn.model.blocks import Expansion, expand
from graphnn.model.plan import Plan
from graphnn.model.rules import graph_errors
from graphnn.model.validate import envelope_errors, in_file_order, params_errors


class Model:
    """A valid model: its document (the parsed JSON, as written: with its blocks), graph and plan, and the
    expansion of its blocks (``nodes``: the plain nodes the graph and plan are made of)."""

    def __init__(self, document, graph, plan, file=None, expansion=None):
        self.document = document
        self.graph = graph
        self.plan = plan
        self.file = file
        self.expansion = expansion or Expansion(document["nodes"])

    @property
    def name(self):
        return self.document.get("name", "model")

    @property
    def nodes(self):
        """The plain nodes: the document's own, or with blocks, every instance's nodes under their full names."""
        return self.expansion.nodes

    @property
    def train(self):
        return self.document.get("train")

    @property
    def test(self):
        return self.document.get("test")


def _in_block(error, document):
    """An error located in a block's definition names the block, and the node there."""
    if error.block is None and error.path and error.path.startswith("/blocks/"):
        parts = [part.replace("~1", "/").replace("~0", "~") for part in error.path.split("/")[2:]]
        block = (document.get("blocks") or {}).get(parts[0]) if isinstance(document, dict) else None
        if isinstance(block, dict):
            error.block = parts[0]
            nodes = block.get("nodes")
            if error.node is None and len(parts) > 2 and parts[1] == "nodes" and parts[2].isdigit() and \
                    isinstance(nodes, list) and int(parts[2]) < len(nodes) and isinstance(nodes[int(parts[2])], dict):
                name = nodes[int(parts[2])].get("name")
                error.node = name if isinstance(name, str) else None
    return error


def _raise_located(errors, file, locator, document=None):
    for error in errors:
        error.located(file=file)
        _in_block(error, document)
        if locator is not None and error.path is not None and error.line is None:
            error.line, error.column = locator.locate(error.path)
    raise ModelInvalid(errors)


def model_from_dict(document, file=None, locator=None):
    """Validate a parsed model document; returns a Model or raises ModelInvalid."""
    envelope = envelope_errors(document)
    errors = envelope + params_errors(document, envelope)
    expansion = None
    if not envelope:  # the blocks and graph rules need sound names, ops and inputs, not sound parameters
        expansion = expand(document)
        errors += expansion.errors
        if expansion.nodes is not None:
            graph, rule_errors = graph_errors(expansion.nodes)
            errors += [expansion.relocate(error) for error in rule_errors]
    if errors:
        _raise_located(in_file_order(errors, document), file, locator, document)
    try:
        plan = Plan(expansion.nodes, graph)
    except GraphnnError as error:
        _raise_located([expansion.relocate(error)], file, locator, document)
    return Model(document, graph, plan, file, expansion)


def model_from_text(text, file=None):
    """Parse and validate model JSON text."""
    try:
        document, locator = jsontext.parse(text, file=file)
    except GraphnnError as error:
        raise ModelInvalid([error]) from None
    return model_from_dict(document, file=file, locator=locator)


def read_text(path):
    """A model file's text, with its size limit checked before reading."""
    path = Path(path)
    size = require_regular_file(path).st_size  # a named pipe would block open() forever
    try:
        if size > jsontext.MAX_MODEL_BYTES:
            raise LimitError(f"file is {size:,} bytes; the limit is {jsontext.MAX_MODEL_BYTES:,}", file=str(path))
        with open(path, "rb") as handle:  # one byte past the limit at most: /dev/zero cannot exhaust memory
            data = handle.read(jsontext.MAX_MODEL_BYTES + 1)
    except OSError as error:
        raise GraphnnError(f"cannot read the file: {error.strerror}", file=str(path)) from None
    return jsontext.decode(data, file=str(path))


def load_model(path):
    """Read, parse and validate a model file (where no file ``path`` exists, the zoo model of that name:
    ``load_model("resnet50")``, graphnn/model/zoo.py); raises ModelInvalid listing every error."""
    path, _ = zoo.find(path)
    try:
        text = read_text(path)
    except GraphnnError as error:
        raise ModelInvalid([error]) from None
    return model_from_text(text, file=str(path))
