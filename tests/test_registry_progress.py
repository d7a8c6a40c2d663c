"""What a registry run shows: computed, written, read from the store, up to date, apart."""

from __future__ import annotations

import pytest

import uberjob
from uberjob._util import fully_qualified_name
from uberjob.progress import Progress
from uberjob.progress._view import ModelView
from uberjob.stores import JsonFileStore


def square(x):
    return x * x


SQUARE = fully_qualified_name(square)


class Keep(ModelView):
    last: dict | None = None

    def draw(self, snapshot, final):
        Keep.last = snapshot


def run_rows(snapshot) -> dict[str, list]:
    (run,) = [s for s in snapshot["sections"] if s["key"] == "run"]
    return {row[1]: row[2:6] for row in run["nodes"]}


@pytest.fixture
def squares(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan, registry = uberjob.Plan(), uberjob.Registry()
    with plan.scope("squares"):
        calls = [plan.call(square, i) for i in range(4)]
    for i, call in enumerate(calls):
        registry.add(call, JsonFileStore(f"{i}.json"))
    return plan, registry, plan.call(sum, calls)


def test_a_first_run_shows_computed_written_and_read_apart(squares):
    plan, registry, total = squares
    assert uberjob.run(plan, registry=registry, output=total, progress=Progress(Keep)) == 14
    rows = run_rows(Keep.last)
    assert rows["squares"] == [12, 12, 0, 0]
    assert rows[SQUARE] == [4, 4, 0, 0]  # calls of square, not its reads and writes
    assert rows[f"{SQUARE} (written to store)"] == [4, 4, 0, 0]
    assert rows[f"{SQUARE} (read from store)"] == [4, 4, 0, 0]
    assert not any("JsonFileStore" in name for name in rows)  # no private store paths


def test_a_rerun_that_computes_nothing_says_up_to_date(squares):
    plan, registry, total = squares
    uberjob.run(plan, registry=registry, output=total, progress=False)
    assert uberjob.run(plan, registry=registry, output=total, progress=Progress(Keep)) == 14
    rows = run_rows(Keep.last)
    assert SQUARE not in rows  # nothing computed
    assert f"{SQUARE} (written to store)" not in rows
    assert rows[f"{SQUARE} (up to date, read from store)"] == [4, 4, 0, 0]


def test_the_observer_protocol_keeps_1_0_scopes(squares):
    """Only uberjob's own views relabel; a 1.0 observer sees the scopes 1.0 reported."""
    plan, registry, total = squares
    seen = set()

    class Record(uberjob.progress.ProgressObserver):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def increment_total(self, *, section, scope, amount):
            seen.add((section, scope))

        def increment_running(self, *, section, scope):
            pass

        def increment_completed(self, *, section, scope):
            pass

        def increment_failed(self, *, section, scope, exception):
            pass

    uberjob.run(plan, registry=registry, output=total, progress=Progress(Record))
    write = fully_qualified_name(JsonFileStore.write)
    assert ("run", ("squares", SQUARE, write)) in seen


def test_the_stale_check_counts_no_gather_helpers(squares):
    plan, registry, total = squares
    uberjob.run(plan, registry=registry, output=total, progress=Progress(Keep))
    (stale,) = [s for s in Keep.last["sections"] if s["key"] == "stale"]
    names = [row[1] for row in stale["nodes"]]
    assert not any(name.startswith("uberjob._builtins") for name in names), names
    assert stale["nodes"][0][2:4] == [5, 5]  # 4 squares and the sum: calls the user planned
