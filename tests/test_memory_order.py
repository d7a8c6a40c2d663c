"""The memory-conscious order: values are consumed before unrelated values are made.

uberjob 1.0's default scheduler finishes a branch before it starts a new one; these are the
shapes its users rely on, with the number of values alive at once counted by weak references
(the same counts 1.0 gives with one worker are the bound). With ``max_workers=W`` the bound is
the owner's window (owner.py): a small constant times W, on threads, on any
``concurrent.futures.Executor`` and on Dask.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from concurrent.futures import Executor, Future, ThreadPoolExecutor

import pytest

import uberjob
from owner_thread_dispatcher import OwnerThreadDispatcher
from uberjob._engine import threads
from uberjob._engine.compile import compile_plan
from uberjob._engine.owner import WINDOW_PER_WORKER, run_owner_loop
from uberjob._handle import RunHandle
from uberjob._plan import plan_structure
from uberjob.progress import null_progress
from uberjob.progress._basic import NullProgressObserver

SHAPES = ("fan-out", "join", "row", "ladder")
#: What a sequential evaluation holds at once (uberjob 1.0 with one worker holds as much for the
#: first three; for the ladder 1.0 holds every value): the ladder's third value is the step's
#: new value, made while the two it reads are alive.
SEQUENTIAL_PEAK = {"fan-out": 1, "join": 2, "row": 2, "ladder": 3}


class Tracker:
    """Counts the payloads alive at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.alive = 0
        self.peak = 0
        self.made = 0
        self.refs = []

    def created(self, obj) -> None:
        with self.lock:
            self.made += 1
            self.alive += 1
            self.peak = max(self.peak, self.alive)
            self.refs.append(weakref.ref(obj, self._gone))

    def _gone(self, _) -> None:
        with self.lock:
            self.alive -= 1


class Payload:
    def __init__(self, tracker: Tracker):
        tracker.created(self)


def build(shape: str, n: int, tracker: Tracker):
    """One of the issue's shapes: every payload stands for a big value."""

    def make(k):
        return Payload(tracker)

    def read(payload):
        return 1

    def read_two(a, b):
        return 1

    def step(x, payload):
        return Payload(tracker)

    plan = uberjob.Plan()
    if shape == "fan-out":  # n sources, each read by 2 calls
        out = []
        for k in range(n):
            source = plan.call(make, k)
            out += [plan.call(read, source), plan.call(read, source)]
    elif shape == "join":  # n pairs of sources, each pair read by 1 call
        out = [plan.call(read_two, plan.call(make, k), plan.call(make, -k)) for k in range(n)]
    elif shape == "row":  # a row of n + 1 sources, each call reads two neighbours
        sources = [plan.call(make, k) for k in range(n + 1)]
        out = [plan.call(read_two, sources[k], sources[k + 1]) for k in range(n)]
    else:  # the ladder x = step(x, produce(k))
        x = plan.call(make, 0)
        for k in range(1, n):
            x = plan.call(step, x, plan.call(make, k))
        out = plan.call(read, x)
    return plan, out


def expected(shape: str, n: int):
    return 1 if shape == "ladder" else [1] * (2 * n if shape == "fan-out" else n)


class ThreadPerCallExecutor(Executor):
    """An executor without a worker limit (and without ``_max_workers``): a thread per call."""

    def submit(self, fn, /, *args, **kwargs):
        future = Future()

        def work():
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exception:
                future.set_exception(exception)

        threading.Thread(target=work, daemon=True).start()
        return future


@pytest.mark.parametrize("shape", SHAPES)
def test_one_worker_holds_what_a_sequential_evaluation_holds(shape):
    tracker = Tracker()
    plan, out = build(shape, 40, tracker)
    assert uberjob.run(plan, output=out, max_workers=1, progress=False) == expected(shape, 40)
    assert tracker.made == {"fan-out": 40, "join": 80, "row": 41, "ladder": 79}[shape]
    assert tracker.peak == SEQUENTIAL_PEAK[shape]
    assert tracker.alive == 0


@pytest.mark.parametrize("shape", SHAPES)
def test_one_worker_order_holds_with_progress_observed(shape):
    """The order does not depend on what the owner thread does besides scheduling."""
    tracker = Tracker()
    plan, out = build(shape, 40, tracker)
    observer = uberjob.progress.composite_progress(null_progress)  # a real observer, counting
    assert uberjob.run(plan, output=out, max_workers=1, progress=observer) == expected(shape, 40)
    assert tracker.peak == SEQUENTIAL_PEAK[shape]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("workers", [2, 4])
