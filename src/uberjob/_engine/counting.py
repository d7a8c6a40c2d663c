"""The owner loop's progress counting: each call's start and end, told to the observer once.

Observers that take batches (``ProgressModel.record_batch``) get a turn's starts and completions
counted per scope, at the end of the turn, instead of one call per event. Most calls are seen
once, at their end, as started *and* completed, and they mostly come in runs of one scope (a
layer of calls planned in one loop). So the owner loop keeps the current run in two locals, its
hot path being ``scopes[i] is run_scope`` (identity: no hashing) and ``run_count += 1``, and
hands the run over here when the scope changes (:meth:`ProgressCounter.new_run`) and at the end
of each turn (:meth:`ProgressCounter.flush`). Starts and ends seen apart (a ``START`` event, a
worker's running slot) are counted here at once.

Calls of an :class:`~uberjob._engine.compile.InternalScope` (gathers, unpacks) are never
counted: they are not calls the user planned.

When the observer wants to see what is running, :attr:`ProgressCounter.running` is the run's
:class:`~uberjob._engine.running.RunningTracker`: the starts and ends counted apart are its calls
in flight, and each completed call is counted there once more, per scope and per turn (in a
batch) or one by one (for an observer of single events).
"""

from __future__ import annotations

from uberjob._engine.compile import NO_NODE, InternalScope

__all__ = ["NO_RUN", "ProgressCounter"]

#: The scope of no run: never a call's scope, so a per-event observer's calls never match it.
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
        "batched",
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
        self.batched = self._record_batch is not None
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

    def new_run(self, i: int, run_scope, run_count: int) -> tuple[object, int]:
        """Count call ``i``, started and completed, whose scope is not the current run's.

        Folds the current run into the batch and returns the new run: ``(scope of i, 1)``, or
        the current run unchanged for an internal call, or ``(NO_RUN, 0)`` for a per-event
        observer (told at once).
        """
        scope = self._scopes[i]
        if type(scope) is InternalScope:
            self.internal_done += 1
            return run_scope, run_count
        if self._record_batch is None:
            self._increment_running(section=self._section, scope=scope)
            self._increment_completed(section=self._section, scope=scope)
            if self.running is not None:
                self.running.count_one(scope)
            return NO_RUN, 0
        self._fold(run_scope, run_count)
        return scope, 1

    def count_running_slots(self, running_slots: list[int]) -> None:
        """Count the starts of calls that workers are running and nobody reported yet."""
        counted_start = self.counted_start
        for i in running_slots:
            if i != NO_NODE and not counted_start[i]:
                self.start(i)

    def flush(self, run_scope, run_count: int) -> int:
        """Hand the turn's counts to a batch observer; returns the run's count now (0)."""
        self._fold(run_scope, run_count)
        if self._started or self._finished:
            if self.running is not None and self._finished:
                self.running.count(self._finished)
            self._record_batch(self._section, self._started, self._finished)
            self._started.clear()
            self._finished.clear()
        return 0

    def _fold(self, run_scope, run_count: int) -> None:
        if run_count:
            self._started[run_scope] = self._started.get(run_scope, 0) + run_count
            self._finished[run_scope] = self._finished.get(run_scope, 0) + run_count
