"""Every campaign of tests/fuzzing.py's CAMPAIGNS (issue 14's classes 1, 2, 8, 9 and 11 as generated
attacks; tools/fuzz.py runs them for as long as it is asked) on a small, derandomised sample: the same
cases on every run of the suite."""

import tempfile

import pytest
from hypothesis import given, settings

from tests.fuzzing import CAMPAIGNS, CI_SETTINGS, check_onnx_bytes, fixtures


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


@pytest.mark.parametrize("path", fixtures("onnx"), ids=lambda path: path.name)
def test_onnx_files_a_campaign_found_stay_refused(path, tmp_path):
    pytest.importorskip("onnx")
    check_onnx_bytes(path.read_bytes(), tmp_path)
