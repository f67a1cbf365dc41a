"""The visualiser's HTML page in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``; .ci/run installs them) driven by Selenium, the page opened from a file:// URL.

Set GRAPHNN_SCREENSHOTS to a folder to keep the screenshots (docs/viz-mlp784.png comes from here).
"""

import os
import shutil
from pathlib import Path

import pytest

from graphnn.viz import load_view, render
from tests.viz.test_viz import MLP, big_model, check_errors, make_run, overlaps, write_invalid

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
    pytest.skip(f"no headless browser: {CHROMIUM} or {CHROMEDRIVER} is missing "
                "(apt-get install -y chromium chromium-driver; .ci/run installs them)", allow_module_level=True)

from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--no-first-run", "--disable-sync", "--window-size=1400,900",
                     f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def open_page(browser, view, path):
    path.write_text(render(view, "html"), encoding="utf-8")
    browser.get(path.resolve().as_uri())
    browser.get_log("browser")  # start each page with an empty console log
    return browser


def console_errors(browser):
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def node_element(browser, name):
    (node,) = [n for n in browser.find_elements(By.CSS_SELECTOR, "#graph .node") if n.get_attribute("data-name") == name]
    return node


def panel_value(browser, selector):
    return browser.find_element(By.CSS_SELECTOR, f"#panel {selector} td").text


def drawn_boxes(browser):
    """Each node's name and its box's rectangle on the page, as the browser laid it out."""
    return browser.execute_script("""
        return Array.from(document.querySelectorAll('#graph .node')).map(function (node) {
            var r = node.querySelector('rect.box').getBoundingClientRect();
            return [node.dataset.name, r.x, r.y, r.width, r.height];
        });""")


