"""Registry: the mapping, validation, staleness rules, the physical plan, progress sections."""

from __future__ import annotations

import datetime as dt
import json
import operator
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import uberjob
from uberjob._util import fully_qualified_name
from uberjob.graph import Call, Dependency, Literal
from uberjob.progress import Progress
from uberjob.stores import JsonFileStore, LiteralSource, ModifiedTimeSource, PickleFileStore

T0 = dt.datetime(2024, 1, 1, 12, 0, 0)
ADD, NEG = fully_qualified_name(operator.add), fully_qualified_name(operator.neg)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def set_mtime(path, minutes: int) -> None:
    t = at(minutes).timestamp()
    os.utime(path, (t, t))


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


class MemoryStore(uberjob.ValueStore):
    """An in-memory store with a settable modified time; records which threads asked for it."""

    def __init__(self, value=None, modified_time=None):
        self.value = value
        self.modified_time = modified_time
        self.writes = 0
        self.threads: set[str] = set()

    def read(self):
        return self.value

    def write(self, value):
        self.writes += 1
        self.value = value
        self.modified_time = at(100)

    def get_modified_time(self):
        self.threads.add(threading.current_thread().name)
        return self.modified_time


# -- the mapping ---------------------------------------------------------------------------


def test_mapping_methods_and_copy():
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = plan.call(operator.add, 1, 2)
    y = plan.lit(5)
    sx, sy = JsonFileStore("x.json"), JsonFileStore("y.json")
    registry.add(x, sx)
    registry.add(y, sy)
    assert len(registry) == 2
    assert list(registry) == [x, y]
    assert list(registry.keys()) == [x, y]
    assert registry.values() == [sx, sy]
    assert registry.items() == [(x, sx), (y, sy)]
    assert registry[x] is sx
    assert registry.get(y) is sy
    assert registry.get(plan.lit(1)) is None
    with pytest.raises(KeyError):
        registry[plan.lit(2)]

    copy = registry.copy()
    z = plan.call(operator.neg, x)
    copy.add(z, JsonFileStore("z.json"))
    assert z in copy
    assert z not in registry
    assert copy[x] is sx


def test_add_validates():
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = plan.call(operator.add, 1, 2)
    registry.add(x, JsonFileStore("x.json"))
    with pytest.raises(ValueError, match="already has a value store"):
        registry.add(x, JsonFileStore("other.json"))
    with pytest.raises(TypeError, match="node"):
        registry.add(1, JsonFileStore("x.json"))
    with pytest.raises(TypeError, match="value_store"):
        registry.add(plan.lit(1), "x.json")
    with pytest.raises(TypeError, match="plan"):
        registry.source(None, JsonFileStore("x.json"))
    with pytest.raises(TypeError, match="registry"):
        uberjob.run(plan, registry={x: JsonFileStore("x.json")})


def test_source_is_a_placeholder_call():
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    node = registry.source(plan, JsonFileStore("x.json"))
    assert type(node) is Call
    assert node in plan
    assert node.fn.__name__ == "source"
    with pytest.raises(uberjob.NotTransformedError):
        node.fn()


# -- staleness ------------------------------------------------------------------------------


def test_staleness_rules():
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    src = registry.source(plan, MemoryStore(1, at(10)))
    a = plan.call(operator.neg, src)
    sa = MemoryStore(-1, at(20))
    registry.add(a, sa)
    b = plan.call(operator.neg, a)
    sb = MemoryStore(1, at(15))  # older than its input: stale
    registry.add(b, sb)
    c = plan.call(operator.neg, b)
    sc = MemoryStore(-1, at(30))  # newer, but its input is stale: stale
    registry.add(c, sc)
    assert uberjob.run(plan, registry=registry, output=[a, b, c], progress=False) == [-1, 1, -1]
    assert (sa.writes, sb.writes, sc.writes) == (0, 1, 1)


