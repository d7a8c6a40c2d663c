"""Text from user code stays text: in the widget and in the HTML report, nothing runs."""

from __future__ import annotations

from nbdriver import open_notebook, run_all, widget_in, write_notebook
from playwright.sync_api import expect

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
