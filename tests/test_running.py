"""What is running (issue 15): the calls in flight, durations, stragglers and their stacks.

The rule and the tracker are tested with explicit times (the owner's per-turn clock readings);
runs hold their calls on ``threading.Event`` barriers and the tests wait for what the progress
observer is told, never for a fixed time.
"""

from __future__ import annotations

import concurrent.futures
import inspect
import os
import threading

import pytest

import uberjob
from uberjob._engine import running as running_module
from uberjob._engine.running import (
    MAX_SAMPLES,
    NOT_AVAILABLE,
    Durations,
    RunningTracker,
    is_straggler,
)
from uberjob._engine.stacks import is_user_file, parse_dask_stack
from uberjob.progress import Progress
from uberjob.progress._view import ModelView

WAIT = 30  # seconds before a test gives up waiting for what should happen (never reached)

# ----- the rule -----


def test_a_straggler_runs_longer_than_three_medians_of_its_scope_and_a_second_at_least():
    assert not is_straggler(100.0, None)  # fewer than 5 completed: no median, no straggler
    assert not is_straggler(3.0, 1.0)  # 3 x the median is not longer than 3 x
    assert is_straggler(3.01, 1.0)
    assert not is_straggler(0.99, 0.01)  # far above 3 x, but under the floor of 1 s
    assert is_straggler(1.0, 0.01)
    assert is_straggler(1.0, 0.0)  # a scope of calls that take less than a turn
    assert is_straggler(0.5, 0.1, floor=0.0)  # (the floor is the tracker's: tests lower it)


def durations(*seconds: float, zeros: int = 0) -> Durations:
    import random

    d = Durations(random.Random(0))
    for s in seconds:
        d.add(s)
    d.count(len(seconds) + zeros)
    return d


def test_the_median_counts_calls_shorter_than_a_turn_as_zero_and_needs_five():
    assert durations(1.0, 2.0, 3.0, 4.0).median() is None
    assert durations(1.0, 2.0, 3.0, 4.0, 5.0).median() == 3.0
    assert durations(1.0, 2.0, 3.0, 4.0, 5.0, 6.0).median() == 3.5
    assert durations(1.0, 2.0, zeros=3).median() == 0.0  # 0, 0, 0, 1, 2
    assert durations(1.0, 2.0, 4.0, zeros=2).median() == 1.0  # 0, 0, 1, 2, 4
    assert durations(zeros=5).median() == 0.0


def test_durations_stay_bounded_over_a_million_calls():
    d = durations(zeros=0)
    for k in range(1_000_000):
        d.add(1.0 + (k % 100) / 100)  # uniform over 1.00 .. 1.99
    d.count(1_000_000)
    assert len(d.sample) == MAX_SAMPLES
    assert 1.3 <= d.median() <= 1.7


# ----- the tracker, on explicit times -----


class Picture:
    """Records what a tracker tells its observer."""

    def __init__(self):
        self.told = []

    def __call__(self, picture: dict) -> None:
        self.told.append(picture)

    @property
    def last(self) -> dict:
        return self.told[-1]


def tracker_at(scopes, sampler=None, floor=None) -> tuple[RunningTracker, Picture]:
    picture = Picture()
    tracker = RunningTracker(scopes, "run", picture, sampler)
    if floor is not None:
        tracker._floor = floor
    return tracker, picture


def complete(tracker: RunningTracker, i: int, scopes, at: float) -> None:
    tracker.now = at
    tracker.finished(i)
    tracker.count({scopes[i]: 1})


