"""What a run folder holds cannot break viz (issue 14, class 10), and predict refuses samples it cannot use.

- The loss plot takes any values: generated series mix finite floats of every magnitude (5e-324 to
  1.7e308, both signs), NaN, infinities, ints too large for a float, bools and strings; the chart is
  valid SVG, its coordinates are finite and inside the picture, and only finite real points are drawn.
- summary.json and metrics.jsonl lines are read with a nesting limit: generated hostile files (deep
  nesting, huge integers, NaN literals, non-objects, bad UTF-8, a 5,000-digit number) become notes.
- predict: empty, string, complex, datetime, structured, object, NaN and infinite samples are refused
  in one line, through the function and the command line.
"""

import json
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnn.cli import main
from graphnn.errors import DataError
from graphnn.executor import Network
from graphnn.io.bundle import Bundle, save_bundle
from graphnn.model import load_model
from graphnn.predict import predict, read_samples
from graphnn.viz import load_view, render
from graphnn.viz.plot import HEIGHT, WIDTH, line_chart_svg
from tests.helpers import ROOT

EXTREMES = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-300, 1.0, 1.7e308, -1.7e308,
            1.7976931348623157e308, -1.7976931348623157e308, float("nan"), float("inf"), float("-inf")]
VALUES = st.one_of(st.sampled_from(EXTREMES), st.floats(allow_nan=True, allow_infinity=True),
                   st.integers(-(10**400), 10**400), st.sampled_from([True, False, "1.5", None]))
SERIES = st.dictionaries(st.sampled_from(["train loss", "test loss", "lr"]),
                         st.lists(st.tuples(VALUES, VALUES), max_size=12), max_size=3)


def _real(value):
    return not isinstance(value, (bool, str)) and value is not None and math.isfinite(float(value)) \
        if not isinstance(value, int) or isinstance(value, bool) else abs(value) < 1.7976931348623157e308


@settings(max_examples=400, deadline=None, database=None, derandomize=True)
@given(series=SERIES)
def test_the_loss_plot_takes_any_values(series):
    svg = line_chart_svg(series, "t", "iteration", "loss")
    ET.fromstring(svg)  # well-formed
    numbers = [float(n) for n in re.findall(r'\b(?:x|y|points)="([^"]*)"', svg) for n in re.split("[ ,]", n) if n]
    assert all(math.isfinite(n) and -1 <= n <= max(WIDTH, HEIGHT) + 1 for n in numbers)
    for (name, points), line in zip(series.items(), re.findall(r'<polyline points="([^"]*)"', svg)):
        drawn = [pair for pair in line.split(" ") if pair]
        assert len(drawn) == sum(_real(x) and _real(y) for x, y in points), name


HOSTILE_LINES = {
    "deep nesting": '{"iteration": 1, "loss": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "huge integer iteration": '{"iteration": 1' + "0" * 400 + ', "loss": 1.0}',
    "5000-digit number": '{"iteration": ' + "9" * 5000 + "}",
    "NaN loss": '{"iteration": 3, "loss": NaN}',
    "infinite loss": '{"iteration": 3, "loss": Infinity}',
    "tiny and huge losses": '{"iteration": 4, "loss": 5e-324}\n{"iteration": 5, "loss": 1.7e308}\n'
                            '{"iteration": 6, "loss": -1.7e308}',
    "not an object": "[1, 2, 3]",
    "not JSON": "{iteration: 1}",
}
HOSTILE_SUMMARIES = {
    "deep nesting": "[" * 100_000 + "]" * 100_000,
    "deep but legal JSON object": '{"a": ' + "[" * 5000 + "]" * 5000 + "}",
    "not an object": "[1]",
    "not JSON": "{",
    "bad UTF-8": b'{"a": "\xff"}',
    "huge integer": '{"a": ' + "9" * 5000 + "}",
}


@pytest.fixture(scope="module")
def run_folder_bundle():
    model = load_model(ROOT / "models" / "mlp784.json")
    return Bundle(model, Network.initialise(model, seed=0).weights)


