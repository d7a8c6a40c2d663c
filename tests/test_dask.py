"""Running on a Dask cluster: ``run(plan, executor=client)`` and ``client.get_executor()``.

One ``LocalCluster`` (2 worker processes, 1 thread each, loopback only) serves the module; the
tests that kill workers or the scheduler use clusters of their own or leave this one able to
recover (the nanny restarts a killed worker).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

distributed = pytest.importorskip(
    "distributed", reason="dask[distributed] is not installed (pip install uberjob[dask])"
)
cloudpickle = pytest.importorskip("cloudpickle")

import dask  # noqa: E402

import uberjob  # noqa: E402
from uberjob.progress import Progress, ProgressObserver  # noqa: E402

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def client():
    # Functions and classes defined here travel by value: workers cannot import this module.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    # One retry after a worker dies mid-call, then KilledWorker (the default, 3, is slow to test).
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        distributed.LocalCluster(
            processes=True,
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def _eventually(predicate, timeout=10.0) -> bool:
    """Whether ``predicate()`` becomes true within ``timeout`` (for cluster-side effects)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _pending_waits(dask_scheduler):
    return [
        key for key, ts in dask_scheduler.tasks.items()
        if "wait_for_event" in str(key) and ts.state in ("queued", "no-worker", "waiting")
    ]  # fmt: skip


def _occupy_dask_callback_thread(client) -> threading.Event:
    """Block the one thread Dask runs ``Future.add_done_callback`` callbacks on, until the
    returned event is set."""
    occupied, release = threading.Event(), threading.Event()
    future = client.submit(one, pure=False)

    def hold(_future):
        occupied.set()
        release.wait(timeout=60)

    future.add_done_callback(hold)
    assert occupied.wait(timeout=30), "Dask never ran the done callback"
    return release


def _settle(client) -> None:
    """Let the client's event loop run what was queued on it (future releases)."""
    client.sync(asyncio.sleep, 0)


# ------------------------------------------------------------------------------------------------
# Call bodies.


def add(a, b):
    return a + b


def one():
    return 1


def fail(message):
    raise ValueError(message)


def pid():
    return os.getpid()


def summary(*pids):
    return sorted(set(pids))


def concat(a, *, b, c=()):
    return (*a, *b, *c)


class DriverOnly:
    """A value that refuses to be unpickled in the driver: intermediate values never come back."""

    def __init__(self, driver_pid):
        self.driver_pid = driver_pid

    def __setstate__(self, state):
        if os.getpid() == state["driver_pid"]:
            raise AssertionError("an intermediate value was sent back to the driver")
        self.__dict__.update(state)


def make_driver_only(driver_pid):
    return DriverOnly(driver_pid)


def measure(value):
    return type(value).__name__


def make_lock():
    return threading.Lock()


def identity(value):
    return value


def flaky(marker_dir, name):
    """Fails the first time for each name (state kept in files, since calls run in processes)."""
    marker = os.path.join(marker_dir, name)
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError(f"first attempt of {name}")
    return name


def die_once(marker_dir):
    """Kills the worker process running it the first time; returns normally when retried."""
    marker = os.path.join(marker_dir, "died")
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return "survived"


def die():
    os._exit(1)


def wait_for_event(name):
    distributed.Event(name).wait(timeout=60)
    return name


def tree(plan, leaves):
    level = leaves
    while len(level) > 1:
        level = [
            plan.call(add, level[k], level[k + 1]) if k + 1 < len(level) else level[k]
            for k in range(0, len(level), 2)
        ]
    return level[0]


