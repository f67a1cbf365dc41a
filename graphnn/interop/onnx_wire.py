"""Protobuf's wire format, scanned without protobuf: counting an ONNX file's nodes from it, before protobuf builds a Python object per
node (a million-node file would take half a gigabyte of memory before any limit could refuse it).

Protobuf's wire format is a sequence of fields, each a varint key (field number << 3 | wire type) and a
value: wire type 0 a varint, 1 eight bytes, 2 a varint length and that many bytes (strings, bytes and
embedded messages), 5 four bytes. ONNX's ModelProto holds the graph as field 7; GraphProto holds its
nodes as field 1. A message field written twice is merged by protobuf, so every occurrence counts. The
scan only steps from field to field (it never decodes a node) and stops as soon as a count passes its
limit, so its cost is bounded by the limit, not by the file.

``fields`` and ``varint`` are the general scanner; graphnn/interop/caffe_lmdb.py decodes Caffe's Datum and
BlobProto records with them.
"""

from graphnn.errors import LimitError
from graphnn.model.limits import MAX_NODES, MAX_ONNX_ENTRIES

MODEL_GRAPH, GRAPH_NODE = 7, 1
LENGTH_DELIMITED = 2


class WireError(ValueError):
    """Bytes that are not protobuf wire format (the protobuf parser will say what is wrong)."""


def varint(data, i):
    """(the varint at ``data[i]``, the position after it)."""
    value, shift = 0, 0
    while True:
        if i >= len(data) or shift > 63:
            raise WireError("bad varint")
        byte = data[i]
        value |= (byte & 0x7F) << shift
        i += 1
        if byte < 0x80:
            return value, i
        shift += 7


def fields(data, start, end):
    """(field number, wire type, value start, value end) of each field of the message in ``data[start:end]``."""
    i = start
    while i < end:
        key, i = varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, after = varint(data, i)
        elif wire == 1:
            after = i + 8
        elif wire == LENGTH_DELIMITED:
            length, i = varint(data, i)
            after = i + length
        elif wire == 5:
            after = i + 4
        else:
            raise WireError(f"unsupported wire type {wire}")
        if after > end:
            raise WireError("field runs past the end of its message")
        yield number, wire, i, after
        i = after


def graph_counts(data, node_limit, entry_limit):
    """{"nodes": n, "graph entries": m, "model entries": k} of the ONNX model ``data`` (bytes): the graph's
    nodes, all its repeated entries (nodes, initializers, inputs, outputs, value infos, ...) and the
    model's own fields. Counting stops once the nodes pass ``node_limit`` or another count passes
    ``entry_limit``; None when ``data`` is not protobuf wire format."""
    counts = {"nodes": 0, "graph entries": 0, "model entries": 0}
    try:
        for number, wire, start, end in fields(data, 0, len(data)):
            counts["model entries"] += 1
            if number == MODEL_GRAPH and wire == LENGTH_DELIMITED:
                for inner, _, _, _ in fields(data, start, end):
                    counts["graph entries"] += 1
                    counts["nodes"] += inner == GRAPH_NODE
                    if counts["nodes"] > node_limit or counts["graph entries"] > entry_limit:
                        return counts
            if counts["model entries"] > entry_limit:
                return counts
    except WireError:
        return None
    return counts


def check_counts(data, path):
    """Refuse, from the wire format and before protobuf parses it, a model with more than MAX_NODES nodes
    or more than MAX_ONNX_ENTRIES entries in its graph (initializers, inputs, value infos, ...) or itself."""
    counts = graph_counts(data, MAX_NODES, MAX_ONNX_ENTRIES)
    if counts is None:
        return  # not wire format: the parser says what is wrong
    if counts["nodes"] > MAX_NODES:
        raise LimitError(f"more than {MAX_NODES:,} nodes; the limit is {MAX_NODES:,}", file=path)
    for what in ("graph entries", "model entries"):
        if counts[what] > MAX_ONNX_ENTRIES:
            raise LimitError(f"more than {MAX_ONNX_ENTRIES:,} {what}; the limit is {MAX_ONNX_ENTRIES:,}", file=path)
