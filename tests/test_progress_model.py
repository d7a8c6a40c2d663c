"""Tests of ProgressModel (counts, roll-ups, profiling, failures, bounds, snapshot schema,
lifecycle), of the shared snapshot fixtures, and of the ModelView throttle."""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import threading
import tracemalloc
from pathlib import Path

import pytest

from uberjob._errors import RunStopped
from uberjob._handle import RunHandle
from uberjob.progress._model import ProgressModel
from uberjob.progress._view import ModelView

FIXTURES_DIR = Path(__file__).parent / "fixtures"
FIXTURE_NAMES = ["small", "deep_tree", "many_failures", "hostile_text", "stale_and_run", "running"]


def started_model(clock, **options) -> ProgressModel:
    """A model on ``clock`` (the fake clock of conftest.py), entered at its current time."""
    model = ProgressModel(clock=clock, **options)
    model.__enter__()
    return model


def rows(snapshot: dict, section: str = "run") -> list[list]:
    return next(s["nodes"] for s in snapshot["sections"] if s["key"] == section)


def by_path(snapshot: dict, section: str = "run") -> dict[tuple, list]:
    """Rows keyed by their path of names below the root, e.g. ('A', 'f')."""
    nodes, paths = rows(snapshot, section), {}
    for index, row in enumerate(nodes):
        paths[index] = () if row[0] < 0 else (*paths[row[0]], row[1])
    return {paths[i]: row for i, row in enumerate(nodes)}


def raise_and_catch(exception: BaseException) -> BaseException:
    try:
        raise exception
    except BaseException as caught:
        return caught


class CallErrorLike(Exception):
    """Shaped like uberjob's CallError: a ``call`` attribute and a ``__cause__``."""

    def __init__(self, cause: BaseException):
        super().__init__(
            "An exception was raised in a symbolic call to m.f.\n"
            "Symbolic traceback (most recent call last):\n"
            '  File "plan.py", line 3, in <module>'
        )
        self.call = "m.f"
        self.__cause__ = cause


# ----- snapshot structure -----


def check_snapshot(snapshot: dict) -> None:
    """Validate a snapshot against docs/snapshot-schema.md."""
    required = {"schema", "state", "elapsed", "rate", "sections", "failures"}
    assert required <= set(snapshot) <= required | {"running", "activity", "resumed"}
    assert snapshot["schema"] == 1
    assert snapshot["state"] in {"pending", "running", "done", "failed", "interrupted", "stopped"}
    assert isinstance(snapshot["elapsed"], float | int)
    assert snapshot["elapsed"] >= 0
    assert isinstance(snapshot["rate"], float | int)
    assert snapshot["rate"] >= 0
    keys = [s["key"] for s in snapshot["sections"]]
    assert keys in (["run"], ["stale", "run"])
    for section in snapshot["sections"]:
        assert set(section) == {"key", "title", "nodes"}
        nodes = section["nodes"]
        assert nodes[0][0] == -1
        assert nodes[0][1] == section["title"]
        for index, row in enumerate(nodes):
            parent, name, total, completed, running, failed, time = row
            assert isinstance(name, str)
            assert -1 <= parent < index
            assert (parent == -1) == (index == 0)
            assert all(isinstance(v, int) and v >= 0 for v in (total, completed, running, failed))
            assert isinstance(time, float | int)
            assert time >= 0
        for index, row in enumerate(nodes):  # a row is at least the sum of its children
            children = [r for r in nodes if r[0] == index]
            for column in range(2, 7):
                assert row[column] >= sum(c[column] for c in children) - 1e-6
    failures = snapshot["failures"]
    assert set(failures) == {"count", "groups", "groups_omitted", "instances_kept", "max_instances"}
    assert sum(g["count"] for g in failures["groups"]) <= failures["count"]
    assert failures["instances_kept"] <= failures["max_instances"]
    if snapshot["state"] in ("pending", "running"):  # live: groups keep their place
        ids = [g["id"] for g in failures["groups"]]
        assert ids == sorted(ids)
    else:  # ended: largest first
        counts = [(-g["count"], g["id"]) for g in failures["groups"]]
        assert counts == sorted(counts)
    sections = {s["key"]: s["nodes"] for s in snapshot["sections"]}
    for group in failures["groups"]:
        assert set(group) == {
            "id",
            "section",
            "node",
            "scope",
            "type",
            "message",
            "count",
            "first",
            "last",
            "instances",
            "scopes",
            "scopes_omitted",
        }
        nodes = sections[group["section"]]
        if group["type"] != "(other)":
            assert _path(nodes, group["node"]) == group["scope"]
        assert nodes[group["node"]][5] >= group["count"] > 0
        assert sum(count for _, count in group["scopes"]) <= group["count"]
        for node, count in group["scopes"]:
            assert _path(nodes, node)[: len(group["scope"])] == group["scope"]
            assert nodes[node][5] >= count > 0
        assert group["first"] <= group["last"]
        assert len(group["message"]) <= 1000
    if "running" in snapshot:
        check_running(snapshot["running"], sections, snapshot["state"])
    if "activity" in snapshot:
        check_activity(snapshot["activity"], snapshot["elapsed"])
    json.dumps(snapshot)  # JSON-able


