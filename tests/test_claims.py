"""A call a worker claims (threads.py) can end before the owner has seen all of its
predecessors end: a worker sets a call's finished flag before it reports the call's end, and in
between another worker may finish the other predecessor, claim the successor, run it and report
it. The owner counts a claimed call as outstanding when its count of waiting predecessors reaches
0, so it must count one whose end comes first then, or the run ends with work still to do (found
by a stress run: about 1 run in 200 of a 20,000-call random DAG on 8 workers returned None).

These tests hold the first predecessor's report until the owner has taken the claimed call's
end, the interleaving the stress run hit by chance."""

from __future__ import annotations

import threading
from queue import Empty

import pytest

import uberjob
from owner_thread_dispatcher import OwnerThreadDispatcher
from uberjob._engine import threads
from uberjob._engine.compile import compile_plan
from uberjob._engine.owner import DONE, DONE_NEXT, FAIL, MASK, SHIFT, run_owner_loop
from uberjob._handle import RunHandle
from uberjob._plan import plan_structure
from uberjob.progress._basic import NullProgressObserver

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
    # Only the claimed call (2 predecessors) is claimable; the output, which reads the first
    # predecessor too (3), is left to the owner, so it waits for the held report.
    monkeypatch.setattr(threads, "CLAIM_MAX_PREDECESSORS", 2)
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
        # Ends once the first predecessor's worker has marked it finished and is reporting:
        # this worker then finds both predecessors finished and claims their reader.
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


class ScriptedDispatcher(OwnerThreadDispatcher):
    """Plays the interleaving above event by event in the owner's thread, then the worker of
    the last predecessor trying to claim the call (it had found every predecessor finished)
    after the owner has taken the claimed call's end, and only then reporting."""

    width = 2

    def __init__(self, compiled, x, y, xy, out):
        super().__init__(compiled)
        self.claims: dict[int, int] = {}
        self.events = self
        self._x, self._y, self._xy, self._out = x, y, xy, out
        self._queue: list[int] = []
        self._x_done = None  # x's end, reported last
        self.late_claim = None

    def submit(self, i):
        self.submit_many([i])

    def submit_many(self, indices):
        if self._out in indices:
            self._queue.append(self.run_call(self._out))
        if self._x in indices:  # the sources: x ends first but its worker reports it last
            self._x_done = self.run_call(self._x)
            y_done = self.run_call(self._y)
            self.claims[self._xy] = 1  # the worker of y claims xy, reports y, runs xy
            self._queue += [y_done, self.run_call(self._xy)]

    def get_nowait(self):
        if self._queue:
            return self._queue.pop(0)
        if self.late_claim is None:  # the owner has taken xy's end: x's worker goes on
            self.late_claim = self.claims.setdefault(self._xy, 0)
            self._queue.append(self._x_done)
        raise Empty

    def get(self, timeout=None):
        return self.get_nowait()


def test_a_claim_counted_at_its_calls_end_stays_claimed():
    """The claim stays until every predecessor has reported: a worker still on its way to
    report one must not claim (and run) the call again."""
    plan = uberjob.Plan()
    x = plan.call(first)
    y = plan.call(str, "y")
    xy = plan.call(joined, x, y)
    out = plan.call(together, xy, x, y)
    compiled = compile_plan(plan_structure(plan), [out], out, fuse=False)
    index = {node: i for i, node in enumerate(compiled.nodes)}
    dispatcher = ScriptedDispatcher(compiled, index[x], index[y], index[xy], index[out])
    handle = RunHandle(background=False)

    result = run_owner_loop(
        compiled, dispatcher, observer=NullProgressObserver(), max_errors=None, handle=handle
    )

    assert result == ("xy", "x", "y")
    assert dispatcher.late_claim == 1  # the first claim, still in place: not claimed again
    assert handle.completed == 4
