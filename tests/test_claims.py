"""Workers make calls ready themselves (threads.py): the worker that finishes a call's last
predecessor, found by a countdown (countdown.py), takes the call and adds it to its tally; the
owner counts what the workers took from their tallies. A call taken this way can run and end
before the owner has seen the end of one of its predecessors (that worker advanced the countdown
and is still on its way to report). The owner must count it all the same, or the run ends with
work still to do: found by a stress run of an earlier design, in which about 1 run in 200 of a
20,000-call random DAG on 8 workers returned None.

These tests hold the first predecessor's report until the owner has taken the claimed call's
end, the interleaving the stress run hit by chance; and check that of many threads advancing the
same countdowns exactly one finds each at its end."""

from __future__ import annotations

import threading
from queue import Empty

import pytest

import uberjob
from uberjob._engine import threads
from uberjob._engine.countdown import LAST, counters_for, is_last
from uberjob._engine.owner import DONE, DONE_NEXT, FAIL, MASK, SHIFT

# Safety nets only (a failing test must not hang the suite): every wait is for an event that the
# run sets when it behaves as it should.
NET_SECONDS = 60


class HeldReport:
    """The dispatcher's event queue, with the report of ``first``'s end held back until the
    owner has taken the end of ``claimed`` and asked for more: at that moment the owner is told
    nothing is waiting, so a run that miscounts ends there, deterministically."""

    def __init__(self, queue, fns, first, claimed):
        self._queue = queue
        self._fns = fns
        self._first, self._claimed = first, claimed
        self.first_reporting = threading.Event()  # the first predecessor's worker is reporting
        self._release = threading.Event()
        self.claimed_taken = False
        self.released_while_claimed_pending = False

    def _is(self, event, fn, kinds):
        return self._fns[event >> SHIFT] is fn and event & MASK in kinds

    def put(self, event):
        if self._is(event, self._first, (DONE,)):
            self.first_reporting.set()
            assert self._release.wait(NET_SECONDS), "the claimed call's end never came"
        self._queue.put(event)

    def _taken(self, event):
        if self._is(event, self._claimed, (DONE, DONE_NEXT, FAIL)):
            self.claimed_taken = True
        return event

    def _held_back(self):
        if self.claimed_taken and not self._release.is_set():
            self.released_while_claimed_pending = True
            self._release.set()
            raise Empty  # (the held report is not queued yet)

    def get(self, timeout=None):
        self._held_back()
        return self._taken(self._queue.get(timeout=timeout))

    def get_nowait(self):
        self._held_back()
        return self._taken(self._queue.get_nowait())

    def __getattr__(self, name):
        return getattr(self._queue, name)


@pytest.fixture
def hold_report(monkeypatch):
    """hold_report(first, claimed) -> a dict whose "held" is the HeldReport of the next thread
    dispatcher, once the run has made it."""
    made = {}
    original = threads.ThreadDispatcher.__init__

    def init(self, compiled, *args, **kwargs):
        original(self, compiled, *args, **kwargs)
        self.events = HeldReport(self.events, compiled.fns, *made["fns"])
        made["held"] = self.events

    monkeypatch.setattr(threads.ThreadDispatcher, "__init__", init)

    def hold(first, claimed):
        made["fns"] = (first, claimed)
        return made

    return hold


def first():
    return "x"


def joined(x, y):
    return x + y


def shouted(xy):  # (the only reader of joined's value, which is its only input: fused)
    return xy.upper()


def broken(x, y):
    raise ValueError(f"cannot join {x} and {y}")


def together(xy, x, y):
    return xy, x, y


