"""The frontier of a run that did not finish: what a resumed run needs of it.

The owner loop writes one flag per call where it processes the call's end (``done[i]``: the
event's kind, ``DONE`` or ``DONE_NEXT``; literals that waited for dependencies are ``DONE`` when
they are completed). When the run ends failed, stopped or interrupted, :func:`kept_frontier`
keeps, by plan node, exactly the completed nodes that a node not completed still waits for:

- with their value when that node reads it (an argument);
- with ``None`` when it only waits for it (an explicit dependency): nothing to keep but the fact.

Everything else of the compiled plan is released with it. A resumed run compiles the plan with
these nodes as known values (``compile_plan(..., known=...)``): the walk stops at them.

What a completed node may have lost, and so must run again:

- a fused call's value (``DONE_NEXT``): the worker drops it before it runs the fused successor,
  its only reader (threads.py), so unless that successor completed too it is gone;
- on an interrupt, the arguments of the calls still running on our threads: a worker that
  finishes such a call drops the values whose readers have all finished, and the owner may not
  have seen that end. They are read from ``running_slots`` before and after the values are
  copied, so a drop that happened before the copy is always seen.

On Dask the kept values are the futures themselves (the data stays on the cluster); their slots
in ``values`` are emptied so that the dispatcher's clean-up at the end of the run does not release
them. Whoever keeps the frontier releases them (``RunHandle.discard``).
"""

from __future__ import annotations

from uberjob._engine.compile import NO_NODE
from uberjob._engine.owner import DONE_NEXT

__all__ = ["kept_frontier"]


def kept_frontier(compiled, done: bytearray, running_slots=None) -> dict:
    """``{node: value}`` of the completed nodes that a node not completed waits for."""
    n = len(compiled)
    if not n:
        return {}
    unsafe = _running(running_slots)
    values = compiled.values[:]  # one atomic copy: workers may still drop values (interrupt)
    unsafe |= _running(running_slots)
    refs, preds, fuse, nodes, output = (
        compiled.refs,
        compiled.preds,
        compiled.fuse,
        compiled.nodes,
        compiled.output,
    )
    lost: set[int] = set()
    for c in unsafe:
        lost.update(refs[c])

    def usable(j: int) -> bool:
        kind = done[j]
        if not kind or j in lost:
            return False
        if kind == DONE_NEXT and j != output:
            following = fuse[j]
            return following != NO_NODE and done[following] != 0
        return True

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
        compiled.values[j] = None
    return kept


def _running(running_slots) -> set[int]:
    if not running_slots:
        return set()
    return {i for i in list(running_slots) if i != NO_NODE}
