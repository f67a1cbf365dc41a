"""Protobuf's text format, as Caffe writes its nets and solvers (``net.prototxt``), read without protobuf.

The text is a message: a sequence of fields, each a name and then

    name: VALUE            a scalar: a number, an identifier (an enum value, true/false) or a string
    name { ... }           a message (also ``name: { ... }``, ``name < ... >``, ``name: < ... >``)
    name: [V1, V2, ...]    several values of a repeated field (scalars or messages; ``[]`` is none)

optionally followed by ``,`` or ``;``. ``#`` starts a comment that runs to the end of the line. Strings are in
single or double quotes, with C escapes (``\\n \\t \\\\ \\' \\" \\xHH \\ooo``...); adjacent strings join.
Numbers are decimal, hexadecimal (``0x1F``) or floats (``1e-4``, ``.5``, ``2.f``, ``inf``, ``nan``), signed
with ``-``.

``parse(text, file)`` gives a ``Message``: its ``fields`` in file order, each a ``Field`` with the line and
column where its name starts. What the fields mean (which exist, their types) is caffe_fields.py's work.

The parser is linear in the text: one regular expression steps from token to token, lines and columns are
found by bisection only for what is kept or reported, nesting is limited (MAX_JSON_DEPTH) and the text's
size is checked before it is read (MAX_MODEL_BYTES). Every error is a ModelSyntaxError with the file, line
and column, one line.
"""

import bisect
import re
from dataclasses import dataclass, field

from graphnn.errors import LimitError, ModelSyntaxError
from graphnn.model.limits import MAX_JSON_DEPTH, MAX_MODEL_BYTES

MAX_TOKEN_CHARS = 1 << 20  # one string or number
MAX_NUMBER_CHARS = 64

TOKEN = re.compile(r"""
    (?P<space>[ \t\r\n\f\v]+|\#[^\n]*)
  | (?P<number>-?(?:0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fF]?)(?![A-Za-z0-9_]))
  | (?P<identifier>-?[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>"|')
  | (?P<symbol>[{}<>\[\]:,;])
""", re.VERBOSE)
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
           "\\": "\\", "'": "'", '"': '"', "?": "?"}
CLOSING = {"{": "}", "<": ">"}
PLAIN = {quote: re.compile(rf"[^{quote}\\\n]*") for quote in "'\""}  # a string's characters that stand for themselves


@dataclass
class Scalar:
    """A scalar value as written: ``kind`` is "number", "identifier" or "string"; ``text`` the number or
    identifier as written, or the string's decoded characters."""

    kind: str
    text: str
    line: int
    column: int


@dataclass
class Message:
    fields: list = field(default_factory=list)
    line: int = 1
    column: int = 1


@dataclass
class Field:
    """One field as written; a list (``name: [a, b]``) gives one Field per value, each with ``in_list``."""

    name: str
    value: object  # Scalar or Message
    line: int
    column: int
    in_list: bool = False


class _Reader:
    def __init__(self, text, file):
        self.text = text
        self.file = file
        self.position = 0
        self.line_starts = [0] + [match.end() for match in re.finditer("\n", text)]
        self.token = None  # (kind, text, start)
        self._advance()

    def where(self, offset):
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def error(self, message, offset=None):
        line, column = self.where(self.token[2] if offset is None else offset)
        return ModelSyntaxError(message, file=self.file, line=line, column=column)

    def _advance(self):
        text, position = self.text, self.position
        while True:
            if position >= len(text):
                self.token = ("end", "", position)
                self.position = position
                return
            match = TOKEN.match(text, position)
            if match is None:
                char = text[position]
                self.position = position
                self.token = ("bad", char, position)
                raise self.error(f"unexpected character {char!r}", position)
            kind = match.lastgroup
            if kind == "space":
                position = match.end()
                continue
            if kind == "string":
                self.token = ("string", self._string(position), position)
                return
            if kind == "number" and len(match.group()) > MAX_NUMBER_CHARS:
                self.position = position
                self.token = ("number", "", position)
                raise self.error(f"a number of {len(match.group()):,} characters; the limit is {MAX_NUMBER_CHARS}")
            self.token = (kind, match.group(), position)
            self.position = match.end()
            return

    def _string(self, start):
        """The decoded characters of the string (or adjacent strings) starting at ``start``."""
        text = self.text
        pieces = []
        position = start
        while True:
            quote = text[position]
            position += 1
            chunk_start = position
            while True:
                position = PLAIN[quote].match(text, position).end()  # up to a quote, backslash or line end
                if position - start > MAX_TOKEN_CHARS:
                    raise self.error(f"a string of more than {MAX_TOKEN_CHARS:,} characters", start)
                if position >= len(text) or text[position] == "\n":
                    raise self.error("unterminated string (it runs to the end of the line)", start)
                if text[position] == quote:
                    pieces.append(text[chunk_start:position])
                    position += 1
                    break
                pieces.append(text[chunk_start:position])  # a backslash
                decoded, position = self._escape(position)
                pieces.append(decoded)
                chunk_start = position
            following = TOKEN.match(text, position)
            while following is not None and following.lastgroup == "space":
                position = following.end()
                following = TOKEN.match(text, position)
            if following is None or following.lastgroup != "string":
                self.position = position
                return "".join(pieces)

    def _escape(self, position):
        """The character of the escape at ``position`` (a backslash) and the position after it."""
        text = self.text
        following = text[position + 1] if position + 1 < len(text) else ""
        if following in ESCAPES:
            return ESCAPES[following], position + 2
        if following in ("x", "X"):
            digits = re.match(r"[0-9a-fA-F]{1,2}", text[position + 2:position + 4])
            if digits:
                return chr(int(digits.group(), 16)), position + 2 + len(digits.group())
        elif following.isdigit() and following < "8":
            digits = re.match(r"[0-7]{1,3}", text[position + 1:position + 4]).group()
            return chr(int(digits, 8)), position + 1 + len(digits)
        shown = following if following.isprintable() and following else repr(following)
        raise self.error(f"bad escape '\\{shown}' in a string", position)

    def take(self):
        token = self.token
        self._advance()
        return token

    def expect(self, symbol, what):
        if self.token[:2] != ("symbol", symbol):
            raise self.error(f"expected {what}; got {self.describe()}")
        self.take()

    def describe(self):
        kind, text, _ = self.token
        if kind == "end":
            return "the end of the file"
        if kind == "string":
            return "a string"
        shown = text if len(text) <= 40 else text[:40] + "..."
        return f"'{shown}'"


