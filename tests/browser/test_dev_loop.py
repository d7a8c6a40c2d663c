"""The development loop in JupyterLab: a straggler found by its stack while a blocking run goes on,
then a failure fixed and resumed with the widget's Resume button."""

from __future__ import annotations

import re

from jlab import ARTIFACTS
from nbdriver import command, kernel_status, open_notebook, output_text, widget_in, write_notebook
from playwright.sync_api import expect

STRAGGLER = """\
import pathlib, time
import uberjob

GO = pathlib.Path("straggler-go")

def wait_for_the_go():
    while not GO.exists():  # the test creates the file once it has seen this stack
        time.sleep(0.02)

def fetch(k):
    if k == 7:
        wait_for_the_go()
    return k

plan = uberjob.Plan()
with plan.scope("extract"):
    calls = [plan.call(fetch, k) for k in range(8)]
uberjob.run(plan, output=calls, max_workers=2)
"""


def test_a_straggler_shows_with_its_stack_in_a_blocking_run(lab, page):
    page.set_viewport_size({"width": 1280, "height": 1000})
    cells = open_notebook(page, lab, write_notebook(lab.root / "straggler.ipynb", [STRAGGLER]), 1)
    command(page, "notebook:run-cell")
    widget = widget_in(cells.nth(0))
    expect(widget.locator(".uj-state")).to_have_text("running", timeout=60_000)
    # The kernel is busy with the cell all along: what the panel shows was pushed by the run.
    straggler = widget.locator(".uj-running .uj-call.uj-is-straggler")
    expect(straggler).to_have_count(1, timeout=30_000)
    expect(straggler.locator(".uj-call-function")).to_have_text(re.compile(r"fetch$"))
    user_frames = straggler.locator(".uj-frame-user")
    innermost = user_frames.filter(
        has=page.locator(".uj-frame-where", has_text=re.compile(r"in wait_for_the_go$"))
    )
    expect(innermost).to_have_count(1, timeout=30_000)
    expect(innermost.locator(".uj-frame-code")).to_have_text("time.sleep(0.02)")
    expect(user_frames.filter(has_text=re.compile(r"in fetch"))).to_have_count(1)
    expect(widget.locator(".uj-tree .uj-row.uj-straggler .uj-tree-mark")).to_have_text("slow")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "widget-straggler.png"))

    (lab.root / "straggler-go").touch()
    expect(widget.locator(".uj-state")).to_have_text("done", timeout=30_000)
    expect(widget.locator(".uj-running")).to_be_hidden()
    expect(widget.locator("[data-key='run/0'] .uj-count")).to_have_text("8 / 8")


FAILING = """\
import uberjob

def parse(k):
    if k % 4 == 3:
        raise ValueError(f"bad record {k}")
    return k

def add_all(*values):
    return sum(values)

plan = uberjob.Plan()
with plan.scope("parse"):
    parsed = [plan.call(parse, k) for k in range(12)]
total = plan.call(add_all, *parsed)
uberjob.run(plan, output=total, max_errors=None)
"""

FIX = """\
def parse(k):  # the fix: records ending in 3 are fine after all
    return k
"""

RESULT = """\
print("value:", uberjob.last_run().result(), uberjob.last_run().state)
"""


def test_resume_after_a_fix_ends_done_with_the_right_value(lab, page):
    page.set_viewport_size({"width": 1280, "height": 1000})
    cells = open_notebook(
        page, lab, write_notebook(lab.root / "resume.ipynb", [FAILING, FIX, RESULT]), 3
    )
    command(page, "notebook:run-cell-and-select-next")
    widget = widget_in(cells.nth(0))
    state = widget.locator(".uj-state")
    expect(state).to_have_text("failed", timeout=60_000)
    resume = widget.locator("button.uj-resume")
    expect(resume).to_be_visible()
    expect(widget.locator(".uj-failures")).to_contain_text("bad record")
    command(page, "notebook:run-cell-and-select-next")  # the fix
    expect(kernel_status(page)).to_be_visible(timeout=30_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "widget-resume-offered.png"))

    resume.click()
    expect(state).to_have_text("done", timeout=60_000)
    expect(widget.locator(".uj-resumed")).to_contain_text("resumed")
    expect(widget.locator(".uj-failures")).to_be_hidden()  # the fixed failures left
    expect(resume).to_be_hidden()
    widget.screenshot(path=str(ARTIFACTS / "widget-resumed-done.png"))

    cells.nth(2).locator(".jp-InputPrompt").click()
    command(page, "notebook:run-cell")
    expected = f"value: {sum(range(12))} done"
    expect(output_text(cells.nth(2))).to_have_text(re.compile(f"^{expected}\\s*$"), timeout=30_000)
