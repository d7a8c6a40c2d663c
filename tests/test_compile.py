"""Compiling keeps each node's number on the node (graph.Node._epoch/_index): numbers left over
from earlier compiles, failed compiles and other plans sharing the nodes must never leak in."""

from __future__ import annotations

import collections
import concurrent.futures
import random
import threading

import pytest

import uberjob
from uberjob._engine import compile as compile_module
from uberjob._engine.compile import CycleError, compile_plan
from uberjob._plan import plan_structure


def add(*values):
    return sum(values)


def compiled_for(plan, output):
    return compile_plan(plan_structure(plan), [output], output)


def test_each_compile_numbers_only_what_its_roots_need():
    plan = uberjob.Plan()
    a = plan.call(add, 1)
    b = plan.call(add, a, 2)
    c = plan.call(add, 10)
    d = plan.call(add, c, b)

    assert len(compiled_for(plan, d)) == 4
    only_b = compiled_for(plan, b)  # a, b and d, c were numbered 0..3 by the compile before
    assert only_b.nodes == [a, b]
    assert only_b.refs[1] == (0,)
    assert only_b.output == 1
    assert uberjob.run(plan, output=[b, d], progress=False) == [3, 13]


def test_a_failed_compile_leaves_no_numbers_behind():
    plan = uberjob.Plan()
    x = plan.call(add, 1)
    y = plan.call(add, x)
    z = plan.call(add, y)
    plan.add_dependency(z, y)  # y -> z -> y
    with pytest.raises(CycleError, match="cycle"):
        compiled_for(plan, z)
    # x was finished and y, z were left "on the path" by the failed compile.
    assert compiled_for(plan, x).nodes == [x]
    assert uberjob.run(plan, output=x, progress=False) == 1
    with pytest.raises(ValueError, match="cycle"):
        uberjob.run(plan, output=y, progress=False)


def test_a_literal_shared_by_plan_copies_is_constant_where_it_has_no_dependencies():
    plan = uberjob.Plan()
    literal = plan.lit(5)
    copy = plan.copy()
    first = plan.call(add, 1)
    plan.add_dependency(first, literal)  # a dependency in `plan` only
    in_plan = plan.call(add, literal, 1)
    in_copy = copy.call(add, literal, 2)

    with_deps = compiled_for(plan, in_plan)
    assert literal in with_deps.nodes  # waits for `first` there
    constant = compiled_for(copy, in_copy)
    assert constant.nodes == [in_copy]  # its value is copied into the template here
    assert list(constant.positional[0]) == [5, 2]
    assert uberjob.run(plan, output=in_plan, progress=False) == 6
    assert uberjob.run(copy, output=in_copy, progress=False) == 7


class _BlockingName:
    """A callable whose name lookup (made while compiling) blocks its first caller."""

    def __init__(self):
        self.entered = threading.Event()
        self.resume = threading.Event()
        self._first = True

    def __getattr__(self, name):
        if name != "__qualname__":
            raise AttributeError(name)
        if self._first:
            self._first = False
            self.entered.set()
            self.resume.wait()
        return "BlockingName"

    def __call__(self, *values):
        return sum(values)


def test_compiles_of_shared_nodes_take_turns():
    plan = uberjob.Plan()
    blocking = _BlockingName()
    leaves = [plan.call(add, i) for i in range(5)]
    total = plan.call(blocking, *leaves)
    results = {}
    compiling = threading.Thread(target=lambda: results.setdefault("c", compiled_for(plan, total)))
    compiling.start()
    try:
        assert blocking.entered.wait(timeout=10)
        # Mid-compile: another compile of these nodes would overwrite their numbers.
        assert not compile_module._numbering_lock.acquire(blocking=False)
    finally:
        blocking.resume.set()
        compiling.join()
    compiled = results["c"]
    assert compiled.nodes == [*leaves, total]
    assert compiled.refs[5] == (0, 1, 2, 3, 4)


def test_runs_of_one_plan_from_many_threads_all_get_their_results():
    plan = uberjob.Plan()
    level = [plan.call(add, i) for i in range(300)]
    while len(level) > 1:
        level = [plan.call(add, *level[k : k + 7]) for k in range(0, len(level), 7)]
    expected = sum(range(300))
    barrier = threading.Barrier(4)
    results = []

    def run():
        barrier.wait()
        for _ in range(5):
            results.append(uberjob.run(plan, output=level[0], max_workers=2, progress=False))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 20