@pytest.mark.parametrize(
    ("shape", "expected", "completed"),
    [
        ("claimed", ("xy", "x", "y"), 4),  # the claimed call ends (DONE)
        ("claimed and fused", ("XY", "x", "y"), 5),  # it goes on to its follower (DONE_NEXT)
        ("claimed and failed", uberjob.CallError, 2),  # it fails (FAIL)
    ],
)
def test_a_claimed_call_that_ends_before_its_predecessors_do_is_counted(
    hold_report, shape, expected, completed
):
    claimed = {"claimed": joined, "claimed and fused": joined, "claimed and failed": broken}
    last = shouted if shape == "claimed and fused" else claimed[shape]
    made = hold_report(first, last)

    def second():
        # Ends once the first predecessor's worker has advanced the countdowns and is
        # reporting: this worker then finishes the last predecessor and takes their reader.
        assert made["held"].first_reporting.wait(NET_SECONDS)
        return "y"

    plan = uberjob.Plan()
    x = plan.call(first)
    y = plan.call(second)
    xy = plan.call(claimed[shape], x, y)
    if shape == "claimed and fused":
        xy = plan.call(shouted, xy)
    out = plan.call(together, xy, x, y)
    if expected is uberjob.CallError:
        with pytest.raises(uberjob.CallError, match="broken") as raised:
            uberjob.run(plan, output=out, max_workers=2, progress=False)
        assert str(raised.value.__cause__) == "cannot join x and y"
    else:
        assert uberjob.run(plan, output=out, max_workers=2, progress=False) == expected
    assert made["held"].released_while_claimed_pending  # the interleaving happened
    assert uberjob._handle.last_run().completed == completed


def test_of_threads_advancing_the_same_countdowns_exactly_one_finds_each_at_its_end():
    """Every thread advances every countdown once, all starting together: each countdown has
    exactly one last advance, whoever made it (countdown.py relies on next() being atomic)."""
    width, nodes = 8, 5_000
    counters = counters_for([width] * nodes)
    lasts = [[] for _ in range(width)]
    start = threading.Barrier(width)

    def advance_all(k):
        start.wait(NET_SECONDS)
        mine = lasts[k]
        for i in range(nodes):
            if is_last(counters, i):
                mine.append(i)

    workers = [threading.Thread(target=advance_all, args=(k,)) for k in range(width)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(NET_SECONDS)
    assert sorted(i for mine in lasts for i in mine) == list(range(nodes))


def test_a_countdown_of_one_needs_no_counter_of_its_own():
    counters = counters_for([0, 1, 1, 2, 3])
    assert counters[0] is counters[1] is counters[2] is LAST  # (a source: never advanced)
    assert is_last(counters, 1)
    assert is_last(counters, 2)
    assert [is_last(counters, 4) for _ in range(3)] == [False, False, True]
    assert [is_last(counters, 3) for _ in range(2)] == [False, True]


def literal_after(*_):
    return "after"


def test_a_literal_that_waits_for_calls_is_completed_by_the_owner_when_a_worker_finishes_its_last():
    """A literal with dependencies has nothing to run: the worker that finishes its last
    predecessor reports it READY and the owner completes it, making its readers ready."""
    plan = uberjob.Plan()
    a = plan.call(first)
    b = plan.call(str, "b")
    value = plan.lit(41)
    plan.add_dependency(a, value)
    plan.add_dependency(b, value)
    readers = [plan.call(lambda v, k=k: v + k, value) for k in range(3)]
    joined_after = plan.call(literal_after, value, a)
    out = plan.gather([readers, joined_after])
    for workers in (2, 4, 8):
        assert uberjob.run(plan, output=out, max_workers=workers, progress=False) == [
            [41, 42, 43],
            "after",
        ]


def make_list(k):
    return [k]


def length_of(value):
    return len(value)


@pytest.mark.parametrize("workers", [2, 8])
def test_the_output_is_kept_when_the_calls_that_read_it_finish(tmp_path, workers):
    """The output can have readers (a registry stores calls that read it): the worker that
    finishes its last reader must not drop it (its countdown never ends, threads.py)."""
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    values = [plan.call(make_list, k) for k in range(20)]
    for k, value in enumerate(values):
        for r in range(2):
            store = uberjob.stores.PickleFileStore(tmp_path / f"{k}-{r}.pickle")
            registry.add(plan.call(length_of, value), store)
    result = uberjob.run(plan, output=values[7], registry=registry, max_workers=workers)
    assert result == [7]
    assert (tmp_path / "7-1.pickle").exists()  # its readers ran (and finished before the end)
