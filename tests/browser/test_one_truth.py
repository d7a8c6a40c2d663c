"""Every view tells the same story: Stop after failures, one grouping in the widget and the
magic, a narrow output where the numbers win, and a registry rerun that says what happened."""

from __future__ import annotations

import re

from jlab import ARTIFACTS
from nbdriver import (
    command,
    kernel_status,
    open_notebook,
    run_all,
    set_theme,
    widget_in,
    write_notebook,
)
from playwright.sync_api import expect

STOPPABLE = """\
import time
import uberjob

def work(i):
    if i < 9:
        raise RuntimeError(f"row {i} is bad")
    time.sleep(0.3)
    return i

plan = uberjob.Plan()
with plan.scope("customers"):
    calls = [plan.call(work, i) for i in range(400)]
handle = uberjob.run(plan, output=calls, max_workers=4, max_errors=None, background=True)
handle
"""

ASK_THE_KERNEL = """\
handle.wait(30)
print(f"kernel: {handle.state} {type(handle.exception()).__name__} "
      f"failed={handle.failure_count} | {handle.summary()}")
"""


def test_a_run_stopped_after_failures_reads_stopped_with_its_failures(lab, page):
    page.set_viewport_size({"width": 1280, "height": 1200})
    name = write_notebook(lab.root / "stop-after-failures.ipynb", [STOPPABLE, ASK_THE_KERNEL])
    cells = open_notebook(page, lab, name, 2)
    command(page, "notebook:run-cell-and-select-next")
    widget = widget_in(cells.nth(0))
    expect(widget.locator(".uj-state")).to_have_text("running", timeout=60_000)
    expect(kernel_status(page)).to_be_visible()  # the cell returned: a background run
    expect(widget.locator(".uj-state-failed")).to_have_text("9 failed", timeout=20_000)
    # The handle, the cell's value, adds no text line under its widget (it would stay frozen
    # at what it said when the cell ended).
    expect(cells.nth(0).locator("[data-mime-type='text/plain']")).to_have_count(0)
    widget.locator("button.uj-stop").click()
    expect(widget.locator(".uj-state")).to_have_text("stopped", timeout=20_000)
    expect(widget.locator(".uj-state-failed")).to_have_text("9 failed")
    expect(widget.locator(".uj-failures-summary")).to_have_text("9 failed in 1 group")
    expect(widget.locator(".uj-group-message")).to_have_text("row <n> is bad")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "stopped-after-failures-light.png"))
    set_theme(page, "JupyterLab Dark")
    widget.screenshot(path=str(ARTIFACTS / "stopped-after-failures-dark.png"))
    set_theme(page, "JupyterLab Light")

    cells.nth(1).locator(".jp-InputPrompt").click()
    command(page, "notebook:run-cell")
    out = cells.nth(1).locator(".jp-OutputArea-output")
    expect(out).to_contain_text("kernel: stopped RunStopped failed=9 | uberjob: stopped, ")
    expect(out).to_contain_text(", 9 failed, ")


MAGIC_LOAD = "%load_ext uberjob"

MAGIC_RUN = """\
%%uberjob --max-errors none --max-workers 4
def load(region, row):
    raise RuntimeError(f"row {row} of region {region} is bad")

calls = []
for region in range(9):
    with plan.scope("customers", f"region {region}"):
        calls += [plan.call(load, region, row) for row in range(30)]
calls
"""

MAGIC_FAILURES = "%uberjob failures"


def test_the_widget_and_the_magic_group_failures_alike(lab, page):
    page.set_viewport_size({"width": 1280, "height": 1600})
    name = write_notebook(lab.root / "grouping.ipynb", [MAGIC_LOAD, MAGIC_RUN, MAGIC_FAILURES])
    cells = open_notebook(page, lab, name, 3)
    run_all(page)
    widget = widget_in(cells.nth(1))
    expect(widget.locator(".uj-state")).to_have_text("failed", timeout=60_000)
    panel = widget.locator(".uj-failures")
    expect(panel.locator(".uj-failures-summary")).to_have_text("270 failed in 1 group")
    group = panel.locator(".uj-group")
    expect(group.locator(".uj-group-count")).to_have_text("270\N{MULTIPLICATION SIGN}")
    expect(group.locator(".uj-group-type")).to_have_text("RuntimeError")
    expect(group.locator(".uj-group-message")).to_have_text("row <n> of region <n> is bad")
    expect(group.locator(".uj-group-scope")).to_have_text("9 scopes in customers")

    # the run's CallError stopped "run all": ask for the failures now
    expect(kernel_status(page)).to_be_visible(timeout=30_000)
    cells.nth(2).locator(".jp-InputPrompt").click()
    command(page, "notebook:run-cell")
    magic = cells.nth(2).locator(".jp-OutputArea-output")
    expect(magic).to_contain_text("uberjob: 270 failed", timeout=30_000)
    text = magic.inner_text()
    assert "in 1 group:" in text.splitlines()[0]
    assert "270 \N{MULTIPLICATION SIGN} RuntimeError: row <n> of region <n> is bad" in text
    assert "in 9 scopes in customers:" in text
    assert "30 \N{MULTIPLICATION SIGN} customers \u203a region 0 \u203a " in text
    assert len(text.splitlines()) < 25

    # a row focused without a click (Tab, assistive technology) is where the arrow keys start
    third = widget.locator("[data-key='run/3']")
    third.evaluate("el => el.focus()")
    page.keyboard.press("ArrowDown")
    expect(widget.locator("[data-key='run/4']")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(third).to_be_focused()

    # the breakdown per scope, and tracebacks that name the cell as IPython does
    group.locator(".uj-group-head").click()
    expect(group.locator(".uj-group-scope-line")).to_have_count(9)
    expect(group.locator(".uj-group-scope-line").first).to_contain_text("30\N{MULTIPLICATION SIGN}")
    symbolic = group.locator(".uj-instance pre").nth(1)
    expect(symbolic).to_contain_text(re.compile(r"Cell In\[\d+\], line 7"))
    assert "ipykernel_" not in symbolic.inner_text()
    assert symbolic.inner_text().count(", line 7,") == 1  # <module> and <listcomp> say one thing
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "grouping-widget.png"))
    cells.nth(2).screenshot(path=str(ARTIFACTS / "grouping-magic.png"))