def layout(*args, **kwargs):
    return args, kwargs


@pytest.mark.parametrize(
    ("executor", "workers"), [(None, None), (None, 1), ("threads", None)]
)  # (one worker runs the calls in index order: threads.py's other loop)
def test_every_argument_layout_reaches_the_call(executor, workers):
    """Arguments are compiled three ways: no node at all, nodes only (no template), and a
    template with slots for nodes among plain values, constant literals and keywords."""
    plan = uberjob.Plan()
    a = plan.call(add, 1)
    b = plan.call(add, 2)
    constant = plan.lit("c")
    cases = {
        "plain": ((7, "x"), {}),
        "nodes only": ((a, b, a), {}),
        "nodes, then a plain value": ((a, b, 9), {}),
        "a plain value, then a constant": ((9, constant, a), {}),
        "a constant, then nodes": ((constant, a, b), {}),
        "keywords only": ((), {"p": a, "q": constant, "r": 5}),
        "nodes and plain keywords": ((a, b), {"r": 5}),
        "everything": ((a, 9, constant, b), {"p": b, "q": constant}),
    }
    value = {a: 1, b: 2, constant: "c"}

    def evaluated(x):
        return value[x] if isinstance(x, uberjob.graph.Node) else x

    outputs = {name: plan.call(layout, *args, **kwargs) for name, (args, kwargs) in cases.items()}
    expected = {
        name: (tuple(map(evaluated, args)), {k: evaluated(v) for k, v in kwargs.items()})
        for name, (args, kwargs) in cases.items()
    }
    pool = concurrent.futures.ThreadPoolExecutor(2) if executor else None
    try:
        results = uberjob.run(
            plan, output=outputs, executor=pool, max_workers=workers, progress=False
        )
    finally:
        if pool is not None:
            pool.shutdown()
    assert results == expected


def test_calls_with_the_same_argument_layout_share_its_slots():
    plan = uberjob.Plan()
    a = plan.call(add, 1)
    calls = [plan.call(add, a, k) for k in range(3)]
    compiled = compiled_for(plan, plan.call(add, *calls))
    slots = [compiled.slots[compiled.nodes.index(call)] for call in calls]
    assert slots[0] == (0,)
    assert slots[0] is slots[1] is slots[2]
    assert compiled.slots[-1] is None  # its arguments are exactly its refs' values


def keyword_add(*values, extra=0):
    return sum(values) + extra


def random_plan(seed: int, *, dependencies: bool):
    """Calls reading earlier calls (some twice, some by keyword), plus ordering-only edges;
    returns the plan, its calls and what each call's value must be."""
    rng = random.Random(seed)
    plan = uberjob.Plan()
    nodes, expected = [], []
    for i in range(300):
        sources = rng.sample(range(len(nodes)), min(len(nodes), rng.randint(0, 3)))
        if sources and rng.random() < 0.2:
            sources.append(sources[0])  # the same value twice
        extra = rng.randrange(len(nodes)) if nodes and rng.random() < 0.2 else None
        kwargs = {} if extra is None else {"extra": nodes[extra]}
        nodes.append(plan.call(keyword_add, i, *(nodes[k] for k in sources), **kwargs))
        expected.append(
            i + sum(expected[k] for k in sources) + (0 if extra is None else expected[extra])
        )
        if dependencies and i > 10 and rng.random() < 0.3:
            plan.add_dependency(nodes[rng.randrange(i)], nodes[-1])
    return plan, nodes, expected