def test_fresh_time():
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    src = registry.source(plan, MemoryStore(2, at(0)))  # a source with no inputs: never stale
    a = plan.call(operator.neg, src)
    sa = MemoryStore(-2, at(10))
    registry.add(a, sa)
    uberjob.run(plan, registry=registry, fresh_time=at(5), progress=False)
    assert sa.writes == 0
    uberjob.run(plan, registry=registry, fresh_time=at(11), progress=False)
    assert sa.writes == 1
    aware = (at(200)).astimezone(dt.UTC)  # an aware time is compared as local time
    uberjob.run(plan, registry=registry, fresh_time=aware, progress=False)
    assert sa.writes == 2


def test_a_source_with_a_newer_input_is_stale():
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    clock = registry.source(plan, ModifiedTimeSource(at(50)))
    made = []
    side_effect = plan.call(lambda t: made.append(t), clock)
    out = registry.source(plan, LiteralSource("out", at(40)))
    plan.add_dependency(side_effect, out)
    assert uberjob.run(plan, registry=registry, output=out, progress=False) == "out"
    assert made == [at(50)]


def test_explicit_dependencies_on_stored_nodes():
    order = []
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = plan.call(order.append, "x")
    sx = MemoryStore()
    registry.add(x, sx)
    y = plan.call(order.append, "y")
    plan.add_dependency(x, y)
    uberjob.run(plan, registry=registry, output=y, progress=False)
    assert order == ["x", "y"]  # stale: y waits for x's write
    uberjob.run(plan, registry=registry, output=y, progress=False)
    assert order == ["x", "y", "y"]  # fresh: nothing to wait for


def test_every_store_is_brought_up_to_date_even_with_an_output():
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = plan.call(operator.add, 1, 2)
    registry.add(x, JsonFileStore("x.json"))
    unrelated = plan.call(operator.add, 3, 4)
    registry.add(unrelated, JsonFileStore("u.json"))
    assert uberjob.run(plan, registry=registry, output=x, progress=False) == 3
    assert json.loads(Path("u.json").read_text()) == 7


def test_stored_literal():
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    lit = plan.lit((1, 2))
    registry.add(lit, JsonFileStore("lit.json"))
    total = plan.call(sum, lit)
    assert uberjob.run(plan, registry=registry, output=[lit, total], progress=False) == [[1, 2], 3]
    assert os.path.exists("lit.json")


def test_a_registry_holding_another_plans_node_is_an_error_before_anything_runs():
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    ran = []
    x = plan.call(ran.append, 1)
    registry.add(x, JsonFileStore("x.json"))
    registry.add(uberjob.Plan().call(int), JsonFileStore("other.json"))  # not in this plan
    with pytest.raises(ValueError, match=r"^registry holds a node that is not in the plan: "):
        uberjob.run(plan, registry=registry, output=x, progress=False)
    assert ran == []
    assert not os.path.exists("x.json")
    assert not os.path.exists("other.json")


def test_empty_registry_is_no_registry():
    plan = uberjob.Plan()
    x = plan.call(operator.add, 1, 2)
    assert uberjob.run(plan, registry=uberjob.Registry(), output=x, progress=False) == 3


def test_graph_mode_plan_and_executor():
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = plan.call(operator.add, 1, 2)
    registry.add(x, JsonFileStore("x.json"))
    y = plan.call(operator.mul, x, 10)
    assert plan.graph is not None  # switch to graph mode
    assert uberjob.run(plan, registry=registry, output=y, progress=False) == 30
    with ThreadPoolExecutor(2) as executor:
        assert uberjob.run(plan, registry=registry, output=[x, y], executor=executor,
                           progress=False) == [3, 30]  # fmt: skip


def test_transform_physical_sees_the_reads_and_writes():
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = plan.call(operator.add, 1, 2)
    registry.add(x, JsonFileStore("x.json"))
    seen = []

    def transform(physical, output):
        seen.extend(n.fn.__name__ for n in physical.graph if type(n) is Call)
        return physical, output

    assert uberjob.run(plan, registry=registry, output=x, transform_physical=transform,
                       progress=False) == 3  # fmt: skip
    assert sorted(seen) == ["add", "read", "write"]


# -- dry run ----------------------------------------------------------------------------------


