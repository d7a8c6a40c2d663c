"""A resumed run goes on in the same widget and model; the Resume button (issue 15)."""

from __future__ import annotations

import sys
import textwrap
import types

import pytest

pytest.importorskip("anywidget")

import uberjob
from uberjob import CallError
from uberjob._handle import last_run
from uberjob.progress import Progress
from uberjob.progress._model import ProgressModel
from uberjob.progress._widget import WidgetProgressObserver

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

FIRST = """
def work(i):
    if i in (2, 5):
        raise ValueError(f"bad {i}")
    return i
"""

FIXED = """
def work(i):
    return i
"""


@pytest.fixture
def main(monkeypatch):
    module = types.ModuleType("__main__")
    monkeypatch.setitem(sys.modules, "__main__", module)
    return lambda source: exec(textwrap.dedent(source), module.__dict__) or module


def observed():
    made = []

    def make():
        made.append(WidgetProgressObserver(display=False))
        return made[-1]

    return Progress(make), made


def root(snapshot) -> list:
    return snapshot["sections"][0]["nodes"][0]


def test_model_resume_keeps_what_completed_and_clears_failures(clock):
    model = ProgressModel(clock=clock)
    model.__enter__()
    model.increment_total(section="stale", scope=("s",), amount=4)
    model.increment_completed(section="stale", scope=("s",))
    model.increment_total(section="run", scope=("f",), amount=10)
    for _ in range(7):
        model.increment_running(section="run", scope=("f",))
        model.increment_completed(section="run", scope=("f",))
    model.increment_running(section="run", scope=("f",))
    model.increment_failed(section="run", scope=("f",), exception=ValueError("x"))
    model.__exit__(ValueError, ValueError("the run failed"), None)
    assert model.snapshot()["failures"]["count"] == 1
    assert "activity" in model.snapshot()
    model.resume()
    model.resumed = {"count": 1, "reused": 7, "refreshed": ["f"]}
    snapshot = model.snapshot()
    assert snapshot["state"] == "pending"
    run = snapshot["sections"][-1]["nodes"]
    assert run[1][2:6] == [7, 7, 0, 0]  # total = what completed; the resumed run adds its own
    assert snapshot["failures"]["count"] == 0
    assert snapshot["failures"]["groups"] == []
    assert "activity" not in snapshot  # the attempt before's activity is not the resumed one's
    assert "running" not in snapshot
    assert snapshot["resumed"] == {"count": 1, "reused": 7, "refreshed": ["f"]}
    assert [s["key"] for s in snapshot["sections"]] == ["run"]  # the stale check starts over
    clock.now = 10.0
    with model:
        assert model.state == "running"
        model.increment_total(section="run", scope=("f",), amount=3)
        clock.now = 12.0
        assert model.snapshot()["elapsed"] == 2.0  # the resumed run's own time
    assert model.snapshot()["sections"][-1]["nodes"][1][2:6] == [10, 7, 0, 0]


def test_a_resumed_run_goes_on_in_the_same_widget(main):
    module = main(FIRST)
    progress, made = observed()
    plan = uberjob.Plan()
    calls = [plan.call(module.work, i) for i in range(10)]
    with pytest.raises(CallError):
        uberjob.run(plan, output=calls, max_errors=None, max_workers=1, progress=progress)
    first = last_run()
    widget = made[0].widget
    assert widget._resume == "available"
    assert widget._stop == ""
    assert root(widget.snapshot)[2:6] == [10, 8, 0, 2]
    assert "resumed" not in widget.snapshot
    main(FIXED)
    assert first.resume(refresh=True) == list(range(10))
    resumed = last_run()
    assert len(made) == 2
    assert made[1].widget is widget
    assert resumed.widget is widget
    assert made[1].model is made[0].model
    snapshot = widget.snapshot
    assert snapshot["state"] == "done"
    assert root(snapshot)[2:6] == [10, 10, 0, 0]  # counted on from what was done
    assert snapshot["failures"]["count"] == 0
    assert snapshot["resumed"] == {"count": 1, "reused": 8, "refreshed": ["work"]}
    assert widget._resume == ""  # done: nothing to resume
    assert widget._instances == []


