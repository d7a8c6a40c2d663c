"""One worker runs every call in index order itself (threads.py ``_work_in_order``): the same
calls, failures, counts and value as any other way of running the plan, in the sequential order.
"""

from __future__ import annotations

import random
import threading

import pytest

import uberjob
from uberjob._engine import threads


def random_plan(seed: int, n: int = 120, fail_every: int = 0):
    """A random DAG of calls with arguments, explicit dependencies and literals that wait for
    dependencies; every ``fail_every``-th call raises. Returns the plan, the output and the log
    of calls made (each call appends its number)."""
    rng = random.Random(seed)
    plan = uberjob.Plan()
    ran: list[int] = []
    lock = threading.Lock()

    def work(k, *values):
        with lock:
            ran.append(k)
        if fail_every and k % fail_every == fail_every - 1:
            raise ValueError(f"call {k} fails")
        return k + sum(values)

    nodes = []
    for k in range(n):
        sources = rng.sample(nodes, min(len(nodes), rng.randint(0, 3)))
        node = plan.call(work, k, *sources)
        if nodes and rng.random() < 0.2:
            plan.add_dependency(rng.choice(nodes), node)
        if nodes and rng.random() < 0.1:
            literal = plan.lit(k)
            plan.add_dependency(rng.choice(nodes), literal)
            node = plan.call(work, k + n, node, literal)
        nodes.append(node)
    return plan, nodes, ran


def outcome(seed, fail_every, **options):
    plan, nodes, ran = random_plan(seed, fail_every=fail_every)
    try:
        value = uberjob.run(plan, output=nodes, progress=False, **options)
    except uberjob.CallError:
        value = "failed"
    handle = uberjob.last_run()
    return value, sorted(ran), handle.completed, handle.failure_count, ran


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("fail_every", [0, 7])
def test_one_worker_does_what_many_workers_do(seed, fail_every):
    one = outcome(seed, fail_every, max_workers=1, max_errors=None)
    many = outcome(seed, fail_every, max_workers=3, max_errors=None)
    randomly = outcome(seed, fail_every, max_workers=1, max_errors=None, scheduler="random")
    assert one[:4] == many[:4] == randomly[:4]
    if fail_every:
        assert one[0] == "failed"
        assert one[3] > 0
    assert len(set(one[4])) == len(one[4])  # each call ran once


def test_one_worker_runs_no_call_below_a_failure_and_stops_at_the_error_limit():
    plan = uberjob.Plan()
    ran = []

    def work(k, *_):
        ran.append(k)
        if k in (1, 4, 6):
            raise ValueError(k)
        return k

    a = plan.call(work, 0)
    b = plan.call(work, 1, a)  # fails
    c = plan.call(work, 2, b)  # below a failure: never runs
    d = plan.call(work, 3, a)
    e = plan.call(work, 4, d)  # fails: the second error, over max_errors=1
    f = plan.call(work, 5, a)  # after the limit: never starts
    g = plan.call(work, 6, f)
    with pytest.raises(uberjob.CallError) as raised:
        uberjob.run(plan, output=[c, e, g], max_workers=1, max_errors=1, progress=False)
    assert ran == [0, 1, 3, 4]
    assert isinstance(raised.value.__cause__, ValueError)
    assert raised.value.__cause__.args == (1,)
    assert uberjob.last_run().failure_count == 2


def test_one_worker_runs_in_index_order_without_the_owner(monkeypatch):
    """The in-order worker is used for one worker and the default scheduler only, and the
    owner hands nothing over then."""
    used = []
    real = threads.ThreadDispatcher.run_in_order

    def spy(self):
        used.append(self.in_order)
        real(self)

    monkeypatch.setattr(threads.ThreadDispatcher, "run_in_order", spy)
    monkeypatch.setattr(
        threads.ThreadDispatcher, "submit", lambda self, i: pytest.fail("handed over")
    )
    plan, nodes, _ = random_plan(3)
    assert uberjob.run(plan, output=nodes[-1], max_workers=1, progress=False) is not None
    assert used == [True]