NARROW = """\
import time
import uberjob

def load_invoices_for_customer(i):
    time.sleep(0.001)
    if i % 7 == 0:
        raise ValueError(f"invoice {i} has no customer")
    return i

plan = uberjob.Plan()
calls = []
with plan.scope("customers_in_the_north_east_region"):
    calls += [plan.call(load_invoices_for_customer, i) for i in range(12_000)]
try:
    uberjob.run(plan, output=calls, max_errors=None, max_workers=8)
except uberjob.CallError:
    pass
"""


def test_a_narrow_output_keeps_the_numbers_and_shrinks_the_bar(lab, page):
    page.set_viewport_size({"width": 1280, "height": 900})
    cells = open_notebook(page, lab, write_notebook(lab.root / "narrow.ipynb", [NARROW]), 1)
    # a split view: the notebook's output area about 380 px wide
    page.add_style_tag(content=".jp-Cell .jp-OutputArea-output { max-width: 380px !important; }")
    run_all(page)
    widget = widget_in(cells.nth(0))
    expect(widget.locator(".uj-state")).to_have_text("failed", timeout=90_000)
    box = widget.bounding_box()
    assert box is not None
    assert box["width"] <= 381
    for key in ("run/0", "run/1", "run/2"):
        row = widget.locator(f"[data-key='{key}']")
        count = row.locator(".uj-count")
        expect(count).to_have_text(re.compile(r"^10,285 / 12,000, 1,715 failed$"))
        # the whole count shows: nothing cut, nothing outside the widget
        fits = count.evaluate("el => el.scrollWidth <= el.clientWidth")
        assert fits, f"{key}: the count is cut"
        count_box = count.bounding_box()
        assert count_box["x"] + count_box["width"] <= box["x"] + box["width"] + 0.5
        # the bar gave way: a thin line under the name and the numbers
        bar = row.locator(".uj-bar").bounding_box()
        assert bar["y"] > count_box["y"] + count_box["height"] - 1
        assert 0 < bar["height"] <= 5
    name = widget.locator("[data-key='run/1'] .uj-name")
    assert name.bounding_box()["width"] > 60  # and the names keep some room (~8 characters)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "widget-narrow-light.png"))
    set_theme(page, "JupyterLab Dark")
    widget.screenshot(path=str(ARTIFACTS / "widget-narrow-dark.png"))
    set_theme(page, "JupyterLab Light")


REGISTRY_SETUP = """\
import uberjob
from uberjob.stores import JsonFileStore

def square(x):
    return x * x

plan = uberjob.Plan()
registry = uberjob.Registry()
squares = [plan.call(square, i) for i in range(4)]
for i, call in enumerate(squares):
    registry.add(call, JsonFileStore(f"rerun-square-{i}.json"))
total = plan.call(sum, squares)
uberjob.run(plan, registry=registry, output=total)
"""

REGISTRY_RERUN = "uberjob.run(plan, registry=registry, output=total)"


def test_a_registry_rerun_says_the_values_were_up_to_date(lab, page):
    page.set_viewport_size({"width": 1280, "height": 1400})
    name = write_notebook(lab.root / "registry-rerun.ipynb", [REGISTRY_SETUP, REGISTRY_RERUN])
    cells = open_notebook(page, lab, name, 2)
    run_all(page)
    first, rerun = widget_in(cells.nth(0)), widget_in(cells.nth(1))
    expect(first.locator(".uj-state")).to_have_text("done", timeout=60_000)
    expect(rerun.locator(".uj-state")).to_have_text("done", timeout=60_000)

    def row(widget, name):
        run = widget.locator("[data-section='run']")
        return run.locator(".uj-row", has=page.locator(".uj-name", has_text=re.compile(name)))

    square = "square"  # named as 1.0 names it: __main__ dropped
    expect(row(first, rf"^{square}$").locator(".uj-count")).to_have_text("4 / 4")
    expect(row(first, r"\(written to store\)$").locator(".uj-count")).to_have_text("4 / 4")
    expect(row(first, r"\(read from store\)$").locator(".uj-count")).to_have_text("4 / 4")
    expect(first.locator(".uj-name", has_text="JsonFileStore.")).to_have_count(0)
    # the rerun computed nothing: no square row, the values were up to date
    expect(row(rerun, rf"^{square}$")).to_have_count(0)
    fresh = row(rerun, r"\(up to date, read from store\)$")
    expect(fresh.locator(".uj-count")).to_have_text("4 / 4")
    expect(fresh).to_have_class(re.compile(r"\buj-fresh\b"))
    # the two sections' bars line up
    stale_bar = rerun.locator("[data-key='stale/0'] .uj-bar").bounding_box()
    run_bar = rerun.locator("[data-key='run/0'] .uj-bar").bounding_box()
    assert abs(stale_bar["x"] - run_bar["x"]) < 1
    assert abs(stale_bar["width"] - run_bar["width"]) < 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    cells.nth(0).screenshot(path=str(ARTIFACTS / "registry-first-run.png"))
    rerun.screenshot(path=str(ARTIFACTS / "registry-rerun.png"))
