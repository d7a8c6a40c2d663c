"""Ctrl-C: run raises KeyboardInterrupt within a second, and a second run works."""

from __future__ import annotations

import _thread
import concurrent.futures
import datetime as dt
import itertools
import operator
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import uberjob

PROCESS_START_SECONDS = 2.0  # a generous bound for starting a pool process on a busy machine

SCRIPT = textwrap.dedent(
    """
    import sys, threading, time
    import uberjob

    started = threading.Event()
    finished = []

    def slow(i):
        started.set()
        time.sleep(5)
        finished.append(i)
        return i

    def count_started(i):
        return slow(i)

    plan = uberjob.Plan()
    calls = [plan.call(count_started, i) for i in range(100)]
    announce = lambda: (started.wait(), print("STARTED", flush=True))
    threading.Thread(target=announce, daemon=True).start()
    try:
        uberjob.run(plan, output=calls, max_workers=2, progress=False)
    except KeyboardInterrupt:
        print("INTERRUPTED", time.monotonic(), flush=True)
    # A second run in the same process works normally.
    plan2 = uberjob.Plan()
    second = uberjob.run(plan2, output=plan2.call(sum, [1, 2, 3]), progress=False)
    print("SECOND", second, flush=True)
    workers = [t for t in threading.enumerate() if t.name.startswith("uberjob-worker")]
    print("WORKERS", len(workers), flush=True)
    """
)


def _interrupted_script(script) -> tuple[subprocess.Popen, float]:
    """Start ``script``; once it prints STARTED, send SIGINT; check that it printed
    ``INTERRUPTED <monotonic time>`` within a second. Returns the process and when the
    signal was sent."""
    process = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout.readline().strip() == "STARTED"
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        line = process.stdout.readline().split()
        assert line[0] == "INTERRUPTED", process.stderr.read()
        assert float(line[1]) - sent < 1.0
    except BaseException:
        process.kill()
        raise
    return process, sent


def test_sigint_stops_a_run_within_a_second(tmp_path):
    script = tmp_path / "interrupt.py"
    script.write_text(SCRIPT)
    process, _ = _interrupted_script(script)
    try:
        assert process.stdout.readline().strip() == "SECOND 6"
        # The two busy workers are still inside their 5 s calls; they exit when those return.
        assert process.stdout.readline().split()[0] == "WORKERS"
        process.wait(timeout=30)
        assert process.returncode == 0
    finally:
        process.kill()


# -- every phase: the stale check, store reads and writes, process pools ----------------------
# The interrupt comes from user code at a known moment (a store method, a call), delivered to
# the main thread as Ctrl-C would be; what user code runs after it is counted.

T0 = dt.datetime(2024, 1, 1, 12, 0, 0)


def our_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("uberjob")]


class InterruptScenario:
    """Store methods call ``step()``: the ``at``-th call interrupts the main thread; every call
    after it is counted and waits until the test has handled the interrupt (so each thread of
    ours starts at most one more, however fast the stores are)."""

    def __init__(self, at: int):
        self.at = at
        self.calls = itertools.count(1).__next__  # atomic
        self.interrupted = threading.Event()
        self.handled = threading.Event()
        self.after: list[int] = []
        self.interrupted_at = 0.0

    def step(self) -> None:
        n = self.calls()
        if n == self.at:
            self.interrupted_at = time.monotonic()
            self.interrupted.set()
            _thread.interrupt_main()
        elif self.interrupted.is_set():
            self.after.append(n)
            self.handled.wait(timeout=30)

    def run(self, *args, **kwargs) -> float:
        """``uberjob.run(...)``, which must raise KeyboardInterrupt; seconds it took to."""
        try:
            with pytest.raises(KeyboardInterrupt):
                uberjob.run(*args, **kwargs)
            return time.monotonic() - self.interrupted_at
        finally:
            # None of ours may keep the process alive: the stragglers are daemons.
            assert all(t.daemon for t in our_threads())
            self.handled.set()
            for thread in our_threads():
                thread.join(timeout=10)
            assert our_threads() == []


class StepStore(uberjob.ValueStore):
    """A stored value whose methods named in ``steps`` call ``scenario.step()`` first."""

    def __init__(self, scenario: InterruptScenario, steps: set, value=0, modified_time=T0):
        self.scenario = scenario
        self.steps = steps
        self.value = value
        self.modified_time = modified_time

    def read(self):
        if "read" in self.steps:
            self.scenario.step()
        return self.value

    def write(self, value):
        if "write" in self.steps:
            self.scenario.step()
        self.value = value
        self.modified_time = T0

    def get_modified_time(self):
        if "get_modified_time" in self.steps:
            self.scenario.step()
        return self.modified_time