@pytest.mark.parametrize("dependencies", [False, True])
def test_uses_count_the_argument_edges_that_read_each_value(dependencies):
    # Without explicit dependencies compile counts readers from the successor lists; with them
    # a successor may be ordering-only. Either way: one use per argument edge, none per
    # dependency edge, while waiting counts both.
    plan, nodes, expected = random_plan(7, dependencies=dependencies)
    compiled = compiled_for(plan, plan.gather(nodes))
    reads = collections.Counter(j for refs in compiled.refs for j in refs)
    assert compiled.uses == [reads[i] for i in range(len(compiled))]
    successor_edges = 0
    for j, successors in enumerate(compiled.succ):
        if compiled.fuse[j] >= 0:
            successor_edges += 1
        elif successors is not None:
            successor_edges += 1 if type(successors) is int else len(successors)
    dependency_edges = sum(len(sources) for sources in plan._deps.values())
    assert (dependency_edges > 0) == dependencies
    assert successor_edges == sum(reads.values()) + dependency_edges
    for i, node in enumerate(compiled.nodes):
        if compiled.waiting[i] >= 0:  # (-1: fused, started by its predecessor's worker)
            waits_for = len(compiled.refs[i]) + len(plan._deps.get(node, ()))
            assert compiled.waiting[i] == waits_for
    for scheduler in ("default", "random"):
        assert uberjob.run(plan, output=nodes, scheduler=scheduler, progress=False) == expected


def test_calls_counts_the_nodes_with_a_function():
    """Literals that wait for dependencies and known values (a resumed run) are nodes without a
    function; the thread dispatcher sizes its pool from this count."""
    plan = uberjob.Plan()
    a = plan.call(add, 1)
    waiting_literal = plan.lit(5)
    plan.add_dependency(a, waiting_literal)
    b = plan.call(add, a, waiting_literal)
    c = plan.call(add, b, plan.lit(7))  # a constant literal: no node
    compiled = compiled_for(plan, c)
    assert compiled.calls == 3 == sum(fn is not None for fn in compiled.fns)
    assert len(compiled) == 4

    resumed = compile_plan(plan_structure(plan), [c], c, known={a: 1})
    assert resumed.calls == 2 == sum(fn is not None for fn in resumed.fns)
    assert uberjob.run(plan, output=c, progress=False) == 13


@pytest.mark.parametrize("known", [False, True])
def test_the_workers_countdowns_are_the_predecessor_and_reader_edges(known):
    """The thread dispatcher's countdowns (countdown.py) count, per node, the predecessor edges
    the predecessor tuples list and the argument edges that read its value; the owner leaves
    both counts alone while the workers advance them (owner.py)."""
    from uberjob._engine.countdown import LAST, counters_for
    from uberjob._engine.owner import Control, run_owner_loop
    from uberjob._engine.threads import ThreadDispatcher
    from uberjob._handle import RunHandle
    from uberjob.progress._basic import NullProgressObserver

    plan = uberjob.Plan()
    sources = [plan.call(add, k) for k in range(20)]
    few = plan.call(add, *sources[:3])
    many = plan.call(add, *sources)
    twice = plan.call(add, few, few)  # two edges from one predecessor
    waiting_literal = plan.lit(1)
    plan.add_dependency(few, waiting_literal)
    after_literal = plan.call(add, waiting_literal, many)
    chained = plan.call(add, plan.call(add, after_literal))  # fused
    plan.add_dependency(sources[5], chained)
    root = plan.call(add, chained, few, after_literal, twice)
    compiled = compile_plan(
        plan_structure(plan), [root], root, known={sources[0]: 0} if known else None
    )
    fused_targets = {t for t in compiled.fuse if t != -1}
    reads = [0] * len(compiled)
    for refs in compiled.refs:
        for j in refs:
            reads[j] += 1
    for s in range(len(compiled)):
        if s not in fused_targets:
            assert compiled.waiting[s] == len(compiled.preds[s]), s
        assert compiled.uses[s] == reads[s], s
    counters = counters_for(compiled.waiting)
    assert [c is not LAST for c in counters] == [w > 1 for w in compiled.waiting]

    waiting, uses = list(compiled.waiting), list(compiled.uses)
    dispatcher = ThreadDispatcher(
        compiled, max_workers=4, max_errors=None, retry=None, control=Control()
    )
    assert dispatcher.counts_readiness
    result = run_owner_loop(
        compiled, dispatcher, observer=NullProgressObserver(), max_errors=None,
        handle=RunHandle(background=False),
    )  # fmt: skip
    assert result == uberjob.run(plan, output=root, max_workers=1, progress=False)
    assert (compiled.waiting, compiled.uses) == (waiting, uses)