def test_stragglers_are_per_scope_with_five_completed_and_the_floor():
    fast, slow, young = ("a", "fast"), ("a", "slow"), ("b", "young")
    scopes = [fast] * 7 + [slow] + [young] * 6
    tracker, picture = tracker_at(scopes)
    for i in range(5):  # five fast calls of 0.1 s
        tracker.now = i
        tracker.started(i)
        complete(tracker, i, scopes, i + 0.1)
    for i in (8, 9, 10, 11):  # four completed calls of `young`: not enough for a median
        tracker.now = 10
        tracker.started(i)
        complete(tracker, i, scopes, 10.05)
    tracker.now = 20.0
    for i in (5, 7, 12):  # in flight: a fast call, a slow one, a young one
        tracker.started(i)
    tracker.now = 20.5
    tracker.started(6)  # a fast call seen a turn later
    tracker.update(20.9)  # 0.9 s: > 3 x 0.1 s, but under the floor
    assert picture.last["stragglers"] == 0
    assert [c["id"] for c in picture.last["calls"]] == [5, 7, 12, 6]  # longest running first
    tracker.update(21.2)
    calls = {c["id"]: c for c in picture.last["calls"]}
    assert calls[5]["straggler"]
    assert calls[5]["median"] == pytest.approx(0.1)
    assert calls[5]["elapsed"] == pytest.approx(1.2)
    assert not calls[6]["straggler"]  # 0.7 s
    assert not calls[7]["straggler"]  # its scope has no completed call
    assert calls[7]["median"] is None
    assert not calls[12]["straggler"]  # 4 completed: no median yet
    assert picture.last["stragglers"] == 1
    assert picture.last["straggler_scopes"] == [("run", fast)]
    complete(tracker, 13, scopes, 21.3)  # a fifth `young` call, started and ended in a turn
    assert tracker.median(young) == pytest.approx(0.05)  # 0, .05, .05, .05, .05
    tracker.update(21.4)
    assert {c["id"] for c in picture.last["calls"] if c["straggler"]} == {5, 12}
    assert picture.last["straggler_scopes"] == [("run", fast), ("run", young)]
    assert picture.last["stragglers"] == 2


def test_the_picture_lists_twenty_longest_first_and_counts_unlisted_stragglers():
    slow, fast = ("slow",), ("fast",)
    scopes = [slow] * 40 + [fast] * 6
    tracker, picture = tracker_at(scopes)
    for i in (40, 41, 42, 43, 44):
        tracker.now = 0.0
        tracker.started(i)
        complete(tracker, i, scopes, 0.0)  # fast calls: under a turn
    for i in range(25):  # 25 slow calls, one per second; their scope has no median
        tracker.now = float(i)
        tracker.started(i)
    tracker.now = 30.0
    tracker.started(45)  # a fast call, started last: not listed
    tracker.update(40.0)
    told = picture.last
    assert told["count"] == 26
    assert [c["id"] for c in told["calls"]] == list(range(20))  # longest running first
    assert [c["elapsed"] for c in told["calls"]] == [40.0 - i for i in range(20)]
    assert told["stragglers"] == 1
    assert told["straggler_scopes"] == [("run", fast)]
    assert told["calls"][0]["function"] == "slow"
    assert told["calls"][0]["scope"] == slow


def test_the_observer_is_told_only_what_changed_and_the_end_of_the_last_call():
    scopes = [("f",)] * 3
    tracker, picture = tracker_at(scopes)
    tracker.update(0.0)
    assert picture.told == []  # nothing ran yet: nothing to say
    tracker.started(0)
    tracker.update(0.1)
    tracker.update(0.5)  # only the elapsed time moved
    assert len(picture.told) == 1
    complete(tracker, 0, scopes, 0.6)
    tracker.update(0.7)
    assert picture.last["count"] == 0
    assert picture.last["calls"] == []
    assert len(picture.told) == 2


def test_straggler_stacks_are_sampled_every_two_seconds_and_forgotten_at_the_end():
    scopes = [("f",)] * 8
    asked = []

    def sampler(due):
        asked.append(list(due))
        return {i: ([{"file": "x.py", "line": 1, "function": "f", "code": "", "user": True}],
                    None, 0.25) for i in due}  # fmt: skip

    tracker, picture = tracker_at(scopes, sampler)
    for i in range(5):
        tracker.started(i)
        complete(tracker, i, scopes, 0.0)
    tracker.now = 10.0
    tracker.started(5)
    tracker.update(10.5)
    assert asked == []  # no straggler: no stack
    assert picture.last["calls"][0]["stack"] is None
    tracker.update(11.0)
    assert asked == [[5]]
    stack = picture.last["calls"][0]["stack"]
    assert stack["sampled"] == 0.75  # taken 0.25 s before it was told: at 0.75 s of the call
    assert stack["note"] is None
    assert stack["frames"][0]["function"] == "f"
    tracker.update(12.9)
    assert asked == [[5], []]  # not due yet (the sampler may answer earlier requests)
    tracker.update(13.0)
    assert asked == [[5], [], [5]]
    complete(tracker, 5, scopes, 13.5)
    assert tracker._stacks == {}
    assert tracker._next_sample == {}


