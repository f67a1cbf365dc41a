"""graphnn's exceptions: one base class, a few kinds, each saying *where* and *what*.

Every error a user can cause carries a location — file, line and column, JSON path, node — and renders
as one line, e.g. ``mlp784.json:12:40: node 'fc2' (op fc) at /nodes/3/units: must be >= 1; got -4``.
The CLI prints ``str(error)`` and exits non-zero; it never shows a traceback.

Two families say who can fix it, and so the exit code (graphnn/cli/__init__.py maps class -> code in
one place):

- ``InputError`` (exit 2): something the user can fix in the input files or the command line: a model,
  bundle, snapshot, ONNX file or dataset that is invalid, missing or does not fit, an option out of range.
  Every error not marked otherwise is one, plain ``GraphnnError`` included.
- ``RunFailure`` (exit 1): a failure while running on valid input: training stopped being finite
  (``TrainingError``), a file could not be written (``WriteError``: the message says what was kept).
"""


class GraphnnError(Exception):
    """Base class of every error graphnn raises on bad input.

    Attributes name the place: ``file``, ``line``/``column`` (1-based), ``path`` (a JSON pointer such
    as ``/nodes/3/units``), ``node`` and ``op``; inside a block (graphnn/model/blocks.py) also ``block``
    (the block's name) and ``instance`` (the instance's path, e.g. ``stage2.block3``), and then ``node`` is
    the node's name in the block and ``path`` points into the block's definition:
    ``res.json:14:22: in stage2.block3 (block 'bottleneck'), node 'conv2' at /blocks/bottleneck/nodes/3/filters: ...``
    """

    def __init__(self, message, *, file=None, line=None, column=None, path=None, node=None, op=None,
                 block=None, instance=None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.node = node
        self.op = op
        self.block = block
        self.instance = instance

    def located(self, **where):
        """Fill in the location fields that are still unknown; returns self."""
        for key, value in where.items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        return self

    def __str__(self):
        prefix = ""
        if self.file is not None:
            prefix = str(self.file)
            if self.line is not None:
                prefix += f":{self.line}:{self.column}"
            prefix += ": "
        subject = ""
        if self.block is not None:
            subject = (f"in {self.instance} (block '{self.block}')" if self.instance else f"in block '{self.block}'")
            subject += ", " if self.node is not None or self.path is not None else ""
        if self.node is not None:
            subject += f"node '{self.node}'" + (f" (op {self.op})" if self.op else "")
        if self.path is not None:
            subject += (" at " if subject and not subject.endswith(", ") else "at ") + (self.path or "/")
        return one_line(prefix + (subject + ": " if subject else "") + self.message)


def one_line(text):
    """``text`` with line breaks and other unprintable characters escaped (e.g. ``\\n``), so that a name
    or path read from a file can never split an error message or hide part of it."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


class InputError(GraphnnError):
    """Something the user can fix in the input or on the command line (``graphnn`` exits 2). Plain
    GraphnnError counts as one too; subclass this to say so explicitly."""


class RunFailure(GraphnnError):
    """A failure while running on valid input (``graphnn`` exits 1): the input was fine, running it was not."""


class WriteError(RunFailure):
    """A file or folder could not be written (disk full, read-only, a folder in a file's place). The message
    says what was kept; ``kept`` is a run folder holding a snapshot to resume from, when there is one.

    Fix: free space or choose a writable place, then resume from ``kept`` (``graphnn run MODEL --resume KEPT``).
    """

    def __init__(self, message, *, kept=None, **where):
        super().__init__(message, **where)
        self.kept = kept


class ModelSyntaxError(InputError):
    """The model file is not valid JSON (the line and column say where)."""


class SchemaError(InputError):
    """A value in the model has the wrong type, range or key (the JSON path says where)."""


class GraphError(InputError):
    """The graph breaks a rule: duplicate names, unknown inputs, cycles, wrong input counts."""


class ShapeError(InputError):
    """Shapes do not fit together at a node (the message gives both shapes)."""


class LimitError(InputError):
    """The input exceeds one of graphnn's limits (the message gives the value and the limit)."""


class BundleError(InputError):
    """A saved network (.gnn) is damaged, truncated or does not match its graph."""


class DataError(InputError):
    """A dataset could not be found, read or verified."""


class TrainingError(RunFailure):
    """Training failed while running, e.g. a non-finite loss or gradient."""


class ModelInvalid(InputError):
    """Several problems found in one model; ``errors`` holds each, in file order."""

    def __init__(self, errors):
        self.errors = list(errors)
        first = self.errors[0]
        more = len(self.errors) - 1
        suffix = f" (and {more} more error{'s' if more > 1 else ''}; `graphnn check` lists all)" if more else ""
        super().__init__(str(first) + suffix)

    def __str__(self):
        return self.message

