"""The progress widget in a real JupyterLab: a run of thousands of calls, 1 in 6 failing."""

from __future__ import annotations

import re

from jlab import ARTIFACTS
from nbdriver import open_notebook, output_text, run_all, set_theme, widget_in, write_notebook
from playwright.sync_api import expect

DICE_RUN = """\
import random, threading, time
import uberjob
from uberjob.progress import html_progress, widget_progress

failures = 0
lock = threading.Lock()

def dont_roll_six(i):
    global failures
    time.sleep(random.random() * 0.002)
    if random.randint(1, 6) == 6:
        with lock:
            failures += 1
        raise Exception("Something bad happened.")
    return i

plan = uberjob.Plan()
calls = []
for region in ["east", "west"]:
    with plan.scope(region):
        for year in (2021, 2022, 2023):
            with plan.scope(year):
                calls += [plan.call(dont_roll_six, i) for i in range(500)]
try:
    uberjob.run(plan, output=calls, max_errors=None, max_workers=8,
                progress=[widget_progress, html_progress(REPORT)])
except uberjob.CallError:
    pass
print(f"KERNEL_FAILURES={failures}")
"""


def dice_notebook(lab, name: str) -> str:
    report = lab.root / f"{name}.html"
    return write_notebook(lab.root / f"{name}.ipynb", [f"REPORT = {str(report)!r}\n" + DICE_RUN])


def test_a_run_with_failures_is_counted_grouped_and_browsable(lab, page):
    page.set_viewport_size({"width": 1280, "height": 1500})  # room for the whole widget
    cells = open_notebook(page, lab, dice_notebook(lab, "dice"), 1)
    run_all(page)
    cell = cells.nth(0)
    widget = widget_in(cell)
    expect(widget.locator(".uj-state")).to_have_text("failed", timeout=90_000)
    expect(output_text(cell)).to_contain_text("KERNEL_FAILURES=")
    failures = int(re.search(r"KERNEL_FAILURES=(\d+)", output_text(cell).inner_text()).group(1))
    assert 250 < failures < 750

    # the tree's failed count is the kernel's
    root = widget.locator("[data-key='run/0']")
    expect(root.locator(".uj-count")).to_have_text(re.compile(rf", {failures:,} failed$"))
    total = re.search(r"/ ([\d,]+)", root.locator(".uj-count").inner_text()).group(1)
    total = total.replace(",", "")
    assert int(total) >= 3000
    expect(root.locator("[role=progressbar]")).to_have_attribute("aria-valuemax", total)

    # the failures panel groups them by type and message across scopes: one group, broken
    # down by its six scopes
    panel = widget.locator(".uj-failures")
    expect(panel.locator(".uj-failures-summary")).to_have_text(f"{failures:,} failed in 1 group")
    groups = panel.locator(".uj-group")
    expect(groups).to_have_count(1)
    expect(groups.locator(".uj-group-count")).to_have_text(f"{failures:,}\N{MULTIPLICATION SIGN}")
    expect(groups.locator(".uj-group-message").first).to_have_text("Something bad happened.")
    expect(groups.locator(".uj-group-scope")).to_have_text("6 scopes")

    # an instance expands to its traceback (message) beside its symbolic one (planning line);
    # the first 100 failures keep theirs, so some group has kept instances
    kept = panel.locator(".uj-group:not([data-kept='0'])").first
    kept.locator(".uj-group-head").click()
    lines = kept.locator(".uj-group-scope-line")
    expect(lines).to_have_count(6)
    per_scope = {
        line.split("\N{MULTIPLICATION SIGN}", 1)[1].strip(): int(
            line.split("\N{MULTIPLICATION SIGN}", 1)[0].replace(",", "")
        )
        for line in lines.all_inner_texts()
    }
    assert sum(per_scope.values()) == failures
    assert {path.rsplit(" \u203a ", 1)[0] for path in per_scope} == {
        f"{region} \u203a {year}" for region in ("east", "west") for year in (2021, 2022, 2023)
    }
    instance = kept.locator(".uj-instance").first
    expect(instance.locator(".uj-instance-head")).to_have_attribute("aria-expanded", "true")
    tracebacks = instance.locator("pre")
    expect(tracebacks.nth(0)).to_contain_text("Exception: Something bad happened.")
    expect(tracebacks.nth(1)).to_contain_text("plan.call(dont_roll_six, i)")
    instance.locator(".uj-instance-head").click()
    expect(instance.locator(".uj-instance-body")).to_be_hidden()
    instance.locator(".uj-instance-head").click()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget.scroll_into_view_if_needed()
    widget.screenshot(path=str(ARTIFACTS / "widget-failed-light.png"))
    set_theme(page, "JupyterLab Dark")
    widget.screenshot(path=str(ARTIFACTS / "widget-failed-dark.png"))
    set_theme(page, "JupyterLab Light")

    # selecting a scope in the tree filters the failures to it
    east = widget.locator(".uj-row", has=page.locator(".uj-name", has_text=re.compile("^east$")))
    east.locator(".uj-name").click()
    expect(east).to_have_attribute("aria-selected", "true")
    expect(panel.locator(".uj-group:visible")).to_have_count(1)
    east_count = sum(n for path, n in per_scope.items() if path.startswith("east"))
    expect(panel.locator(".uj-failures-summary")).to_have_text(
        f"{east_count:,} of {failures:,} failed in 1 group"
    )
    expect(panel.locator(".uj-chip")).to_have_text("in east ✕")
    panel.locator(".uj-chip").click()
    expect(panel.locator(".uj-failures-summary")).to_have_text(f"{failures:,} failed in 1 group")

    # search: text that no group has hides it, a scope's name finds it
    panel.locator("input.uj-search").fill("no such text")
    expect(panel.locator(".uj-group:visible")).to_have_count(0)
    panel.locator("input.uj-search").fill("2022")
    expect(panel.locator(".uj-group:visible")).to_have_count(1)
    panel.locator("input.uj-search").fill("")

    # the HTML report, opened from disk, shows the same counts
    report = lab.root / "dice.html"
    page.goto(report.as_uri())
    expect(page.locator("[data-key='run/0'] .uj-count")).to_have_text(
        re.compile(rf", {failures:,} failed$")
    )


def test_nested_scopes_fold_and_unfold_by_mouse_and_keyboard(lab, page):
    cells = open_notebook(page, lab, dice_notebook(lab, "nested"), 1)
    run_all(page)
    widget = widget_in(cells.nth(0))
    expect(widget.locator(".uj-state")).to_have_text("failed", timeout=90_000)
    east = widget.locator(".uj-row", has=page.locator(".uj-name", has_text=re.compile("^east$")))
    year = widget.locator("[role=treeitem][aria-level='3']", has_text="2021").first
    expect(east).to_have_attribute("aria-expanded", "true")
    expect(year).to_be_visible()
    east.locator(".uj-twisty").click()
    expect(east).to_have_attribute("aria-expanded", "false")
    expect(year).to_be_hidden()
    east.focus()
    page.keyboard.press("ArrowRight")
    expect(east).to_have_attribute("aria-expanded", "true")
    expect(year).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(year).to_be_focused()
    expect(year).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowLeft")  # an open row folds
    expect(year).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("ArrowLeft")  # a folded row: focus goes to its parent
    expect(east).to_be_focused()
    page.keyboard.press("Enter")  # selects
    expect(east).to_have_attribute("aria-selected", "true")
