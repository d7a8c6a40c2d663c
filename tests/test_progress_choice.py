"""Choosing the progress view: UBERJOB_PROGRESS, console_progress(stream), the public handle."""

from __future__ import annotations

import io
import threading

import pytest

import uberjob
from uberjob.progress import console_progress, default_progress, null_progress
from uberjob.progress._choose import coerce_progress
from uberjob.progress._console import ConsoleView


def test_uberjob_progress_sets_the_default(monkeypatch):
    monkeypatch.setenv("UBERJOB_PROGRESS", "console")
    assert isinstance(default_progress.observer(), ConsoleView)
    for off in ("none", "off", "false", "0", "NONE"):
        monkeypatch.setenv("UBERJOB_PROGRESS", off)
        assert type(default_progress.observer()) is type(null_progress.observer())
    monkeypatch.setenv("UBERJOB_PROGRESS", "")
    assert isinstance(default_progress.observer(), ConsoleView)  # outside a kernel


def test_uberjob_progress_html_writes_the_report(monkeypatch, tmp_path):
    report = tmp_path / "report.html"
    monkeypatch.setenv("UBERJOB_PROGRESS", f"html:{report}")
    plan = uberjob.Plan()
    uberjob.run(plan, output=plan.call(abs, -1))
    assert "Running graph" in report.read_text()


def test_an_explicit_progress_wins_over_uberjob_progress(monkeypatch, capsys):
    monkeypatch.setenv("UBERJOB_PROGRESS", "console")
    plan = uberjob.Plan()
    assert uberjob.run(plan, output=plan.call(abs, -2), progress=False) == 2
    assert capsys.readouterr().err == ""


def test_a_bad_uberjob_progress_is_reported_before_any_call_runs(monkeypatch):
    monkeypatch.setenv("UBERJOB_PROGRESS", "widgets")
    ran = []
    plan = uberjob.Plan()
    with pytest.raises(ValueError, match=r"UBERJOB_PROGRESS must be one of .*; got 'widgets'"):
        uberjob.run(plan, output=plan.call(ran.append, 1))
    assert ran == []
    with pytest.raises(ValueError, match="UBERJOB_PROGRESS"):
        coerce_progress(True)


def test_console_progress_takes_a_stream():
    stream = io.StringIO()
    plan = uberjob.Plan()
    uberjob.run(plan, output=plan.call(abs, -3), progress=console_progress(stream))
    assert "uberjob done" in stream.getvalue()
    assert "Running graph: 1 / 1" in stream.getvalue()
    with pytest.raises(TypeError, match="stream must be a text stream"):
        console_progress("out.log")


def test_last_run_and_the_run_handle_are_public():
    assert "last_run" in uberjob.__all__
    assert "RunHandle" in uberjob.__all__
    plan = uberjob.Plan()
    handle = uberjob.run(plan, output=plan.call(abs, -4), progress=False, background=True)
    assert isinstance(handle, uberjob.RunHandle)
    assert uberjob.last_run() is handle
    assert handle.result(timeout=30) == 4
    assert handle.widget is None  # no widget view: nothing to show


def test_after_nested_runs_last_run_is_the_outer_run():
    inner_handles = []

    def inner(i):
        plan = uberjob.Plan()
        value = uberjob.run(plan, output=plan.call(abs, -i), progress=False)
        inner_handles.append(uberjob.last_run())
        return value

    plan = uberjob.Plan()
    calls = [plan.call(inner, i) for i in range(3)]
    outer = uberjob.run(plan, output=calls, progress=False, background=True)
    assert outer.result(timeout=30) == [0, 1, 2]
    assert uberjob.last_run() is outer
    assert all(h is outer for h in inner_handles)
    # a blocking outer run too
    assert uberjob.run(plan, output=calls, progress=False, max_workers=2) == [0, 1, 2]
    blocking = uberjob.last_run()
    assert blocking is not outer
    assert blocking.state == "done"
    assert blocking.total == 3  # the outer plan's calls, not an inner run's


def test_handle_failures_group_as_the_views_do():
    def load(region, row):
        raise RuntimeError(f"row {row} is bad")

    plan = uberjob.Plan()
    calls = []
    for region in range(9):
        with plan.scope("customers", f"region {region}"):
            calls += [plan.call(load, region, row) for row in range(30)]
    with pytest.raises(uberjob.CallError):
        uberjob.run(plan, output=calls, max_errors=None, progress=False, max_workers=4)
    failures = uberjob.last_run().failures
    assert failures.total == 270
    assert len(failures) == 100  # the first 100 keep their exception
    (group,) = failures.groups()
    assert (group.type, group.message, group.count) == ("RuntimeError", "row <n> is bad", 270)
    assert group.scope == ("customers",)
    assert len(group.scopes) == 9
    assert set(group.scopes.values()) == {30}
    text = failures.text()
    assert text.splitlines()[0] == (
        "uberjob: 270 failed (the first 100 kept with tracebacks), in 1 group:"
    )
    assert "    270 \u00d7 RuntimeError: row <n> is bad\n" in text
    assert "          in 9 scopes in customers:\n" in text
    assert len(text.splitlines()) < 20


def test_a_run_started_on_another_user_thread_is_the_last_run():
    plan = uberjob.Plan()
    done = []
    thread = threading.Thread(
        target=lambda: done.append(uberjob.run(plan, output=plan.call(abs, -5), progress=False))
    )
    thread.start()
    thread.join()
    assert done == [5]
    assert uberjob.last_run().state == "done"
    assert uberjob.last_run().total == 1