def test_without_a_sampler_a_stragglers_stack_says_it_is_not_available():
    scopes = [("f",)] * 6
    tracker, picture = tracker_at(scopes)
    for i in range(5):
        tracker.started(i)
        complete(tracker, i, scopes, 0.0)
    tracker.started(5)
    tracker.update(2.0)
    assert picture.last["calls"][0]["stack"] == {
        "sampled": 2.0, "frames": [], "note": NOT_AVAILABLE,
    }  # fmt: skip


def test_a_sampler_that_raises_gives_a_note_not_a_failed_run():
    scopes = [("f",)] * 6

    def sampler(due):
        raise RuntimeError("no frames today")

    tracker, picture = tracker_at(scopes, sampler)
    for i in range(5):
        tracker.started(i)
        complete(tracker, i, scopes, 0.0)
    tracker.started(5)
    tracker.update(2.0)
    stack = picture.last["calls"][0]["stack"]
    assert stack["frames"] == []
    assert "RuntimeError: no frames today" in stack["note"]


# ----- stacks -----


def test_user_files_are_neither_the_standard_library_nor_packages_nor_uberjob():
    assert is_user_file("/home/me/etl.py")
    assert is_user_file("/tmp/ipykernel_123/456.py")
    assert is_user_file("<ipython-input-3-abc>")
    assert not is_user_file(threading.__file__)
    assert not is_user_file("<frozen importlib._bootstrap>")
    assert not is_user_file("/opt/venv/lib/python3.11/site-packages/requests/api.py")
    assert not is_user_file("/usr/lib/python3/dist-packages/numpy/core.py")
    assert not is_user_file(running_module.__file__)


def test_a_dask_call_stack_keeps_what_runs_inside_our_task_runner():
    runner = os.path.join("/x", "uberjob", "_engine", "dask.py")
    texts = [
        '  File "/usr/lib/python3.11/threading.py", line 1002, in _bootstrap\n'
        "\tself._bootstrap_inner()\n",
        '  File "/venv/site-packages/distributed/worker.py", line 3000, in apply_function\n'
        "\tresult = function(*args)\n",
        f'  File "{runner}", line 100, in _run_call\n\tvalue = fn(*args)\n',
        '  File "/home/me/etl.py", line 12, in fetch\n\treturn get(url)\n',
        '  File "/venv/site-packages/requests/api.py", line 73, in get\n'
        '\treturn request("get", url)\n',
    ]
    frames = parse_dask_stack(texts)
    assert [(f["file"], f["line"], f["function"], f["user"]) for f in frames] == [
        ("/home/me/etl.py", 12, "fetch", True),
        ("/venv/site-packages/requests/api.py", 73, "get", False),
    ]
    assert frames[0]["code"] == "return get(url)"


# ----- real runs -----


class Watcher(ModelView):
    """A view that lets a test wait until the model's snapshot satisfies a condition (checked
    whenever the engine tells the model what is running)."""

    def __init__(self, condition):
        super().__init__()
        self.condition = condition
        self.seen = threading.Event()
        self.snapshot = None
        self.final = None
        record = self.model.record_running

        def record_running(picture):
            record(picture)
            if not self.seen.is_set():
                snapshot = self.model.snapshot()
                if condition(snapshot):
                    self.snapshot = snapshot
                    self.seen.set()

        self.record_running = record_running

    def draw(self, snapshot, final):
        if final:
            self.final = snapshot