def test_failures_of_the_calls_run_again_leave_and_come_back_if_they_fail_again(main):
    module = main(FIRST)
    progress, made = observed()
    plan = uberjob.Plan()
    calls = [plan.call(module.work, i) for i in range(10)]
    with pytest.raises(CallError):
        uberjob.run(plan, output=calls, max_errors=None, max_workers=1, progress=progress)
    widget = made[0].widget
    with pytest.raises(CallError):
        last_run().resume()  # no fix: the same two fail again
    snapshot = widget.snapshot
    assert snapshot["state"] == "failed"
    assert root(snapshot)[2:6] == [10, 8, 0, 2]
    assert snapshot["failures"]["count"] == 2
    assert [g["count"] for g in snapshot["failures"]["groups"]] == [2]
    assert [i["id"] for i in widget._instances] == [0, 1]
    assert snapshot["resumed"]["count"] == 1
    assert widget._resume == "available"
    assert widget._run is last_run()


def test_the_resume_button_resumes_in_the_background_with_refresh(main):
    module = main(FIRST)
    progress, made = observed()
    plan = uberjob.Plan()
    calls = [plan.call(module.work, i) for i in range(10)]
    handle = uberjob.run(plan, output=calls, max_errors=None, background=True, progress=progress)
    with pytest.raises(CallError):
        handle.result(timeout=10)
    widget = made[0].widget
    assert widget._resume == "available"
    assert widget._run is handle
    main(FIXED)
    widget._on_frontend_message(widget, {"kind": "resume"}, [])  # what the button sends
    resumed = last_run()
    assert resumed is not handle
    assert resumed.continues is handle
    assert resumed.background
    assert resumed.result(timeout=10) == list(range(10))
    assert resumed.refreshed == ["work"]
    assert widget.snapshot["state"] == "done"
    assert widget.snapshot["resumed"]["refreshed"] == ["work"]
    assert widget._resume == ""
    assert widget._run is resumed
    widget._on_frontend_message(widget, {"kind": "resume"}, [])  # nothing to resume: ignored
    assert last_run() is resumed


def test_no_resume_button_after_a_done_run_or_with_keep_false(main):
    module = main(FIRST)
    plan = uberjob.Plan()
    progress, made = observed()
    assert uberjob.run(plan, output=plan.call(abs, -1), progress=progress) == 1
    assert made[0].widget._resume == ""
    calls = [plan.call(module.work, i) for i in range(3)]
    with pytest.raises(CallError):
        uberjob.run(plan, output=calls, progress=progress, keep=False)
    assert made[1].widget._resume == ""


def test_resuming_from_another_cell_shows_the_same_widget_there(main, monkeypatch):
    import IPython
    import IPython.display

    shown = []
    monkeypatch.setattr(
        IPython.display, "display", lambda obj, **kw: shown.append(obj) or _Updatable(shown)
    )

    class Shell:
        execution_count = 7

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell)
    monkeypatch.setattr("uberjob.progress._choose.in_jupyter_kernel", lambda: True)
    module = main(FIRST)
    plan = uberjob.Plan()
    calls = [plan.call(module.work, i) for i in range(10)]
    handle = uberjob.run(plan, output=calls, max_errors=None, background=True, progress="widget")
    with pytest.raises(CallError):
        handle.result(timeout=10)
    model_id = handle.widget._model_id
    widgets = [obj for obj in shown if WIDGET_VIEW in obj]
    assert len(widgets) == 1
    main(FIXED)
    Shell.execution_count = 8
    assert handle.resume(refresh=True, background=False) == list(range(10))
    widgets = [obj for obj in shown if WIDGET_VIEW in obj]
    assert [w[WIDGET_VIEW]["model_id"] for w in widgets] == [model_id, model_id]
    assert last_run().widget._model_id == model_id


class _Updatable:
    def __init__(self, shown):
        self.shown = shown

    def update(self, obj, **kwargs):
        self.shown.append(obj)