def test_many_workers_hold_a_bounded_number_of_values(shape, workers):
    tracker = Tracker()
    plan, out = build(shape, 200, tracker)
    assert uberjob.run(plan, output=out, max_workers=workers, progress=False) == expected(
        shape, 200
    )
    assert tracker.peak <= WINDOW_PER_WORKER * workers
    assert tracker.alive == 0


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("workers", [1, 4])
def test_an_executor_runs_in_the_same_order(shape, workers):
    tracker = Tracker()
    plan, out = build(shape, 200 if workers > 1 else 40, tracker)
    with ThreadPoolExecutor(workers) as pool:  # max_workers comes from the pool itself
        result = uberjob.run(plan, output=out, executor=pool, progress=False)
    assert result == expected(shape, 200 if workers > 1 else 40)
    if workers == 1:
        assert tracker.peak == SEQUENTIAL_PEAK[shape]
    else:
        assert tracker.peak <= WINDOW_PER_WORKER * workers


@pytest.mark.parametrize("shape", SHAPES)
def test_an_executor_without_a_worker_limit_is_bounded_too(shape):
    tracker = Tracker()
    plan, out = build(shape, 300, tracker)
    result = uberjob.run(
        plan, output=out, executor=ThreadPerCallExecutor(), max_workers=3, progress=False
    )
    assert result == expected(shape, 300)
    assert tracker.peak <= WINDOW_PER_WORKER * 3
    tracker = Tracker()
    plan, out = build(shape, 300, tracker)
    uberjob.run(plan, output=out, executor=ThreadPerCallExecutor(), progress=False)
    assert tracker.peak <= WINDOW_PER_WORKER * uberjob._run.default_max_workers()


# -- the window, deterministically: a dispatcher whose chain calls are slow ---------------------


class SlowStepsDispatcher(OwnerThreadDispatcher):
    """Runs calls in the owner's thread on each pump: every queued ``make`` at once, a ``step``
    only when no ``make`` is queued, as if steps took long and makes no time. Without a window
    every ``make`` would run before the first step (all are ready at the start)."""

    def __init__(self, compiled, width: int, tracker: Tracker):
        super().__init__(compiled)
        self.width = width
        self.tracker = tracker
        self.queued: list[int] = []
        self.alive_makes_peak = 0

    def submit(self, i):
        self.queued.append(i)

    def submit_many(self, indices):
        self.queued.extend(indices)

    def pump(self):
        compiled = self.compiled
        makes = [i for i in self.queued if compiled.fns[i].__name__ == "make"]
        batch = makes or sorted(self.queued)[:1]
        for i in batch:
            self.queued.remove(i)
            self.events.put(self.run_call(i))
        self.alive_makes_peak = max(self.alive_makes_peak, self.tracker.alive)


@pytest.mark.parametrize("width", [2, 4, 8])
def test_the_owner_does_not_run_far_ahead_of_a_slow_chain(width):
    tracker = Tracker()
    plan, out = build("ladder", 300, tracker)
    compiled = compile_plan(plan_structure(plan), [out], out, fuse=False)
    dispatcher = SlowStepsDispatcher(compiled, width, tracker)
    handle = RunHandle(background=False)
    result = run_owner_loop(
        compiled, dispatcher, observer=null_progress.observer(), max_errors=0, handle=handle
    )
    assert result == 1
    assert tracker.made == 300 + 299
    # Each step is two indices (its make and itself): the window holds half as many makes
    # ahead of the frontier; below it, the step's own make and the two ladder values.
    window_makes = WINDOW_PER_WORKER * width // 2
    assert window_makes <= dispatcher.alive_makes_peak <= window_makes + 4


def test_a_failure_does_not_hold_the_window_back():
    """Everything below a failed call is dead: the frontier moves past it, and the rest runs."""
    tracker = Tracker()
    made = []

    def make(k):
        made.append(k)
        return Payload(tracker)

    def step(x, payload, k):
        if k == 5:
            raise ValueError("step 5")
        return Payload(tracker)

    plan = uberjob.Plan()
    x = plan.call(make, 0)
    for k in range(1, 100):
        x = plan.call(step, x, plan.call(make, k), k)
    others = [plan.call(make, 1000 + k) for k in range(100)]
    with pytest.raises(uberjob.CallError) as raised:
        uberjob.run(plan, output=[x, others], max_workers=4, max_errors=None, progress=False)
    assert str(raised.value.__cause__) == "step 5"
    assert sorted(made) == [*range(100), *range(1000, 1100)]


