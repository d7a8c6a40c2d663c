"""`jupyter nbconvert --to html` of an executed notebook shows the run's final picture offline."""

from __future__ import annotations

import re
import subprocess
import sys

import nbformat
from jlab import ARTIFACTS
from nbclient import NotebookClient
from playwright.sync_api import expect

CELL = """
import uberjob

def roll(i):
    if i % 6 == 5:
        raise ValueError("rolled a six")
    return i

plan = uberjob.Plan()
with plan.scope("dice"):
    calls = [plan.call(roll, i) for i in range(60)]
try:
    uberjob.run(plan, output=calls, max_errors=None)
except uberjob.CallError:
    pass
"""


def test_exported_html_shows_the_final_counts_without_network(chromium, tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    NotebookClient(notebook, kernel_name="python3", store_widget_state=True).execute()
    source = tmp_path / "executed.ipynb"
    nbformat.write(notebook, source)
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(source)],
        check=True,
        capture_output=True,
    )
    exported = tmp_path / "executed.html"
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    context.route(re.compile(r"^(?!file:).*"), lambda route: route.abort())  # offline
    page = context.new_page()
    page.goto(exported.as_uri())
    picture = page.locator(".uj-static")
    expect(picture).to_be_visible()
    expect(picture).to_contain_text("uberjob: failed, 50 / 60, 10 failed")
    expect(picture).to_contain_text("rolled a six")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "nbconvert-offline.png"), full_page=True)
    context.close()
