"""The frontier of a run that did not finish: what a resumed run needs of it.

The owner loop writes one flag per call where it processes the call's end (``done[i]``: the
event's kind, ``DONE`` or ``DONE_NEXT``; literals that waited for dependencies are ``DONE`` when
they are completed). When the run ends failed, stopped or interrupted, :func:`kept_frontier`
keeps, by plan node, exactly the completed nodes that a node not completed still waits for:

- with their value when that node reads it (an argument);
- with ``None`` when it only waits for it (an explicit dependency): nothing to keep but the fact.

Everything else of the compiled plan is released with it. A resumed run compiles the plan with
these nodes as known values (``compile_plan(..., known=...)``): the walk stops at them.

A fused call's value (``DONE_NEXT``) is dropped by its worker before it runs the fused
successor, its only reader (threads.py). It is not needed when that successor is not run again;
when the successor failed, its worker put the value back (``restored``); otherwise the fused call
runs again, and so on back along the fused chain.

An interrupt ends the owner loop at once, with calls still running and ends reported that it
did not process. The frontier is then taken once those calls have ended (on our threads, a
thread of the handle waits for the workers, which start nothing new: ``RunHandle``), after the
ends they reported are settled (:func:`settle_ends`): then ``done``, the workers' drops of values
whose readers all finished, and the values are consistent.

On Dask the kept values are the futures themselves (the data stays on the cluster); their slots
in ``values`` are emptied so that the dispatcher's clean-up at the end of the run does not release
them. Whoever keeps the frontier releases them (``RunHandle.discard``).
"""

from __future__ import annotations

from queue import Empty

from uberjob._engine.compile import NO_NODE
from uberjob._engine.owner import DONE, DONE_NEXT, MASK, SHIFT

__all__ = ["kept_frontier", "settle_ends"]


def settle_ends(done: bytearray, events) -> None:
    """Mark the ends reported but not processed (the run was interrupted)."""
    while True:
        try:
            event = events.get_nowait()
        except Empty:
            return
        kind = event & MASK
        if kind in (DONE, DONE_NEXT):
            done[event >> SHIFT] = kind


def kept_frontier(compiled, done: bytearray, restored=()) -> dict:
    """``{node: value}`` of the completed nodes that a node not completed waits for."""
    n = len(compiled)
    if not n:
        return {}
    values = compiled.values
    refs, preds, fuse, nodes, output = (
        compiled.refs,
        compiled.preds,
        compiled.fuse,
        compiled.nodes,
        compiled.output,
    )
    verdict = bytearray(n)  # 0: not decided, 1: usable, 2: runs again

    def usable(j: int) -> bool:
        """Completed, with its value if anything will read it: not run again."""
        if verdict[j]:
            return verdict[j] == 1
        chain = []  # DONE_NEXT calls whose fate is their fused successor's
        k = j
        while True:
            kind = done[k]
            if verdict[k]:
                result = verdict[k] == 1
                break
            if not kind:
                result = False
                break
            if kind != DONE_NEXT or k == output or k in restored or fuse[k] == NO_NODE:
                result = True
                break
            chain.append(k)
            k = fuse[k]
        verdict[k] = 1 if result else 2
        for c in chain:
            verdict[c] = verdict[k]
        return result

    needed: dict[int, bool] = {}  # index -> whether a node not completed reads its value
    for i in range(n):
        if usable(i):
            continue
        reads = refs[i]
        for j in preds[i]:
            if usable(j):
                needed[j] = needed.get(j, False) or j in reads
    if output != NO_NODE and usable(output):
        needed[output] = True
    kept = {nodes[j]: values[j] if read else None for j, read in needed.items()}
    for j in needed:  # (see the module docstring: Dask's clean-up must not release them)
        values[j] = None
    return kept
