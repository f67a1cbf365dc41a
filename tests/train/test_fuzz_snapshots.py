"""Fuzzing snapshots (strategies and properties in tests/fuzzing.py): a real snapshot with its metadata,
a solver-state key or a stored number changed either resumes to the end of its run or is refused with a
one-line GraphnnError; so is every saved regression input."""

import pytest
from hypothesis import given, settings

from tests.fuzzing import (
    CI_SETTINGS,
    FUZZ_EXAMPLES,
    assert_refused_quickly,
    check_snapshot_bytes,
    fixtures,
    mutated_snapshots,
    resume_from,
)


@settings(max_examples=FUZZ_EXAMPLES["snapshot"], **CI_SETTINGS)
@given(data=mutated_snapshots())
def test_mutated_snapshots_resume_or_are_refused_cleanly(data):
    check_snapshot_bytes(data)


@pytest.mark.parametrize("path", fixtures("snapshot"), ids=lambda path: path.name)
def test_regression_snapshots_are_refused_cleanly(path):
    assert_refused_quickly(path, lambda path: resume_from(path.read_bytes(), file=str(path)))
