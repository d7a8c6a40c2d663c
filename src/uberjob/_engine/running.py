"""What is running: the calls in flight, how long the calls of each scope take, the stragglers.

A :class:`RunningTracker` belongs to the owner loop (owner.py) and lives on its thread. It exists
only when the progress observer wants the picture (it has ``record_running``, see
``progress/_observer.py``): ``progress=False`` and observers of the 1.0 protocol pay nothing.

Time. The owner reads the clock once per turn and sets :attr:`RunningTracker.now` to it; a call
that the owner sees start (a ``START`` event, or a worker's running slot, counting.py) is stamped
with the last turn's reading, and so is a call that it sees end. A call that starts and ends
between two readings (nearly every short call on our threads, whose starts are no events) is
never stamped at all: the owner counts it as started and completed at once, and here it is one
more completed call of its scope that took less than a turn, i.e. 0 s. Nothing is done per call
that the owner did not already do.

Durations. Per scope: the completed calls, how many of them took measurable time, and a bounded
uniform sample (``MAX_SAMPLES``, reservoir sampling) of those times, so the median of millions of
calls costs a constant. Failed calls are not durations.

Stragglers (:func:`is_straggler`): a call running longer than ``STRAGGLER_FACTOR`` times the
median duration of the completed calls of its scope, once at least ``MIN_COMPLETED`` completed,
and running for ``MIN_STRAGGLER_SECONDS`` at least (a call that spans two redraws is not one).

The picture. On the owner's tick, :meth:`RunningTracker.update` hands the observer the calls in
flight, longest running first (at most ``MAX_LISTED``), the stragglers among all of them, and the
stacks of the listed stragglers, each sampled every ``SAMPLE_SECONDS`` through the dispatcher's
``sample_stacks`` (threads.py, dask.py; other executors have none: a note says so). The calls in
flight are a dict in the order their starts were stamped, so the longest running are its first
entries and a pass stops at the first call younger than the straggler floor once the list is
full: a tick costs O(listed + calls running longer than the floor). The observer is told only
when the picture changed (elapsed times aside: the observer moves them on by its own clock).
"""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = [
    "MAX_LISTED",
    "MAX_SAMPLES",
    "MIN_COMPLETED",
    "MIN_STRAGGLER_SECONDS",
    "NOT_AVAILABLE",
    "SAMPLE_SECONDS",
    "STRAGGLER_FACTOR",
    "Durations",
    "RunningTracker",
    "is_straggler",
]

#: Calls listed in the picture (the longest running); the others are counted.
MAX_LISTED = 20
#: A straggler runs longer than this many times its scope's median duration...
STRAGGLER_FACTOR = 3.0
#: ...once this many calls of its scope completed...
MIN_COMPLETED = 5
#: ...and for this long at least.
MIN_STRAGGLER_SECONDS = 1.0
#: How often a listed straggler's stack is taken again.
SAMPLE_SECONDS = 2.0
#: Durations kept per scope (a uniform sample of the measured ones) for its median.
MAX_SAMPLES = 64
#: The note of a straggler's stack when the dispatcher cannot take stacks.
NOT_AVAILABLE = "not available on this executor"


def is_straggler(
    elapsed: float, median: float | None, floor: float = MIN_STRAGGLER_SECONDS
) -> bool:
    """Whether a call running for ``elapsed`` seconds is a straggler, ``median`` being the
    median duration of its scope's completed calls (None: fewer than ``MIN_COMPLETED``)."""
    return median is not None and elapsed >= floor and elapsed > STRAGGLER_FACTOR * median


class Durations:
    """How long the completed calls of one scope took: ``completed`` calls, ``timed`` of them
    measurably (the rest took less than a turn: 0 s), a uniform sample of the ``timed``."""

    __slots__ = ("_median", "_rng", "completed", "sample", "timed")

    def __init__(self, rng: random.Random):
        self.completed = 0
        self.timed = 0
        self.sample: list[float] = []
        self._rng = rng
        self._median: float | None = None  # cached; None: not computed since the last change

    def add(self, seconds: float) -> None:
        """One completed call took ``seconds`` (> 0); it is counted by :meth:`count` too."""
        self.timed += 1
        if len(self.sample) < MAX_SAMPLES:
            self.sample.append(seconds)
        else:  # reservoir sampling: every measured duration is kept with the same chance
            slot = self._rng.randrange(self.timed)
            if slot < MAX_SAMPLES:
                self.sample[slot] = seconds
        self._median = None

    def count(self, completed: int) -> None:
        self.completed += completed
        self._median = None

    def median(self) -> float | None:
        """The median duration, or None while fewer than ``MIN_COMPLETED`` calls completed."""
        n = max(self.completed, self.timed)
        if n < MIN_COMPLETED:
            return None
        if self._median is None:
            self._median = _median(n - self.timed, sorted(self.sample), self.timed)
        return self._median