# -- the registry: reads happen just before their readers --------------------------------------


class MemoryStore(uberjob.ValueStore):
    """A store in memory that logs its reads and writes in a shared journal."""

    def __init__(self, name: str, journal: list, tracker: Tracker | None = None, value=None):
        self.name = name
        self.journal = journal
        self.tracker = tracker
        self.value = value
        self.modified = dt.datetime(2020, 1, 1) if value is not None else None

    def read(self):
        self.journal.append(f"read {self.name}")
        return Payload(self.tracker) if self.tracker is not None else self.value

    def write(self, value):
        self.journal.append(f"write {self.name}")
        self.value = value
        self.modified = dt.datetime.now()

    def get_modified_time(self):
        return self.modified


def test_registry_sources_are_read_just_before_their_readers():
    journal: list[str] = []
    tracker = Tracker()

    def use(payload, k, which):
        journal.append(f"call {k}{which}")
        return k

    plan = uberjob.Plan()
    registry = uberjob.Registry()
    for k in range(12):
        source = registry.source(plan, MemoryStore(f"s{k}", journal, tracker, value="x"))
        for which in "ab":
            registry.add(plan.call(use, source, k, which), MemoryStore(f"o{k}{which}", journal))
    uberjob.run(plan, registry=registry, max_workers=1, progress=False)
    source_reads = [line for line in journal if line.startswith("read s")]
    assert len(source_reads) == 12
    for k in range(12):  # read s{k}, then its two readers, before the next source is read
        first = journal.index(f"read s{k}")
        following = [
            line for line in journal[first + 1 :] if not line.startswith(("write", "read o"))
        ]
        assert following[:2] == [f"call {k}a", f"call {k}b"]
    assert tracker.peak == 1


# -- failures: backpressure and decorators that raise -----------------------------------------


def test_failures_wait_for_the_owner_instead_of_piling_up(monkeypatch):
    """The owner is held on its first failure; the workers go on failing until the failures
    waiting for the owner fill their room, then each worker waits with the one it holds.
    Without backpressure they would fail all 1,000 calls meanwhile, each frame holding a
    payload."""
    workers, room = 4, 8
    monkeypatch.setattr(threads, "MAX_PENDING_FAILURES", room)
    tracker = Tracker()
    lock = threading.Lock()
    attempts = 0
    waiting = 0
    all_waiting = threading.Event()
    seen = {}
    wait_for_room = threads.ThreadDispatcher._wait_for_failure_room

    def counted_wait(self):
        nonlocal waiting
        with lock:
            waiting += 1
            if waiting >= workers:
                all_waiting.set()
        wait_for_room(self)

    monkeypatch.setattr(threads.ThreadDispatcher, "_wait_for_failure_room", counted_wait)

    def fail(k):
        nonlocal attempts
        payload = Payload(tracker)  # noqa: F841 (kept alive by the traceback's frame)
        with lock:
            attempts += 1
        raise RuntimeError(f"call {k}")

    class HeldOnFirstFailure(NullProgressObserver):  # (a subclass: its events are sent)
        def increment_failed(self, *, section, scope, exception):
            if not seen:
                seen["all waiting"] = all_waiting.wait(timeout=60)
                seen["attempts"], seen["alive"] = attempts, tracker.alive

    plan = uberjob.Plan()
    calls = [plan.call(fail, k) for k in range(1000)]
    with pytest.raises(uberjob.CallError):
        uberjob.run(
            plan,
            output=calls,
            max_workers=workers,
            max_errors=None,
            progress=uberjob.progress.Progress(HeldOnFirstFailure),
        )
    assert seen["all waiting"]
    # The room, one held by each worker, and perhaps one more: the owner takes the first
    # failure, making room for one, before it is held.
    assert room + workers <= seen["attempts"] <= room + workers + 1
    assert seen["alive"] <= seen["attempts"]
    handle = uberjob._handle.last_run()
    assert handle.failure_count == 1000
    assert tracker.peak <= len(handle.failures) + room + 1 + workers  # kept ones, by design


@pytest.mark.parametrize("executor", [None, "pool"])
def test_a_retry_decorator_that_raises_when_applied_fails_the_run(executor):
    def broken_retry(fn):
        raise TypeError("this decorator is broken")

    plan = uberjob.Plan()
    out = [plan.call(int, k) for k in range(5)]
    pool = ThreadPoolExecutor(2) if executor else None
    try:
        with pytest.raises(uberjob.CallError) as raised:
            uberjob.run(plan, output=out, retry=broken_retry, executor=pool, progress=False)
    finally:
        if pool is not None:
            pool.shutdown()
    assert isinstance(raised.value.__cause__, TypeError)
    assert not [t for t in threading.enumerate() if t.name.startswith("uberjob-worker")]