def check_running(running: dict, sections: dict, state: str) -> None:
    """The ``running`` key (docs/snapshot-schema.md): only while the run is live."""
    assert state in ("pending", "running")
    assert set(running) == {"count", "stragglers", "calls", "omitted", "straggler_nodes"}
    calls = running["calls"]
    assert len(calls) <= 20
    assert running["omitted"] == running["count"] - len(calls) >= 0
    assert sum(call["straggler"] for call in calls) <= running["stragglers"] <= running["count"]
    elapsed = [call["elapsed"] for call in calls]
    assert elapsed == sorted(elapsed, reverse=True)  # longest running first
    assert len({call["id"] for call in calls}) == len(calls)
    for call in calls:
        assert set(call) == {
            "id", "function", "section", "node", "scope", "elapsed", "straggler", "median",
            "stack",
        }  # fmt: skip
        assert isinstance(call["function"], str)
        nodes = sections[call["section"]]
        assert _path(nodes, call["node"]) == call["scope"]
        assert nodes[call["node"]][4] > 0  # its row counts it as running
        if call["straggler"]:
            assert call["median"] is not None
            assert call["elapsed"] >= 1
            assert call["elapsed"] > 3 * call["median"]
        else:
            assert call["stack"] is None
        stack = call["stack"]
        if stack is not None:
            assert set(stack) == {"sampled", "frames", "note"}
            assert 0 <= stack["sampled"] <= call["elapsed"]
            assert stack["frames"] or stack["note"]
            for frame in stack["frames"]:
                assert set(frame) == {"file", "line", "function", "code", "user"}
                assert isinstance(frame["line"], int)
                assert isinstance(frame["user"], bool)
    for section, node in running["straggler_nodes"]:
        assert 0 < node < len(sections[section])
    marked = {(call["section"], call["node"]) for call in calls if call["straggler"]}
    assert marked <= {tuple(pair) for pair in running["straggler_nodes"]}


def check_activity(activity: dict, elapsed: float) -> None:
    """The ``activity`` key: at most 120 buckets of 1, 2, 4, ... s, up to the current one."""
    assert set(activity) == {"bucket", "completed", "failed"}
    width = activity["bucket"]
    assert width >= 1
    assert math.log2(width).is_integer()
    assert len(activity["completed"]) == len(activity["failed"]) <= 120
    # up to the current bucket (the snapshot's elapsed is rounded: one bucket either way)
    assert abs(len(activity["completed"]) - (int(elapsed / width) + 1)) <= 1
    for counts in (activity["completed"], activity["failed"]):
        assert all(isinstance(n, int) and n >= 0 for n in counts)


def _path(nodes: list[list], index: int) -> list[str]:
    names = []
    while index > 0:
        names.append(nodes[index][1])
        index = nodes[index][0]
    return names[::-1]


# ----- counts and roll-ups -----


def test_counts_roll_up_over_the_tree_in_first_seen_order(clock):
    model = started_model(clock)
    model.increment_total(section="run", scope=("a", "m.f"), amount=3)
    model.increment_total(section="run", scope=("b", "m.g"), amount=2)
    model.increment_total(section="run", scope=("a", "m.h"), amount=1)
    for _ in range(2):
        model.increment_running(section="run", scope=("a", "m.f"))
    model.increment_completed(section="run", scope=("a", "m.f"))
    model.increment_running(section="run", scope=("b", "m.g"))
    model.increment_failed(section="run", scope=("b", "m.g"), exception=ValueError("x"))
    snapshot = model.snapshot()
    check_snapshot(snapshot)
    assert [row[:6] for row in rows(snapshot)] == [
        [-1, "Running graph", 6, 1, 1, 1],
        [0, "a", 4, 1, 1, 0],
        [1, "m.f", 3, 1, 1, 0],
        [0, "b", 2, 0, 0, 1],
        [3, "m.g", 2, 0, 0, 1],
        [1, "m.h", 1, 0, 0, 0],
    ]


def test_rows_keep_their_index_as_the_tree_grows(clock):
    model = started_model(clock)
    model.increment_total(section="run", scope=("a", "f"), amount=1)
    before = rows(model.snapshot())
    model.increment_total(section="run", scope=("a", "b", "g"), amount=1)
    model.increment_total(section="run", scope=("c",), amount=1)
    after = rows(model.snapshot())
    assert [r[:2] for r in after[: len(before)]] == [r[:2] for r in before]


def test_a_scope_that_is_also_a_prefix_counts_itself_and_its_children(clock):
    model = started_model(clock)
    model.increment_total(section="run", scope=("a",), amount=1)
    model.increment_total(section="run", scope=("a", "f"), amount=2)
    assert by_path(model.snapshot())[("a",)][2] == 3


