"""Reading JSON text with locations: syntax errors get a line and column, and any JSON pointer in the
parsed document can be mapped back to the line and column where its value starts.

Parsing is json.loads (fast, in C) with extra rules: no duplicate keys; no NaN/Infinity, written or
reached by overflow (``1e400``); integers of at most MAX_INTEGER_DIGITS digits; strings that are valid
Unicode (no lone surrogates such as ``"\\ud800"``, which could not be written back as UTF-8); and a
nesting limit checked before parsing (so deep input cannot exhaust the stack). Every scan is linear in
the text's length, whatever the text.
"""

import bisect
import json
import math
import re

from graphnn.errors import LimitError, ModelSyntaxError
from graphnn.model.limits import MAX_JSON_DEPTH, MAX_MODEL_BYTES

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: a run of plain characters at a time
# A string, closed or running to the end of the text (so no match attempt fails and is retried from a
# later quote, which would make scanning quadratic), or a bracket.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)|([\[\]{}])', re.DOTALL)
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")


MAX_INTEGER_DIGITS = 4300  # Python's own limit for int(str); longer integers are refused, located


class _DuplicateKey(Exception):
    pass


class _BadNumber(Exception):
    """A number json.loads would accept but graphnn refuses: ``message`` says why."""


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _no_constants(name):
    raise _BadNumber(f"{name} is not allowed in a model file")


def _finite_float(literal):
    value = float(literal)
    if math.isinf(value):
        raise _BadNumber(f"number {literal} is too large (it overflows to infinity)")
    return value


def _bounded_int(literal):
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _BadNumber(f"integer with {len(literal.lstrip('-')):,} digits; the limit is {MAX_INTEGER_DIGITS:,}")
    return int(literal)


def line_column(text, offset):
    """1-based (line, column) of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _blank_strings(text):
    """``text`` with each string's content blanked (offsets kept), so brackets and words in strings are skipped."""
    return _TOKEN.sub(lambda match: match.group() if match.group(1) else " " * len(match.group()), text)


def _check_depth(text, file):
    depth = 0
    for match in _TOKEN.finditer(text):
        if not match.group(1):
            continue  # a string
        depth += 1 if match.group(1) in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            line, column = line_column(text, match.start())
            raise LimitError(f"JSON nesting reaches depth {depth}; the limit is {MAX_JSON_DEPTH}", file=file,
                             line=line, column=column)


def decode(data, file=None):
    """Bytes -> str, with the size limit and a located error for bad UTF-8."""
    if len(data) > MAX_MODEL_BYTES:
        raise LimitError(f"file holds at least {len(data):,} bytes; the limit is {MAX_MODEL_BYTES:,}", file=file)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        prefix = data[: error.start].decode("utf-8", "replace")
        line, column = line_column(prefix, len(prefix))
        raise ModelSyntaxError("file is not valid UTF-8", file=file, line=line, column=column) from None


def load_json(text, file=None):
    """Any JSON text (NaN and duplicate keys allowed, as json.loads allows them) with the nesting limit
    checked first, for files graphnn reads that are not model files (a run's summary.json and
    metrics.jsonl lines): deep input is a LimitError, never a RecursionError."""
    _check_depth(text, file)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ModelSyntaxError(f"invalid JSON: {error.msg}", file=file, line=error.lineno,
                               column=error.colno) from None
    except ValueError as error:  # an integer longer than Python's int(str) limit
        raise ModelSyntaxError(f"invalid JSON: {error}", file=file) from None


def parse(text, file=None):
    """Parse JSON text. Returns (document, Locator). Errors carry the file, line and column."""
    _check_depth(text, file)
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants,
                              parse_float=_finite_float, parse_int=_bounded_int)
    except json.JSONDecodeError as error:
        raise ModelSyntaxError(f"invalid JSON: {error.msg}", file=file, line=error.lineno,
                               column=error.colno) from None
    except _DuplicateKey as duplicate:
        # json.loads may meet the duplicate before a syntax error later in the text; the locator
        # walks the text in order and stops where it breaks, after the duplicate
        found = Locator(text).duplicates
        key, path, offset = found[0] if found else (duplicate.args[0], None, 0)
        line, column = line_column(text, offset)
        raise ModelSyntaxError(f"duplicate key {key!r}", file=file, path=path, line=line, column=column) from None
    except _BadNumber as error:  # json.loads stops at the first bad number, so it is the first found
        line, column = _first_bad_number(text)
        raise ModelSyntaxError(error.args[0], file=file, line=line, column=column) from None
    surrogate = _lone_surrogate(document, "")
    if surrogate is not None:
        locator = Locator(text)
        line, column = locator.locate(surrogate)
        raise ModelSyntaxError("string holds a lone surrogate (an unpaired \\ud800-\\udfff escape), which is not "
                               "valid Unicode", file=file, path=surrogate, line=line, column=column)
    return document, Locator(text)


def _first_bad_number(text):
    """(line, column) of the first NaN/Infinity, overflowing float or overlong integer outside strings."""
    blanked = _blank_strings(text)
    for match in re.finditer(r"-?(?:NaN|Infinity)|" + _NUMBER.pattern, blanked):
        literal = match.group()
        try:
            _no_constants(literal) if literal.lstrip("-")[0] in "NI" else (
                _bounded_int(literal) if literal.lstrip("-").isdigit() else _finite_float(literal))
        except _BadNumber:
            return line_column(text, match.start())
    return None, None


def _is_valid_unicode(string):
    return string.isascii() or not any("\ud800" <= char <= "\udfff" for char in string)


def _lone_surrogate(value, path):
    """JSON pointer of the first string (key or value) that holds a surrogate code point, or None."""
    if isinstance(value, str):
        return None if _is_valid_unicode(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            if not _is_valid_unicode(key):
                return path + pointer([key])
            found = _lone_surrogate(item, path + pointer([key]))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _lone_surrogate(item, f"{path}/{index}")
            if found is not None:
                return found
    return None


def pointer(parts):
    """JSON pointer of a path of keys and indices, e.g. ["nodes", 3, "units"] -> "/nodes/3/units"."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


class Locator:
    """Maps JSON pointers of a document to (line, column) of their values. The text is indexed once, on
    first use (each value's offset, each line's start), so each lookup costs O(log lines), not a scan."""

    def __init__(self, text):
        self.text = text
        self._offsets = None
        self._line_starts = None
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
        offset = self._offsets[path]
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def _index(self):
        if self._offsets is None:
            self._line_starts = [0] + [match.end() for match in re.finditer("\n", self.text)]
            self._offsets = {}
            try:
                self._value(self._skip(0), "")
            except (IndexError, AttributeError, ValueError):
                pass  # text that is not valid JSON past some point: keep what was indexed before it

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
                self._duplicates.append((key, child, i))
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