class Recorder(ProgressObserver):
    def __init__(self, on_running=None, on_completed=None):
        self.counts = {"total": 0, "running": 0, "completed": 0, "failed": 0}
        self.max_active = 0
        self.on_running = on_running
        self.on_completed = on_completed

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        return None

    def increment_total(self, *, section, scope, amount):
        self.counts["total"] += amount

    def increment_running(self, *, section, scope):
        self.counts["running"] += 1
        active = self.counts["running"] - self.counts["completed"] - self.counts["failed"]
        self.max_active = max(self.max_active, active)
        if self.on_running is not None:
            self.on_running()

    def increment_completed(self, *, section, scope):
        self.counts["completed"] += 1
        if self.on_completed is not None:
            self.on_completed()

    def increment_failed(self, *, section, scope, exception):
        self.counts["failed"] += 1


def recording(observer):
    return Progress(lambda: observer)


# ------------------------------------------------------------------------------------------------
# Results and semantics.


def test_results_match_the_thread_engine(client):
    plan = uberjob.Plan()
    with plan.scope("leaves"):
        leaves = [plan.call(one) for _ in range(37)]
    total = tree(plan, leaves)
    gate = plan.lit(10)
    plan.add_dependency(total, gate)
    kw = plan.call(concat, plan.call(identity, (1, 2)), b=[3], c=plan.call(identity, (4,)))
    output = {"total": total, "kw": kw, "gate": gate, "tuple": (total, "x", (len, [1]))}
    expected = uberjob.run(plan, output=output, progress=False)
    assert expected == {"total": 37, "kw": (1, 2, 3, 4), "gate": 10, "tuple": (37, "x", (len, [1]))}
    assert uberjob.run(plan, output=output, executor=client, progress=False) == expected


def test_calls_run_on_the_workers(client):
    plan = uberjob.Plan()
    pids = plan.call(summary, *[plan.call(pid) for _ in range(20)])
    worker_pids = uberjob.run(plan, output=pids, executor=client, progress=False)
    assert os.getpid() not in worker_pids
    assert 1 <= len(worker_pids) <= 2


def test_intermediate_values_stay_on_the_cluster(client):
    plan = uberjob.Plan()
    values = [plan.call(make_driver_only, os.getpid()) for _ in range(10)]
    names = [plan.call(measure, v) for v in values]
    assert uberjob.run(plan, output=names, executor=client, progress=False) == ["DriverOnly"] * 10


def test_futures_are_released_once_read(client):
    plan = uberjob.Plan()
    node = plan.call(one)
    for _ in range(60):
        node = plan.call(add, node, 1)
    live = []
    observer = Recorder(on_completed=lambda: live.append(len(client.refcount)))
    result = uberjob.run(plan, output=node, executor=client, progress=recording(observer))
    assert result == 61
    assert max(live) <= 5, live  # a chain holds about one value at a time, not all 61
    _settle(client)
    assert not client.refcount


def test_progress_events_are_those_of_the_thread_engine(client):
    def events(**kwargs):
        plan = uberjob.Plan()
        leaves = [plan.call(one) for _ in range(9)] + [plan.call(fail, "boom")]
        observer = Recorder()
        with pytest.raises(uberjob.CallError):
            uberjob.run(
                plan, output=tree(plan, leaves), max_errors=None, progress=recording(observer),
                **kwargs,
            )  # fmt: skip
        return observer.counts

    threads = events()
    assert threads["failed"] == 1
    assert events(executor=client) == threads


def test_max_workers_caps_calls_in_flight(client):
    plan = uberjob.Plan()
    leaves = [plan.call(one) for _ in range(40)]
    observer = Recorder()
    result = uberjob.run(
        plan, output=tree(plan, leaves), executor=client, max_workers=3,
        progress=recording(observer),
    )  # fmt: skip
    assert result == 40
    assert observer.max_active == 3


def test_first_error_is_raised_as_call_error_with_its_cause(client):
    plan = uberjob.Plan()
    bad = plan.call(fail, "the first error")
    plan.call(add, bad, 1)
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, output=plan.call(add, bad, 1), executor=client, progress=False)
    assert "fail" in str(info.value)
    assert "test_dask.py" in str(info.value)  # the symbolic traceback: where it was planned
    assert isinstance(info.value.__cause__, ValueError)
    assert str(info.value.__cause__) == "the first error"


