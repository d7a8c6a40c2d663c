"""Countdowns that any thread may advance: exactly one advance, the last, finds it at zero.

The thread dispatcher's workers make a call ready themselves when they finish its last
predecessor, and drop a value when they finish its last reader (threads.py), with no round trip
through the owner. Of the workers that finish a node's predecessors (or readers) at once,
exactly one must see that it was the last. ``itertools.count`` gives that: ``next()`` on it is
one operation in C, atomic under the GIL like the heap operations the workers already rely on
(threads.py refuses to run without the GIL), so the k advances of a countdown of k return 1, 2,
..., k in some order and only one of them returns k.

A node with a count of 1 (one predecessor edge, one reader) needs no counter: its one advance is
the last. Counters exist only where the count is 2 or more, built once per run from the compiled
counts (``waiting`` for predecessor edges, ``uses`` for argument edges), which the owner leaves
untouched when such a dispatcher runs the calls (owner.py).

The workers inline the advance (one per edge, the hottest code of a run)::

    c = counts[s]
    if c == 1 or next(counters[s]) == c: ...  # this advance was the last
"""

from __future__ import annotations

import gc
from itertools import count

__all__ = ["counters_for", "is_last"]


def counters_for(counts: list[int]) -> list:
    """One counter per node whose count is 2 or more (``None`` elsewhere): see above.

    Made with the cyclic garbage collector paused: the counters are tracked objects, a few
    thousand young ones set off collections that find nothing (a third of the cost, measured on
    a 20,000-call plan); the owner loop moves them out of the collector's sight with everything
    else it finds alive when the run starts (owner.py, _freeze_existing_objects)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return [count(1) if c > 1 else None for c in counts]
    finally:
        if was_enabled:
            gc.enable()


def is_last(counts: list[int], counters: list, i: int) -> bool:
    """Advance node ``i``'s countdown; True for the one advance that is the last."""
    c = counts[i]
    return c == 1 or next(counters[i]) == c
