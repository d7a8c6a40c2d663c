"""Text from user code stays text: in the widget and in the HTML report, nothing runs."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from nbdriver import open_notebook, output_text, run_all, widget_in, write_notebook
from playwright.sync_api import expect

import uberjob
from uberjob.progress._html import render_report

SCOPE = "<img src=x onerror=alert(1)>"
MESSAGE = "<script>alert(1)</script>"

HOSTILE_RUN = f"""\
import uberjob
from uberjob.progress import widget_progress

def hostile(i):
    raise ValueError({MESSAGE!r})

plan = uberjob.Plan()
with plan.scope({SCOPE!r}):
    calls = [plan.call(hostile, i) for i in range(3)]
try:
    uberjob.run(plan, output=calls, max_errors=None, progress=widget_progress)
except uberjob.CallError:
    pass
"""


def watch_dialogs(page) -> list[str]:
    dialogs: list[str] = []

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    # the listener works: a probe dialog is seen (so an empty list below means something)
    page.evaluate("() => alert('probe')")
    assert dialogs == ["probe"]
    dialogs.clear()
    return dialogs


def test_hostile_scope_and_message_show_literally_and_run_nothing(lab, page):
    dialogs = watch_dialogs(page)
    cells = open_notebook(page, lab, write_notebook(lab.root / "hostile.ipynb", [HOSTILE_RUN]), 1)
    run_all(page)
    widget = widget_in(cells.nth(0))
    expect(widget.locator(".uj-state")).to_have_text("failed", timeout=60_000)
    expect(widget.locator(".uj-name", has_text=SCOPE)).to_have_count(1)
    group = widget.locator(".uj-group").first
    expect(group.locator(".uj-group-message")).to_have_text(MESSAGE)
    group.locator(".uj-group-head").click()
    expect(group.locator("pre").first).to_contain_text(f"ValueError: {MESSAGE}")
    assert widget.locator("img, script, iframe, object").count() == 0
    assert page.evaluate("() => document.querySelectorAll('img[src=x]').length") == 0
    assert dialogs == []


# A lone surrogate (a file name over non-UTF-8 bytes, as os.listdir gives it) and terminal escape
# sequences, in scopes and messages, with the default progress (the widget in a kernel).
SURROGATE_RUN = r"""
import os
import uberjob

NAME = os.fsdecode(b"data-\xff.csv")

def load(name):
    return len(name)

def hostile(name):
    raise ValueError("\x1b[2J\x1b]0;window title\x07cannot read " + name)

plan = uberjob.Plan()
with plan.scope(NAME):
    ok = plan.call(load, NAME)
    bad = plan.call(hostile, NAME)
print("RESULT", uberjob.run(plan, output=ok))
try:
    uberjob.run(plan, output=[ok, bad], max_errors=None)
except uberjob.CallError:
    print("FAILED AS EXPECTED")
"""
SHOWN_NAME = "data-\ufffd.csv"


def test_a_lone_surrogate_and_escapes_show_as_text_and_lose_no_result(lab, page):
    dialogs = watch_dialogs(page)
    name = write_notebook(lab.root / "surrogate.ipynb", [SURROGATE_RUN])
    cells = open_notebook(page, lab, name, 1)
    run_all(page)
    printed = output_text(cells.nth(0))  # two outputs: one per print, below each widget
    expect(printed.filter(has_text="RESULT 10")).to_have_count(1, timeout=60_000)
    expect(printed.filter(has_text="FAILED AS EXPECTED")).to_have_count(1, timeout=60_000)
    done, failed = widget_in(cells.nth(0)).nth(0), widget_in(cells.nth(0)).nth(1)
    expect(done.locator(".uj-state")).to_have_text("done")
    expect(done.locator(".uj-name", has_text=SHOWN_NAME)).to_have_count(1)
    expect(failed.locator(".uj-state")).to_have_text("failed")
    group = failed.locator(".uj-group").first
    expect(group.locator(".uj-group-message")).to_contain_text(f"cannot read {SHOWN_NAME}")
    group.locator(".uj-group-head").click()
    expect(group.locator("pre").first).to_contain_text(f"cannot read {SHOWN_NAME}")
    assert failed.locator("img, script, iframe, object, a").count() == 0
    assert dialogs == []


def test_the_html_report_of_a_failure_with_a_lone_surrogate_is_final(chromium, tmp_path):
    name = os.fsdecode(b"data-\xff.csv")

    def hostile(path):
        raise ValueError(f"\x1b[2Jcannot read {path}")

    plan = uberjob.Plan()
    with plan.scope(name):
        bad = plan.call(hostile, name)
    path = tmp_path / "report.html"
    with contextlib.suppress(uberjob.CallError):
        uberjob.run(plan, output=bad, progress=f"html:{path}")
    page = chromium.new_page()
    page.goto(path.as_uri())
    expect(page.locator(".uj-state")).to_have_text("failed")  # the final draw, not the first
    expect(page.locator(".uj-name", has_text=SHOWN_NAME)).to_have_count(1)
    expect(page.locator(".uj-group-message")).to_contain_text(f"cannot read {SHOWN_NAME}")
    assert page.locator("meta[http-equiv=refresh]").count() == 0  # it doesn't reload forever
    page.close()


def test_the_shared_hostile_fixture_renders_as_text_in_the_browser(chromium, tmp_path):
    """The hostile-text fixture the Python and JS tests use, drawn by the real renderer."""
    directory = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots"
    snapshot = json.loads((directory / "hostile_text.json").read_text(encoding="utf-8"))
    instances = json.loads((directory / "hostile_text.instances.json").read_text(encoding="utf-8"))
    path = tmp_path / "fixture.html"
    path.write_bytes(render_report(snapshot, instances, final=True))
    page = chromium.new_page()
    dialogs = watch_dialogs(page)
    page.goto(path.as_uri())
    expect(page.locator(".uj-state")).to_have_text("interrupted")
    expect(page.locator(".uj-name", has_text=SHOWN_NAME)).to_have_count(1)
    expect(page.locator(".uj-name", has_text=SCOPE)).to_have_count(1)
    group = page.locator(".uj-group", has_text="screen cleared")
    expect(group).to_have_count(1)
    group.locator(".uj-group-head").click()
    expect(group.locator("pre").first).to_contain_text("screen cleared")
    assert page.locator("img, iframe, object, a").count() == 0
    assert dialogs == []
    page.close()