def test_max_errors_none_runs_everything_it_can(client):
    plan = uberjob.Plan()
    failing = [plan.call(fail, f"error {k}") for k in range(3)]
    fine = [plan.call(add, plan.call(one), 1) for _ in range(5)]
    observer = Recorder()
    with pytest.raises(uberjob.CallError):
        uberjob.run(
            plan, output=[failing, fine], executor=client, max_errors=None,
            progress=recording(observer),
        )  # fmt: skip
    assert observer.counts["failed"] == 3
    assert observer.counts["completed"] >= 10  # and a gather of the fine ones


def test_retry_attempts_each_call_again(client, tmp_path):
    plan = uberjob.Plan()
    calls = [plan.call(flaky, str(tmp_path), f"call{k}") for k in range(4)]
    with pytest.raises(uberjob.CallError):
        uberjob.run(plan, output=calls, executor=client, progress=False)
    for marker in tmp_path.iterdir():
        marker.unlink()
    result = uberjob.run(plan, output=calls, executor=client, retry=2, progress=False)
    assert result == ["call0", "call1", "call2", "call3"]


def test_get_executor_goes_through_the_generic_executor_path(client):
    plan = uberjob.Plan()
    leaves = [plan.call(one) for _ in range(12)]
    executor = client.get_executor()
    observer = Recorder()
    result = uberjob.run(plan, output=tree(plan, leaves), executor=executor,
                         progress=recording(observer))  # fmt: skip
    assert result == 12
    assert observer.counts == {"total": 23, "running": 23, "completed": 23, "failed": 0}
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, output=plan.call(fail, "via executor"), executor=executor,
                    progress=False)  # fmt: skip
    assert str(info.value.__cause__) == "via executor"


# ------------------------------------------------------------------------------------------------
# Faults.


def test_an_unpicklable_function_fails_as_a_call_error_naming_it(client):
    lock = threading.Lock()

    def uses_a_lock():
        with lock:
            return 1

    plan = uberjob.Plan()
    fine = [plan.call(one) for _ in range(3)]
    bad = plan.call(uses_a_lock)
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, output=[fine, bad], executor=client, max_errors=None, progress=False)
    assert "uses_a_lock" in str(info.value)
    assert isinstance(info.value.__cause__, TypeError)
    assert "cannot be serialized" in str(info.value.__cause__)


def test_an_unpicklable_argument_fails_as_a_call_error_naming_it(client):
    plan = uberjob.Plan()
    bad = plan.call(identity, threading.Lock())
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, output=bad, executor=client, progress=False)
    assert "identity" in str(info.value)
    assert isinstance(info.value.__cause__, TypeError)


def test_an_unpicklable_value_read_by_another_call_fails_instead_of_hanging(client):
    plan = uberjob.Plan()
    lock = plan.call(make_lock)
    readers = [plan.call(measure, lock) for _ in range(4)]
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, output=readers, executor=client, progress=False)
    assert "make_lock" in str(info.value)
    assert "cannot be serialized" in str(info.value.__cause__)


def test_an_unpicklable_output_fails_as_a_call_error(client):
    plan = uberjob.Plan()
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, output=plan.call(make_lock), executor=client, progress=False)
    assert "make_lock" in str(info.value)


def test_a_worker_killed_mid_call_is_retried(client, tmp_path):
    plan = uberjob.Plan()
    result = uberjob.run(
        plan, output=plan.call(die_once, str(tmp_path)), executor=client, progress=False
    )
    assert result == "survived"


def test_a_call_that_keeps_killing_workers_fails_clearly(client):
    plan = uberjob.Plan()
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, output=plan.call(die), executor=client, progress=False)
    assert "die" in str(info.value)
    assert type(info.value.__cause__).__name__ == "KilledWorker"
    client.wait_for_workers(2, timeout=60)  # the nanny restarts them for the next tests


