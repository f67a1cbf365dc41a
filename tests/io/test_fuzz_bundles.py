"""Fuzzing bundle files (strategies and properties in tests/fuzzing.py): every damaged or tampered
bundle loads as a sound network or is refused with a one-line GraphnnError; so is every saved
regression input."""

import numpy as np
import pytest
from hypothesis import given, settings

from graphnn.io import bundle
from tests.fuzzing import (
    CI_SETTINGS,
    FUZZ_EXAMPLES,
    assert_refused_quickly,
    check_bundle_bytes,
    fixtures,
    mutated_bundles,
)


@settings(max_examples=FUZZ_EXAMPLES["bundle"], **CI_SETTINGS)
@given(data=mutated_bundles())
def test_mutated_bundles_load_or_are_refused_cleanly(data):
    loaded = check_bundle_bytes(data)
    if loaded is not None:  # whatever loads is sound: finite float weights of the graph's shapes
        for step in loaded.model.plan.steps:
            for name, shape in step.weight_shapes.items():
                array = loaded.weights[step.name][name]
                assert array.shape == shape and array.dtype.kind == "f" and np.isfinite(array).all()


@pytest.mark.parametrize("path", fixtures("bundle"), ids=lambda path: path.name)
def test_regression_bundles_are_refused_cleanly(path):
    assert_refused_quickly(path, bundle.load_bundle)