def screenshot(browser, path, name):
    browser.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    keep = os.environ.get("GRAPHNN_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)


def test_every_node_is_drawn_and_clicking_one_shows_its_parameters(browser, tmp_path):
    view = load_view(MLP)
    open_page(browser, view, tmp_path / "mlp784.html")
    boxes = drawn_boxes(browser)
    assert [name for name, *_ in boxes] == [node.name for node in view.nodes]
    assert all(width > 50 and height > 30 for _, _, _, width, height in boxes)
    assert not any(overlaps(a[1:], b[1:]) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert browser.find_element(By.ID, "panel").is_displayed() is False

    node_element(browser, "fc1").click()
    assert browser.find_element(By.ID, "panel").is_displayed()
    assert browser.find_element(By.ID, "panel-name").text == "fc1"
    assert panel_value(browser, '[data-param="units"]') == "50"
    assert panel_value(browser, '[data-param="init"]') == "xavier"
    assert panel_value(browser, '[data-param="bias"]') == "true (default)"
    assert panel_value(browser, '[data-input="0"]') == "784"
    assert panel_value(browser, "[data-output]") == "50"
    assert panel_value(browser, "[data-count]") == "39,250"
    assert "selected" in node_element(browser, "fc1").get_attribute("class")
    screenshot(browser, tmp_path / "mlp784.png", "viz-mlp784-model.png")
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    assert not browser.find_element(By.ID, "panel").is_displayed()
    assert console_errors(browser) == []


def test_search_finds_nodes_by_name(browser, tmp_path):
    open_page(browser, load_view(MLP), tmp_path / "mlp784.html")
    search = browser.find_element(By.ID, "search")
    search.send_keys("ACT")
    assert browser.find_element(By.ID, "search-count").text == "2 matches"
    matches = [n.get_attribute("data-name") for n in browser.find_elements(By.CSS_SELECTOR, "#graph .node.match")]
    assert matches == ["act1", "act2"]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#graph .node.dim")) == 6
    search.send_keys(Keys.ENTER)
    assert browser.find_element(By.ID, "panel-name").text == "act1"
    assert panel_value(browser, '[data-param="function"]') == "tanh"
    search.clear()
    search.send_keys(" ")  # an empty query shows everything again
    assert browser.find_elements(By.CSS_SELECTOR, "#graph .node.dim") == []
    assert console_errors(browser) == []


def test_run_page_shows_weights_histogram_and_curves(browser, tmp_path):
    folder, network = make_run(tmp_path / "run")
    open_page(browser, load_view(folder), tmp_path / "run.html")
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure.chart svg polyline")) == 5  # 2 loss, 2 accuracy, lr
    node_element(browser, "fc1").click()
    W = network.weights["fc1"]["W"]
    assert float(panel_value(browser, '[data-weight="W"] [data-stat="min"]')) == pytest.approx(W.min(), abs=1e-4)
    assert float(panel_value(browser, '[data-weight="W"] [data-stat="max"]')) == pytest.approx(W.max(), abs=1e-4)
    bars = browser.find_elements(By.CSS_SELECTOR, '#panel [data-weight="W"] svg.histogram rect')
    assert len(bars) == 32 and any(bar.size["height"] > 50 for bar in bars)
    assert len(browser.find_elements(By.CSS_SELECTOR, '#panel [data-weight="b"] svg.histogram')) == 1
    screenshot(browser, tmp_path / "run.png", "viz-mlp784.png")
    assert console_errors(browser) == []


def test_invalid_model_page_lists_errors_and_marks_nodes(browser, tmp_path):
    path, nodes = write_invalid(tmp_path, "shape_mismatch")
    open_page(browser, load_view(path), tmp_path / "invalid.html")
    listed = [item.text for item in browser.find_elements(By.CSS_SELECTOR, "#errors li")]
    assert listed == check_errors(path)
    marked = {n.get_attribute("data-name") for n in browser.find_elements(By.CSS_SELECTOR, "#graph .node.error")}
    assert marked == nodes
    node_element(browser, "loss").click()
    assert [item.text for item in browser.find_elements(By.CSS_SELECTOR, "#panel .node-errors li")] == listed
    assert panel_value(browser, "[data-output]") == "?"
    screenshot(browser, tmp_path / "invalid.png", "viz-invalid.png")
    assert console_errors(browser) == []


def test_a_300_node_graph_is_drawn_whole_without_overlaps(browser, tmp_path):
    view = load_view(write_model(tmp_path, big_model()))
    open_page(browser, view, tmp_path / "big.html")
    boxes = drawn_boxes(browser)
    assert len(boxes) == len(view.nodes) >= 300
    boxes.sort(key=lambda box: box[2])
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if b[2] >= a[2] + a[4]:
                break
            assert not overlaps(a[1:], b[1:]), (a, b)
    search = browser.find_element(By.ID, "search")
    search.send_keys("add40" + Keys.ENTER)
    assert browser.find_element(By.ID, "panel-name").text == "add40"
    node = browser.execute_script("return document.querySelector('#graph .node.selected').getBoundingClientRect()")
    pane = browser.execute_script("return document.getElementById('graph').getBoundingClientRect()")
    assert pane["top"] <= node["top"] < node["bottom"] <= pane["bottom"]  # scrolled into view
    assert pane["left"] <= node["left"] < node["right"] <= pane["right"]
    browser.find_element(By.ID, "zoom-fit").click()  # the whole graph in the pane
    size = browser.execute_script("var r = document.querySelector('#graph svg').getBoundingClientRect();"
                                  "var p = document.getElementById('graph'); return [r.width, r.height, "
                                  "p.clientWidth, p.clientHeight];")
    assert size[0] <= size[2] + 1 and size[1] <= size[3] + 1
    browser.find_element(By.ID, "zoom-reset").click()
    assert browser.execute_script("return document.querySelector('#graph svg').getAttribute('width')") == \
        str(round(layout_width(view)))
    screenshot(browser, tmp_path / "big.png", "viz-big.png")
    assert console_errors(browser) == []


def layout_width(view):
    from graphnn.viz.svg import layout_view

    return layout_view(view)[0].width


def write_model(tmp_path, document):
    import json

    path = tmp_path / f"{document['name']}.json"
    path.write_text(json.dumps(document))
    return path
