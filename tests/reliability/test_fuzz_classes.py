"""Every campaign of tests/fuzzing.py's CAMPAIGNS (issue 14's classes 1, 2, 8, 9 and 11 as generated
attacks; tools/fuzz.py runs them for as long as it is asked) on a small, derandomised sample: the same
cases on every run of the suite."""

import tempfile

import pytest
from hypothesis import given, settings

from tests.fuzzing import CAMPAIGNS, CI_SETTINGS


@pytest.mark.parametrize("name", sorted(CAMPAIGNS, key=int))
def test_a_fixed_sample_of_each_class_keeps_its_promise(name):
    cases, check, examples, prepare = CAMPAIGNS[name]
    if prepare is not None:
        prepare()
    with tempfile.TemporaryDirectory() as scratch:
        @settings(max_examples=examples, **CI_SETTINGS)
        @given(case=cases)
        def run(case):
            check(case, scratch)

        run()