def test_an_interrupt_stops_the_stale_check_at_once():
    """Before: the check's pool threads were non-daemon and went through batches of 64 stores
    without looking; 40 more checks started after Ctrl-C and the process exited 10-128 s later."""
    scenario = InterruptScenario(at=50)
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    for k in range(2000):
        registry.add(plan.call(operator.add, k, 1), StepStore(scenario, {"get_modified_time"}))
    seconds = scenario.run(plan, registry=registry, stale_check_max_workers=4, progress=False)
    assert seconds < 1.0
    assert len(scenario.after) <= 4  # the one each fetch thread was starting, at most


@pytest.mark.parametrize("method", ["read", "write"])
def test_an_interrupt_stops_store_reads_and_writes_at_once(method):
    scenario = InterruptScenario(at=5)
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    calls = [plan.call(operator.add, k, 1) for k in range(200)]
    for k, call in enumerate(calls):
        # Reads: fresh values, read for the output. Writes: no stored value yet, all stale.
        modified_time = T0 if method == "read" else None
        registry.add(call, StepStore(scenario, {method}, k, modified_time))
    output = calls if method == "read" else None
    seconds = scenario.run(plan, registry=registry, output=output, max_workers=4, progress=False)
    assert seconds < 1.0
    assert len(scenario.after) <= 3  # the one each other worker was starting, at most


def interrupt_parent_then_work(parent_pid: int, seconds: float) -> None:
    """A call in a process pool: Ctrl-C reaches the driver while this call still runs."""
    os.kill(parent_pid, signal.SIGINT)
    time.sleep(seconds)  # a long call, cut short by nothing


def test_an_interrupt_stops_a_run_on_a_process_pool_at_once():
    plan = uberjob.Plan()
    calls = [plan.call(interrupt_parent_then_work, os.getpid(), 2.0)]
    calls += [plan.call(operator.add, k, 1) for k in range(50)]
    with concurrent.futures.ProcessPoolExecutor(1) as executor:
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            uberjob.run(plan, output=calls, executor=executor, max_workers=1, progress=False)
        # From the start of the run: a process start, the signal, then at most a poll.
        assert time.monotonic() - started < 1.0 + PROCESS_START_SECONDS
    assert our_threads() == []


STALE_CHECK_SCRIPT = textwrap.dedent(
    """
    import datetime as dt, operator, threading, time
    import uberjob

    started = threading.Event()

    class SlowStore(uberjob.ValueStore):
        # A store on a slow network file system.
        def read(self):
            return 0

        def write(self, value):
            pass

        def get_modified_time(self):
            started.set()
            time.sleep(0.2)
            return dt.datetime(2024, 1, 1)

    plan = uberjob.Plan()
    registry = uberjob.Registry()
    for k in range(2000):
        registry.add(plan.call(operator.add, k, 1), SlowStore())
    announce = lambda: (started.wait(), print("STARTED", flush=True))
    threading.Thread(target=announce, daemon=True).start()
    try:
        uberjob.run(plan, registry=registry, stale_check_max_workers=8, progress=False)
    except KeyboardInterrupt:
        print("INTERRUPTED", time.monotonic(), flush=True)
    """
)


def test_sigint_during_the_stale_check_ends_the_process_at_once(tmp_path):
    script = tmp_path / "interrupt_stale.py"
    script.write_text(STALE_CHECK_SCRIPT)
    process, sent = _interrupted_script(script)
    try:
        # Nothing of ours holds the exit: the checks in progress are in daemon threads.
        process.wait(timeout=30)
        assert time.monotonic() - sent < 2.0
        assert process.returncode == 0, process.stderr.read()
    finally:
        process.kill()


def test_a_ctrl_c_inside_an_executors_submit_interrupts_the_run():
    """Ctrl-C can land while the owner is inside ``executor.submit`` (a process pool waits on
    its locks there): it interrupts the run, it is not the failure of the call submitted."""

    class InterruptedOnSecondSubmit(concurrent.futures.ThreadPoolExecutor):
        submitted = 0

        def submit(self, fn, /, *args, **kwargs):
            self.submitted += 1
            if self.submitted == 2:
                raise KeyboardInterrupt
            return super().submit(fn, *args, **kwargs)

    plan = uberjob.Plan()
    calls = [plan.call(operator.add, k, 1) for k in range(5)]
    with InterruptedOnSecondSubmit(1) as executor, pytest.raises(KeyboardInterrupt):
        uberjob.run(plan, output=calls, executor=executor, progress=False)
