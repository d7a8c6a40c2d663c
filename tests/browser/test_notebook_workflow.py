"""The notebook workflow in a real JupyterLab: Stop a background run, interrupt a blocking one,
and reopen a saved notebook (its widgets drawn from the saved state, not from a kernel)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import nbformat
from jlab import ARTIFACTS
from nbdriver import command, kernel_status, open_notebook, widget_in, write_notebook
from playwright.sync_api import expect

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

    cells.nth(1).locator(".jp-InputPrompt").click()  # the click on Stop selected cell 1
    command(page, "notebook:run-cell")  # ask the kernel
    out = cells.nth(1).locator(".jp-OutputArea-output")
    expect(out).to_contain_text("kernel: stopped", timeout=30_000)
    numbers = dict(re.findall(r"(\w+)=(\d+)", out.inner_text()))
    # Calls in flight finished; none started after the stop.
    assert int(numbers["started"]) == int(numbers["completed"])
    assert int(numbers["completed"]) < int(numbers["total"])
    count = widget.locator("[data-key='run/0'] .uj-count")
    expect(count).to_have_text(f"{int(numbers['completed']):,} / {int(numbers['total']):,}")


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
    stderr = cells.nth(0).locator("[data-mime-type='application/vnd.jupyter.stderr']")
    expect(stderr).to_contain_text("KeyboardInterrupt")


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


def _trust(path) -> None:
    """``jupyter trust`` as the lab's server sees it (its environment uses platform dirs)."""
    env = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1"}
    subprocess.run([sys.executable, "-m", "jupyter", "trust", str(path)], check=True, env=env)


def test_saved_notebook_reopened_shows_the_final_counts(lab, page):
    import nbclient

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(SAVED)]
    nbclient.NotebookClient(nb, kernel_name="python3", store_widget_state=True).execute()
    nbformat.write(nb, lab.root / "saved.ipynb")
    final = "42 / 50, 8 failed"  # 50 calls, 8 raise (the output list is ours: not counted)

    # Untrusted (as a notebook from elsewhere is): the output's static picture, not a raw repr.
    cells = open_notebook(page, lab, "saved.ipynb", 1)
    static = cells.nth(0).locator(".uj-static")
    expect(static).to_contain_text(f"uberjob: failed, {final}")
    expect(static).to_contain_text("8 \N{MULTIPLICATION SIGN} ValueError: seven divides <n>")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    cells.nth(0).screenshot(path=str(ARTIFACTS / "reopened-untrusted-static.png"))

    # Trusted: the widget itself, drawn from the saved widget state (the new kernel has no models).
    _trust(lab.root / "saved.ipynb")
    cells = open_notebook(page, lab, "saved.ipynb", 1)
    widget = widget_in(cells.nth(0))
    expect(widget.locator(".uj-state")).to_have_text("failed")
    expect(widget.locator("[data-key='run/0'] .uj-count")).to_have_text(final)
    expect(widget.locator(".uj-failures-summary")).to_contain_text("8 failed")
    expect(page.locator(".jp-NotebookPanel")).not_to_contain_text("Loading widget")
    widget.screenshot(path=str(ARTIFACTS / "reopened-trusted-widget.png"))