def test_interrupt_cancels_what_is_pending(client):
    event = f"uberjob-test-{uuid.uuid4().hex}"
    plan = uberjob.Plan()
    calls = [plan.call(wait_for_event, event) for _ in range(6)]

    def interrupt():
        raise KeyboardInterrupt

    # Dask hands each cancelled future to its done callbacks on a thread of its own, which holds
    # the future meanwhile. Keep that thread busy, so the keys are freed only if the run releases
    # them itself (CI once saw the callbacks lag behind the check below by chance).
    callback_thread_busy = _occupy_dask_callback_thread(client)
    try:
        with pytest.raises(KeyboardInterrupt):
            uberjob.run(plan, output=calls, executor=client, max_workers=6,
                        progress=recording(Recorder(on_running=interrupt)))  # fmt: skip
        _settle(client)
        assert not [key for key in client.refcount if "wait_for_event" in str(key)]
        # Releases travel on the client's batched stream: allow the scheduler a moment.
        assert _eventually(lambda: not client.run_on_scheduler(_pending_waits))
    finally:
        callback_thread_busy.set()
        distributed.Event(event, client=client).set()
    plan = uberjob.Plan()
    assert uberjob.run(plan, output=plan.call(add, 1, 2), executor=client, progress=False) == 3


def test_a_cluster_that_goes_away_fails_the_run_within_seconds(tmp_path):
    """The scheduler process is killed while a call runs: the run fails with a clear error."""
    scheduler_file = tmp_path / "scheduler.json"
    dask_cli = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    scheduler = subprocess.Popen(
        [*dask_cli, "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(scheduler_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = None
    try:
        with distributed.Client(scheduler_file=str(scheduler_file), timeout=30) as client:
            worker = subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", "--no-nanny",
                 "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard",
                 "--scheduler-file", str(scheduler_file)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            client.wait_for_workers(1, timeout=60)
            plan = uberjob.Plan()
            blocked = plan.call(wait_for_event, f"never-{uuid.uuid4().hex}")
            killed = []

            def kill_scheduler():
                if not killed:
                    killed.append(time.monotonic())
                    scheduler.send_signal(signal.SIGKILL)

            with pytest.raises(uberjob.CallError) as info:
                uberjob.run(plan, output=blocked, executor=client,
                            progress=recording(Recorder(on_running=kill_scheduler)))  # fmt: skip
            assert time.monotonic() - killed[0] < 10
            assert "Lost the Dask cluster" in str(info.value.__cause__)
    finally:
        for process in (worker, scheduler):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


def test_registry_stores_are_read_and_written_on_the_workers(client, tmp_path):
    from uberjob.stores import JsonFileStore, PickleFileStore

    (tmp_path / "x.json").write_text("3")
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = registry.source(plan, JsonFileStore(str(tmp_path / "x.json")))
    y = plan.call(add, 3, 4)
    registry.add(y, JsonFileStore(str(tmp_path / "y.json")))
    z = plan.call(add, x, y)
    registry.add(z, JsonFileStore(str(tmp_path / "z.json")))
    writer = plan.call(pid)
    registry.add(writer, PickleFileStore(str(tmp_path / "pid.pkl")))
    assert uberjob.run(plan, registry=registry, executor=client, progress=False) is None
    assert (tmp_path / "z.json").read_text().strip() == "10"
    result = uberjob.run(plan, registry=registry, output=[z, writer], executor=client,
                         progress=False)  # fmt: skip
    assert result[0] == 10
    assert result[1] != os.getpid()


# ------------------------------------------------------------------------------------------------
# Long chains, user code that raises, and nothing kept alive by accident.


def chain(plan, length: int):
    x = plan.lit(0)
    for _ in range(length):
        x = plan.call(add, x, 1)
    return x


def test_a_chain_longer_than_the_recursion_limit_runs(client):
    """Each task used to carry its arguments' plan nodes, which reach back through the whole
    chain: at 200 calls the scheduler could not pickle a task, dropped the workers, and the
    run never ended (a TypeError on distributed 2024.8)."""
    plan = uberjob.Plan()
    assert uberjob.run(plan, output=chain(plan, 1200), executor=client, progress=False) == 1200


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_chain_of_ten_thousand_calls_runs(client):
    plan = uberjob.Plan()
    assert uberjob.run(plan, output=chain(plan, 10_000), executor=client, progress=False) == 10_000


def test_a_fold_runs(client):
    plan = uberjob.Plan()
    total = plan.lit(0)
    for value in [plan.call(one) for _ in range(600)]:
        total = plan.call(add, total, value)
    assert uberjob.run(plan, output=total, executor=client, progress=False) == 600


class Link:
    def __init__(self, following):
        self.following = following


def test_what_cannot_be_pickled_fails_its_call_on_the_driver(client):
    """Deeply nested arguments: pickled on the driver, they fail their own call there (the
    scheduler failing to send the task to a worker would drop the worker and hang the run)."""
    nested = None
    for _ in range(100_000):
        nested = Link(nested)
    plan = uberjob.Plan()
    fine = plan.call(one)
    bad = plan.call(identity, nested)
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, output=[fine, bad], executor=client, max_errors=None, progress=False)
    assert info.value.call is bad
    assert "cannot be serialized" in str(info.value.__cause__)


def pinned_source():
    return 1


def first_of(value, _other):
    return value


def test_a_kept_failure_pins_no_cluster_keys(client):
    plan = uberjob.Plan()
    sources = [plan.call(pinned_source) for _ in range(4)]
    bad = [plan.call(first_of, s, threading.Lock()) for s in sources]  # cannot be pickled
    failing = [plan.call(fail, f"failure {k}") for k in range(3)]
    # keep=False: what a run keeps on purpose for resuming and rerunning (futures: see
    # tests/test_resume.py) is not what this is about.
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(
            plan, output=[bad, failing], executor=client, max_errors=None, progress=False,
            keep=False,
        )  # fmt: skip
    kept = (info.value, uberjob._handle.last_run().failures)
    assert len(kept[1]) == 7
    _settle(client)

    def ours(keys) -> list:
        return [k for k in keys if str(k).startswith(("pinned_source-", "first_of-", "fail-"))]

    assert ours(k for k, count in client.refcount.items() if count) == []
    assert _eventually(
        lambda: (
            ours(client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.tasks))) == []
        )
    )
    assert ours(client.who_has()) == []
    del kept


