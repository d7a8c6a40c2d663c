"""The owner loop's turns are bounded (owner.py, 5.): workers that finish calls faster than the
owner takes their events must not keep one turn going, or views stop redrawing and the calls
the turn made ready wait for its end (measured before the bound: 500,000 no-op calls on 8
workers in 3 turns, the display still for 1.4 s)."""

from __future__ import annotations

import uberjob
from owner_thread_dispatcher import OwnerThreadDispatcher
from uberjob._engine.compile import compile_plan
from uberjob._engine.owner import TURN_EVENTS, run_owner_loop
from uberjob._handle import RunHandle
from uberjob._plan import plan_structure
from uberjob.progress._observer import ProgressObserver


class InstantDispatcher(OwnerThreadDispatcher):
    """Runs every call it is handed at once, in the owner's thread, and queues its end: a
    thousand calls handed over together leave a thousand events waiting for the owner."""

    def __init__(self, compiled):
        super().__init__(compiled)
        self.handed_over: list[tuple[int, int]] = []  # (calls, events waiting) per hand-over

    def submit(self, i):
        self.submit_many([i])

    def submit_many(self, indices):
        self.handed_over.append((len(indices), self.events.qsize()))
        for i in indices:
            self.events.put(self.run_call(i))


class Batches(ProgressObserver):
    """Records the completions of each batch (one batch per turn)."""

    def __init__(self):
        self.batches: list[int] = []

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        return False

    def increment_total(self, *, section, scope, amount):
        pass

    def increment_running(self, *, section, scope):
        raise AssertionError("counted in batches")

    def increment_completed(self, *, section, scope):
        raise AssertionError("counted in batches")

    def increment_failed(self, *, section, scope, exception):
        raise AssertionError("nothing fails here")

    def record_batch(self, section, started, completed):
        assert started == completed
        self.batches.append(sum(completed.values()))


def test_a_turn_takes_at_most_turn_events_and_hands_over_what_they_made_ready():
    n = 3 * TURN_EVENTS
    plan = uberjob.Plan()
    sources = [plan.call(int, k) for k in range(n)]
    readers = [plan.call(abs, source) for source in sources]
    compiled = compile_plan(plan_structure(plan), readers, None, fuse=False)
    dispatcher = InstantDispatcher(compiled)
    observer = Batches()

    run_owner_loop(
        compiled, dispatcher, observer=observer, max_errors=None, handle=RunHandle(background=False)
    )

    assert sum(observer.batches) == 2 * n
    assert max(observer.batches) == TURN_EVENTS
    # The sources' ends made their readers ready: handed over a turn at a time, each while
    # the events of the sources not yet taken were still waiting.
    first, *later = dispatcher.handed_over
    assert first == (n, 0)
    assert [calls for calls, _ in later[:2]] == [TURN_EVENTS, TURN_EVENTS]
    assert later[0][1] == n - TURN_EVENTS