def test_dry_run_returns_the_physical_plan():
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = plan.call(operator.add, 1, 2)
    registry.add(x, JsonFileStore("x.json"))
    y = plan.call(operator.neg, x)
    physical, output = uberjob.run(plan, registry=registry, output=y, dry_run=True,
                                   progress=False)  # fmt: skip
    assert isinstance(physical, uberjob.Plan)
    assert output is y
    graph = physical.graph
    by_name = {n.fn.__name__: n for n in graph if type(n) is Call}
    assert set(by_name) == {"add", "write", "read", "neg"}
    read, write = by_name["read"], by_name["write"]
    assert read.scope == (ADD,)
    assert write.scope == (ADD,)
    assert graph.has_edge(write, read)
    assert type(next(iter(graph[write][read]))) is Dependency
    args, _ = uberjob.graph.get_argument_nodes(graph, by_name["neg"])
    assert args == [read]
    store_literals = [n for n in graph if type(n) is Literal and isinstance(n.value, JsonFileStore)]
    assert len(store_literals) == 1  # the read and the write share it
    assert not os.path.exists("x.json")

    uberjob.run(plan, registry=registry, progress=False)
    physical, output = uberjob.run(plan, registry=registry, dry_run=True, progress=False)
    assert output is None
    assert len(physical) == 0


# -- errors --------------------------------------------------------------------------------


def test_a_corrupt_stored_file_fails_and_is_not_recomputed():
    calls = []
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = plan.call(lambda: calls.append(1) or 5)
    registry.add(x, JsonFileStore("x.json"))
    y = plan.call(operator.neg, x)
    assert uberjob.run(plan, registry=registry, output=y, progress=False) == -5
    with open("x.json", "w") as file:
        file.write('{"truncated": ')
    with pytest.raises(uberjob.CallError, match=r"JsonFileStore\.read") as info:
        uberjob.run(plan, registry=registry, output=y, progress=False)
    assert isinstance(info.value.__cause__, json.JSONDecodeError)
    notes = "\n".join(info.value.__cause__.__notes__)
    assert ("JsonFileStore" in notes and os.path.abspath("x.json") in notes) or "x.json" in notes
    assert calls == [1]


