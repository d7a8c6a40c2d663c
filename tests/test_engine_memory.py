"""A value is released as soon as its last consumer has run."""

from __future__ import annotations

import gc
import itertools
import threading
import weakref

import pytest

import uberjob
from uberjob._engine.compile import compile_plan
from uberjob._plan import plan_structure


class Payload:
    """A fresh object per call; the tracker counts how many are alive at once."""

    def __init__(self, tracker):
        tracker.created(self)


class Tracker:
    def __init__(self):
        self.lock = threading.Lock()
        self.alive = 0
        self.peak = 0
        self.refs = []

    def created(self, obj):
        with self.lock:
            self.alive += 1
            self.peak = max(self.peak, self.alive)
            self.refs.append(weakref.ref(obj, self._gone))

    def _gone(self, _):
        with self.lock:
            self.alive -= 1


@pytest.mark.parametrize("max_workers", [1, 4])
def test_chain_keeps_only_a_handful_alive(max_workers):
    tracker = Tracker()

    def step(previous):
        return Payload(tracker)

    plan = uberjob.Plan()
    x = plan.call(step, None)
    for _ in range(1000):
        x = plan.call(step, x)
    done = plan.call(lambda value: "done", x)
    assert uberjob.run(plan, output=done, max_workers=max_workers, progress=False) == "done"
    assert tracker.peak <= 4
    assert tracker.alive == 0


@pytest.mark.parametrize("max_workers", [1, 4])
def test_fan_out_fan_in_keeps_only_a_handful_alive(max_workers):
    tracker = Tracker()

    def make(_source, i):
        return Payload(tracker)

    def digest(payload):
        return 1

    plan = uberjob.Plan()
    source = plan.call(make, None, -1)
    digests = [plan.call(digest, plan.call(make, source, i)) for i in range(1000)]
    # A pairwise reduction tree: fan-in without holding every value at once.
    while len(digests) > 1:
        digests = [plan.call(sum, digests[k : k + 2]) for k in range(0, len(digests), 2)]
    assert uberjob.run(plan, output=digests[0], max_workers=max_workers, progress=False) == 1000
    assert tracker.peak <= max_workers + 4
    assert tracker.alive == 0


def test_output_value_is_kept_and_unused_values_are_dropped():
    tracker = Tracker()

    def make():
        return Payload(tracker)

    plan = uberjob.Plan()
    kept = plan.call(make)
    side = plan.call(make)
    after = plan.call(lambda: "after")
    plan.add_dependency(side, after)
    result = uberjob.run(plan, output=[kept, after], max_workers=1, progress=False)
    assert isinstance(result[0], Payload)
    assert tracker.alive == 1  # only the output's value


def _young_ids() -> set[int]:
    return {id(o) for generation in (0, 1) for o in gc.get_objects(generation=generation)}


def test_compiling_puts_what_it_made_in_the_oldest_generation():
    """The compiled arrays live as long as the run: the collector's young generations, which it
    scans often, must not be handed a few containers per node to scan (and find alive)."""
    plan = uberjob.Plan()
    calls = [plan.call(int, i) for i in range(2000)]
    calls = [plan.call(max, a, b) for a, b in itertools.pairwise(calls)]
    output = plan.gather(calls)
    compiled = compile_plan(plan_structure(plan), [output], output)
    young = _young_ids()
    made = [compiled.refs, compiled.succ, compiled.positional, *compiled.refs[-5:]]
    assert not [thing for thing in made if id(thing) in young]
    assert gc.get_count()[0] < 100  # no collection is due because of what compiling made


def test_compiling_leaves_objects_someone_else_froze_frozen():
    plan = uberjob.Plan()
    output = plan.call(max, *[plan.call(int, i) for i in range(100)])
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        compile_plan(plan_structure(plan), [output], output)
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
