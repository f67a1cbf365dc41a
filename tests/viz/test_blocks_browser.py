"""ResNet-50's page in headless Chromium at 1400x900 (as tests/viz/test_browser.py drives it): the overview
(stem, four chains, head) fits the window at a readable size without overlaps; a chain's "+" opens its
instances, an instance's its nodes, the trail and "collapse" go back; search and selection reach nodes
inside instances. GRAPHNN_SCREENSHOTS keeps the screenshots (docs/viz-resnet50*.png)."""

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from graphnn.viz import load_view
from tests.viz import test_browser
from tests.viz.test_browser import console_errors, open_page, screenshot

browser = test_browser.browser  # the fixture, found here by pytest
from tests.viz.test_viz import overlaps


def shown(browser):
    """(name, x, y, width, height, font px) of each box in the scope shown, as laid out on the page."""
    return browser.execute_script("""
        return Array.from(document.querySelectorAll('.scope:not([hidden]) .node, .scope:not([hidden]) .group'))
            .map(function (item) {
                var r = item.querySelector('rect.box').getBoundingClientRect();
                var text = item.querySelector('text.name').getBoundingClientRect();
                return [item.dataset.name, r.x, r.y, r.width, r.height, text.height];
            });""")


def pane(browser):
    return browser.execute_script("var r = document.getElementById('graph').getBoundingClientRect();"
                                  "return [r.left, r.top, r.right, r.bottom];")


def click_group(browser, name):
    (group,) = [g for g in browser.find_elements(By.CSS_SELECTOR, ".scope:not([hidden]) .group")
                if g.get_attribute("data-name") == name]
    group.find_element(By.CSS_SELECTOR, ".expand-control").click()


def inside(box, area):
    left, top, right, bottom = area
    return left <= box[1] and box[1] + box[3] <= right and top <= box[2] and box[2] + box[4] <= bottom


def test_resnet50_is_readable_at_1400_by_900(browser, tmp_path):
    open_page(browser, load_view("models/resnet50.json"), tmp_path / "resnet50.html")
    assert browser.get_window_size()["width"] == 1400
    boxes = shown(browser)
    assert sorted(box[0] for box in boxes) == sorted(["image", "label", "stem", "stage1", "stage2", "stage3", "stage4",
                                                      "pool", "fc", "loss"])
    assert all(inside(box, pane(browser)) for box in boxes)  # the whole overview, no scrolling
    assert not any(overlaps(a[1:5], b[1:5]) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert min(box[5] for box in boxes) >= 8  # names at least 8 px tall
    assert "bottleneck ×6" in browser.find_element(By.CSS_SELECTOR, '.scope:not([hidden]) [data-name="stage3"]').text
    screenshot(browser, tmp_path / "resnet50.png", "viz-resnet50.png")

    click_group(browser, "stage2")
    assert browser.execute_script("return graphnnViz.scope()") != ""
    assert [box[0] for box in shown(browser)] == [f"stage2.block{k}" for k in range(1, 5)]
    trail = browser.find_element(By.ID, "trail")
    assert trail.is_displayed() and "stage2 (bottleneck ×4)" in trail.text
    click_group(browser, "stage2.block1")
    names = [box[0] for box in shown(browser)]
    assert "stage2.block1.conv2" in names and "stage2.block1.down" in names and len(names) == 12
    assert all(inside(box, pane(browser)) or box[2] > pane(browser)[1] for box in shown(browser))
    screenshot(browser, tmp_path / "resnet50-block.png", "viz-resnet50-block.png")
    (node,) = [n for n in browser.find_elements(By.CSS_SELECTOR, ".scope:not([hidden]) .node")
               if n.get_attribute("data-name") == "stage2.block1.conv2"]
    node.click()
    assert browser.find_element(By.ID, "panel-name").text == "stage2.block1.conv2"
    assert browser.find_element(By.CSS_SELECTOR, '#panel [data-param="stride"] td').text == "2"
    browser.find_element(By.ID, "collapse").click()
    assert next(box[0] for box in shown(browser)) == "stage2.block1"
    browser.find_element(By.CSS_SELECTOR, '#trail .crumb[data-scope=""]').click()
    assert browser.execute_script("return graphnnViz.scope()") == "" and not trail.is_displayed()

    search = browser.find_element(By.ID, "search")  # a node inside an instance: its scope opens
    search.send_keys("stage3.block5.conv3" + Keys.ENTER)
    assert browser.find_element(By.ID, "panel-name").text == "stage3.block5.conv3"
    assert "stage3.block5 (bottleneck)" in browser.find_element(By.ID, "trail").text
    assert console_errors(browser) == []