def _message(reader, closing, depth, start):
    """The fields up to ``closing`` (a symbol, or "end" for the top level)."""
    if depth > MAX_JSON_DEPTH:
        line, column = reader.where(start)
        raise LimitError(f"messages nested more than {MAX_JSON_DEPTH} deep; the limit is {MAX_JSON_DEPTH}",
                         file=reader.file, line=line, column=column)
    line, column = reader.where(start)
    message = Message([], line, column)
    while True:
        kind, text, offset = reader.token
        if kind == "end":
            if closing == "end":
                return message
            raise reader.error(f"expected '{closing}' to close the message opened at {line}:{column}; "
                               "got the end of the file")
        if kind == "symbol" and text == closing:
            reader.take()
            return message
        if kind != "identifier" or text.startswith("-"):
            raise reader.error(f"expected a field name; got {reader.describe()}")
        reader.take()
        name_line, name_column = reader.where(offset)
        colon = reader.token[:2] == ("symbol", ":")
        if colon:
            reader.take()
        for value, in_list in _values(reader, colon, depth):
            message.fields.append(Field(text, value, name_line, name_column, in_list))
        if reader.token[0] == "symbol" and reader.token[1] in ",;":
            reader.take()


def _values(reader, colon, depth):
    """The value(s) after a field name: [(value, in_list)]."""
    kind, text, offset = reader.token
    if kind == "symbol" and text in CLOSING:
        reader.take()
        return [(_message(reader, CLOSING[text], depth + 1, offset), False)]
    if kind == "symbol" and text == "[":
        reader.take()
        values = []
        while reader.token[:2] != ("symbol", "]"):
            if values:
                reader.expect(",", "',' or ']' in the list")
            item_kind, item_text, item_offset = reader.token
            if item_kind == "symbol" and item_text in CLOSING:
                reader.take()
                values.append((_message(reader, CLOSING[item_text], depth + 1, item_offset), True))
            else:
                values.append((_scalar(reader), True))
        reader.take()
        return values
    if not colon:
        raise reader.error(f"expected ':' or '{{' after the field name; got {reader.describe()}")
    return [(_scalar(reader), False)]


def _scalar(reader):
    kind, text, offset = reader.token
    if kind not in ("number", "identifier", "string"):
        raise reader.error(f"expected a value; got {reader.describe()}")
    reader.take()
    line, column = reader.where(offset)
    return Scalar(kind, text, line, column)


def parse(text, file=None):
    """The top-level Message of ``text`` (a str, or bytes in UTF-8); ``file`` names it in errors."""
    if isinstance(text, bytes):
        if len(text) > MAX_MODEL_BYTES:
            raise LimitError(f"the file has {len(text):,} bytes; the limit is {MAX_MODEL_BYTES:,}", file=file)
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            before = text[:error.start].decode("utf-8")
            line = before.count("\n") + 1
            column = len(before) - (before.rfind("\n") + 1) + 1
            raise ModelSyntaxError("the file is not UTF-8 text", file=file, line=line, column=column) from None
    if len(text) > MAX_MODEL_BYTES:
        raise LimitError(f"the text has {len(text):,} characters; the limit is {MAX_MODEL_BYTES:,}", file=file)
    reader = _Reader(text, file)
    return _message(reader, "end", 0, 0)


def read(path):
    """The top-level Message of the file at ``path`` (its size checked before it is read)."""
    from graphnn.io.regular import require_regular_file

    require_regular_file(path)
    import os

    size = os.path.getsize(path)
    if size > MAX_MODEL_BYTES:
        raise LimitError(f"the file has {size:,} bytes; the limit is {MAX_MODEL_BYTES:,}", file=str(path))
    with open(path, "rb") as handle:
        return parse(handle.read(), file=str(path))