def test_non_string_scope_values_are_shown_with_str(clock):
    model = started_model(clock)
    model.increment_total(section="run", scope=(3, None, "m.f"), amount=1)
    assert ("3", "None", "m.f") in by_path(model.snapshot())


def test_stale_section_is_shown_first_and_only_with_totals(clock):
    model = started_model(clock)
    model.increment_total(section="run", scope=("f",), amount=1)
    model.increment_running(section="stale", scope=("f", "JsonFileStore"))
    assert [s["key"] for s in model.snapshot()["sections"]] == ["run"]
    model.increment_total(section="stale", scope=("f", "JsonFileStore"), amount=1)
    sections = model.snapshot()["sections"]
    assert [(s["key"], s["title"]) for s in sections] == [
        ("stale", "Determining stale value stores"),
        ("run", "Running graph"),
    ]


def test_an_empty_model_has_a_pending_run_section(clock):
    clock.now = 5.0
    snapshot = ProgressModel(clock=clock).snapshot()
    check_snapshot(snapshot)
    assert snapshot["state"] == "pending"
    assert snapshot["elapsed"] == 0
    assert rows(snapshot) == [[-1, "Running graph", 0, 0, 0, 0, 0.0]]


def test_rate_counts_finished_calls_of_every_section_per_second(clock):
    model = started_model(clock)
    for section in ("stale", "run"):
        model.increment_total(section=section, scope=("f",), amount=2)
        model.increment_running(section=section, scope=("f",))
        model.increment_completed(section=section, scope=("f",))
    model.increment_running(section="run", scope=("f",))
    model.increment_failed(section="run", scope=("f",), exception=ValueError())
    clock.now = 2.0
    assert model.snapshot()["rate"] == 1.5


# ----- uniform-share profiling -----


def test_time_is_shared_uniformly_among_running_calls(clock):
    model = started_model(clock)
    for scope, count in ((("A",), 2), (("B",), 1)):
        model.increment_total(section="run", scope=scope, amount=count)
        for _ in range(count):
            model.increment_running(section="run", scope=scope)
    clock.now = 3.0
    paths = by_path(model.snapshot())
    assert (paths[("A",)][6], paths[("B",)][6], paths[()][6]) == (2.0, 1.0, 3.0)
    # B finishes; A's two calls then share the next 2 seconds.
    model.increment_completed(section="run", scope=("B",))
    clock.now = 5.0
    paths = by_path(model.snapshot())
    assert (paths[("A",)][6], paths[("B",)][6], paths[()][6]) == (4.0, 1.0, 5.0)


def test_time_is_shared_across_sections_and_rolled_up(clock):
    model = started_model(clock)
    model.increment_total(section="stale", scope=("x", "Store"), amount=1)
    model.increment_total(section="run", scope=("x", "f"), amount=1)
    model.increment_running(section="stale", scope=("x", "Store"))
    clock.now = 1.0
    model.increment_running(section="run", scope=("x", "f"))
    clock.now = 3.0
    model.increment_completed(section="stale", scope=("x", "Store"))
    clock.now = 4.0
    snapshot = model.snapshot()
    assert by_path(snapshot, "stale")[("x",)][6] == 2.0  # 1 s alone + half of 2 s
    assert by_path(snapshot, "run")[("x",)][6] == 2.0  # half of 2 s + 1 s alone


def test_idle_time_is_credited_to_nobody_and_snapshots_do_not_settle_state(clock):
    model = started_model(clock)
    model.increment_total(section="run", scope=("f",), amount=2)
    clock.now = 10.0  # nothing running yet
    model.increment_running(section="run", scope=("f",))
    clock.now = 11.0
    version = model.version
    assert by_path(model.snapshot())[("f",)][6] == 1.0
    assert model.version == version
    clock.now = 12.5
    model.increment_completed(section="run", scope=("f",))
    clock.now = 20.0
    assert by_path(model.snapshot())[("f",)][6] == 2.5


def test_time_stops_when_the_run_finishes(clock):
    model = started_model(clock)
    model.increment_total(section="run", scope=("f",), amount=1)
    model.increment_running(section="run", scope=("f",))
    clock.now = 2.0
    model.finish("interrupted")
    clock.now = 9.0
    snapshot = model.snapshot()
    assert (snapshot["elapsed"], by_path(snapshot)[("f",)][6]) == (2.0, 2.0)


# ----- lifecycle and version -----


class Stopped(Exception):
    uberjob_stopped = True


ENDINGS = [
    (None, "done"),
    (KeyboardInterrupt, "interrupted"),
    (Stopped, "stopped"),
    (RunStopped, "stopped"),
    (ValueError, "failed"),
]


@pytest.mark.parametrize(("exc_type", "state"), ENDINGS)
def test_exit_sets_the_final_state(exc_type, state, clock):
    model = started_model(clock)
    clock.now = 1.5
    model.__exit__(exc_type, exc_type and exc_type(), None)
    snapshot = model.snapshot()
    assert (model.state, snapshot["state"], snapshot["elapsed"]) == (state, state, 1.5)