def test_a_retry_decorator_whose_wrapper_raises_fails_the_call():
    def retry(fn):
        def wrapper(*args):
            raise OSError("wrapped")

        return wrapper

    plan = uberjob.Plan()
    with pytest.raises(uberjob.CallError) as raised:
        uberjob.run(plan, output=plan.call(int, 1), retry=retry, progress=False)
    assert isinstance(raised.value.__cause__, OSError)


def test_a_stopped_run_is_stopped_even_after_failures():
    failed = threading.Event()
    started = threading.Event()
    release = threading.Event()

    def fail():
        failed.set()
        raise RuntimeError("boom")

    def wait():
        failed.wait(timeout=60)
        started.set()
        release.wait(timeout=60)

    plan = uberjob.Plan()
    calls = [plan.call(fail), plan.call(wait), *[plan.call(int, k) for k in range(10)]]
    handle = uberjob.run(
        plan, output=calls, max_workers=2, max_errors=None, background=True, progress=False
    )
    assert started.wait(timeout=60)
    handle.stop()
    release.set()
    with pytest.raises(uberjob.RunStopped):
        handle.result(timeout=60)
    assert handle.failure_count == 1


# -- Dask: the same order on a cluster (in-process workers, so values can be counted) -----------

DASK_TRACKER = Tracker()


class ClusterPayload:
    """A payload that is counted again wherever Dask copies it (unpickling makes a new one)."""

    def __init__(self):
        DASK_TRACKER.created(self)

    def __reduce__(self):
        return (ClusterPayload, ())


def cluster_make(k):
    return ClusterPayload()


def cluster_read(payload):
    return 1


def cluster_read_two(a, b):
    return 1


def cluster_step(x, payload):
    return ClusterPayload()


def build_for_cluster(shape: str, n: int):
    plan = uberjob.Plan()
    if shape == "fan-out":
        out = []
        for k in range(n):
            source = plan.call(cluster_make, k)
            out += [plan.call(cluster_read, source), plan.call(cluster_read, source)]
    elif shape == "join":
        out = [
            plan.call(cluster_read_two, plan.call(cluster_make, k), plan.call(cluster_make, -k))
            for k in range(n)
        ]
    elif shape == "row":
        sources = [plan.call(cluster_make, k) for k in range(n + 1)]
        out = [plan.call(cluster_read_two, sources[k], sources[k + 1]) for k in range(n)]
    else:
        x = plan.call(cluster_make, 0)
        for k in range(1, n):
            x = plan.call(cluster_step, x, plan.call(cluster_make, k))
        out = plan.call(cluster_read, x)
    return plan, out


@pytest.fixture(scope="module")
def in_process_client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            processes=False, n_workers=2, threads_per_worker=2, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("workers", [1, 4])
def test_dask_runs_in_the_same_order(in_process_client, shape, workers):
    import gc

    n = 40 if workers == 1 else 120
    plan, out = build_for_cluster(shape, n)
    gc.collect()
    with DASK_TRACKER.lock:
        base = DASK_TRACKER.alive
        DASK_TRACKER.peak = base
    result = uberjob.run(
        plan, output=out, executor=in_process_client, max_workers=workers, progress=False
    )
    assert result == expected(shape, n)
    peak = DASK_TRACKER.peak - base
    if workers == 1:
        assert peak == SEQUENTIAL_PEAK[shape]
    else:
        assert peak <= WINDOW_PER_WORKER * workers


@pytest.mark.parametrize("workers", [2, 4])
def test_a_halted_run_drops_what_the_window_held(workers):
    """The first failure halts the run while calls wait beyond the window: they never start,
    and the run ends (nothing outstanding is left behind)."""
    made = []

    def make(k):
        made.append(k)
        return k

    def step(x, value, k):
        if k == 3:
            raise ValueError("step 3")
        return x + value

    plan = uberjob.Plan()
    x = plan.call(make, 0)
    for k in range(1, 300):
        x = plan.call(step, x, plan.call(make, k), k)
    with pytest.raises(uberjob.CallError) as raised:
        uberjob.run(plan, output=x, max_workers=workers, progress=False)
    assert str(raised.value.__cause__) == "step 3"
    assert len(made) < 300  # the window held the rest back, and the halt dropped it
    assert not [t for t in threading.enumerate() if t.name.startswith("uberjob-worker")]
