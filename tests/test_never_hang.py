"""Never a hang, whatever user code does: a progress observer that raises, a value store that
raises, an iterable that never ends. Each gives a clear error (a CallError where a call is to
blame), releases every thread, and a run that completed keeps its result when only the display
failed (a warning instead)."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import itertools
import operator
import shutil
import threading

import pytest

import uberjob
from uberjob.progress import Progress, ProgressObserver, composite_progress

pytestmark = pytest.mark.timeout(60)

ENGINES = ["threads", "executor"]


@pytest.fixture(params=ENGINES)
def engine(request):
    """Keyword arguments of run() for each engine (the Dask ones are in test_dask.py)."""
    if request.param == "threads":
        yield {"max_workers": 2}
    else:
        with concurrent.futures.ThreadPoolExecutor(2) as executor:
            yield {"executor": executor}


def our_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("uberjob")]


def assert_no_thread_of_ours_remains() -> None:
    """Threads that were told to end (a worker after its call, a stale check after its store)
    are waited for; then none may be left."""
    for thread in our_threads():
        thread.join(timeout=10)
    assert our_threads() == []


class Broken(Exception):
    """What a broken observer raises."""


class BrokenObserver(ProgressObserver):
    """Raises from one method (the first time it is called); records what it was asked."""

    def __init__(self, method: str):
        self.method = method
        self.calls: list[str] = []

    def _maybe_raise(self, name: str) -> None:
        self.calls.append(name)
        if name == self.method and self.calls.count(name) == 1:
            raise Broken(f"{name} is broken")

    def __enter__(self):
        self._maybe_raise("__enter__")
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self._maybe_raise("__exit__")

    def increment_total(self, *, section, scope, amount):
        self._maybe_raise("increment_total")

    def increment_running(self, *, section, scope):
        self._maybe_raise("increment_running")

    def increment_completed(self, *, section, scope):
        self._maybe_raise("increment_completed")

    def increment_failed(self, *, section, scope, exception):
        self._maybe_raise("increment_failed")

    def tick(self):
        self._maybe_raise("tick")

    def attach_run(self, run):
        self._maybe_raise("attach_run")


METHODS = [
    "__enter__",
    "attach_run",
    "increment_total",
    "increment_running",
    "increment_completed",
    "tick",
    "__exit__",
]


def fail(message):
    raise ValueError(message)


@pytest.mark.parametrize("method", METHODS)
def test_a_broken_observer_warns_and_the_result_is_kept(method, engine):
    observer = BrokenObserver(method)
    plan = uberjob.Plan()
    total = plan.call(sum, [plan.call(operator.add, k, 1) for k in range(20)])
    with pytest.warns(RuntimeWarning, match=rf"BrokenObserver raised in {method}\(\).*broken"):
        result = uberjob.run(plan, output=total, progress=Progress(lambda: observer), **engine)
    assert result == sum(range(1, 21))
    assert method in observer.calls
    # Once broken it observes nothing more, except the __exit__ owed to an __enter__.
    after = observer.calls[observer.calls.index(method) + 1 :]
    assert after in ([], ["__exit__"])
    assert ("__exit__" in after) == (method not in ("attach_run", "__enter__", "__exit__"))
    assert_no_thread_of_ours_remains()


def test_a_broken_observer_does_not_hide_the_runs_own_error(engine):
    observer = BrokenObserver("increment_failed")
    plan = uberjob.Plan()
    with (
        pytest.warns(RuntimeWarning, match=r"raised in increment_failed\(\)"),
        pytest.raises(uberjob.CallError) as info,
    ):
        uberjob.run(
            plan, output=plan.call(fail, "the call"), progress=Progress(lambda: observer), **engine
        )
    assert str(info.value.__cause__) == "the call"
    assert_no_thread_of_ours_remains()


def test_one_broken_member_of_a_composite_leaves_the_others_observing(recorder):
    good, good_progress = recorder
    broken = BrokenObserver("increment_completed")
    progress = composite_progress(Progress(lambda: broken), good_progress)
    plan = uberjob.Plan()
    calls = [plan.call(operator.add, k, 1) for k in range(5)]
    with pytest.warns(RuntimeWarning, match=r"raised in increment_completed\(\)"):
        assert uberjob.run(plan, output=calls, progress=progress) == [1, 2, 3, 4, 5]
    assert good.count("completed") == 5
    assert good.exit_type is None


def test_a_broken_built_in_view_keeps_the_result(tmp_path):
    """The HTML report's folder is removed while the run goes on, so its writes fail (a missing
    folder at the start is an error before any call runs): the result is returned, with a
    warning."""
    folder = tmp_path / "reports"
    folder.mkdir()

    def add_after_removing_the_folder(a, b):
        shutil.rmtree(folder)
        return a + b

    plan = uberjob.Plan()
    output = plan.call(add_after_removing_the_folder, 1, 2)
    with pytest.warns(RuntimeWarning, match="could not write the progress report"):
        result = uberjob.run(plan, output=output, progress=f"html:{folder / 'report.html'}")
    assert result == 3


def _background_run(observer):
    """A background run of one call, waited for to its end (its observer's __exit__ included)."""
    plan = uberjob.Plan()
    handle = uberjob.run(
        plan,
        output=plan.call(operator.add, 1, 2),
        progress=Progress(lambda: observer),
        background=True,
    )
    handle._thread.join(timeout=30)
    return handle


@pytest.mark.parametrize("method", ["__enter__", "increment_running", "__exit__"])
def test_a_broken_observer_in_a_background_run(method):
    observer = BrokenObserver(method)
    with pytest.warns(RuntimeWarning, match=rf"raised in {method}\(\)"):
        handle = _background_run(observer)
    assert handle.result(timeout=30) == 3
    assert handle.state == "done"


def test_keyboard_interrupt_from_an_observer_is_not_swallowed(engine):
    class Interrupting(BrokenObserver):
        def tick(self):
            raise KeyboardInterrupt

    plan = uberjob.Plan()
    release = threading.Event()
    calls = [plan.call(release.wait, 10) for _ in range(4)]
    with pytest.raises(KeyboardInterrupt):
        uberjob.run(plan, output=calls, progress=Progress(lambda: Interrupting("none")), **engine)
    release.set()
    assert_no_thread_of_ours_remains()


# -- value stores that raise ---------------------------------------------------------------

T0 = dt.datetime(2024, 1, 1, 12, 0, 0)


class MemoryStore(uberjob.ValueStore):
    def __init__(self, value=None, modified_time=None):
        self.value = value
        self.modified_time = modified_time

    def read(self):
        return self.value

    def write(self, value):
        self.value = value
        self.modified_time = T0

    def get_modified_time(self):
        return self.modified_time


class UnreachableTimeStore(MemoryStore):
    def get_modified_time(self):
        raise ConnectionError("the store is unreachable")


class UnreadableStore(MemoryStore):
    def read(self):
        raise OSError("the stored value is unreadable")


@pytest.mark.parametrize("stores", [3, 100])  # checked on the calling thread / by the pool
def test_a_store_that_raises_in_get_modified_time_fails_the_stale_check(stores, engine):
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    calls = [plan.call(operator.add, k, 1) for k in range(stores)]
    for call in calls[:-1]:
        registry.add(call, MemoryStore(modified_time=T0))
    registry.add(calls[-1], UnreachableTimeStore())
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, registry=registry, stale_check_max_workers=4, progress=False, **engine)
    assert info.value.call is calls[-1]
    assert isinstance(info.value.__cause__, ConnectionError)
    assert_no_thread_of_ours_remains()


