"""``ProgressModel``: the one pure, thread-safe model of a run's progress.

Every view (console, HTML report, widget) observes a run through a model and draws its
*snapshot* (a JSON-able dict, see ``docs/snapshot-schema.md``) on its own schedule.

Cost model. Each event does O(1) work under one lock: it bumps the counters of its own leaf row
only. Roll-ups over the scope tree happen at snapshot time, in O(rows + groups).

What is running and activity (``docs/snapshot-schema.md``, both optional keys). The engine hands
the model its picture of the calls in flight (:meth:`ProgressModel.record_running`, on the owner's
tick, only when it changed); a snapshot moves their elapsed times on by the model's own clock
since then, and a finished run has no ``running`` key (nothing is in flight any more). Activity
counts finished calls per time bucket of the run, O(1) per event: at most ``MAX_BUCKETS``
buckets, whose width doubles (pairs of buckets merge) whenever the run outgrows them.

Uniform-share profiling. Elapsed time is split evenly among the calls running at each moment.
Instead of touching every running scope on every event, the model keeps the running integral
``I(t) = ∫ dt / running_count(t)`` over all running calls of the run. A row remembers the value of
``I`` when its own running count last changed; when the count changes again it settles
``time += (I_now - I_then) * count``. A snapshot settles lazily without changing any state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from uberjob.progress._failures import FailureLog, describe_failure
from uberjob.progress._observer import ProgressObserver, final_state

__all__ = ["MAX_BUCKETS", "SCHEMA_VERSION", "SECTION_TITLES", "ProgressModel"]

SCHEMA_VERSION = 1
SECTION_TITLES = {"stale": "Determining stale value stores", "run": "Running graph"}
_FINAL_STATES = frozenset({"done", "failed", "interrupted", "stopped"})
#: Activity buckets at most; the first are 1 s wide.
MAX_BUCKETS = 120
FIRST_BUCKET_SECONDS = 1.0


class _Activity:
    """Calls completed and failed per time bucket since the run started (bounded)."""

    __slots__ = ("completed", "failed", "width")

    def __init__(self):
        self.width = FIRST_BUCKET_SECONDS
        self.completed: list[int] = []
        self.failed: list[int] = []

    def add(self, elapsed: float, completed: int, failed: int) -> None:
        index = int(elapsed / self.width)
        while index >= MAX_BUCKETS:  # the run outgrew the buckets: twice as wide, half as many
            self.completed, self.failed = _pairs(self.completed), _pairs(self.failed)
            self.width *= 2
            index = int(elapsed / self.width)
        missing = index + 1 - len(self.completed)
        if missing > 0:
            self.completed += [0] * missing
            self.failed += [0] * missing
        self.completed[index] += completed
        self.failed[index] += failed

    def to_json(self, elapsed: float) -> dict:
        """The buckets up to the one holding ``elapsed`` (the last: the current one)."""
        width, completed, failed = self.width, self.completed.copy(), self.failed.copy()
        index = int(elapsed / width)
        while index >= MAX_BUCKETS:
            completed, failed = _pairs(completed), _pairs(failed)
            width *= 2
            index = int(elapsed / width)
        missing = index + 1 - len(completed)
        if missing > 0:
            completed += [0] * missing
            failed += [0] * missing
        return {"bucket": width, "completed": completed, "failed": failed}


def _pairs(counts: list[int]) -> list[int]:
    """Each two neighbouring buckets as one."""
    return [sum(counts[k : k + 2]) for k in range(0, len(counts), 2)]


class _Section:
    """One section's scope tree as parallel lists indexed by row (row 0 is the root)."""

    __slots__ = (
        "children",
        "completed",
        "failed",
        "key",
        "marks",
        "names",
        "parents",
        "running",
        "times",
        "title",
        "total",
    )

    def __init__(self, key: str):
        self.key = key
        self.title = SECTION_TITLES.get(key, key)
        self.parents = [-1]
        self.names = [self.title]
        # The row's *own* counters (not rolled up): only leaves of some scope have non-zero ones.
        self.total = [0]
        self.completed = [0]
        self.running = [0]
        self.failed = [0]
        self.times = [0.0]  # settled uniform-share seconds of the row's own calls
        self.marks = [0.0]  # the integral I when the row's own running count last changed
        self.children: dict[tuple[int, str], int] = {}

    def row_of(self, scope: tuple) -> int:
        """The row of ``scope``, creating it and its missing ancestors (first-seen order)."""
        row = 0
        for value in scope:
            name = str(value)
            child = self.children.get((row, name))
            if child is None:
                child = len(self.parents)
                self.children[(row, name)] = child
                self.parents.append(row)
                self.names.append(name)
                for counters in (self.total, self.completed, self.running, self.failed):
                    counters.append(0)
                self.times.append(0.0)
                self.marks.append(0.0)
            row = child
        return row

    def path(self, row: int) -> list[str]:
        """The names from the root's child down to ``row``."""
        names = []
        while row > 0:
            names.append(self.names[row])
            row = self.parents[row]
        return names[::-1]

    def rows(self, integral_now: float) -> list[list]:
        """Rolled-up rows ``[parent, name, total, completed, running, failed, time]``."""
        parents = self.parents
        total = self.total.copy()
        completed = self.completed.copy()
        running = self.running.copy()
        failed = self.failed.copy()
        times = [
            acc + (integral_now - mark) * count if count else acc
            for acc, mark, count in zip(self.times, self.marks, self.running, strict=True)
        ]
        # Parents precede children, so one backward pass rolls every subtree up.
        for row, parent in zip(range(len(parents) - 1, 0, -1), parents[:0:-1], strict=True):
            total[parent] += total[row]
            completed[parent] += completed[row]
            running[parent] += running[row]
            failed[parent] += failed[row]
            times[parent] += times[row]
        times = [round(t, 2) for t in times]
        return [
            list(row)
            for row in zip(
                parents, self.names, total, completed, running, failed, times, strict=True
            )
        ]