def make_run(folder, bundle, metrics, summary):
    folder.mkdir()
    save_bundle(folder / "model.gnn", bundle)
    good = '{"phase": "train", "iteration": 1, "loss": 2.0}\n{"phase": "train", "iteration": 2, "loss": 1.5}\n'
    (folder / "metrics.jsonl").write_text(good + metrics + "\n")
    path = folder / "summary.json"
    path.write_bytes(summary if isinstance(summary, bytes) else summary.encode())
    return folder


@pytest.mark.parametrize("summary", HOSTILE_SUMMARIES)
@pytest.mark.parametrize("line", HOSTILE_LINES)
def test_a_hostile_run_folder_is_drawn_with_notes(tmp_path, run_folder_bundle, line, summary):
    folder = make_run(tmp_path / "run", run_folder_bundle, HOSTILE_LINES[line], HOSTILE_SUMMARIES[summary])
    view = load_view(folder)
    assert view.curves["loss"]["train"][:2] == [(1, 2.0), (2, 1.5)]
    assert all("\n" not in note for note in view.notes)
    assert any("summary.json" in note for note in view.notes) or summary == "deep but legal JSON object"
    render(view, "html")
    result = CliRunner().invoke(main, ["viz", str(folder), "-o", str(tmp_path / "run.html")])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output


# --- predict ------------------------------------------------------------------------------------------

BAD_SAMPLES = {
    "empty": np.zeros((0, 784), np.float32),
    "strings": np.array([["a"] * 784]),
    "bytes": np.array([[b"a"] * 784]),
    "complex": np.ones((2, 784), np.complex64),
    "datetime": np.zeros((2, 784), "datetime64[s]"),
    "timedelta": np.zeros((2, 784), "timedelta64[s]"),
    "structured": np.zeros((2, 784), [("a", "f4"), ("b", "i4")]),
    "NaN": np.full((3, 784), np.nan, np.float32),
    "one infinity": np.where(np.arange(784) == 5, np.inf, 0.0)[None].repeat(2, 0),
    "a scalar": np.float32(1.0),
}


@pytest.fixture(scope="module")
def network(run_folder_bundle):
    return run_folder_bundle.network()


@pytest.mark.parametrize("kind", BAD_SAMPLES)
def test_predict_refuses_samples_it_cannot_use(network, kind):
    with pytest.raises(DataError) as refused:
        predict(network, BAD_SAMPLES[kind])
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("kind", [kind for kind in BAD_SAMPLES if kind != "structured"] + ["object"])
def test_predict_on_the_command_line_refuses_them_in_one_line(tmp_path, run_folder_bundle, kind):
    bundle_path, samples_path = tmp_path / "m.gnn", tmp_path / "x.npy"
    save_bundle(bundle_path, run_folder_bundle)
    array = np.array([[object()] * 784]) if kind == "object" else BAD_SAMPLES[kind]
    np.save(samples_path, array, allow_pickle=True)
    result = CliRunner().invoke(main, ["predict", str(bundle_path), str(samples_path)])
    lines = result.output.strip().splitlines()
    assert result.exit_code in (1, 2) and len(lines) == 1 and str(samples_path) in lines[0], result.output


def test_good_samples_still_predict(tmp_path, network):
    samples = np.random.default_rng(0).random((5, 784), np.float32)
    np.save(tmp_path / "x.npy", samples)
    classes, probabilities = predict(network, read_samples(tmp_path / "x.npy"))
    assert classes.shape == (5,) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    bools = predict(network, np.zeros((2, 784), bool))[1]
    assert np.isfinite(bools).all()


def test_the_reader_keeps_reading_after_a_deep_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(json.dumps({"iteration": 1, "loss": 1.0}) + "\n" + "[" * 10_000 + "\n"
                    + json.dumps({"iteration": 2, "loss": 0.5}) + "\n")
    from graphnn.viz.view import read_curves

    curves, notes = read_curves(path)
    assert curves["loss"]["train"] == [(1, 1.0), (2, 0.5)] and len(notes) == 1