def test_a_store_that_raises_in_read_fails_the_run(engine):
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    stored = plan.call(operator.add, 1, 2)
    registry.add(stored, UnreadableStore(value=3, modified_time=T0))
    reader = plan.call(operator.neg, stored)
    with pytest.raises(uberjob.CallError, match=r"UnreadableStore\.read") as info:
        uberjob.run(plan, registry=registry, output=reader, progress=False, **engine)
    assert isinstance(info.value.__cause__, OSError)
    assert_no_thread_of_ours_remains()


def test_a_base_exception_from_a_store_on_a_stale_check_thread_reaches_the_caller():
    """As on the calling thread, it goes through; a fetch thread that died of it would leave
    the walk waiting for its batch forever."""

    class Exiting(MemoryStore):
        def get_modified_time(self):
            raise SystemExit("the store exits")

    plan = uberjob.Plan()
    registry = uberjob.Registry()
    calls = [plan.call(operator.add, k, 1) for k in range(40)]
    for call in calls[:-1]:
        registry.add(call, MemoryStore(modified_time=T0))
    registry.add(calls[-1], Exiting())
    with pytest.raises(SystemExit, match="the store exits"):
        uberjob.run(plan, registry=registry, stale_check_max_workers=4, progress=False)
    assert_no_thread_of_ours_remains()