def held(release: threading.Event, value):
    """A call that runs until the test lets it go."""
    release.wait(WAIT)
    return value


def running_count(n):
    return lambda snapshot: snapshot.get("running", {}).get("count") == n


def run_in_background(plan, output, watcher, **options):
    return uberjob.run(plan, output=output, progress=Progress(lambda: watcher), background=True,
                       **options)  # fmt: skip


def test_the_snapshot_lists_exactly_the_calls_in_flight_on_threads():
    release = threading.Event()
    plan = uberjob.Plan()
    with plan.scope("held"):
        calls = [plan.call(held, release, k) for k in range(25)]
    watcher = Watcher(running_count(25))
    handle = run_in_background(plan, calls, watcher, max_workers=25)
    try:
        assert watcher.seen.wait(WAIT)
    finally:
        release.set()
    assert handle.result() == list(range(25))
    running = watcher.snapshot["running"]
    assert len(running["calls"]) == 20
    assert running["omitted"] == 5
    assert running["stragglers"] == 0
    assert running["straggler_nodes"] == []
    nodes = watcher.snapshot["sections"][0]["nodes"]
    for call in running["calls"]:
        assert call["function"] == f"{__name__}.held"
        assert call["scope"] == ["held", f"{__name__}.held"]
        assert nodes[call["node"]][1] == f"{__name__}.held"
        assert call["median"] is None
        assert call["stack"] is None
    elapsed = [call["elapsed"] for call in running["calls"]]
    assert elapsed == sorted(elapsed, reverse=True)
    assert "running" not in watcher.final  # a finished run has nothing in flight
    assert sum(watcher.final["activity"]["completed"]) == 25


def test_an_executors_calls_in_flight_and_stragglers_without_stacks(monkeypatch):
    monkeypatch.setattr(running_module, "MIN_STRAGGLER_SECONDS", 0.0)
    release = threading.Event()
    plan, last = plan_with_a_straggler(release)
    watcher = Watcher(straggler_without_frames)
    with concurrent.futures.ThreadPoolExecutor(4) as executor:
        handle = run_in_background(plan, last, watcher, executor=executor)
        try:
            assert watcher.seen.wait(WAIT)
        finally:
            release.set()
        assert handle.result() == list(range(5))
    running = watcher.snapshot["running"]
    assert running["count"] == 1
    call = running["calls"][0]
    assert call["function"] == f"{__name__}.wait_in_user_code"
    assert call["stack"]["note"] == NOT_AVAILABLE
    assert call["stack"]["frames"] == []


def straggler_without_frames(snapshot):
    calls = snapshot.get("running", {}).get("calls", [])
    return any(c["straggler"] and c["stack"] for c in calls)


#: Barriers by name: a Dask task's arguments are pickled, an Event cannot be (the cluster of
#: these tests runs in this process, so the worker sees the same dict).
GATES: dict[str, threading.Event] = {}


def wait_in_user_code(gate: str, after=None):
    GATES[gate].wait(WAIT)  # the line a straggler's stack shows
    return after


_SOURCE, _FIRST = inspect.getsourcelines(wait_in_user_code)
WAIT_LINE = next(n for n, line in enumerate(_SOURCE, _FIRST) if "GATES[gate].wait" in line)


def straggler_with_stack(snapshot):
    calls = snapshot.get("running", {}).get("calls", [])
    return any(c["straggler"] and c["stack"] and c["stack"]["frames"] for c in calls)


def check_user_frame(call) -> None:
    frames = call["stack"]["frames"]
    mine = [f for f in frames if f["function"] == "wait_in_user_code"]
    assert len(mine) == 1
    assert mine[0]["line"] == WAIT_LINE
    assert mine[0]["file"] == __file__
    assert mine[0]["user"]
    assert mine[0]["code"] == "GATES[gate].wait(WAIT)  # the line a straggler's stack shows"
    assert frames[0] is mine[0]  # the engine's frames (and what runs them) are left out
    engine = os.path.dirname(running_module.__file__)
    assert not any(f["file"].startswith(engine) for f in frames)
    inner = frames[frames.index(mine[0]) + 1 :]
    assert inner  # Event.wait's frames in threading.py: not the user's
    assert not any(f["user"] for f in inner)