@pytest.mark.parametrize(("exc_type", "state"), ENDINGS)
def test_a_run_handle_ends_in_the_state_the_views_show(exc_type, state):
    handle = RunHandle(background=False)
    handle._started()
    handle._finished(exception=exc_type and exc_type())
    assert handle.state == state


def test_finish_validates_and_the_first_finish_wins(clock):
    model = started_model(clock)
    with pytest.raises(ValueError, match="state must be one of"):
        model.finish("running")
    model.finish("stopped")
    model.__exit__(ValueError, ValueError(), None)
    assert model.state == "stopped"


def test_enter_starts_the_clock_and_returns_the_model(clock):
    clock.now = 100.0
    model = ProgressModel(clock=clock)
    with model as entered:
        assert entered is model
        clock.now = 101.0
        assert model.snapshot()["state"] == "running"
        assert model.snapshot()["elapsed"] == 1.0
    assert model.state == "done"


def test_version_moves_on_every_change_only(clock):
    model = ProgressModel(clock=clock)
    versions = [model.version]
    model.__enter__()
    versions.append(model.version)
    model.increment_total(section="run", scope=("f",), amount=1)
    versions.append(model.version)
    model.increment_running(section="run", scope=("f",))
    versions.append(model.version)
    model.snapshot()
    model.instances()
    versions.append(model.version)
    model.increment_failed(section="run", scope=("f",), exception=ValueError())
    versions.append(model.version)
    model.finish("failed")
    versions.append(model.version)
    assert versions == [0, 1, 2, 3, 3, 4, 5]


def test_events_from_many_threads_are_all_counted(clock):
    model = started_model(clock)
    model.increment_total(section="run", scope=("f",), amount=8000)

    def work(n):
        for i in range(1000):
            model.increment_running(section="run", scope=("f",))
            if i % 10:
                model.increment_completed(section="run", scope=("f",))
            else:
                model.increment_failed(section="run", scope=("f",), exception=ValueError(n))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    snapshot = model.snapshot()
    assert rows(snapshot)[1][2:6] == [8000, 7200, 0, 800]
    assert snapshot["failures"]["count"] == 800


# ----- failures -----


def test_a_call_error_is_grouped_by_its_cause_with_both_tracebacks(clock):
    model = started_model(clock)
    clock.now = 2.0
    cause = raise_and_catch(KeyError("missing"))
    model.increment_failed(section="run", scope=("s", "m.f"), exception=CallErrorLike(cause))
    clock.now = 3.0
    model.increment_failed(section="run", scope=("s", "m.f"), exception=CallErrorLike(cause))
    snapshot = model.snapshot()
    check_snapshot(snapshot)
    (group,) = snapshot["failures"]["groups"]
    assert group == {
        "id": 0,
        "section": "run",
        "node": 2,
        "scope": ["s", "m.f"],
        "type": "KeyError",
        "message": "'missing'",
        "count": 2,
        "first": 2.0,
        "last": 3.0,
        "instances": [0, 1],
        "scopes": [],  # one scope: no breakdown
        "scopes_omitted": 0,
    }
    first = model.instances()[0]
    assert first["id"] == 0
    assert first["group"] == 0
    assert first["time"] == 2.0
    assert first["traceback"].startswith("Traceback (most recent call last):")
    assert first["traceback"].endswith("KeyError: 'missing'")
    assert "raise_and_catch" in first["traceback"]
    assert first["symbolic"] == (
        'Symbolic traceback (most recent call last):\n  File "plan.py", line 3, in <module>'
    )


def test_a_plain_exception_is_its_own_cause(clock):
    model = started_model(clock)

    class Custom(Exception):
        call = "looks like a CallError but has no __cause__"

    model.increment_failed(section="run", scope=("f",), exception=Custom("boom"))
    (group,) = model.snapshot()["failures"]["groups"]
    assert group["type"] == f"{__name__}.{Custom.__qualname__}"
    assert model.instances()[0]["symbolic"] == ""
    assert model.instances()[0]["traceback"].endswith("Custom: boom")


def test_failures_group_by_section_type_and_message_pattern_across_scopes(clock):
    model = started_model(clock)
    for section, scope, error in [
        ("run", ("f",), ValueError("a")),
        ("run", ("f",), ValueError("a")),
        ("run", ("f",), ValueError("b")),
        ("run", ("f",), KeyError("a")),
        ("run", ("g",), ValueError("a")),
        ("stale", ("f",), ValueError("a")),
    ]:
        model.increment_total(section=section, scope=scope, amount=1)
        model.increment_failed(section=section, scope=scope, exception=error)
    model.finish("failed")
    groups = model.snapshot()["failures"]["groups"]
    assert [g["count"] for g in groups] == [3, 1, 1, 1]
    assert [g["id"] for g in groups] == [0, 1, 2, 3]
    assert model.group(3)["section"] == "stale"
    # the group of ValueError("a") spans two scopes: it sits at their common ancestor (the
    # section's root) and breaks its count down per scope, in first-seen order
    assert groups[0]["node"] == 0
    assert groups[0]["scope"] == []
    assert groups[0]["scopes"] == [[1, 2], [2, 1]]  # [row, count]: f twice, g once


