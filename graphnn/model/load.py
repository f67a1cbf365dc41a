"""Loading a model: text -> dict -> schema -> graph rules -> plan, each stage's errors located.

    load_model("models/mlp784.json")     # from a file
    model_from_text(text, file="x.json")  # from a string
    model_from_dict(document)             # from a dict (the builder's output)

Every stage collects all the errors it can before stopping; they are raised together as
``ModelInvalid`` (``.errors`` lists each, one line apiece, with file, line and column where known).
"""

from pathlib import Path

from graphnn.errors import GraphnnError, LimitError, ModelInvalid
from graphnn.io.regular import require_regular_file
from graphnn.model import jsontext
from graphnn.model.plan import Plan
from graphnn.model.rules import graph_errors
from graphnn.model.validate import envelope_errors, in_file_order, params_errors


class Model:
    """A valid model: its document (the parsed JSON), graph and plan."""

    def __init__(self, document, graph, plan, file=None):
        self.document = document
        self.graph = graph
        self.plan = plan
        self.file = file

    @property
    def name(self):
        return self.document.get("name", "model")

    @property
    def nodes(self):
        return self.document["nodes"]

    @property
    def train(self):
        return self.document.get("train")

    @property
    def test(self):
        return self.document.get("test")


def _raise_located(errors, file, locator):
    for error in errors:
        error.located(file=file)
        if locator is not None and error.path is not None and error.line is None:
            error.line, error.column = locator.locate(error.path)
    raise ModelInvalid(errors)


def model_from_dict(document, file=None, locator=None):
    """Validate a parsed model document; returns a Model or raises ModelInvalid."""
    envelope = envelope_errors(document)
    errors = envelope + params_errors(document, envelope)
    if not envelope:  # the graph rules need sound names, ops and inputs, not sound parameters
        graph, rule_errors = graph_errors(document["nodes"])
        errors += rule_errors
    if errors:
        _raise_located(in_file_order(errors, document), file, locator)
    try:
        plan = Plan(document["nodes"], graph)
    except GraphnnError as error:
        _raise_located([error], file, locator)
    return Model(document, graph, plan, file)


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
    """Read, parse and validate a model file; raises ModelInvalid listing every error."""
    try:
        text = read_text(path)
    except GraphnnError as error:
        raise ModelInvalid([error]) from None
    return model_from_text(text, file=str(path))
