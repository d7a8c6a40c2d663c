"""The tour, as a reader runs it: every cell in JupyterLab, no errors, the widgets drawn."""

from __future__ import annotations

import shutil
from pathlib import Path

from jlab import ARTIFACTS
from nbdriver import kernel_status, open_notebook, run_all
from playwright.sync_api import expect

TOUR = Path(__file__).resolve().parents[2] / "notebooks" / "tour.ipynb"


def test_the_tour_runs_in_jupyterlab_without_errors(lab, page):
    import nbformat

    shutil.copy(TOUR, lab.root / "tour.ipynb")
    code_cells = sum(c.cell_type == "code" for c in nbformat.read(TOUR, as_version=4).cells)
    cells = open_notebook(page, lab, "tour.ipynb", len(nbformat.read(TOUR, as_version=4).cells))
    run_all(page)
    # Every code cell gets its execution count once the kernel is done with it.
    prompts = page.locator(".jp-CodeCell .jp-InputPrompt", has_text="[")
    expect(page.locator(".jp-CodeCell .jp-InputPrompt", has_text="[*]")).to_have_count(
        0, timeout=150_000
    )
    expect(kernel_status(page)).to_be_visible(timeout=30_000)
    assert prompts.count() >= code_cells
    expect(page.locator("[data-mime-type='application/vnd.jupyter.error']")).to_have_count(0)
    widgets = page.locator(".uj-root")
    expect(widgets.first).to_be_visible()
    # widgets render after their outputs arrive: wait for the fifth (count() does not wait)
    expect(widgets.nth(4)).to_be_attached()
    # The static pictures below the widgets are hidden wherever the widgets are drawn.
    expect(page.locator(".uj-static").first).to_be_hidden()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    failures_cell = cells.filter(has_text="dont_roll_six").first
    failures_cell.scroll_into_view_if_needed()
    failures_cell.screenshot(path=str(ARTIFACTS / "tour-failures.png"))
    page.screenshot(path=str(ARTIFACTS / "tour-end.png"))
