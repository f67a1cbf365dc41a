"""docs/tutorial.ipynb runs top to bottom in a real Jupyter kernel (nbclient + ipykernel, the dev extra),
on the MNIST files of the ``mnist_dir`` fixture, and its outputs are what a notebook user sees: the
Model's HTML view (table and drawing), the History's SVG curves, short reprs; those HTML outputs are
then opened in the headless browser the visualiser tests use (tests/viz/test_browser.py)."""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"


@pytest.fixture(scope="module")
def executed(mnist_dir, tmp_path_factory):
    """The tutorial, executed (its cells hold their outputs)."""
    notebook = nbformat.read(TUTORIAL, as_version=4)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRAPHNN_DATA", str(mnist_dir))  # the kernel inherits the environment
        nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path_factory.mktemp("nb"))}}).execute()
    produced = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    errors = [output for output in produced if output.output_type == "error"]
    assert not errors, errors[0].get("evalue")
    return notebook


@pytest.fixture(scope="module")
def outputs(executed):
    """The execute_result data of every code cell of the executed tutorial."""
    return [output.get("data", {}) for cell in executed.cells if cell.cell_type == "code"
            for output in cell.outputs if output.output_type == "execute_result"]


def test_the_fit_shows_one_progress_bar_updated_in_place(executed):
    """verbose=1 in a kernel: the bar is one display output, updated (nbclient applies the kernel's
    update_display_data), ending at the last iteration with its rate and ETA; no plain lines besides."""
    cell = next(cell for cell in executed.cells if "model.fit(x_train" in cell.source)
    bars = [output for output in cell.outputs if output.output_type == "display_data"]
    assert len(bars) == 1, cell.outputs
    text = bars[0].data["text/plain"]
    # 5,400 training samples in batches of 100, 3 epochs: 162 iterations, unless early stopping ended it sooner
    last = int(text.split("iteration ")[1].split("/")[0])
    assert text.startswith("[") and f"iteration {last}/162" in text and last % 54 == 0, text
    assert "samples/s (" in text and "ETA 0:00" in text and "accuracy" in text
    assert not [output for output in cell.outputs if output.output_type == "stream" and "iteration" in output.text]


def test_a_model_without_a_train_section_fits_with_kerass_defaults(outputs):
    assert any(item.get("text/plain", "").startswith("([188], [0.001])") for item in outputs)  # ceil(6000 / 32)


def test_tutorial_runs_in_a_kernel(outputs):
    assert any("<table>" in item.get("text/html", "") and "<svg" in item["text/html"] for item in outputs)
    assert any(item.get("text/html", "").count("<svg") == 2 and "val_loss" in item["text/html"] for item in outputs)
    plain = [item.get("text/plain", "") for item in outputs]
    assert any(text.startswith("<graphnn.Graph 'mlp'") for text in plain)
    assert any(text.startswith("<graphnn.Bundle 'mlp'") for text in plain)
    assert all(len(text) < 2000 for text in plain)


def test_its_html_outputs_in_a_browser(outputs, tmp_path):
    viz = pytest.importorskip("tests.viz.test_browser")  # skips without chromium, as the visualiser tests do
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    html = "".join(item["text/html"] for item in outputs if "text/html" in item)
    page = tmp_path / "outputs.html"
    page.write_text(f"<!doctype html><html><meta charset='utf-8'><body>{html}</body></html>", encoding="utf-8")
    options = viz.webdriver.ChromeOptions()
    options.binary_location = viz.CHROMIUM
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=1400,900",
                     f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = viz.webdriver.Chrome(service=Service(viz.CHROMEDRIVER), options=options)
    try:
        browser.get(page.resolve().as_uri())
        assert not viz.console_errors(browser)
        tables = browser.find_elements(By.TAG_NAME, "table")  # the Model's and the Bundle's
        assert len(tables) == 2
        for table in tables:  # header, the 6 nodes of the tutorial's mlp, totals
            assert len(table.find_elements(By.TAG_NAME, "tr")) == 8 and "fc1" in table.text
        drawings = browser.find_elements(By.TAG_NAME, "svg")
        assert len(drawings) >= 4  # the model's graph twice and the history's two charts
        assert all(svg.size["width"] > 50 and svg.size["height"] > 50 for svg in drawings)
        browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))  # model.visualise(): the viz page
        names = {node.get_attribute("data-name") for node in browser.find_elements(By.CSS_SELECTOR, "#graph .node")}
        assert names == {"image", "label", "fc1", "act1", "fc2", "loss"}
        assert not viz.console_errors(browser)
    finally:
        browser.quit()
