"""The notebook side of the widget: Stop for background runs, the summary and static fallback."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("anywidget")

import uberjob
from uberjob import RunStopped
from uberjob.progress import Progress
from uberjob.progress._fallback import snapshot_summary, static_html
from uberjob.progress._widget import LIVE_TEXT, WidgetProgressObserver

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def observed():
    """A widget progress that does not display, and the observers it made."""
    made = []

    def make():
        made.append(WidgetProgressObserver(display=False))
        return made[-1]

    return Progress(make), made


def test_a_click_on_stop_stops_the_background_run_and_nothing_new_starts():
    in_flight, release = threading.Event(), threading.Event()
    started = []

    def first():
        started.append("first")
        in_flight.set()
        assert release.wait(timeout=10)

    def later(i):
        started.append(i)

    progress, made = observed()
    plan = uberjob.Plan()
    calls = [plan.call(first)] + [plan.call(later, i) for i in range(20)]
    handle = uberjob.run(plan, output=calls, max_workers=1, background=True, progress=progress)
    widget = made[0].widget
    assert handle.widget is widget
    assert widget._stop == "available"
    assert in_flight.wait(timeout=10)
    widget._on_frontend_message(widget, {"kind": "stop"}, [])  # what the button sends
    assert widget._stop == "requested"
    release.set()
    with pytest.raises(RunStopped):
        handle.result(timeout=10)
    assert started == ["first"]
    assert handle.state == "stopped"
    assert widget.snapshot["state"] == "stopped"
    assert snapshot_summary(widget.snapshot).startswith("uberjob: stopped, 1 / ")


def test_blocking_runs_have_no_stop_button_but_display_as_their_widget():
    progress, made = observed()
    plan = uberjob.Plan()
    x = plan.call(sum, [1, 2])
    assert uberjob.run(plan, output=x, progress=progress) == 3
    widget = made[0].widget
    assert widget._stop == ""
    widget._on_frontend_message(widget, {"kind": "stop"}, [])  # ignored
    assert widget._stop == ""
    handle = uberjob._handle.last_run()
    assert handle.widget is widget
    bundle = handle._repr_mimebundle_()
    assert WIDGET_VIEW in bundle
    assert bundle["text/plain"].startswith("uberjob: done, 1 / 1, ")


def test_the_widget_has_a_one_line_summary_and_a_static_picture_output_escaped(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(
        IPython.display, "display", lambda obj, **kw: shown.append(obj) or _Updatable(shown)
    )

    def fail(i):
        raise ValueError("<script>alert(1)</script>")

    made = []
    progress = Progress(lambda: made.append(WidgetProgressObserver()) or made[-1])
    plan = uberjob.Plan()
    with plan.scope("<img src=x onerror=alert(1)>"):
        calls = [plan.call(fail, i) for i in range(3)] + [plan.call(abs, -1)]
    with pytest.raises(uberjob.CallError):
        uberjob.run(plan, output=calls, max_errors=None, max_workers=1, progress=progress)
    bundle = made[0].widget._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert WIDGET_VIEW in data
    assert data["text/plain"].startswith("uberjob: failed, 1 / 4, 3 failed, ")
    assert "\n" not in data["text/plain"]
    # The widget, then its static picture, which is updated to the final state at the end.
    # A blocking run: the widget, then its static picture once the run has ended (raw bundles).
    widget, final_picture = shown
    assert widget[WIDGET_VIEW]["model_id"] == made[0].widget._model_id
    page = final_picture["text/html"]
    assert 'class="uj-static"' in page
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "1 / 4, 3 failed" in page


def test_summary_numbers():
    snapshot = {
        "state": "done",
        "elapsed": 12.4,
        "sections": [{"key": "run", "title": "Running graph",
                      "nodes": [[-1, "Running graph", 10000, 9998, 0, 1663, 0]]}],
        "failures": {"count": 1663, "groups": []},
    }  # fmt: skip
    assert snapshot_summary(snapshot) == "uberjob: done, 9,998 / 10,000, 1,663 failed, 12s"
    assert "9,998 / 10,000, 1,663 failed" in static_html(snapshot)


def test_a_background_handle_shown_as_a_cell_value_does_not_repeat_the_widget(monkeypatch):
    import IPython.display

    import uberjob

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))

    class Shell:
        execution_count = 7

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell)
    plan = uberjob.Plan()
    handle = uberjob.run(plan, output=plan.call(int, 1), background=True, progress="widget")
    assert handle.result(timeout=10) == 1
    # A background run: the widget and its static picture at once; the picture is updated to
    # the final state from the run's thread when it ends.
    widget, picture, final_picture = shown
    assert widget[WIDGET_VIEW]["model_id"] == handle.widget._model_id
    assert picture["text/plain"].startswith("uberjob: running")
    assert final_picture["text/plain"].startswith("uberjob: done, 1 / 1")
    # the widget output's text says what it is, not the numbers of its first draw
    assert widget["text/plain"] == LIVE_TEXT
    # as the value of the same cell: nothing more (no frozen "running, 0 / 1" line)
    assert handle.displayed_in_cell == 7
    handle._ipython_display_()
    assert len(shown) == 3
    # in a later cell (%uberjob last, or the handle's name): the widget again, and the summary
    Shell.execution_count = 8
    handle._ipython_display_()
    again = shown[-1]
    assert again[WIDGET_VIEW]["model_id"] == handle.widget._model_id
    assert again["text/plain"].startswith("uberjob: done, 1 / 1")


class _Updatable:
    """Stands in for IPython's DisplayHandle: update() records the new object."""

    def __init__(self, shown):
        self.shown = shown

    def update(self, obj, **kwargs):
        self.shown.append(obj)
