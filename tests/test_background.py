"""Background runs, stopping, and failures kept for browsing (issue 5's engine side)."""

from __future__ import annotations

import pdb
import threading
import traceback

import pytest

import uberjob
from uberjob import CallError, RunStopped
from uberjob._handle import last_run


class Boom(Exception):
    pass


def test_background_run_returns_a_handle_at_once_and_its_result_later():
    release = threading.Event()

    def wait_then(value):
        assert release.wait(timeout=10)
        return value

    plan = uberjob.Plan()
    x = plan.call(wait_then, 42)
    handle = uberjob.run(plan, output=x, background=True, progress=False)
    assert not handle.done()
    assert handle.running()
    release.set()
    assert handle.result(timeout=10) == 42
    assert handle.done()
    assert handle.state == "done"
    assert handle.exception() is None
    assert handle.summary().startswith("uberjob: done, 1 / 1, ")


def test_stop_lets_calls_in_flight_finish_and_starts_nothing_new(recorder):
    observer, progress = recorder
    in_flight = threading.Event()
    release = threading.Event()
    started = []

    def first():
        started.append("first")
        in_flight.set()
        assert release.wait(timeout=10)
        return "first"

    def later(i):
        started.append(i)
        return i

    plan = uberjob.Plan()
    calls = [plan.call(first)] + [plan.call(later, i) for i in range(100)]
    handle = uberjob.run(plan, output=calls, max_workers=1, background=True, progress=progress)
    assert in_flight.wait(timeout=10)
    handle.stop()
    release.set()
    with pytest.raises(RunStopped, match="stopped"):
        handle.result(timeout=10)
    assert handle.state == "stopped"
    assert started == ["first"]
    assert observer.count("completed") == 1
    assert observer.exit_type is RunStopped


def test_failures_are_kept_with_tracebacks_for_post_mortem():
    def fail(i):
        local_marker = f"local {i}"  # noqa: F841 - inspected through the traceback below
        raise Boom(f"bad {i}")

    plan = uberjob.Plan()
    calls = [plan.call(fail, i) for i in range(5)]
    with pytest.raises(CallError):
        uberjob.run(plan, output=calls, max_errors=None, max_workers=1, progress=False)
    handle = last_run()
    assert handle.state == "failed"
    assert handle.failure_count == 5
    assert [str(f.cause) for f in handle.failures] == [f"bad {i}" for i in range(5)]
    failure = handle.failures[0]
    assert failure.section == "run"
    assert failure.scope == (
        "test_background.test_failures_are_kept_with_tracebacks_for_post_mortem.<locals>.fail",
    )
    text = "".join(traceback.format_exception(failure.cause))
    assert "raise Boom" in text
    # The traceback's innermost frame is the user's function, with its locals, for pdb.
    tb = failure.cause.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    assert tb.tb_frame.f_locals["local_marker"] == "local 0"
    debugger = pdb.Pdb(stdin=_Lines(["p local_marker", "q"]), stdout=_Sink())
    debugger.reset()
    debugger.interaction(None, failure.cause.__traceback__)
    assert "'local 0'" in debugger.stdout.text


def test_kept_failures_are_bounded():
    plan = uberjob.Plan()
    calls = [plan.call(_always_fail, i) for i in range(150)]
    handle = uberjob.run(plan, output=calls, max_errors=None, background=True, progress=False)
    with pytest.raises(CallError):
        handle.result(timeout=30)
    assert handle.failure_count == 150
    assert len(handle.failures) == handle.max_failures == 100


def test_background_must_be_a_bool():
    plan = uberjob.Plan()
    with pytest.raises(TypeError, match="background must be bool"):
        uberjob.run(plan, background="yes")


def test_observers_are_given_the_handle():
    seen = []

    class Attaching(uberjob.progress._basic.NullProgressObserver):
        def attach_run(self, run):
            seen.append(run)

    plan = uberjob.Plan()
    handle = uberjob.run(
        plan,
        output=plan.call(int, 1),
        background=True,
        progress=[uberjob.progress.Progress(Attaching), False],
    )
    assert handle.result(timeout=10) == 1
    assert seen == [handle]


def _always_fail(i):
    raise Boom(str(i))


class _Lines:
    def __init__(self, lines):
        self.lines = list(lines)

    def readline(self):
        return self.lines.pop(0) + "\n" if self.lines else ""


class _Sink:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass
