"""The owner loop's progress counting: each call's start and end, told to the observer once.

Most calls are seen once, at their end, as started *and* completed. The owner loop's hot path
counts those of the current *run scope* in a local (``scopes[i] is run_scope``: identity, no
hashing; ``run_count += 1``) and appends the others' indices to a list; at the end of each turn
and before a failure it hands both over (:meth:`ProgressCounter.flush`), which counts the list
per scope with ``collections.Counter`` (in C) and makes the scope of the list's last call the
next run scope. A layer of calls of one scope costs the local increment; calls whose neighbours
have other scopes (a plan built in a loop over scopes) an append each, with no method call per
call. Observers that take batches (``ProgressModel.record_batch``) then get the turn's starts and
completions per scope in one call; others have no run scope and get one call per event, in
order. Starts and ends seen apart (a ``START`` event, a worker's running slot) are counted here
at once.

Calls of an :class:`~uberjob._engine.compile.InternalScope` (gathers, unpacks) are never
counted: they are not calls the user planned.

When the observer wants to see what is running, :attr:`ProgressCounter.running` is the run's
:class:`~uberjob._engine.running.RunningTracker`: the starts and ends counted apart are its calls
in flight, and each completed call is counted there once more, per scope and per turn (in a
batch) or one by one (for an observer of single events).
"""

from __future__ import annotations

from collections import Counter

from uberjob._engine.compile import NO_NODE, InternalScope

__all__ = ["NO_RUN", "ProgressCounter"]

#: The scope of no run: never a call's scope (a per-event observer's run scope, always).
NO_RUN = object()


class ProgressCounter:
    """Counts a run's starts and completions for one observer (the owner's thread only)."""

    __slots__ = (
        "_finished",
        "_increment_completed",
        "_increment_running",
        "_record_batch",
        "_scopes",
        "_section",
        "_started",
        "counted_start",
        "internal_done",
        "running",
    )

    def __init__(self, observer, scopes: list, section: str):
        self._scopes = scopes
        self._section = section
        self._increment_running = observer.increment_running
        self._increment_completed = observer.increment_completed
        self._record_batch = getattr(observer, "record_batch", None)
        self._started: dict[tuple, int] = {}
        self._finished: dict[tuple, int] = {}
        #: counted_start[i]: call i's start is counted (it is never counted twice).
        self.counted_start = bytearray(len(scopes))
        #: Completed calls of an InternalScope, which the run's completed count leaves out.
        self.internal_done = 0
        #: The run's RunningTracker, or None (running.py): set by the owner loop.
        self.running = None

    def start(self, i: int) -> None:
        """Count the start of call ``i``, seen before its end."""
        self.counted_start[i] = 1
        scope = self._scopes[i]
        if type(scope) is InternalScope:
            return
        if self.running is not None:
            self.running.started(i)
        if self._record_batch is None:
            self._increment_running(section=self._section, scope=scope)
        else:
            self._started[scope] = self._started.get(scope, 0) + 1

    def finish(self, i: int) -> None:
        """Count the end of call ``i``, whose start was counted on its own."""
        scope = self._scopes[i]
        if type(scope) is InternalScope:
            self.internal_done += 1
            return
        running = self.running
        if running is not None:
            running.finished(i)
        if self._record_batch is None:
            self._increment_completed(section=self._section, scope=scope)
            if running is not None:
                running.count_one(scope)
        else:
            self._finished[scope] = self._finished.get(scope, 0) + 1

    def count_running_slots(self, running_slots: list[int]) -> None:
        """Count the starts of calls that workers are running and nobody reported yet."""
        counted_start = self.counted_start
        for i in running_slots:
            if i != NO_NODE and not counted_start[i]:
                self.start(i)

    def flush(self, seen_once: list[int], run_scope, run_count: int):
        """Count ``run_count`` calls of ``run_scope`` and the calls in ``seen_once`` (each seen
        at its end only: started and completed), empty the list, hand the turn's counts to a
        batch observer; return the next run scope (see the module docstring)."""
        if run_count:
            self._count_batch({run_scope: run_count})
        if seen_once:
            if self._record_batch is None:
                for i in seen_once:
                    self._count_one(i)
            else:
                self._count_batch(Counter(map(self._scopes.__getitem__, seen_once)))
                run_scope = self._scopes[seen_once[-1]]
            seen_once.clear()
        if self._started or self._finished:
            if self.running is not None and self._finished:
                self.running.count(self._finished)
            self._record_batch(self._section, self._started, self._finished)
            self._started.clear()
            self._finished.clear()
        return run_scope

    def _count_one(self, i: int) -> None:
        """A per-event observer: call ``i`` started and completed."""
        scope = self._scopes[i]
        if type(scope) is InternalScope:
            self.internal_done += 1
            return
        self._increment_running(section=self._section, scope=scope)
        self._increment_completed(section=self._section, scope=scope)
        if self.running is not None:
            self.running.count_one(scope)

    def _count_batch(self, counts: dict) -> None:
        started, finished = self._started, self._finished
        for scope, count in counts.items():
            if type(scope) is InternalScope:
                self.internal_done += count
                continue
            started[scope] = started.get(scope, 0) + count
            finished[scope] = finished.get(scope, 0) + count
