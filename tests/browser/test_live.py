"""The widget while a run goes on: live counts, screenshots (light, dark), then an interrupt."""

from __future__ import annotations

import re

from jlab import ARTIFACTS
from nbdriver import command, open_notebook, run_all, set_theme, widget_in, write_notebook
from playwright.sync_api import expect

SLOW_RUN = """\
import random, time
import uberjob
from uberjob.progress import widget_progress

def dont_roll_six():
    time.sleep(random.random() * 0.05)
    if random.randint(1, 6) == 6:
        raise Exception("Something bad happened.")

plan = uberjob.Plan()
calls = []
for stage in ("extract", "transform", "load"):
    with plan.scope(stage):
        calls += [plan.call(dont_roll_six) for _ in range(2000)]
uberjob.run(plan, output=calls, max_workers=8, max_errors=None, progress=widget_progress)
"""

RUNNING = re.compile(r"^\([\d,]+ \+ [\d,]+\) / 6,\d{3}, [\d,]+ failed$")


def test_live_updates_then_interrupt(lab, page):
    page.set_viewport_size({"width": 1280, "height": 1300})
    cells = open_notebook(page, lab, write_notebook(lab.root / "live.ipynb", [SLOW_RUN]), 1)
    run_all(page)
    widget = widget_in(cells.nth(0))
    root = widget.locator("[data-key='run/0']")
    expect(widget.locator(".uj-state")).to_have_text("running", timeout=60_000)
    expect(root.locator(".uj-count")).to_have_text(RUNNING)
    # after a few seconds: the time it has left (or, finished, its share of the run's time)
    expect(root.locator(".uj-time")).to_have_text(re.compile(r"^\d.* left$"), timeout=20_000)
    expect(widget.locator(".uj-remaining")).to_have_text(re.compile(r"^about \d.* left$"))
    first = root.locator(".uj-count").inner_text()
    expect(root.locator(".uj-count")).not_to_have_text(first)  # it moves while the cell runs
    expect(widget.locator(".uj-failures")).to_be_visible()
    widget.locator(".uj-group-head").first.click()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "widget-running-light.png"))
    set_theme(page, "JupyterLab Dark")
    widget.screenshot(path=str(ARTIFACTS / "widget-running-dark.png"))
    set_theme(page, "JupyterLab Light")
    expect(widget.locator(".uj-state")).to_have_text("running")

    command(page, "notebook:interrupt-kernel")
    expect(widget.locator(".uj-state")).to_have_text("interrupted", timeout=30_000)
    expect(root.locator(".uj-count")).to_have_text(re.compile(r"^[\d,]+ / 6,\d{3}, [\d,]+ failed$"))