def test_one_error_raised_in_sibling_scopes_makes_one_group_under_their_parent(clock):
    model = started_model(clock)
    for region in range(9):
        scope = ("customers", f"region {region}", "m.load")
        model.increment_total(section="run", scope=scope, amount=30)
        for n in range(30):
            model.increment_failed(
                section="run", scope=scope, exception=RuntimeError(f"row {n} is bad")
            )
    snapshot = model.snapshot()
    check_snapshot(snapshot)
    (group,) = snapshot["failures"]["groups"]
    assert group["count"] == 270
    assert group["message"] == "row <n> is bad"
    assert group["scope"] == ["customers"]
    assert [count for _, count in group["scopes"]] == [30] * 9
    nodes = snapshot["sections"][0]["nodes"]
    assert _path(nodes, group["scopes"][4][0]) == ["customers", "region 4", "m.load"]


def test_a_group_lists_its_first_scopes_and_counts_the_rest(clock):
    from uberjob.progress._failures import MAX_SCOPES_LISTED

    model = started_model(clock)
    for n in range(MAX_SCOPES_LISTED + 5):
        model.increment_failed(section="run", scope=(f"s{n}",), exception=ValueError("x"))
    (group,) = model.snapshot()["failures"]["groups"]
    assert len(group["scopes"]) == MAX_SCOPES_LISTED
    assert group["scopes"][0] == [1, 1]
    assert group["scopes_omitted"] == 5


def test_groups_keep_their_place_while_live_and_end_largest_first(clock):
    model = started_model(clock, max_groups=2)
    for message, count in (("a", 1), ("b", 3), ("c", 1), ("d", 3)):
        for _ in range(count):
            model.increment_failed(section="run", scope=("f",), exception=ValueError(message))
    failures = model.snapshot()["failures"]
    assert [g["message"] for g in failures["groups"]] == ["a", "b"]
    assert failures["groups_omitted"] == 2
    model.finish("failed")
    failures = model.snapshot()["failures"]
    assert [g["message"] for g in failures["groups"]] == ["b", "d"]
    assert failures["groups_omitted"] == 2
    assert model.group(2)["message"] == "c"


def test_instances_are_bounded_and_counts_keep_growing(clock):
    model = started_model(clock, max_instances=3)
    for n in range(5):
        model.increment_failed(section="run", scope=("f",), exception=ValueError("ab"[n % 2]))
    failures = model.snapshot()["failures"]
    assert (failures["count"], failures["instances_kept"], failures["max_instances"]) == (5, 3, 3)
    assert [g["instances"] for g in failures["groups"]] == [[0, 2], [1]]
    assert [i["id"] for i in model.instances()] == [0, 1, 2]
    assert [i["id"] for i in model.instances(2)] == [2]
    assert model.instances(3) == []


def test_group_keys_are_bounded_by_an_overflow_group_per_section(clock):
    model = started_model(clock, max_group_keys=2)
    for n in range(5):
        model.increment_failed(section="run", scope=("f",), exception=ValueError("abcde"[n]))
    model.increment_failed(section="run", scope=("f",), exception=ValueError("a"))
    model.increment_failed(section="stale", scope=("f",), exception=ValueError("z"))
    snapshot = model.snapshot()
    groups = {(g["section"], g["message"]): g for g in snapshot["failures"]["groups"]}
    overflow = next(g for g in groups.values() if g["section"] == "run" and g["type"] == "(other)")
    assert overflow["count"] == 3
    assert overflow["node"] == 0
    assert overflow["scope"] == []
    assert groups["run", "a"]["count"] == 2
    assert [g["type"] for g in groups.values() if g["section"] == "stale"] == ["(other)"]
    assert snapshot["failures"]["count"] == 7


def test_messages_are_cut_and_hostile_str_is_survived(clock):
    model = started_model(clock)

    class Hostile(Exception):
        def __str__(self):
            raise RuntimeError("no str for you")

    model.increment_failed(section="run", scope=("f",), exception=ValueError("x" * 5000))
    model.increment_failed(section="run", scope=("f",), exception=Hostile())
    groups = model.snapshot()["failures"]["groups"]
    assert len(groups[0]["message"]) == 1000
    assert groups[1]["message"] == "(str() raised RuntimeError)"


def test_huge_tracebacks_are_cut_in_the_middle(clock):
    model = started_model(clock)

    def recurse(n):
        if n == 0:
            raise ValueError("deep " + "y" * 50_000)
        recurse(n - 1)

    try:
        recurse(200)
    except ValueError as error:
        model.increment_failed(section="run", scope=("f",), exception=error)
    text = model.instances()[0]["traceback"]
    assert len(text) < 21_000
    assert text.startswith("Traceback")
    assert "characters omitted" in text
    assert text.endswith("y")


