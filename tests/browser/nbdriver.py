"""Driving a notebook in JupyterLab with Playwright: open, wait for the kernel, run, theme."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from playwright.sync_api import Locator, Page, expect

# Ready means the status bar reads "... (ipykernel) | Idle" AND the session's kernel is connected:
# the toolbar's execution indicator says idle before a kernel exists (see the recipe).
KERNEL_READY_JS = """() => { const sc = window.jupyterapp?.shell.currentWidget?.sessionContext;
  const k = sc?.session?.kernel;
  return !!(sc?.isReady && k && k.connectionStatus === 'connected' && k.status === 'idle'); }"""


def kernel_status(page: Page, word: str = "Idle") -> Locator:
    return page.locator(
        ".jp-StatusBar-TextItem[title^='Change kernel for']",
        has_text=re.compile(rf"ipykernel\) \| {word}$"),
    )


def write_notebook(path: Path, cells: list[str]) -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(nb, path)
    return path.name


def open_notebook(page: Page, lab, name: str, cells: int) -> Locator:
    """Open a notebook and wait until its kernel is really ready; returns its cells."""
    page.goto(lab.url(f"lab/tree/{name}") + "&reset")
    notebook = page.locator(".jp-NotebookPanel").first
    expect(notebook.locator(".jp-Cell")).to_have_count(cells, timeout=60_000)
    expect(kernel_status(page)).to_be_visible(timeout=60_000)
    page.wait_for_function(KERNEL_READY_JS, timeout=60_000)
    return notebook.locator(".jp-Cell")


def command(page: Page, name: str, args: dict | None = None) -> None:
    """Run a JupyterLab command, fire and forget (awaiting it in evaluate can hang)."""
    page.evaluate(
        "([name, args]) => { window.jupyterapp.commands.execute(name, args); }", [name, args or {}]
    )


def run_all(page: Page) -> None:
    command(page, "notebook:run-all-cells")


def set_theme(page: Page, theme: str) -> None:
    """'JupyterLab Light' or 'JupyterLab Dark'; waits until the body says so."""
    command(page, "apputils:change-theme", {"theme": theme})
    light = "true" if "Light" in theme else "false"
    expect(page.locator(f"body[data-jp-theme-light='{light}']")).to_have_count(1)
    expect(page.locator("#jupyterlab-splash")).to_have_count(0)  # the theme's loading overlay


def widget_in(cell: Locator) -> Locator:
    return cell.locator(".jp-OutputArea-output .uj-root")


def output_text(cell: Locator) -> Locator:
    return cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stdout']")