class ProgressModel(ProgressObserver):
    """The pure, thread-safe state of one run's progress; views draw its :meth:`snapshot`.

    :param max_instances: How many failures keep their full traceback text.
    :param max_group_keys: How many distinct failure groups are kept before further ones land in
        a per-section overflow group.
    :param max_groups: How many groups a snapshot lists (largest first).
    :param clock: Returns monotonic seconds; injectable so tests can check the arithmetic.
    """

    def __init__(
        self,
        *,
        max_instances: int = 100,
        max_group_keys: int = 1000,
        max_groups: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._clock = clock
        self._lock = threading.Lock()
        self._max_groups = max_groups
        self._failures = FailureLog(max_instances=max_instances, max_group_keys=max_group_keys)
        self._sections: dict[str, _Section] = {}
        # (section key, scope) -> (section, row): the O(1) path from an event to its leaf row.
        self._leaves: dict[tuple[str, tuple], tuple[_Section, int]] = {}
        self._state = "pending"
        self._start: float | None = None
        self._end: float | None = None
        self._finished_calls = 0
        self._running_calls = 0
        self._integral = 0.0  # I(t) as of self._integral_time
        self._integral_time = 0.0
        self._version = 0
        self._activity = _Activity()
        self._any_finished = False
        # The engine's latest picture of what is running and the model's time it came at.
        self._running: tuple[dict, float] | None = None
        #: {scope as reported: scope as shown} for the "run" section (a run's handle fills it:
        #: a registry's store reads and writes show as what happened to a value). Read once per
        #: distinct scope, when its row is made.
        self.scope_labels: dict[tuple, tuple] = {}
        #: A resumed run's ``{"count", "reused", "refreshed"}`` (the run's handle fills it:
        #: ``RunHandle.resumed``); the snapshot's ``resumed`` once it has a count.
        self.resumed: dict = {}

    # ----- lifecycle -----

    def __enter__(self):
        with self._lock:
            self._start = self._integral_time = self._clock()
            self._state = "running"
            self._version += 1
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.finish(final_state(exc_type))

    def finish(self, state: str) -> None:
        """End the run in ``state`` (done, failed, interrupted or stopped); the first call wins."""
        if state not in _FINAL_STATES:
            raise ValueError(f"state must be one of {sorted(_FINAL_STATES)}; got {state!r}.")
        with self._lock:
            if self._state in _FINAL_STATES:
                return
            now = self._clock()
            self._advance_integral(now)
            if self._start is None:
                self._start = now
            self._end = now
            self._state = state
            self._running = None  # nothing is in flight once the run ended
            self._version += 1

    def resume(self) -> None:
        """The run goes on in a resumed run (the same model, the same widget): what completed
        stays, with the totals that it completed (the resumed run adds the totals of what it
        runs again); failures, running calls and activity are cleared (failures that happen
        again come back); the "stale" section starts over (a resumed run checks the stores
        again); the state is ``pending`` until ``__enter__`` starts it again, with its own
        elapsed time."""
        with self._lock:
            for sec in self._sections.values():
                if sec.key == "stale":
                    counters = (sec.total, sec.completed, sec.running, sec.failed)
                else:
                    sec.total[:] = sec.completed
                    counters = (sec.running, sec.failed)
                for values in counters:
                    values[:] = [0] * len(values)
            self._failures = FailureLog(
                max_instances=self._failures.max_instances,
                max_group_keys=self._failures.max_group_keys,
            )
            self._running_calls = 0
            self._finished_calls = 0
            # The resumed attempt has its own clock: its activity and calls in flight start over.
            self._activity = _Activity()
            self._any_finished = False
            self._running = None
            self._state = "pending"
            self._start = self._end = None
            self._version += 1

    @property
    def state(self) -> str:
        return self._state

    @property
    def version(self) -> int:
        """Increments on every change; views redraw only when it moved."""
        return self._version

    # ----- events (thread-safe, O(1)) -----

    def increment_total(self, *, section: str, scope: tuple, amount: int):
        with self._lock:
            sec, row = self._leaf(section, scope)
            sec.total[row] += amount
            self._version += 1

    def increment_running(self, *, section: str, scope: tuple):
        with self._lock:
            self._advance_integral(self._clock())
            self._start_calls(self._leaf(section, scope), 1)
            self._version += 1

    def increment_completed(self, *, section: str, scope: tuple):
        with self._lock:
            now = self._clock()
            self._advance_integral(now)
            self._finish_calls(self._leaf(section, scope), 1)
            self._count_activity(now, 1, 0)
            self._version += 1

    def record_batch(self, section: str, started: dict, completed: dict) -> None:
        """``started[scope]`` calls started and ``completed[scope]`` calls completed, all now.

        The same as that many ``increment_running`` then ``increment_completed`` calls, at the
        cost of one per *scope*: the engine's owner loop counts a turn's events per scope and
        hands them over at once (uberjob 2's extension of the observer protocol).
        """
        with self._lock:
            now = self._clock()
            self._advance_integral(now)
            leaf = self._leaf
            for scope, count in started.items():
                self._start_calls(leaf(section, scope), count)
            finished = 0
            for scope, count in completed.items():
                self._finish_calls(leaf(section, scope), count)
                finished += count
            if finished:
                self._count_activity(now, finished, 0)
            self._version += 1

    def record_running(self, picture: dict) -> None:
        """What is running now, as the engine's owner loop sees it (the ``record_running``
        hook of ``progress/_observer.py``); the next snapshots show it as their ``running``
        key, elapsed times moved on by this model's clock. Ignored once the run ended."""
        with self._lock:
            if self._state in _FINAL_STATES:
                return
            self._running = (picture, self._clock())
            self._version += 1

    def _start_calls(self, leaf: tuple[_Section, int], count: int) -> None:
        sec, row = leaf
        self._settle(sec, row)
        sec.running[row] += count
        self._running_calls += count

    def _finish_calls(self, leaf: tuple[_Section, int], count: int) -> None:
        sec, row = leaf
        running = sec.running[row]
        if running:
            self._settle(sec, row)
            ended = min(count, running)
            sec.running[row] = running - ended
            self._running_calls -= ended
        sec.completed[row] += count
        self._finished_calls += count

    def _settle(self, sec: _Section, row: int) -> None:
        """Credit the row its share of the integral since its running count last changed."""
        integral = self._integral
        sec.times[row] += (integral - sec.marks[row]) * sec.running[row]
        sec.marks[row] = integral

    def increment_failed(self, *, section: str, scope: tuple, exception: BaseException):
        # Formatting text is the costly part; it happens outside the lock, and only while the
        # model may still keep instances (a stale read of that bound is harmless).
        failure = describe_failure(exception, with_traceback=not self._failures.instances_full)
        with self._lock:
            sec, row = self._leaf(section, scope)
            if sec.running[row] > 0:
                self._advance_integral(self._clock())
                self._settle(sec, row)
                sec.running[row] -= 1
                self._running_calls -= 1
            sec.failed[row] += 1
            self._finished_calls += 1
            now = self._clock()
            self._failures.add(sec, row, failure, self._elapsed(now))
            self._count_activity(now, 0, 1)
            self._version += 1

    # ----- views -----

    def snapshot(self) -> dict:
        """The whole current picture as a JSON-able dict (``docs/snapshot-schema.md``)."""
        with self._lock:
            now = self._end if self._end is not None else self._clock()
            integral_now = self._integral_at(now)
            elapsed = self._elapsed(now)
            sections = [
                {"key": sec.key, "title": sec.title, "nodes": sec.rows(integral_now)}
                for sec in self._ordered_sections()
            ]
            groups = self._failures.groups
            live = self._state not in _FINAL_STATES
            listed = self._failures.listed(self._max_groups, live=live)
            snapshot = {
                "schema": SCHEMA_VERSION,
                "state": self._state,
                "elapsed": round(elapsed, 3),
                "rate": round(self._finished_calls / elapsed, 1) if elapsed > 0 else 0.0,
                "sections": sections,
                "failures": {
                    "count": self._failures.count,
                    "groups": [self._group_json(group) for group in listed],
                    "groups_omitted": len(groups) - len(listed),
                    "instances_kept": len(self._failures.instances),
                    "max_instances": self._failures.max_instances,
                },
                **({"resumed": dict(self.resumed)} if self.resumed else {}),
            }
            if self._running is not None:
                snapshot["running"] = self._running_json(now)
            if self._any_finished:
                snapshot["activity"] = self._activity.to_json(elapsed)
            return snapshot

    def instances(self, start: int = 0) -> list[dict]:
        """The kept failure instances with ``id >= start`` (ids are dense from 0).

        The dicts are shared with the model and never change once made: treat them as read-only.
        """
        with self._lock:
            return self._failures.instances[max(start, 0) :]

    def group(self, group_id: int) -> dict:
        """One failure group as listed in a snapshot, even when the snapshot omits it."""
        with self._lock:
            return self._group_json(self._failures.groups[group_id])

    def _group_json(self, group) -> dict:
        return group.to_json()

    # ----- internals (callers hold the lock) -----

    def _count_activity(self, now: float, completed: int, failed: int) -> None:
        self._any_finished = True
        self._activity.add(self._elapsed(now), completed, failed)

    def _running_json(self, now: float) -> dict:
        picture, recorded_at = self._running
        later = max(now - recorded_at, 0.0)  # the calls have run this much longer since
        calls = []
        for call in picture["calls"]:
            sec, row = self._leaf(call["section"], call["scope"])
            median = call["median"]
            calls.append(
                {
                    "id": call["id"],
                    "function": call["function"],
                    "section": sec.key,
                    "node": row,
                    "scope": sec.path(row),
                    "elapsed": round(call["elapsed"] + later, 2),
                    "straggler": call["straggler"],
                    "median": None if median is None else round(median, 3),
                    "stack": call["stack"],
                }
            )
        nodes = []
        for section, scope in picture["straggler_scopes"]:
            sec, row = self._leaf(section, scope)
            nodes.append([sec.key, row])
        return {
            "count": picture["count"],
            "stragglers": picture["stragglers"],
            "calls": calls,
            "omitted": picture["count"] - len(calls),
            "straggler_nodes": nodes,
        }

    def _leaf(self, section: str, scope: tuple) -> tuple[_Section, int]:
        leaf = self._leaves.get((section, scope))
        if leaf is None:
            sec = self._sections.get(section)
            if sec is None:
                sec = self._sections[section] = _Section(section)
            shown = self.scope_labels.get(scope, scope) if section == "run" else scope
            leaf = self._leaves[(section, scope)] = (sec, sec.row_of(shown))
        return leaf

    def _advance_integral(self, now: float) -> None:
        self._integral = self._integral_at(now)
        self._integral_time = now

    def _integral_at(self, now: float) -> float:
        if self._running_calls and self._state == "running":
            return self._integral + (now - self._integral_time) / self._running_calls
        return self._integral

    def _elapsed(self, now: float) -> float:
        return 0.0 if self._start is None else max(now - self._start, 0.0)

    def _ordered_sections(self) -> list[_Section]:
        # "stale" first and only once it has work; "run" always; unknown sections after them.
        ordered = []
        stale = self._sections.get("stale")
        if stale is not None and any(stale.total):
            ordered.append(stale)
        ordered.append(self._sections.get("run") or _Section("run"))
        ordered += [s for key, s in self._sections.items() if key not in ("stale", "run")]
        return ordered
