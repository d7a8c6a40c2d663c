"""The notebook workflow in a real JupyterLab: Stop a background run, interrupt a blocking one,
and reopen a saved notebook without a kernel."""

from __future__ import annotations

import re
import time

import nbformat
from notebook import command, kernel_status, open_notebook, widget_in, write_notebook
from playwright.sync_api import expect

from conftest import ARTIFACTS

BACKGROUND = """\
import time
import uberjob

started = []

def work(i):
    started.append(i)
    time.sleep(0.5)
    return i

plan = uberjob.Plan()
calls = [plan.call(work, i) for i in range(200)]
handle = uberjob.run(plan, output=calls, max_workers=2, background=True)
"""

CHECK = """\
handle.wait(30)
print(f"kernel: {handle.state} started={len(started)} completed={handle.completed} "
      f"total={handle.total}")
"""


def test_stop_button_stops_a_background_run(lab, page):
    cells = open_notebook(
        page, lab, write_notebook(lab.root / "stop.ipynb", [BACKGROUND, CHECK]), 2
    )
    command(page, "notebook:run-cell-and-select-next")  # the background run, returns at once
    widget = widget_in(cells.nth(0))
    state = widget.locator(".uj-state")
    expect(state).to_have_text("running", timeout=60_000)
    expect(kernel_status(page)).to_be_visible()  # the kernel is idle again: the cell returned
    stop = widget.locator("button.uj-stop")
    expect(stop).to_be_visible()
    stop.click()
    expect(stop).to_be_disabled()
    expect(state).to_have_text(re.compile("^(stopping\u2026|stopped)$"))
    expect(state).to_have_text("stopped", timeout=20_000)
    expect(stop).to_be_hidden()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "widget-stopped.png"))

    command(page, "notebook:run-cell-and-select-next")  # ask the kernel
    out = cells.nth(1).locator(".jp-OutputArea-output")
    expect(out).to_contain_text("kernel: stopped", timeout=30_000)
    numbers = dict(re.findall(r"(\w+)=(\d+)", out.inner_text()))
    # Calls in flight finished; none started after the stop.
    assert int(numbers["started"]) == int(numbers["completed"])
    assert int(numbers["completed"]) < int(numbers["total"])
    count = widget.locator("[data-key='run/0'] .uj-count")
    expect(count).to_have_text(f"{numbers['completed']} / {numbers['total']}")


BLOCKING = """\
import time
import uberjob

def slow(i):
    time.sleep(0.2)
    return i

plan = uberjob.Plan()
calls = [plan.call(slow, i) for i in range(2000)]
uberjob.run(plan, output=calls, max_workers=4)
"""


def test_toolbar_interrupt_ends_a_blocking_run_as_interrupted(lab, page):
    cells = open_notebook(page, lab, write_notebook(lab.root / "interrupt.ipynb", [BLOCKING]), 1)
    command(page, "notebook:run-cell")
    widget = widget_in(cells.nth(0))
    state = widget.locator(".uj-state")
    expect(state).to_have_text("running", timeout=60_000)
    button = page.locator(".jp-NotebookPanel-toolbar [data-command='notebook:interrupt-kernel']")
    clicked = time.monotonic()
    button.click()
    expect(state).to_have_text("interrupted", timeout=2_000)
    assert time.monotonic() - clicked < 2.5
    expect(cells.nth(0).locator(".jp-OutputArea-output")).to_contain_text("KeyboardInterrupt")


SAVED = """\
import uberjob

def fail_on_seven(i):
    if i % 7 == 0:
        raise ValueError(f"seven divides {i}")
    return i

plan = uberjob.Plan()
calls = [plan.call(fail_on_seven, i) for i in range(50)]
try:
    uberjob.run(plan, output=calls, max_errors=None, max_workers=2)
except uberjob.CallError:
    pass
"""


def test_saved_notebook_reopened_without_a_kernel_shows_the_final_counts(lab, page):
    import nbclient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SAVED)]
    nbclient.NotebookClient(nb, kernel_name="python3", store_widget_state=True).execute()
    # No such kernel: JupyterLab opens the notebook without one (we decline to pick one).
    nb.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "None", "language": ""}
    nbformat.write(nb, lab.root / "saved.ipynb")

    page.goto(lab.url("lab/tree/saved.ipynb") + "&reset")
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_be_visible(timeout=60_000)
    dialog.locator("button", has_text=re.compile("No Kernel|Cancel")).first.click()
    cell = page.locator(".jp-NotebookPanel .jp-Cell").first
    widget = widget_in(cell)
    expect(widget.locator(".uj-state")).to_have_text("failed", timeout=60_000)
    expect(widget.locator("[data-key='run/0'] .uj-count")).to_have_text("43 / 51, 8 failed")
    expect(widget.locator(".uj-failures-summary")).to_contain_text("8 failed")
    expect(page.locator(".jp-NotebookPanel")).not_to_contain_text("Loading widget")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "widget-reopened-no-kernel.png"))