def _median(zeros: int, sample: list[float], timed: int) -> float:
    """The median of ``zeros`` zeros and ``timed`` durations, of which ``sample`` (sorted) is a
    uniform sample."""
    n = zeros + timed

    def at(rank: int) -> float:
        if rank < zeros:
            return 0.0
        return sample[(rank - zeros) * len(sample) // timed]

    if n % 2:
        return at(n // 2)
    return (at(n // 2 - 1) + at(n // 2)) / 2


class RunningTracker:
    """The calls in flight and the durations of one run's section, on the owner's thread.

    :param scopes: Each call's progress scope, by index (``compiled.scopes``).
    :param section: The section the calls are reported in.
    :param record: The observer's ``record_running``: told each new picture.
    :param sampler: The dispatcher's ``sample_stacks`` (None: stacks are not available). Called
        with the calls whose stack is due (maybe none) while listed stragglers run; returns
        ``{call: (frames, note, age)}`` for the stacks it has, ``age`` being how many seconds
        ago each was taken (a sampler may answer a request on a later turn).
    """

    def __init__(
        self,
        scopes: list,
        section: str,
        record: Callable[[dict], None],
        sampler: Callable[[list[int]], dict] | None = None,
    ):
        #: The owner's clock reading of its last turn: the time of the starts and ends it sees.
        self.now = 0.0
        self._scopes = scopes
        self._section = section
        self._record = record
        self._sampler = sampler
        self._floor = MIN_STRAGGLER_SECONDS  # read once (tests may lower them)
        self._sample_seconds = SAMPLE_SECONDS
        self._start: dict[int, float] = {}  # calls in flight -> start, oldest first
        self._durations: dict[tuple, Durations] = {}
        self._rng = random.Random(0)  # the samples' choice: the same in every run
        self._stacks: dict[int, dict] = {}  # the latest stack of each listed straggler
        self._next_sample: dict[int, float] = {}
        self._stack_serial = 0
        self._shown: tuple | None = None  # what the last picture said (elapsed aside)

    # ----- calls (from counting.py and the owner loop) -----

    def started(self, i: int) -> None:
        """Call ``i`` started (seen this turn)."""
        self._start[i] = self.now

    def finished(self, i: int) -> None:
        """Call ``i``, whose start was seen, completed (it is counted by :meth:`count`)."""
        start = self._start.pop(i, None)
        if start is None:
            return
        seconds = self.now - start
        if seconds > 0:
            self._of(self._scopes[i]).add(seconds)
        if i in self._next_sample:
            self._forget(i)

    def failed(self, i: int) -> None:
        """Call ``i`` failed: no longer in flight, and not a duration."""
        if self._start.pop(i, None) is not None and i in self._next_sample:
            self._forget(i)

    def count(self, completed: dict) -> None:
        """``completed[scope]`` calls of each scope completed (every completed call, measured
        or not, is counted here once: the owner's per-turn counts)."""
        for scope, n in completed.items():
            self._of(scope).count(n)

    def count_one(self, scope: tuple) -> None:
        self._of(scope).count(1)

    def _of(self, scope: tuple) -> Durations:
        durations = self._durations.get(scope)
        if durations is None:
            durations = self._durations[scope] = Durations(self._rng)
        return durations

    def _forget(self, i: int) -> None:
        self._next_sample.pop(i, None)
        self._stacks.pop(i, None)

    def median(self, scope: tuple) -> float | None:
        durations = self._durations.get(scope)
        return None if durations is None else durations.median()

    # ----- the picture (on the owner's tick) -----

    def update(self, now: float) -> None:
        """Tell the observer the picture as of ``now`` if it changed."""
        start = self._start
        if not start and self._shown is None:
            return  # nothing ran yet: the picture stays absent
        listed: list[tuple[int, float, bool, float | None]] = []
        straggler_scopes: dict[tuple, None] = {}
        stragglers = 0
        floor, scopes, median_of = self._floor, self._scopes, self.median
        for i, started in start.items():
            elapsed = now - started
            if elapsed < floor and len(listed) >= MAX_LISTED:
                break  # the rest started later still: none of them is a straggler
            scope = scopes[i]
            median = median_of(scope)
            straggler = is_straggler(elapsed, median, floor)
            if straggler:
                stragglers += 1
                straggler_scopes[scope] = None
            if len(listed) < MAX_LISTED:
                listed.append((i, elapsed, straggler, median))
        if stragglers:
            self._take_stacks(now, [entry for entry in listed if entry[2]])
        shown = (
            len(start),
            stragglers,
            tuple((i, straggler, median) for i, _, straggler, median in listed),
            tuple(straggler_scopes),
            self._stack_serial,
        )
        if shown == self._shown:
            return
        self._shown = shown
        section, stacks = self._section, self._stacks
        self._record(
            {
                "count": len(start),
                "stragglers": stragglers,
                "calls": [
                    {
                        "id": i,
                        "function": str(scopes[i][-1]),
                        "section": section,
                        "scope": scopes[i],
                        "elapsed": elapsed,
                        "straggler": straggler,
                        "median": median,
                        "stack": stacks.get(i) if straggler else None,
                    }
                    for i, elapsed, straggler, median in listed
                ],
                "straggler_scopes": [(section, scope) for scope in straggler_scopes],
            }
        )

    def _take_stacks(self, now: float, stragglers: list[tuple]) -> None:
        """Sample the stacks of the listed stragglers that are due (every ``SAMPLE_SECONDS``)."""
        stacks, next_sample, start = self._stacks, self._next_sample, self._start
        due = []
        for i, elapsed, _, _ in stragglers:
            if next_sample.get(i, 0.0) <= now:
                next_sample[i] = now + self._sample_seconds
                if self._sampler is None:
                    if i not in stacks:
                        self._store(i, round(elapsed, 2), [], NOT_AVAILABLE)
                else:
                    due.append(i)
        if self._sampler is None:
            return
        try:
            taken = self._sampler(due)
        except Exception as exception:  # a stack is a hint: never the run's failure
            note = f"the stack could not be taken: {type(exception).__name__}: {exception}"
            taken = {i: ([], note, 0.0) for i in due}
        for i, (frames, note, age) in taken.items():
            started = start.get(i)
            if started is not None:  # (it may have ended since it was asked for)
                self._store(i, round(max(now - started - age, 0.0), 2), frames, note)

    def _store(self, i: int, sampled: float, frames: list, note: str | None) -> None:
        self._stacks[i] = {"sampled": sampled, "frames": frames, "note": note}
        self._next_sample.setdefault(i, 0.0)  # (so that its end forgets the stack)
        self._stack_serial += 1