class BrokenDisplay(Recorder):
    def __init__(self, method):
        super().__init__()
        self.method = method

    def __getattribute__(self, name):
        if name == object.__getattribute__(self, "method"):
            raise RuntimeError(f"{name} is broken")
        return object.__getattribute__(self, name)


@pytest.mark.parametrize("method", ["__enter__", "increment_running", "increment_completed"])
def test_a_broken_observer_keeps_the_result(client, method):
    plan = uberjob.Plan()
    total = tree(plan, [plan.call(one) for _ in range(8)])
    progress = recording(BrokenDisplay(method))
    with pytest.warns(RuntimeWarning, match=rf"raised in {method}\(\)"):
        assert uberjob.run(plan, output=total, executor=client, progress=progress) == 8


def test_a_store_that_cannot_read_fails_the_run(client, tmp_path):
    from uberjob.stores import JsonFileStore

    (tmp_path / "x.json").write_text("{not json")
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = registry.source(plan, JsonFileStore(str(tmp_path / "x.json")))
    with pytest.raises(uberjob.CallError, match=r"JsonFileStore\.read"):
        uberjob.run(plan, registry=registry, output=plan.call(identity, x), executor=client,
                    progress=False)  # fmt: skip


def test_unpack_of_an_endless_iterable_fails(client):
    plan = uberjob.Plan()
    endless = plan.call(endless_numbers)
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, output=plan.unpack(endless, 2), executor=client, progress=False)
    assert str(info.value.__cause__) == "too many values to unpack (expected 2)"


def endless_numbers():
    import itertools

    return map(int, itertools.count())
