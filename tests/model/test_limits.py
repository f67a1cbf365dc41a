"""Limits against absurd input (graphnn/model/limits.py): an oversized or over-deep model file, too many
nodes, a long name, a huge shape, too many parameters or an integer of thousands of digits is refused
quickly, in one line that names the file, the value and the limit."""

import json
import time

import pytest

from graphnn.errors import ModelInvalid
from graphnn.model import load_model
from tests.helpers import model_document


def _limit_cases(tmp_path):
    document = model_document(tmp_path / "data.npz", batchnorm=False)
    text = json.dumps(document)
    many = dict(document, nodes=[dict(document["nodes"][0], name=f"n{i}") for i in range(10_001)])
    long_name = json.loads(json.dumps(document))
    long_name["nodes"][2]["name"] = "n" * 129
    huge = json.loads(json.dumps(document))
    huge["nodes"][0]["shape"] = [100_000, 100_000]
    params = json.loads(json.dumps(document))
    params["nodes"][2]["units"] = 10**8  # each tensor under its limit, the sum over the network's
    return [("size", b" " * (16 * 1024 * 1024 + 1), ["16,777,217", "16,777,216"]),
            ("depth", ('{"a":' * 65 + "1" + "}" * 65).encode(), ["65", "64"]),
            ("nodes", json.dumps(many).encode(), ["10,001", "10,000"]),
            ("name", json.dumps(long_name).encode(), ["129", "128", "/nodes/2/name"]),
            ("elements", json.dumps(huge).encode(), ["10,000,000,000", "2,000,000,000", "node 'x'"]),
            ("parameters", json.dumps(params).encode(), ["1,600,000,003 parameters", "1,000,000,000"]),
            ("integer digits", text.replace('"units": 16', '"units": 1' + "0" * 4300).encode(), ["4,301", "4,300"])]


def test_limits_are_reported_with_value_and_limit(tmp_path):
    for what, data, words in _limit_cases(tmp_path):
        path = tmp_path / f"{what}.json"
        path.write_bytes(data)
        started = time.perf_counter()
        with pytest.raises(ModelInvalid) as raised:
            load_model(path)
        assert time.perf_counter() - started < 5, what
        message = str(raised.value)
        assert len(message.splitlines()) == 1 and str(path) in message, message
        assert all(word in message for word in words), (what, message)


def test_model_files_that_never_end_are_refused(tmp_path):
    with pytest.raises(ModelInvalid) as raised:
        load_model("/dev/zero")
    assert "limit" in str(raised.value)