def test_a_corrupt_pickle_fails_in_a_run(tmp_path):
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = plan.call(list, range(1000))
    registry.add(x, PickleFileStore(tmp_path / "x.pkl"))
    uberjob.run(plan, registry=registry, progress=False)
    data = (tmp_path / "x.pkl").read_bytes()
    (tmp_path / "x.pkl").write_bytes(data[: len(data) // 2])
    with pytest.raises(uberjob.CallError, match=r"PickleFileStore\.read") as info:
        uberjob.run(plan, registry=registry, output=x, progress=False)
    assert str(tmp_path / "x.pkl") in "\n".join(info.value.__cause__.__notes__)


class BrokenStore(MemoryStore):
    def get_modified_time(self):
        raise ConnectionError("the store is unreachable")


def test_a_failing_stale_check_is_a_call_error(recorder):
    observer, progress = recorder
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = plan.call(operator.add, 1, 2)
    registry.add(x, BrokenStore())
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, registry=registry, progress=progress)
    assert info.value.call is x
    assert isinstance(info.value.__cause__, ConnectionError)
    failed = [e for e in observer.events if e[0] == "failed"]
    assert [(e[1], e[2]) for e in failed] == [("stale", (ADD, f"{__name__}.BrokenStore"))]


def test_get_modified_time_is_retried():
    class Flaky(MemoryStore):
        attempts = 0

        def get_modified_time(self):
            Flaky.attempts += 1
            if Flaky.attempts == 1:
                raise ConnectionError("flaky")
            return None

    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = plan.call(operator.add, 1, 2)
    registry.add(x, Flaky())
    assert uberjob.run(plan, registry=registry, output=x, retry=2, progress=False) == 3


# -- progress and parallelism ----------------------------------------------------------------


def test_progress_sections_and_scopes(recorder):
    observer, progress = recorder
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    with plan.scope("s"):
        x = plan.call(operator.add, 1, 2)
    registry.add(x, JsonFileStore("x.json"))
    y = plan.call(operator.neg, x)
    assert uberjob.run(plan, registry=registry, output=y, progress=progress) == -3
    events = observer.events
    sections = [e[1] for e in events]
    first_run = sections.index("run")
    assert set(sections[:first_run]) == {"stale"}
    assert "stale" not in sections[first_run:]
    stale_scope = ("s", ADD, "uberjob.stores.JsonFileStore")
    assert ("total", "stale", stale_scope, 1) in events
    assert ("total", "stale", (NEG,), 1) in events
    assert [e for e in events if e[1] == "stale" and e[0] != "total"] == [
        ("running", "stale", stale_scope),
        ("completed", "stale", stale_scope),
        ("running", "stale", (NEG,)),
        ("completed", "stale", (NEG,)),
    ]
    base = ("s", ADD)
    run_totals = {e[2]: e[3] for e in events if e[0] == "total" and e[1] == "run"}
    assert run_totals == {
        base: 1,
        (*base, "uberjob.stores.JsonFileStore.write"): 1,
        (*base, "uberjob.stores.JsonFileStore.read"): 1,
        (NEG,): 1,
    }
    completed = [e[2] for e in events if e[0] == "completed" and e[1] == "run"]
    assert sorted(completed) == sorted(run_totals)

    # Fresh: only the read runs.
    observer.events.clear()
    uberjob.run(plan, registry=registry, output=y, progress=progress)
    run_totals = {e[2]: e[3] for e in observer.events if e[0] == "total" and e[1] == "run"}
    assert run_totals == {
        (*base, "uberjob.stores.JsonFileStore.read"): 1,
        (NEG,): 1,
    }


def test_stale_check_runs_in_parallel():
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    stores = [MemoryStore() for _ in range(64)]
    for i, store in enumerate(stores):
        registry.add(plan.call(operator.add, i, 1), store)
    uberjob.run(plan, registry=registry, stale_check_max_workers=4, progress=False)
    threads = set().union(*(s.threads for s in stores))
    assert threads
    assert all(name.startswith("uberjob-stale") for name in threads)
    for store in stores:
        store.threads.clear()
    uberjob.run(plan, registry=registry, stale_check_max_workers=1, progress=False)
    assert set().union(*(s.threads for s in stores)) == {threading.current_thread().name}
    with pytest.raises(ValueError, match="stale_check_max_workers"):
        uberjob.run(plan, registry=registry, stale_check_max_workers=0)


def test_custom_observer_from_1_0(tmp_path):
    """A 1.0-style observer (no tick) sees both sections."""
    seen = []

    class Observer(uberjob.progress.ProgressObserver):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def increment_total(self, *, section, scope, amount):
            seen.append(section)

        def increment_running(self, *, section, scope):
            pass

        def increment_completed(self, *, section, scope):
            pass

        def increment_failed(self, *, section, scope, exception):
            pass

    plan = uberjob.Plan()
    registry = uberjob.Registry()
    registry.add(plan.call(operator.add, 1, 2), PickleFileStore(tmp_path / "x.pkl"))
    uberjob.run(plan, registry=registry, progress=Progress(Observer))
    assert seen == ["stale", "run", "run"]


def test_background_run_with_a_registry():
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = plan.call(operator.add, 1, 2)
    registry.add(x, JsonFileStore("x.json"))
    handle = uberjob.run(plan, registry=registry, output=x, background=True, progress=False)
    assert handle.result(timeout=30) == 3
    assert handle.state == "done"
    assert json.loads(Path("x.json").read_text()) == 3


def test_a_stale_check_failure_is_kept_on_the_run_handle():
    from uberjob._handle import last_run

    plan = uberjob.Plan()
    registry = uberjob.Registry()
    registry.add(plan.call(operator.add, 1, 2), BrokenStore())
    with pytest.raises(uberjob.CallError):
        uberjob.run(plan, registry=registry, progress=False)
    failures = last_run().failures
    assert [(f.section, f.scope[-1]) for f in failures] == [("stale", f"{__name__}.BrokenStore")]
