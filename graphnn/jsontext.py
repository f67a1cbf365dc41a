"""Reading JSON text with locations: syntax errors get a line and column, and any JSON pointer in the
parsed document can be mapped back to the line and column where its value starts.

Parsing is json.loads (fast, in C) with three extra rules: no duplicate keys, no NaN/Infinity, and a
nesting limit checked before parsing (so deep input cannot exhaust the stack).
"""

import json
import re

from graphnn.errors import LimitError, ModelSyntaxError
from graphnn.limits import MAX_JSON_DEPTH, MAX_MODEL_BYTES

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_CONSTANT = re.compile(r"-?(?:NaN|Infinity)")


class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _no_constants(name):
    raise ValueError(f"{name} is not allowed in a model file")


def line_column(text, offset):
    """1-based (line, column) of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _blank_strings(text):
    """``text`` with each string's content blanked (offsets kept), so brackets and words in strings are skipped."""
    return _STRING.sub(lambda match: '"' + " " * (len(match.group()) - 2) + '"', text)


def _check_depth(text, file):
    depth = 0
    for match in _BRACKET.finditer(_blank_strings(text)):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            line, column = line_column(text, match.start())
            raise LimitError(f"JSON nesting reaches depth {depth}; the limit is {MAX_JSON_DEPTH}", file=file,
                             line=line, column=column)


def decode(data, file=None):
    """Bytes -> str, with the size limit and a located error for bad UTF-8."""
    if len(data) > MAX_MODEL_BYTES:
        raise LimitError(f"file is {len(data):,} bytes; the limit is {MAX_MODEL_BYTES:,}", file=file)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        prefix = data[: error.start].decode("utf-8", "replace")
        line, column = line_column(prefix, len(prefix))
        raise ModelSyntaxError("file is not valid UTF-8", file=file, line=line, column=column) from None


def parse(text, file=None):
    """Parse JSON text. Returns (document, Locator). Errors carry the file, line and column."""
    _check_depth(text, file)
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as error:
        raise ModelSyntaxError(f"invalid JSON: {error.msg}", file=file, line=error.lineno,
                               column=error.colno) from None
    except _DuplicateKey as duplicate:
        locator = Locator(text)
        path, offset = locator.duplicates[0] if locator.duplicates else ("", 0)
        line, column = line_column(text, offset)
        raise ModelSyntaxError(f"duplicate key {duplicate.args[0]!r}", file=file, path=path,
                               line=line, column=column) from None
    except ValueError as error:  # NaN or Infinity: json.loads reads the first one, so it is the first found
        constant = _CONSTANT.search(_blank_strings(text))
        line, column = line_column(text, constant.start()) if constant else (None, None)
        raise ModelSyntaxError(str(error), file=file, line=line, column=column) from None
    return document, Locator(text)


def pointer(parts):
    """JSON pointer of a path of keys and indices, e.g. ["nodes", 3, "units"] -> "/nodes/3/units"."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


class Locator:
    """Maps JSON pointers of a document to (line, column) of their values, computed on first use."""

    def __init__(self, text):
        self.text = text
        self._offsets = None
        self._duplicates = []

    @property
    def duplicates(self):
        self._index()
        return self._duplicates

    def locate(self, path):
        """(line, column) of the value at ``path``, or of its nearest existing ancestor."""
        self._index()
        while path not in self._offsets:
            path = path[: path.rfind("/")] if "/" in path else ""
        return line_column(self.text, self._offsets[path])

    def _index(self):
        if self._offsets is None:
            self._offsets = {}
            self._value(self._skip(0), "")

    def _skip(self, i):
        while i < len(self.text) and self.text[i] in " \t\r\n\ufeff":
            i += 1
        return i

    def _value(self, i, path):
        self._offsets[path] = i
        char = self.text[i]
        if char == "{":
            return self._object(i, path)
        if char == "[":
            return self._array(i, path)
        if char == '"':
            return _STRING.match(self.text, i).end()
        if char in "tfn":
            return i + {"t": 4, "f": 5, "n": 4}[char]
        return _NUMBER.match(self.text, i).end()

    def _object(self, i, path):
        seen = set()
        i = self._skip(i + 1)
        while self.text[i] != "}":
            end = _STRING.match(self.text, i).end()
            key = json.loads(self.text[i:end])
            child = path + pointer([key])
            if key in seen:
                self._duplicates.append((child, i))
            seen.add(key)
            i = self._skip(self._value(self._skip(self._skip(end) + 1), child))
            if self.text[i] == ",":
                i = self._skip(i + 1)
        return i + 1

    def _array(self, i, path):
        index = 0
        i = self._skip(i + 1)
        while self.text[i] != "]":
            i = self._skip(self._value(i, f"{path}/{index}"))
            index += 1
            if self.text[i] == ",":
                i = self._skip(i + 1)
        return i + 1