def test_memory_stays_bounded_with_100000_failures(clock):
    model = started_model(clock)
    scopes = [(f"s{n}", "m.f") for n in range(100)]

    def fail(start, stop):
        for n in range(start, stop):
            scope = scopes[n % 100]
            model.increment_running(section="run", scope=scope)
            model.increment_failed(section="run", scope=scope, exception=ValueError(f"bad {n}"))

    tracemalloc.start()
    try:
        fail(0, 1000)
        before = tracemalloc.get_traced_memory()[0]
        fail(1000, 100_000)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 5_000_000
    failures = model.snapshot()["failures"]
    assert failures["count"] == 100_000
    assert failures["instances_kept"] == 100


# ----- fixtures -----


def load_generator():
    spec = importlib.util.spec_from_file_location(
        "make_snapshots", FIXTURES_DIR / "make_snapshots.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator():
    return load_generator()


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_committed_fixtures_equal_what_the_generator_makes(generator, name):
    snapshot, instances = generator.FIXTURES[name]()
    directory = FIXTURES_DIR / "snapshots"
    for suffix, value in ((".json", snapshot), (".instances.json", instances)):
        text = (directory / f"{name}{suffix}").read_text(encoding="utf-8")
        assert text == generator.dumps(value) + "\n", (
            f"{name}{suffix} drifted: run .venv/bin/python tests/fixtures/make_snapshots.py"
        )


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixtures_follow_the_schema(name):
    snapshot = json.loads((FIXTURES_DIR / "snapshots" / f"{name}.json").read_text("utf-8"))
    check_snapshot(snapshot)
    instances = json.loads((FIXTURES_DIR / "snapshots" / f"{name}.instances.json").read_text())
    assert [i["id"] for i in instances] == list(range(len(instances)))
    assert len(instances) == snapshot["failures"]["instances_kept"]
    for instance in instances:
        assert set(instance) == {"id", "group", "time", "message", "traceback", "symbolic"}


def test_the_many_failures_snapshot_stays_under_64_kb():
    snapshot = json.loads((FIXTURES_DIR / "snapshots" / "many_failures.json").read_text())
    # as the widget sends it: compact JSON (its groups' per-scope breakdowns included)
    assert len(json.dumps(snapshot, separators=(",", ":"))) < 64 * 1024
    assert snapshot["failures"]["count"] == 10_000
    assert sum(1 for row in rows(snapshot) if row[1].startswith("jobs.task_")) == 1000


# ----- ModelView -----


class RecordingView(ModelView):
    def __init__(self, clock, **kwargs):
        super().__init__(ProgressModel(clock=clock), clock=clock, **kwargs)
        self.draws = []

    def draw(self, snapshot, final):
        self.draws.append((snapshot["state"], rows(snapshot)[0][2], final))


def test_view_draws_on_enter_throttled_on_change_and_finally_on_exit(clock):
    view = RecordingView(clock)
    with view:
        assert view.draws == [("running", 0, False)]
        view.increment_total(section="run", scope=("f",), amount=1)
        view.tick()  # changed, but too soon
        clock.now = 0.3
        view.tick()
        view.tick()  # nothing changed
        clock.now = 10.0
        view.tick()  # still nothing changed
        view.increment_total(section="run", scope=("f",), amount=1)
        view.tick()
    assert view.draws == [
        ("running", 0, False),
        ("running", 1, False),
        ("running", 2, False),
        ("done", 2, True),
    ]


def test_view_with_a_first_draw_delay_draws_first_at_the_first_tick_that_late(clock):
    view = RecordingView(clock)
    view.first_draw_delay = 0.5
    with view:
        view.increment_total(section="run", scope=("f",), amount=1)
        assert view.draws == []
        clock.now = 0.4
        view.tick()
        assert view.draws == []
        clock.now = 0.5
        view.tick()
        assert view.draws == [("running", 1, False)]
        clock.now = 0.6
        view.increment_total(section="run", scope=("f",), amount=1)
        view.tick()  # changed, but within `interval` of the first draw
    assert view.draws == [("running", 1, False), ("done", 2, True)]


def test_view_with_a_first_draw_delay_draws_a_short_run_once_finally(clock):
    view = RecordingView(clock)
    view.first_draw_delay = 0.5
    with view:
        view.increment_total(section="run", scope=("f",), amount=1)
        clock.now = 0.3
        view.tick()
    assert view.draws == [("done", 1, True)]


def test_view_max_interval_redraws_without_change(clock):
    view = RecordingView(clock)
    view.max_interval = 1.0
    with view:
        clock.now = 0.5
        view.tick()
        clock.now = 1.0
        view.tick()
    assert len(view.draws) == 3


def test_view_forwards_events_to_a_shared_model(clock):
    model = ProgressModel(clock=clock)

    class Quiet(ModelView):
        def draw(self, snapshot, final):
            pass

    view = Quiet(model)
    view.increment_total(section="run", scope=("f",), amount=1)
    view.increment_running(section="run", scope=("f",))
    view.increment_completed(section="run", scope=("f",))
    view.increment_running(section="run", scope=("f",))
    view.increment_failed(section="run", scope=("f",), exception=ValueError())
    assert rows(model.snapshot())[1][2:6] == [1, 1, 0, 1]


class BrokenView(ModelView):
    def draw(self, snapshot, final):
        if final:
            raise RuntimeError("cannot draw")


def test_view_exit_logs_a_broken_draw_instead_of_masking_the_run_error(caplog):
    view = BrokenView()
    with (
        caplog.at_level(logging.ERROR, logger="uberjob.progress._view"),
        pytest.raises(KeyError),
        view,
    ):
        raise KeyError("the run's own error")
    assert "drawing the final progress failed" in caplog.text
    assert view.model.state == "failed"


def test_view_exit_raises_a_broken_draw_after_a_clean_run():
    with pytest.raises(RuntimeError, match="cannot draw"), BrokenView():
        pass


def test_a_view_whose_live_draw_fails_does_not_stop_the_run(caplog):
    import uberjob
    from uberjob.progress import Progress
    from uberjob.progress._view import ModelView

    class Broken(ModelView):
        interval = 0.0
        finals = []

        def draw(self, snapshot, final):
            if not final:
                raise OSError("display went away")
            self.finals.append(snapshot["state"])

    plan = uberjob.Plan()
    calls = [plan.call(abs, -i) for i in range(200)]
    assert uberjob.run(plan, output=calls, progress=Progress(Broken))[199] == 199
    assert Broken.finals == ["done"]
    assert caplog.text.count("drawing progress failed") == 1


def test_a_batch_is_the_same_as_its_events_one_by_one(clock):
    one_by_one = started_model(clock)
    batched = started_model(clock)
    for model in (one_by_one, batched):
        model.increment_total(section="run", scope=("a", "f"), amount=5)
        model.increment_total(section="run", scope=("b", "g"), amount=5)
    for scope in [("a", "f"), ("a", "f"), ("b", "g")]:
        one_by_one.increment_running(section="run", scope=scope)
    batched.record_batch("run", {("a", "f"): 2, ("b", "g"): 1}, {})
    clock.now = 3.0
    for scope in [("a", "f"), ("b", "g")]:
        one_by_one.increment_running(section="run", scope=scope)
    for scope in [("a", "f"), ("a", "f"), ("b", "g")]:
        one_by_one.increment_completed(section="run", scope=scope)
    batched.record_batch("run", {("a", "f"): 1, ("b", "g"): 1}, {("a", "f"): 2, ("b", "g"): 1})
    clock.now = 5.0
    assert one_by_one.snapshot() == batched.snapshot()
    assert by_path(batched.snapshot())[("a", "f")][2:7] == [5, 2, 1, 0, 3.0]


def test_runs_hand_model_views_batches_and_plain_observers_single_events():
    import uberjob
    from uberjob.progress import Progress, ProgressObserver

    class Counting(ProgressObserver):
        def __init__(self):
            self.running = self.completed = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def increment_total(self, *, section, scope, amount):
            pass

        def increment_running(self, *, section, scope):
            self.running += 1

        def increment_completed(self, *, section, scope):
            self.completed += 1

        def increment_failed(self, *, section, scope, exception):
            pass

    class Keep(ModelView):
        last = None

        def draw(self, snapshot, final):
            Keep.last = snapshot

    counting = Counting()
    plan = uberjob.Plan()
    calls = [plan.call(abs, -i) for i in range(500)]
    for progress in (Progress(Keep), [Progress(Keep), Progress(lambda: counting)]):
        uberjob.run(plan, output=calls, max_workers=3, progress=progress)
        root = Keep.last["sections"][-1]["nodes"][0]
        assert root[2:6] == [500, 500, 0, 0]  # the output list's gather is not a call
    assert counting.running == counting.completed == 500


def test_messages_that_differ_only_in_numbers_make_one_group(clock):
    model = started_model(clock)
    for n in (3, 17, 3):
        error = KeyError(f"row {n} at 0x7f{n}")
        model.increment_failed(section="run", scope=("f",), exception=error)
    model.increment_failed(section="run", scope=("f",), exception=KeyError("row missing"))
    model.increment_failed(section="run", scope=("g",), exception=KeyError("row 4 at 0x7f3"))
    model.increment_failed(section="run", scope=("g",), exception=KeyError("row 5 of 6"))
    groups = model.snapshot()["failures"]["groups"]
    assert [(g["scope"], g["message"], g["count"]) for g in groups] == [
        ([], "'row <n> at <n>'", 4),  # one group across scopes f and g
        (["f"], "'row missing'", 1),
        (["g"], "'row 5 of 6'", 1),  # alone in its group: the message as it was
    ]
    assert groups[0]["scopes"] == [[1, 3], [2, 1]]


# ----- activity and what is running (issue 15) -----


def test_activity_counts_finished_calls_per_second_from_the_first_one(clock):
    model = started_model(clock)
    model.increment_total(section="run", scope=("f",), amount=10)
    clock.now = 0.5
    assert "activity" not in model.snapshot()  # nothing finished yet: nothing to say
    model.record_batch("run", {("f",): 3}, {("f",): 3})
    clock.now = 2.25
    model.increment_completed(section="run", scope=("f",))
    model.increment_failed(section="run", scope=("f",), exception=ValueError("x"))
    clock.now = 3.5
    assert model.snapshot()["activity"] == {
        "bucket": 1.0, "completed": [3, 0, 1, 0], "failed": [0, 0, 1, 0],
    }  # fmt: skip


def test_activity_buckets_double_as_the_run_grows_and_never_exceed_120(clock):
    model = started_model(clock)
    model.increment_total(section="run", scope=("f",), amount=1000)
    for second in range(250):  # one completion per second, a failure every 10 s
        clock.now = second + 0.5
        model.increment_completed(section="run", scope=("f",))
        if second % 10 == 0:
            model.increment_failed(section="run", scope=("f",), exception=ValueError("x"))
        activity = model.snapshot()["activity"]
        assert len(activity["completed"]) <= 120
    assert activity["bucket"] == 4.0  # 1 s up to 120 s, 2 s up to 240 s, then 4 s
    assert activity["completed"] == [4] * 62 + [2]
    assert sum(activity["failed"]) == 25
    assert activity["failed"][:8] == [1, 0, 1, 0, 0, 1, 0, 1]  # at 0.5, 10.5, 20.5, 30.5 s
    clock.now = 600.0  # no event for a while: the snapshot still reaches the current bucket
    activity = model.snapshot()["activity"]
    assert activity["bucket"] == 8.0
    assert len(activity["completed"]) == 76
    assert sum(activity["completed"]) == 250
    assert model._activity.width == 4.0  # (a snapshot changes no state)
    model.finish("done")
    clock.now = 1000.0
    assert model.snapshot()["activity"] == activity  # the end time stays


def picture(calls, count=None, stragglers=0, straggler_scopes=()):
    return {
        "count": len(calls) if count is None else count,
        "stragglers": stragglers,
        "calls": calls,
        "straggler_scopes": list(straggler_scopes),
    }


def engine_call(i, scope, elapsed, straggler=False, median=None, stack=None):
    return {
        "id": i, "function": scope[-1], "section": "run", "scope": scope, "elapsed": elapsed,
        "straggler": straggler, "median": median, "stack": stack,
    }  # fmt: skip


def test_running_shows_the_engines_picture_with_rows_and_elapsed_moved_on(clock):
    model = started_model(clock)
    fetch = ("etl", "m.fetch")
    model.increment_total(section="run", scope=("m.setup",), amount=1)
    model.increment_total(section="run", scope=fetch, amount=30)
    assert "running" not in model.snapshot()  # before the engine says anything
    model.record_batch("run", {fetch: 25}, {})
    stack = {"sampled": 40.0, "frames": [], "note": "not available on this executor"}
    calls = [engine_call(7, fetch, 41.0, True, 0.52, stack)]
    calls += [engine_call(100 + k, fetch, 2.0) for k in range(19)]
    version = model.version
    model.record_running(picture(calls, 25, 1, [("run", fetch)]))
    assert model.version > version
    clock.now = 0.25
    snapshot = model.snapshot()
    check_snapshot(snapshot)
    running = snapshot["running"]
    assert running["count"] == 25
    assert running["omitted"] == 5
    assert running["stragglers"] == 1
    assert running["straggler_nodes"] == [["run", 3]]
    first = running["calls"][0]
    assert first == {
        "id": 7, "function": "m.fetch", "section": "run", "node": 3, "scope": ["etl", "m.fetch"],
        "elapsed": 41.25, "straggler": True, "median": 0.52, "stack": stack,
    }  # fmt: skip
    assert running["calls"][1]["elapsed"] == 2.25
    model.finish("failed")
    assert "running" not in model.snapshot()  # nothing is in flight once the run ended
    model.record_running(picture(calls))  # (too late: ignored)
    assert "running" not in model.snapshot()


def test_running_scopes_use_the_runs_scope_labels(clock):
    model = started_model(clock)
    model.scope_labels = {("store", "write"): ("store", "write (written to store)")}
    model.increment_total(section="run", scope=("store", "write"), amount=1)
    model.record_batch("run", {("store", "write"): 1}, {})
    model.record_running(picture([engine_call(0, ("store", "write"), 1.0)]))
    call = model.snapshot()["running"]["calls"][0]
    assert call["scope"] == ["store", "write (written to store)"]
    assert call["function"] == "write"
