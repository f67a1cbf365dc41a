"""The run folder's loss.svg (graphnn/viz/plot.py training_chart_svg): loss and accuracy, the training
curve a line and the tests marked points, tick labels rounded to their step."""

import re
import xml.etree.ElementTree as ET

from graphnn.viz.plot import line_chart_svg, tick_label, training_chart_svg

SVG = "{http://www.w3.org/2000/svg}"


def records():
    train = [{"phase": "train", "iteration": i, "loss": 2.3 / i ** 0.5, "accuracy": 1 - 0.9 / i ** 0.5}
             for i in range(10, 310, 10)]
    test = [{"phase": "test", "iteration": i, "loss": 2.4 / i ** 0.5, "accuracy": 1 - 1.0 / i ** 0.5}
            for i in range(50, 350, 50)]
    return train + test


def test_the_loss_plot_shows_loss_and_accuracy_with_the_test_points():
    svg = training_chart_svg(records(), "mlp")
    root = ET.fromstring(svg)
    charts = root.findall(f"{SVG}svg")
    assert [chart.get("y") for chart in charts] == ["0", "360"] and root.get("height") == "720"
    titles = [text.text for text in root.iter(f"{SVG}text") if text.text and text.text.startswith("mlp:")]
    assert titles == ["mlp: loss", "mlp: accuracy"]
    for chart in charts:
        assert len(chart.findall(f"{SVG}polyline")) == 2  # train and test
        assert len(chart.findall(f"{SVG}circle")) == 6  # one dot per test
        dashed = [line for line in chart.findall(f"{SVG}polyline") if line.get("stroke-dasharray")]
        assert len(dashed) == 1
    labels = [text.text for text in charts[1].iter(f"{SVG}text")]
    assert {"0", "0.2", "0.4", "0.6", "0.8", "1.0"} <= set(labels)  # the accuracy axis covers [0, 1]
    assert not [label for label in labels if label and re.search(r"\d\.\d{5,}", label)]  # no float noise


def test_a_run_without_accuracy_draws_the_loss_alone():
    plain = [{"phase": "train", "iteration": i, "loss": 1.0 / i} for i in range(1, 20)]
    svg = training_chart_svg(plain, "regression")
    assert svg.startswith("<svg") and "regression: loss" in svg and "accuracy" not in svg
    ET.fromstring(svg)


def test_tick_labels_read_as_numbers():
    assert [tick_label(0.1 * k, 0.1) for k in range(4)] == ["0", "0.1", "0.2", "0.3"]
    assert tick_label(0.35000000000000003, 0.05) == "0.35" and tick_label(12000.0, 2000.0) == "12,000"
    assert tick_label(3e12, 1e12) == "3e+12" and tick_label(2e-6, 1e-6) == "2e-06"
    svg = line_chart_svg({"lr": [(0, 0.1), (10000, 0.0)]}, "lr", "iteration", "lr")
    assert ">10,000<" in svg and ">0.04<" in svg and ">0.10<" in svg  # every label with the decimals of its step


def test_the_pages_facts_are_rounded_for_reading():
    from graphnn.viz.html import _table

    table = _table({"train": {"seconds": 11.823746238, "samples_per_s": 2546.31234, "iterations": 6000},
                    "test": {"accuracy": 0.95281234, "loss": None}, "note": "kept"}, "summary")
    cells = re.findall(r"<th>([^<]*)</th><td>([^<]*)</td>", table)
    assert cells == [("train.seconds", "11.8 s"), ("train.samples_per_s", "2546"), ("train.iterations", "6,000"),
                     ("test.accuracy", "0.9528"), ("test.loss", "null"), ("note", "kept")]