def plan_with_a_straggler(release: threading.Event):
    """Five calls that end at once, then one of the same function held on ``release``."""
    GATES["open"] = threading.Event()
    GATES["open"].set()
    GATES["held"] = release
    plan = uberjob.Plan()
    quick = [plan.call(wait_in_user_code, "open", k) for k in range(5)]
    return plan, plan.call(wait_in_user_code, "held", plan.gather(quick))


def running_once_a_straggler_shows(start) -> dict:
    """Run ``plan_with_a_straggler`` with ``start(plan, output, watcher)`` (which returns the
    run's handle) until the watcher sees the straggler's stack, let it go, check the value;
    returns the ``running`` picture the watcher saw."""
    release = threading.Event()
    plan, last = plan_with_a_straggler(release)
    watcher = Watcher(straggler_with_stack)
    handle = start(plan, last, watcher)
    try:
        assert watcher.seen.wait(WAIT)
    finally:
        release.set()
    assert handle.result() == list(range(5))
    return watcher.snapshot["running"]


@pytest.mark.parametrize("workers", [1, 2])  # one worker runs the calls in order itself
def test_a_stragglers_stack_on_threads_shows_the_user_function_and_line(monkeypatch, workers):
    monkeypatch.setattr(running_module, "MIN_STRAGGLER_SECONDS", 0.0)
    running = running_once_a_straggler_shows(
        lambda plan, last, watcher: run_in_background(plan, last, watcher, max_workers=workers)
    )
    call = next(c for c in running["calls"] if c["straggler"])
    check_user_frame(call)
    assert running["straggler_nodes"] == [["run", call["node"]]]
    assert call["function"] == f"{__name__}.wait_in_user_code"


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    # In process: the barrier events are shared with the worker's threads.
    with (
        distributed.LocalCluster(
            processes=False, n_workers=1, threads_per_worker=3, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.mark.timeout(120)
def test_dask_calls_in_flight_and_a_stragglers_stack(monkeypatch, dask_client):
    monkeypatch.setattr(running_module, "MIN_STRAGGLER_SECONDS", 0.0)
    monkeypatch.setattr(running_module, "SAMPLE_SECONDS", 0.05)
    running = running_once_a_straggler_shows(
        lambda plan, last, watcher: run_in_background(plan, last, watcher, executor=dask_client)
    )
    assert running["count"] == 1
    call = running["calls"][0]
    assert call["function"] == f"{__name__}.wait_in_user_code"
    check_user_frame(call)


def test_nothing_of_this_without_progress_or_with_a_1_0_observer(monkeypatch, recorder):
    made = []
    real_init = RunningTracker.__init__

    def counting_init(self, *args, **kwargs):
        made.append(self)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(RunningTracker, "__init__", counting_init)
    plan = uberjob.Plan()
    calls = [plan.call(abs, -k) for k in range(50)]
    _, progress = recorder
    assert uberjob.run(plan, output=calls, progress=False) == list(range(50))
    assert uberjob.run(plan, output=calls, progress=progress) == list(range(50))
    assert made == []
    watcher = Watcher(lambda snapshot: False)
    uberjob.run(plan, output=calls, progress=Progress(lambda: watcher))
    assert len(made) == 1


def test_stragglers_with_an_observer_of_single_events_beside_the_view(monkeypatch, recorder):
    # A 1.0 observer in the list: the owner counts call by call (no batches), and the view's
    # medians still come from every completed call.
    monkeypatch.setattr(running_module, "MIN_STRAGGLER_SECONDS", 0.0)
    observer, progress = recorder
    running = running_once_a_straggler_shows(
        lambda plan, last, watcher: uberjob.run(
            plan, output=last, progress=[Progress(lambda: watcher), progress], background=True
        )
    )
    call = next(c for c in running["calls"] if c["straggler"])
    assert call["median"] is not None
    check_user_frame(call)
    assert observer.count("completed") == 6
