"""run()'s options: validation, progress values, schedulers, dry runs, executors."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import pickle
import threading
from collections import Counter

import pytest

import uberjob
from uberjob import CallError
from uberjob.graph import Call
from uberjob.progress import Progress, ProgressObserver, null_progress


def add(a, b):
    return a + b


def square(x):
    return x * x


@pytest.fixture
def plan_and_output():
    plan = uberjob.Plan()
    return plan, plan.call(add, 1, 2)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_workers": 0}, ValueError, r"max_workers must be at least 1; got 0"),
        ({"max_workers": "4"}, TypeError, r"max_workers must be int or None; got str"),
        ({"max_workers": True}, TypeError, r"max_workers must be int; got a bool"),
        ({"max_errors": -1}, ValueError, r"max_errors must be at least 0 \(or None\); got -1"),
        ({"max_errors": 1.5}, TypeError, r"max_errors must be int or None; got float"),
        ({"retry": 0}, ValueError, r"retry must be at least 1"),
        ({"retry": "x"}, TypeError, r"retry must be int; got str"),
        ({"scheduler": "fifo"}, ValueError, r"scheduler must be 'default' or 'random'; got 'fifo'"),
        ({"scheduler": 3}, TypeError, r"scheduler must be str or None; got int"),
        ({"dry_run": 1}, TypeError, r"dry_run must be bool; got int"),
        ({"fresh_time": "today"}, TypeError, r"fresh_time must be datetime or None"),
        ({"transform_physical": 5}, TypeError, r"transform_physical must be callable"),
        ({"stale_check_max_workers": 0}, ValueError, r"stale_check_max_workers must be at least 1"),
        ({"executor": "threads"}, TypeError, r"executor must be a concurrent.futures.Executor"),
        ({"progress": "fancy"}, ValueError, r"progress must be one of"),
        ({"progress": 3}, TypeError, r"progress must be a bool, None"),
        ({"progress": ["console", 3]}, TypeError, r"progress must be"),
    ],
)
def test_bad_arguments_are_rejected_before_anything_runs(kwargs, error, match):
    ran = []
    plan = uberjob.Plan()
    x = plan.call(ran.append, 1)
    with pytest.raises(error, match=match):
        uberjob.run(plan, output=x, **kwargs)
    assert ran == []


def test_plan_must_be_a_plan():
    with pytest.raises(TypeError, match="plan must be Plan; got dict"):
        uberjob.run({})


@pytest.mark.parametrize(
    "progress", [False, None, null_progress, [null_progress], (False, null_progress)]
)
def test_progress_values(plan_and_output, progress):
    plan, x = plan_and_output
    assert uberjob.run(plan, output=x, progress=progress) == 3


def test_progress_strings_resolve_lazily():
    from uberjob.progress._choose import coerce_progress

    assert coerce_progress("console") is uberjob.progress.console_progress
    assert isinstance(coerce_progress(["console", False]), Progress)


def test_progress_totals_match_the_plan_and_counts_add_up(recorder):
    observer, progress = recorder
    plan = uberjob.Plan()
    with plan.scope("a"):
        xs = [plan.call(square, i) for i in range(10)]
    with plan.scope("b", 2):
        total = plan.call(sum, xs)
    assert uberjob.run(plan, output=total, progress=progress) == 285
    totals = {e[2]: e[3] for e in observer.events if e[0] == "total"}
    assert totals == {
        ("a", "test_run_options.square"): 10,
        ("b", 2, "sum"): 1,  # the gather of its list argument is ours: never counted
    }
    assert observer.count("running") == observer.count("completed") == 11


class CountingObserver(ProgressObserver):
    """Per-scope counts of starts, completions and failures; takes batches when ``batched``."""

    def __init__(self, batched: bool):
        self.running, self.completed, self.failed = Counter(), Counter(), Counter()
        self.starts_counted_before_failures = True
        if batched:
            self.record_batch = self._record_batch

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return None

    def increment_total(self, *, section, scope, amount):
        pass

    def increment_running(self, *, section, scope):
        self.running[scope] += 1

    def increment_completed(self, *, section, scope):
        self.completed[scope] += 1

    def increment_failed(self, *, section, scope, exception):
        self.failed[scope] += 1
        if self.running[scope] < self.completed[scope] + self.failed[scope]:
            self.starts_counted_before_failures = False

    def _record_batch(self, section, started, completed):
        self.running.update(started)
        self.completed.update(completed)


def odd_fails(i, *rest):
    if i % 2:
        raise ValueError(i)
    return i


@pytest.mark.parametrize("max_workers", [1, 3])
def test_batched_progress_counts_what_per_event_progress_counts(max_workers):
    """The owner counts a turn's events in runs of one scope: interleaved scopes, fused chains
    that cross scopes and failures must add up exactly as one call per event does."""

    def counts(batched: bool):
        plan = uberjob.Plan()
        ends = []
        for k in range(30):
            with plan.scope("layer", k % 3):
                x = plan.call(square, k)
            with plan.scope("chain", k % 2):
                x = plan.call(add, x, 1)  # fused with the call before it
            with plan.scope("check"):
                ends.append(plan.call(odd_fails, k, x))
        observer = CountingObserver(batched)
        with pytest.raises(CallError):
            uberjob.run(plan, output=ends, max_workers=max_workers, max_errors=None,
                        progress=Progress(lambda: observer))  # fmt: skip
        return observer

    per_event, batched = counts(batched=False), counts(batched=True)
    assert batched.running == per_event.running
    assert batched.completed == per_event.completed
    assert (
        batched.failed == per_event.failed == Counter({("check", "test_run_options.odd_fails"): 15})
    )
    assert sum(batched.running.values()) == 90
    assert batched.starts_counted_before_failures


def test_an_observer_built_on_the_null_one_still_sees_every_event():
    from uberjob.progress._basic import NullProgressObserver

    class Completions(NullProgressObserver):
        def __init__(self):
            self.completed = Counter()

        def increment_completed(self, *, section, scope):
            self.completed[scope] += 1

    observer = Completions()
    plan = uberjob.Plan()
    xs = [plan.call(square, i) for i in range(5)]
    assert uberjob.run(plan, output=xs, progress=Progress(lambda: observer)) == [0, 1, 4, 9, 16]
    assert observer.completed == Counter({("test_run_options.square",): 5})


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("fused", [False, True])
def test_a_call_is_counted_as_running_while_it_runs(batched, fused):
    """Workers report no start events: the owner must still see a call start before it ends
    (each call here waits until the observer has counted it as running)."""
    seen = {}

    class Observer(CountingObserver):
        def increment_running(self, *, section, scope):
            super().increment_running(section=section, scope=scope)
            seen.setdefault(scope[-1].rsplit(".", 1)[-1], threading.Event()).set()

        def _record_batch(self, section, started, completed):
            super()._record_batch(section, started, completed)
            for scope in started:
                seen.setdefault(scope[-1].rsplit(".", 1)[-1], threading.Event()).set()

    def wait_until_seen(name):
        def call(*_):
            event = seen.setdefault(name, threading.Event())
            assert event.wait(timeout=30), f"{name} was never counted as running"
            return name

        call.__qualname__ = name
        return call

    plan = uberjob.Plan()
    first = plan.call(wait_until_seen("first"))
    second = plan.call(wait_until_seen("second"), first)  # fused with `first` (one consumer)
    output = [first, second] if not fused else second
    observer = Observer(batched)
    uberjob.run(plan, output=output, max_workers=2, progress=Progress(lambda: observer))
    # (the output list's gather call is ours, never counted)
    assert sum(observer.running.values()) == sum(observer.completed.values()) == 2


@pytest.mark.parametrize("scheduler", ["default", "random", None])
def test_schedulers_compute_the_same_result(scheduler):
    plan = uberjob.Plan()
    values = [plan.call(square, i) for i in range(100)]
    pairs = [plan.call(add, values[i], values[-1 - i]) for i in range(100)]
    total = plan.call(sum, pairs)
    expected = sum(i * i + (99 - i) ** 2 for i in range(100))
    assert uberjob.run(plan, output=total, scheduler=scheduler, progress=False) == expected


def test_default_scheduler_finishes_branches_before_starting_new_ones():
    order = []

    def step(name, _=None):
        order.append(name)
        return name

    plan = uberjob.Plan()
    branches = []
    for b in range(3):
        x = plan.call(step, f"{b}.1")
        x = plan.call(step, f"{b}.2", x)
        x = plan.call(step, f"{b}.3", x)
        branches.append(x)
    uberjob.run(plan, output=branches, max_workers=1, progress=False)
    assert order == [f"{b}.{k}" for b in range(3) for k in (1, 2, 3)]


def test_dry_run_returns_the_pruned_physical_plan(plan_and_output):
    plan, x = plan_and_output
    unused = plan.call(add, 5, 5)
    physical, output_node = uberjob.run(plan, output=[x], dry_run=True)
    assert isinstance(physical, uberjob.Plan)
    assert x in physical
    assert unused not in physical
    assert output_node in physical
    assert uberjob.run(physical, output=output_node, progress=False) == [3]
    assert physical is not plan


def test_transform_physical_sees_and_replaces_the_plan(plan_and_output):
    plan, x = plan_and_output
    seen = []

    def transform(physical, node):
        seen.append((type(physical), node))
        return physical, physical.call(square, node)

    assert uberjob.run(plan, output=x, transform_physical=transform, progress=False) == 9
    assert seen == [(uberjob.Plan, x)]


def test_run_does_not_change_the_users_plan(plan_and_output):
    plan, x = plan_and_output
    before = len(plan)
    uberjob.run(plan, output={"a": [x, x]}, progress=False)
    assert len(plan) == before


def test_constant_output():
    plan = uberjob.Plan()
    assert uberjob.run(plan, output=[1, 2], progress=False) == [1, 2]
    assert uberjob.run(plan, output=plan.lit(5), progress=False) == 5


def test_literal_with_a_dependency_waits_for_it():
    log = []
    plan = uberjob.Plan()
    side = plan.call(log.append, "side effect")
    literal = plan.lit("value")
    plan.add_dependency(side, literal)
    assert uberjob.run(plan, output=literal, progress=False) == "value"
    assert log == ["side effect"]


def test_thread_pool_executor():
    plan = uberjob.Plan()
    xs = [plan.call(square, i) for i in range(50)]
    with concurrent.futures.ThreadPoolExecutor(4) as executor:
        assert uberjob.run(plan, output=xs, executor=executor, progress=False) == [
            i * i for i in range(50)
        ]


def test_executor_respects_max_workers_and_errors():
    active = 0
    peak = 0
    lock = threading.Lock()

    def tracked(i):
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        with lock:
            active -= 1
        if i == 5:
            raise ValueError("five")
        return i

    plan = uberjob.Plan()
    xs = [plan.call(tracked, i) for i in range(30)]
    with concurrent.futures.ThreadPoolExecutor(8) as executor, pytest.raises(CallError) as info:
        uberjob.run(
            plan, output=xs, executor=executor, max_workers=2, max_errors=None, progress=False
        )
    assert str(info.value.__cause__) == "five"
    assert peak <= 2


def test_process_pool_executor_and_an_unpicklable_function():
    plan = uberjob.Plan()
    xs = [plan.call(square, i) for i in range(8)]
    total = plan.call(sum, xs)
    with concurrent.futures.ProcessPoolExecutor(2) as executor:
        assert uberjob.run(plan, output=total, executor=executor, progress=False) == 140
        bad_plan = uberjob.Plan()
        bad = bad_plan.call(lambda: 1)
        with pytest.raises(CallError, match="lambda") as info:
            uberjob.run(bad_plan, output=bad, executor=executor, progress=False)
        assert isinstance(info.value.__cause__, (pickle.PicklingError, AttributeError, TypeError))


def test_call_error_pickles():
    plan = uberjob.Plan()
    x = plan.call(square, 2)
    error = CallError(x)
    clone = pickle.loads(pickle.dumps(error))
    assert isinstance(clone.call, Call)
    assert str(clone) == str(error)


def test_fresh_time_accepted_without_registry(plan_and_output):
    plan, x = plan_and_output
    assert uberjob.run(plan, output=x, fresh_time=dt.datetime.now(), progress=False) == 3


@pytest.mark.parametrize("max_workers", [1, 4])
def test_our_gathers_and_unpacks_are_never_counted(recorder, max_workers):
    observer, progress = recorder
    plan = uberjob.Plan()
    with plan.scope("s"):
        quotient, remainder = plan.unpack(plan.call(divmod, 7, 2), 2)
        output = {"x": [quotient, remainder], "y": (quotient,)}
    result = uberjob.run(plan, output=output, max_workers=max_workers, progress=progress)
    assert result == {"x": [3, 1], "y": (3,)}
    assert {event[2] for event in observer.events} == {("s", "divmod")}
    assert uberjob._handle.last_run().completed == uberjob._handle.last_run().total == 1


def test_a_failed_unpack_is_reported_under_the_scope_it_was_planned_in(recorder):
    observer, progress = recorder
    plan = uberjob.Plan()
    with plan.scope("s"):
        first, _second = plan.unpack(plan.call(list, "abc"), 2)
    with pytest.raises(uberjob.CallError):
        uberjob.run(plan, output=first, progress=progress)
    failed = [event for event in observer.events if event[0] == "failed"]
    assert len(failed) == 1
    assert failed[0][2][0] == "s"
    assert type(failed[0][2]) is tuple  # a plain tuple, as every scope observers see
    assert [event[2] for event in observer.events if event[0] == "total"] == [("s", "list")]
