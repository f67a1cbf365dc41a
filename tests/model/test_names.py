"""Unique names (graphnn/model/names.py), as the builder and the ONNX importer and exporter use them."""

from itertools import count

from graphnn.model.names import unique_name


def test_the_base_first_then_numbered_from_two():
    taken = {"fc1", "fc1_2"}
    assert unique_name("relu", taken) == "relu"
    assert unique_name("fc1", taken) == "fc1_3"
    assert unique_name("fc1", taken) == "fc1_4"
    assert taken == {"fc1", "fc1_2", "fc1_3", "fc1_4", "relu"}


def test_given_suffixes_make_the_builders_automatic_names():
    assert unique_name("fc", {"fc1", "fc3"}, map(str, count(1))) == "fc2"
    assert unique_name("fc", {"fc1", "fc3"}, map(str, count(3))) == "fc4"


def test_a_limit_cuts_the_base_so_that_the_suffix_fits():
    taken = {"a" * 8}
    assert unique_name("a" * 8, taken, limit=8) == "a" * 6 + "_2"
    assert unique_name("b" * 10, taken, limit=8) == "b" * 8
    assert all(len(name) <= 8 for name in taken)
