"""graphnn's exceptions: one base class, a few kinds, each saying *where* and *what*.

Every error a user can cause carries a location — file, line and column, JSON path, node — and renders
as one line, e.g. ``mlp784.json:12:40: node 'fc2' (op fc) at /nodes/3/units: must be >= 1; got -4``.
The CLI prints ``str(error)`` and exits non-zero; it never shows a traceback.
"""


class GraphnnError(Exception):
    """Base class of every error graphnn raises on bad input.

    Attributes name the place: ``file``, ``line``/``column`` (1-based), ``path`` (a JSON pointer such
    as ``/nodes/3/units``), ``node`` and ``op``.
    """

    def __init__(self, message, *, file=None, line=None, column=None, path=None, node=None, op=None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.node = node
        self.op = op

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
        if self.node is not None:
            subject = f"node '{self.node}'" + (f" (op {self.op})" if self.op else "")
        if self.path is not None:
            subject += (" at " if subject else "at ") + (self.path or "/")
        return one_line(prefix + (subject + ": " if subject else "") + self.message)


def one_line(text):
    """``text`` with line breaks and other unprintable characters escaped (e.g. ``\\n``), so that a name
    or path read from a file can never split an error message or hide part of it."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


class ModelSyntaxError(GraphnnError):
    """The model file is not valid JSON (the line and column say where)."""


class SchemaError(GraphnnError):
    """A value in the model has the wrong type, range or key (the JSON path says where)."""


class GraphError(GraphnnError):
    """The graph breaks a rule: duplicate names, unknown inputs, cycles, wrong input counts."""


class ShapeError(GraphnnError):
    """Shapes do not fit together at a node (the message gives both shapes)."""


class LimitError(GraphnnError):
    """The input exceeds one of graphnn's limits (the message gives the value and the limit)."""


class BundleError(GraphnnError):
    """A saved network (.gnn) is damaged, truncated or does not match its graph."""


class DataError(GraphnnError):
    """A dataset could not be found, read or verified."""


class TrainingError(GraphnnError):
    """Training failed while running, e.g. a non-finite loss or gradient."""


class ModelInvalid(GraphnnError):
    """Several problems found in one model; ``errors`` holds each, in file order."""

    def __init__(self, errors):
        self.errors = list(errors)
        first = self.errors[0]
        more = len(self.errors) - 1
        suffix = f" (and {more} more error{'s' if more > 1 else ''}; `graphnn check` lists all)" if more else ""
        super().__init__(str(first) + suffix)

    def __str__(self):
        return self.message
