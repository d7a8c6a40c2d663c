"""The registry lessons of uberjob 1.0 (2, 4, 5 and 8) with their documented outputs.

Modified times are set explicitly with ``os.utime`` (no sleeping): each step of a lesson moves
the clock of the files it changes forward by a minute.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

import uberjob
from uberjob.graph import Call
from uberjob.stores import JsonFileStore, PathSource, TouchFileStore

T0 = dt.datetime(2024, 1, 1, 12, 0, 0).timestamp()


def set_mtime(path, minutes: int) -> None:
    t = T0 + 60 * minutes
    os.utime(path, (t, t))


def area(width, height):
    return width * height


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


class Counted:
    """Wraps a function and records its calls (the lessons check what gets recomputed)."""

    def __init__(self, fn):
        self.fn = fn
        self.calls = []
        self.__name__ = self.__qualname__ = fn.__name__
        self.__module__ = fn.__module__

    def __call__(self, *args, **kwargs):
        self.calls.append(args or tuple(kwargs.values()))
        return self.fn(*args, **kwargs)


def physical_writes(plan, registry, output=None) -> set[str]:
    """The paths whose store a dry run would write."""
    physical, _ = uberjob.run(plan, registry=registry, output=output, dry_run=True, progress=False)
    writes = set()
    for node in physical.graph:
        if type(node) is Call and node.fn.__name__ == "write":
            args, _ = uberjob.graph.get_argument_nodes(physical.graph, node)
            writes.add(str(args[0].value.path))
    return writes


def test_lesson2_example1_stored():
    add, area_counted = Counted(operator.add), Counted(area)
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = plan.call(add, 1, 2)
    registry.add(x, JsonFileStore("x.json"))
    y = plan.call(add, 3, 4)
    registry.add(y, JsonFileStore("y.json"))
    z = plan.call(area_counted, width=x, height=y)
    registry.add(z, JsonFileStore("z.json"))

    assert physical_writes(plan, registry) == {"x.json", "y.json", "z.json"}
    assert uberjob.run(plan, registry=registry, progress=False) is None
    assert {p: json.loads(Path(p).read_text()) for p in ("x.json", "y.json", "z.json")} == {
        "x.json": 3,
        "y.json": 7,
        "z.json": 21,
    }
    assert len(add.calls) == 2
    assert len(area_counted.calls) == 1
    for minutes, path in enumerate(["x.json", "y.json", "z.json"]):
        set_mtime(path, minutes)

    # Up to date: nothing runs, and z is read from its store rather than recomputed.
    assert uberjob.run(plan, registry=registry, progress=False) is None
    assert uberjob.run(plan, registry=registry, output=z, progress=False) == 21
    assert physical_writes(plan, registry, output=z) == set()
    assert len(add.calls) == 2
    assert len(area_counted.calls) == 1

    # Deleting x.json recomputes x and z, not y.
    os.remove("x.json")
    assert physical_writes(plan, registry) == {"x.json", "z.json"}
    assert uberjob.run(plan, registry=registry, output=z, progress=False) == 21
    assert add.calls == [(1, 2), (3, 4), (1, 2)]
    assert len(area_counted.calls) == 2


def test_stored_values_are_written_then_read_back():
    """A tuple stored as JSON is a list downstream, whether or not it was stale."""
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    pair = plan.call(tuple, [1, 2])
    registry.add(pair, JsonFileStore("pair.json"))
    both = plan.call(lambda p: (p, type(p).__name__), pair)
    assert uberjob.run(plan, registry=registry, output=[pair, both], progress=False) == [
        [1, 2],
        ([1, 2], "list"),
    ]
    assert uberjob.run(plan, registry=registry, output=pair, progress=False) == [1, 2]


def test_lesson2_example2_sourced():
    with open("x.json", "w") as file:
        file.write("3\n")
    set_mtime("x.json", 0)
    add = Counted(operator.add)
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = registry.source(plan, JsonFileStore("x.json"))
    y = plan.call(add, 3, 4)
    registry.add(y, JsonFileStore("y.json"))
    z = plan.call(area, width=x, height=y)
    registry.add(z, JsonFileStore("z.json"))

    assert physical_writes(plan, registry) == {"y.json", "z.json"}
    assert uberjob.run(plan, registry=registry, output=z, progress=False) == 21
    set_mtime("y.json", 1)
    set_mtime("z.json", 2)

    # Change x.json: z is recomputed, y is not.
    with open("x.json", "w") as file:
        file.write("5\n")
    set_mtime("x.json", 3)
    assert physical_writes(plan, registry) == {"z.json"}
    assert uberjob.run(plan, registry=registry, output=z, progress=False) == 35
    assert len(add.calls) == 1


def test_lesson2_example3_mapping_methods():
    with open("w.json", "w") as file:
        file.write("7\n")
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    w = registry.source(plan, JsonFileStore("w.json"))
    v = plan.call(pow, 2, 8)
    assert w in registry
    assert v not in registry
    w_value_store = registry[w]
    assert type(w_value_store) is JsonFileStore
    assert w_value_store.read() == 7
    assert registry.values() == [w_value_store]
    assert repr(registry.values()) == "[JsonFileStore('w.json')]"


def test_lesson4_dependent_sources():
    with open("a.json", "w") as file:
        file.write("7\n")
    set_mtime("a.json", 0)
    copies = []

    def check_call(args):
        copies.append(args)
        return subprocess.check_call(args)

    plan = uberjob.Plan()
    registry = uberjob.Registry()
    a_path = registry.source(plan, PathSource("a.json"))
    b_path = "b.json"
    copy_call = plan.call(check_call, ["cp", a_path, b_path])
    b = registry.source(plan, JsonFileStore(b_path))
    plan.add_dependency(copy_call, b)
    b2 = plan.call(pow, b, 2)

    assert uberjob.run(plan, registry=registry, output=b2, progress=False) == 49
    assert copies == [["cp", "a.json", "b.json"]]
    set_mtime("b.json", 1)

    # Up to date: the copy does not run.
    assert uberjob.run(plan, registry=registry, output=b2, progress=False) == 49
    assert uberjob.run(plan, registry=registry, progress=False) is None
    assert len(copies) == 1

    # The input changed: the copy runs again (even with no output requested).
    with open("a.json", "w") as file:
        file.write("8\n")
    set_mtime("a.json", 2)
    assert uberjob.run(plan, registry=registry, progress=False) is None
    assert len(copies) == 2
    set_mtime("b.json", 3)
    assert uberjob.run(plan, registry=registry, output=b2, progress=False) == 64
    assert len(copies) == 2

    # The output is missing: the copy runs again.
    os.remove("b.json")
    assert uberjob.run(plan, registry=registry, output=b2, progress=False) == 64
    assert len(copies) == 3


def test_lesson5_symbolic_tracebacks_point_at_the_registry_lines():
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = plan.call(set, [1])  # a set cannot be written as JSON
    registry.add(x, JsonFileStore("x.json"))
    add_line = sys._getframe().f_lineno - 1
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, registry=registry, progress=False)
    assert "JsonFileStore.write" in str(info.value)
    assert f'File "{__file__}", line {add_line}, in ' in str(info.value)
    assert isinstance(info.value.__cause__, TypeError)

    y = registry.source(plan, JsonFileStore("y.json"))
    source_line = sys._getframe().f_lineno - 1
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, output=y, progress=False)  # the registry was not passed
    assert isinstance(info.value.__cause__, uberjob.NotTransformedError)
    assert f'File "{__file__}", line {source_line}, in ' in str(info.value)
    assert "that Registry was not passed to uberjob.run" in str(info.value.__cause__)
    # The original traceback is kept.
    assert traceback.format_exception(info.value.__cause__)


def fahrenheit_to_celsius(f):
    return (f - 32) * 5 / 9


def test_lesson8_fresh_time_with_a_touch_file():
    converted = Counted(fahrenheit_to_celsius)
    os.makedirs("in")
    os.makedirs("out")
    with open("in/input.json", "w") as file:
        file.write("212")
    set_mtime("in/input.json", 0)

    def build_plan():
        plan = uberjob.Plan()
        registry = uberjob.Registry()
        f = registry.source(plan, JsonFileStore(os.path.join("in", "input.json")))
        c = plan.call(converted, f)
        registry.add(c, JsonFileStore(os.path.join("out", "output.json")))
        return plan, registry, c

    def main(fresh: bool):
        touch_store = TouchFileStore(os.path.join("out", "_FRESH"))
        if fresh:
            touch_store.write(None)
            set_mtime(touch_store.path, clock[0])
        plan, registry, c = build_plan()
        uberjob.run(plan, registry=registry, fresh_time=touch_store.get_modified_time(),
                    progress=False)  # fmt: skip
        return c

    clock = [1]
    main(fresh=False)
    assert json.loads(Path("out/output.json").read_text()) == 100.0
    set_mtime("out/output.json", 2)
    main(fresh=False)
    assert len(converted.calls) == 1

    clock[0] = 3  # --fresh: everything older than the fresh file is rebuilt
    main(fresh=True)
    assert len(converted.calls) == 2
    set_mtime("out/output.json", 4)
    main(fresh=False)  # the fresh file is older than the rebuilt output now
    assert len(converted.calls) == 2

    # datetime.now() also works.
    plan, registry, _c = build_plan()
    uberjob.run(plan, registry=registry, fresh_time=dt.datetime.now(), progress=False)
    assert len(converted.calls) == 3
