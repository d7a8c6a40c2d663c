"""Countdowns that any thread may advance: exactly one advance, the last, finds it at zero.

The thread dispatcher's workers make a call ready themselves when they finish its last
predecessor, and drop a value when they finish its last reader (threads.py), with no round trip
through the owner. Of the workers that finish a node's predecessors (or readers) at once,
exactly one must see that it was the last. ``itertools.count`` gives that: ``next()`` on it is
one operation in C, atomic under the GIL like the heap operations the workers already rely on
(threads.py refuses to run without the GIL). A countdown of k is ``count(1 - k)``: its k
advances return 1 - k, ..., -1, 0 in some order, and only the last returns 0.

A node with a count of 1 (one predecessor edge, one reader) needs no counter of its own: its one
advance is the last, so it shares ``LAST``, which always returns 0 (so does a node with nothing
to count, which is never advanced). Counters exist only where the count is 2 or more, built once
per run from the compiled counts (``waiting`` for predecessor edges, ``uses`` for argument
edges), which the owner leaves untouched when such a dispatcher runs the calls (owner.py).

The workers inline the advance (one per edge, the hottest code of a run)::

    if not next(counters[s]): ...  # this advance was the last
"""

from __future__ import annotations

import gc
from itertools import count, repeat

__all__ = ["LAST", "NEVER", "counters_for", "is_last"]

#: The countdown of every node with a count of 1 (or nothing to count): each advance is the last.
LAST = repeat(0)
#: A countdown that never ends (the run's output value, which is never dropped).
NEVER = repeat(1)


def counters_for(counts: list[int]) -> list:
    """Per node, its countdown: ``count(1 - c)`` for a count ``c`` of 2 or more, else ``LAST``.

    Made with the cyclic garbage collector paused: the counters are tracked objects, and a few
    thousand young ones set off collections that find nothing (a third of the cost, measured on
    a 20,000-call plan); the owner loop moves them out of the collector's sight with everything
    else it finds alive when the run starts (owner.py, _freeze_existing_objects)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return [count(1 - c) if c > 1 else LAST for c in counts]
    finally:
        if was_enabled:
            gc.enable()


def is_last(counters: list, i: int) -> bool:
    """Advance node ``i``'s countdown; True for the one advance that is the last."""
    return not next(counters[i])
