"""Parallelism and errors (SPEC-1.0.md lesson 5 and 7)."""

from __future__ import annotations

import threading

import pytest

import uberjob
from uberjob import CallError


class Boom(Exception):
    pass


def fail(x=None):
    raise Boom(f"bad {x}")


def identity(x):
    return x


def test_call_error_names_function_carries_symbolic_traceback_and_cause():
    plan = uberjob.Plan()
    x = plan.call(fail, 1)
    line = __import__("inspect").currentframe().f_lineno - 1  # the line above
    with pytest.raises(CallError) as info:
        uberjob.run(plan, output=x, progress=False)
    error = info.value
    message = str(error)
    assert message.startswith("An exception was raised in a symbolic call to test_run_errors.fail.")
    assert "Symbolic traceback (most recent call last):" in message
    assert f'File "{__file__}", line {line}, in test_call_error' in message
    assert isinstance(error.__cause__, Boom)
    assert error.call is x
    # The original traceback starts in the user's function, not in the engine.
    assert error.__cause__.__traceback__.tb_frame.f_code.co_name == "fail"


def test_first_error_stops_scheduling_but_in_flight_calls_finish():
    started = []
    release = threading.Event()
    both_started = threading.Barrier(2)

    def slow(i):
        started.append(i)
        both_started.wait(timeout=10)
        release.wait(timeout=10)
        return i

    def fast_fail():
        both_started.wait(timeout=10)
        release.set()
        raise Boom("first")

    plan = uberjob.Plan()
    calls = [plan.call(slow, 0), plan.call(fast_fail)] + [plan.call(slow, i) for i in range(1, 50)]
    with pytest.raises(CallError) as info:
        uberjob.run(plan, output=calls, max_workers=2, progress=False)
    assert str(info.value.__cause__) == "first"
    assert started == [0]  # the in-flight call finished; nothing new started after the error


@pytest.mark.parametrize(("max_errors", "expected_attempts"), [(0, 1), (2, 3), (None, 10)])
def test_max_errors_limits_how_many_fail_before_stopping(max_errors, expected_attempts):
    attempts = []

    def fail_numbered(i):
        attempts.append(i)
        raise Boom(str(i))

    plan = uberjob.Plan()
    calls = [plan.call(fail_numbered, i) for i in range(10)]
    with pytest.raises(CallError) as info:
        uberjob.run(plan, output=calls, max_workers=1, max_errors=max_errors, progress=False)
    assert len(attempts) == expected_attempts
    assert str(info.value.__cause__) == "0"  # the first error is the one raised


def test_max_errors_none_runs_everything_that_does_not_depend_on_a_failure(recorder):
    observer, progress = recorder
    ran = []

    def record(i):
        ran.append(i)
        return i

    plan = uberjob.Plan()
    bad = plan.call(fail)
    downstream = plan.call(identity, bad)
    good = [plan.call(record, i) for i in range(20)]
    with pytest.raises(CallError):
        uberjob.run(plan, output=[downstream, good], max_errors=None, progress=progress)
    assert sorted(ran) == list(range(20))
    assert observer.count("failed") == 1
    assert observer.count("completed") == 20  # the 20 records (our gathers are not counted)
    assert observer.count("total") == 22  # and the failed call and the one below it


def test_retry_int_and_decorator():
    counts = {"n": 0}

    def flaky():
        counts["n"] += 1
        if counts["n"] < 3:
            raise Boom("not yet")
        return "ok"

    plan = uberjob.Plan()
    x = plan.call(flaky)
    assert uberjob.run(plan, output=x, retry=3, progress=False) == "ok"
    counts["n"] = 0
    with pytest.raises(CallError):
        uberjob.run(plan, output=x, retry=2, progress=False)

    decorated = []

    def decorator(fn):
        def wrapper(*args, **kwargs):
            decorated.append(fn.__name__)
            return fn(*args, **kwargs)

        return wrapper

    counts["n"] = 10
    assert uberjob.run(plan, output=x, retry=decorator, progress=False) == "ok"
    assert decorated == ["flaky"]


def test_retries_count_once_in_progress(recorder):
    observer, progress = recorder
    state = {"n": 0}

    def flaky():
        state["n"] += 1
        if state["n"] == 1:
            raise Boom("once")

    plan = uberjob.Plan()
    x = plan.call(flaky)
    uberjob.run(plan, output=x, retry=2, progress=progress)
    assert observer.count("running") == 1
    assert observer.count("completed") == 1
    assert observer.count("failed") == 0


def test_observer_sees_call_error_chained_to_the_original(recorder):
    observer, progress = recorder
    plan = uberjob.Plan()
    with plan.scope("outer", 3):
        x = plan.call(fail, 1)
    with pytest.raises(CallError):
        uberjob.run(plan, output=x, progress=progress)
    (failed,) = [e for e in observer.events if e[0] == "failed"]
    _, section, scope, exception = failed
    assert section == "run"
    assert scope == ("outer", 3, "test_run_errors.fail")
    assert isinstance(exception, CallError)
    assert isinstance(exception.__cause__, Boom)
    assert observer.exit_type is CallError


def test_cycle_is_reported_before_anything_runs():
    ran = []
    plan = uberjob.Plan()
    a = plan.call(ran.append, 1)
    b = plan.call(identity, a)
    plan.add_dependency(b, a)
    with pytest.raises(ValueError, match="cycle") as info:
        uberjob.run(plan, output=b, progress=False)
    assert "list.append" in str(info.value) or "append" in str(info.value)
    assert ran == []


def test_call_error_is_raised_from_run_not_from_engine_internals():
    import traceback

    plan = uberjob.Plan()
    x = plan.call(fail, 1)
    with pytest.raises(CallError) as info:
        uberjob.run(plan, output=x, progress=False)
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert frames[-1] == "run"
    assert not {"run_owner_loop", "_observed", "body"} & set(frames)
    assert type(info.value).__module__ == "uberjob"