@pytest.mark.parametrize("method", ["increment_running", "increment_failed", "tick"])
def test_a_broken_observer_during_the_stale_check(method, engine):
    """The stale check drives the observer too (its own section), on the calling thread."""
    observer = BrokenObserver(method)
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    calls = [plan.call(operator.add, k, 1) for k in range(40)]
    for call in calls:
        registry.add(call, MemoryStore())  # nothing stored yet: every value is written
    kwargs = {"registry": registry, "stale_check_max_workers": 4}
    if method == "increment_failed":
        registry.add(plan.call(operator.neg, 1), UnreachableTimeStore())
        with (
            pytest.warns(RuntimeWarning, match=r"raised in increment_failed\(\)"),
            pytest.raises(uberjob.CallError, match="neg"),
        ):
            uberjob.run(plan, progress=Progress(lambda: observer), **kwargs, **engine)
    else:
        with pytest.warns(RuntimeWarning, match=rf"raised in {method}\(\)"):
            result = uberjob.run(
                plan, output=calls, progress=Progress(lambda: observer), **kwargs, **engine
            )
        assert result == list(range(1, 41))
    assert_no_thread_of_ours_remains()


# -- unpack ----------------------------------------------------------------------------------


def counting(iterable, counter: list):
    for item in iterable:
        counter.append(item)
        yield item


def test_unpack_reads_at_most_length_plus_one_items_of_an_endless_iterable(engine):
    read: list = []
    plan = uberjob.Plan()
    endless = plan.call(counting, itertools.count(), read)
    with pytest.raises(uberjob.CallError, match="unpack") as info:
        uberjob.run(plan, output=plan.unpack(endless, 2), progress=False, **engine)
    assert type(info.value.__cause__) is ValueError
    assert str(info.value.__cause__) == "too many values to unpack (expected 2)"
    assert read == [0, 1, 2]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([1, 2, 3], "not enough values to unpack (expected 4, got 3)"),
        ([1, 2, 3, 4, 5], "too many values to unpack (expected 4)"),
    ],
)
def test_unpack_errors_read_like_pythons_own(items, message):
    with pytest.raises(ValueError) as python:
        _a, _b, _c, _d = items
    assert str(python.value) == message
    plan = uberjob.Plan()
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, output=plan.unpack(items, 4), progress=False)
    assert type(info.value.__cause__) is ValueError
    assert str(info.value.__cause__) == message


def test_unpack_of_exactly_length_items():
    plan = uberjob.Plan()
    assert uberjob.run(plan, output=plan.unpack(iter("abc"), 3), progress=False) == ("a", "b", "c")
    assert uberjob.run(plan, output=plan.unpack([], 0), progress=False) == ()
