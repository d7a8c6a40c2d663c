"""Compiling a plan into flat arrays that the owner loop and the workers index by integer.

Only what the roots (the output, plus whatever a registry needs) depend on is compiled: that is
the pruning. Nodes are numbered in depth-first post-order from the roots, which is exactly the
order a sequential evaluation would finish them in; the default scheduler runs the ready node with
the smallest number, so it finishes branches before it starts new ones and values are released
early. The ``random`` scheduler numbers nodes in a random order instead (readiness is tracked by
counts, so any numbering is valid).

A literal without dependencies is not a node at run time: its value is copied into the argument
templates of its consumers. A call whose only successor edge is an argument of a call with no
other predecessor is *fused* with it: the worker that finishes the first runs the second right
away, without a round trip through the owner thread (this is what makes long chains cheap).
"""

from __future__ import annotations

import functools
import gc
import random
import threading
from collections import Counter

from uberjob._builtins import INTERNAL_FUNCTIONS
from uberjob._plan import PlanStructure
from uberjob._util import fully_qualified_name
from uberjob.graph import Call, Literal, Node

__all__ = ["NO_NODE", "CompiledPlan", "CycleError", "InternalScope", "compile_plan", "postorder"]

#: An index that names no node: no fused successor, no output (a constant or none), a worker
#: that has not started a call yet. Indices are >= 0, so ``i >= 0`` tests for a node.
NO_NODE = -1


class InternalScope(tuple):
    """The progress scope of a call the user did not plan (a gather, an unpack: _builtins.py).

    Such calls are left out of ``scope_totals`` and the owner never counts them (owner.py): a
    run's counts are the user's calls. A distinct type, so that the owner tells them apart by
    one ``type(scope) is InternalScope`` where a set lookup would hash the tuple."""

    __slots__ = ()


class CycleError(ValueError):
    """The part of the plan that has to run contains a cycle.

    Every instance is also a ``networkx.HasACycle``, the exception 1.0 raised, so code written
    for 1.0 (``except nx.HasACycle``) still catches it. networkx is imported only when a cycle
    is raised (``import uberjob`` does not import it): ``CycleError(...)`` makes an instance of
    a subclass of both, created on first use.
    """

    def __new__(cls, *args, **kwargs):
        if cls is CycleError:
            cls = _networkx_cycle_error()
        return super().__new__(cls, *args, **kwargs)

    def __reduce__(self):
        return CycleError, self.args


@functools.cache
def _networkx_cycle_error() -> type:
    import networkx

    return type(
        "CycleError",
        (CycleError, networkx.HasACycle),
        {"__module__": __name__, "__qualname__": "CycleError", "__doc__": CycleError.__doc__},
    )


class CompiledPlan:
    """The run-time form of a (pruned) plan. Index ``i`` is a node; see the module docstring."""

    __slots__ = (
        "calls",
        "fns",
        "fuse",
        "in_order",
        "internal_calls",
        "kwargs",
        "nodes",
        "output",
        "output_value",
        "positional",
        "preds",
        "refs",
        "scope_totals",
        "scopes",
        "slots",
        "succ",
        "uses",
        "values",
        "waiting",
    )

    def __init__(self):
        self.nodes: list[Node] = []  # index -> node
        self.fns: list = []  # index -> callable, or None for a literal with dependencies
        # index -> positional argument template (tuple or list): plain values in place, and
        # whatever stands where a ref's value goes (ignored when slots[i] is None)
        self.positional: list = []
        self.kwargs: list = []  # index -> keyword argument template (dict) or None
        # index -> tuple of the source indices whose values are arguments, in argument order
        self.refs: list = []
        # index -> tuple of every predecessor index (argument sources and explicit dependencies);
        # the same list as refs when the plan has no explicit dependencies
        self.preds: list = []
        # index -> None when the positional arguments are exactly the refs' values, in order,
        # and the keyword arguments hold none (the common case: no template to copy); else a
        # tuple parallel to refs of positions (int) into the positional template and names
        # (str) into the keyword one
        self.slots: list = []
        self.succ: list = []  # index -> None, a successor index, or a list of them
        self.waiting: list[int] = []  # index -> number of unfinished predecessor edges
        self.uses: list[int] = []  # index -> number of argument edges that read its value
        self.fuse: list[int] = []  # index -> the successor its worker runs next, or NO_NODE
        self.values: list = []  # index -> value once computed (released when no longer used)
        self.scopes: list[tuple] = []  # index -> progress scope (*node.scope, function name)
        self.scope_totals: Counter = Counter()
        self.calls = 0  # nodes with a function (the rest: literals with dependencies, known values)
        self.internal_calls = 0  # calls of an InternalScope (gathers, unpacks): not in scope_totals
        self.output: int = NO_NODE  # index of the output node (NO_NODE: a constant or none)
        self.output_value = None  # the output's value when it is a constant
        #: Every predecessor has a lower index than its successors (the depth-first numbering;
        #: not after the random scheduler's renumbering): index order is a valid run order.
        self.in_order = True

    def __len__(self) -> int:
        return len(self.nodes)

    def ref_slots(self, i: int):
        """Pairs ``(position or name, source index)`` of node ``i``'s argument values."""
        refs = self.refs[i]
        slots = self.slots[i]
        return zip(range(len(refs)) if slots is None else slots, refs, strict=True)

    def arguments(self, i: int) -> tuple[tuple, dict | None]:
        """Node ``i``'s positional and keyword arguments, from the values computed so far."""
        args, kwargs, values = self.positional[i], self.kwargs[i], self.values
        refs = self.refs[i]
        if not refs:
            return tuple(args), kwargs
        slots = self.slots[i]
        if slots is None:
            return tuple(map(values.__getitem__, refs)), kwargs
        args = list(args)
        kwargs = dict(kwargs) if kwargs is not None else None
        for key, j in zip(slots, refs, strict=True):
            if type(key) is int:
                args[key] = values[j]
            else:
                kwargs[key] = values[j]
        return tuple(args), kwargs


_numbering_lock = threading.Lock()  # nodes carry one compile's numbering at a time


def postorder(roots, structure: PlanStructure) -> tuple[list[Node], dict[Node, int]]:
    """Depth-first post-order of everything the roots need (constant literals left out), and
    each node's position in it.

    :raises CycleError: naming the nodes on a cycle.
    """
    order: list[Node] = []

    def finish(node) -> None:
        node._index = len(order)
        order.append(node)

    with _numbering_lock:
        _number_postorder(roots, structure, finish, object())
    return order, {node: position for position, node in enumerate(order)}


def _number_postorder(roots, structure: PlanStructure, finish, epoch) -> None:
    """Call ``finish(node)`` for everything the roots need, each after everything it waits for
    (depth-first post-order; constant literals left out).

    Each node's state is kept on the node: ``node._epoch is epoch`` once it is seen, then
    ``node._index`` is -1 while it is on the path and what ``finish`` sets after.

    A dict of 10^5 nodes is a few MB that every edge looks up at random; the nodes are touched
    anyway. ``finish(node)`` must set ``node._index``. Callers hold ``_numbering_lock``.

    :raises CycleError: naming the nodes on a cycle.
    """
    deps_of = structure.dependencies
    children_of = structure.children
    for root in roots:
        if root._epoch is epoch or (type(root) is Literal and not deps_of(root)):
            continue
        root._epoch = epoch
        root._index = -1
        stack = [(root, iter(children_of(root)))]
        while stack:
            node, children = stack[-1]
            for child in children:
                kind = type(child)
                if kind is not Call and (kind is not Literal or not deps_of(child)):
                    continue  # a plain value or a constant literal: nothing to wait for
                if child._epoch is not epoch:
                    child._epoch = epoch
                    grandchildren = children_of(child)
                    if not grandchildren:  # a leaf: finished at once, no stack frame needed
                        finish(child)
                        continue
                    child._index = -1
                    stack.append((child, iter(grandchildren)))
                    break
                if child._index < 0:
                    path = [entry[0] for entry in stack]
                    cycle = path[path.index(child) :]
                    names = " -> ".join(repr(n) for n in reversed(cycle))
                    raise CycleError(f"The graph contains a cycle. Cycle: {names} -> {child!r}.")
            else:
                stack.pop()
                finish(node)


def _without_cyclic_gc(function):
    """Run ``function`` with the cyclic garbage collector paused.

    Compiling allocates a few containers per node and frees none: the collector would scan the
    growing heap again and again (a fifth of the time at 10^6 nodes) and find nothing. What it
    made lives as long as the run, so it goes straight to the oldest generation (see
    _promote_young_objects) instead of being scanned by the first collections after it.
    """

    @functools.wraps(function)
    def paused(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if was_enabled:
                _promote_young_objects()
                gc.enable()

    return paused


def _promote_young_objects() -> None:
    """Move every object the collector tracks to its oldest generation, scanning none.

    ``gc.freeze()`` moves them all to the permanent generation (and resets the count that
    triggers the next collection); ``gc.unfreeze()`` puts them in the oldest one. Left young,
    the compiled arrays (~5 containers per node) would be scanned by the next young collection
    and again by the middle one: at 200,000 nodes that cost a tenth of a no-op run. Skipped when
    someone else froze objects, since unfreeze would thaw theirs.
    """
    if not gc.get_freeze_count():
        gc.freeze()
        gc.unfreeze()


@_without_cyclic_gc
def compile_plan(
    structure: PlanStructure,
    roots: list[Node],
    output: Node | None,
    *,
    scheduler: str = "default",
    fuse: bool = True,
    known: dict[Node, object] | None = None,
) -> CompiledPlan:
    """Compile what ``roots`` need; ``output`` (one of the roots, or None) is kept alive.

    ``known`` (a resumed run: ``{node: value}`` of calls that completed before) stops the walk:
    a known node is compiled as a value that is already there, like a literal that waits for
    nothing, and what it needed is not compiled (unless something else needs it)."""
    if known:
        structure = _KnownStructure(structure, known)
    compiled = CompiledPlan()
    deps_of = structure.dependencies
    arguments = structure.arguments
    compact = structure.compact
    has_deps = structure.has_dependencies
    fns, positional, kwargs_list, refs_list = (
        compiled.fns,
        compiled.positional,
        compiled.kwargs,
        compiled.refs,
    )
    slots_list = compiled.slots
    preds_list = compiled.preds
    interned_slots: dict[tuple, tuple] = {}  # nodes with the same layout share one tuple
    succ, waiting, uses, values, scopes = (
        compiled.succ,
        compiled.waiting,
        compiled.uses,
        compiled.values,
        compiled.scopes,
    )
    # Progress scopes are looked up by the identity of the node's scope tuple and function (both
    # stay alive while we compile): hashing scope tuples over and over would cost more. Equal
    # scopes made by different `with plan.scope(...)` blocks still share one interned tuple.
    scope_cache: dict[tuple[int, int], tuple] = {}
    names: dict[int, str] = {}
    interned: dict[tuple, tuple] = {}
    internal: dict[tuple, tuple] = {}  # the InternalScope ones (equal tuples, another type)

    def intern_scope(node_scope: tuple, fn) -> tuple:
        name = names.get(id(fn))
        if name is None:
            name = names[id(fn)] = fully_qualified_name(fn)
        scope = (*node_scope, name)
        if fn in INTERNAL_FUNCTIONS:
            scope = InternalScope(scope)
            return internal.setdefault(scope, scope)
        return interned.setdefault(scope, scope)

    # Each node's number is kept on the node (see _number_postorder), valid while node._epoch
    # is this compile's: two slot reads instead of a dict lookup per edge.
    epoch = object()

    def link(j: int, i: int) -> None:
        current = succ[j]
        if current is None:
            succ[j] = i
        elif type(current) is int:
            succ[j] = [current, i]
        else:
            current.append(i)

    order: list[Node] = compiled.nodes

    def finish(node) -> None:
        i = node._index = len(fns)
        order.append(node)
        succ.append(None)
        if has_deps:
            uses.append(0)
        refs = None  # source indices, in argument order
        if type(node) is not Call:  # a literal that waits for dependencies
            fns.append(None)
            positional.append(())
            kwargs_list.append(None)
            refs_list.append(())
            slots_list.append(None)
            values.append(node.value)
            scopes.append(())
        else:
            fn = node.fn
            fns.append(fn)
            values.append(None)
            key = (id(node.scope), id(fn))
            scope = scope_cache.get(key)
            if scope is None:
                scope = scope_cache[key] = intern_scope(node.scope, fn)
            scopes.append(scope)
            if compact:
                args, kwargs = node._args, node._kwargs
            else:
                args, kwargs = arguments(node)
            slots = None  # positions (and names) of the refs, when not simply 0, 1, 2, ...
            template = None  # a copy of args, once a constant literal's value goes in
            for position, arg in enumerate(args):
                kind = type(arg)
                if kind is Call or kind is Literal:
                    if arg._epoch is not epoch:  # a constant literal: its value goes in
                        if slots is None:
                            slots = list(range(len(refs))) if refs else []
                        if template is None:
                            template = args = list(args)
                        template[position] = arg.value
                        continue
                    if refs is None:
                        refs = []
                    refs.append(arg._index)
                    if slots is not None:
                        slots.append(position)
                elif slots is None:  # a plain value among the arguments
                    slots = list(range(len(refs))) if refs else []
            positional.append(args)
            if kwargs:
                kwargs = dict(kwargs)
                for name, arg in kwargs.items():
                    kind = type(arg)
                    if kind is Call or kind is Literal:
                        if arg._epoch is not epoch:
                            kwargs[name] = arg.value
                        else:
                            if refs is None:
                                refs = []
                            if slots is None:
                                slots = list(range(len(refs)))
                            refs.append(arg._index)
                            slots.append(name)
            kwargs_list.append(kwargs or None)
            if refs:
                refs_list.append(tuple(refs))
                if slots is None:
                    slots_list.append(None)
                else:
                    slots = tuple(slots)
                    slots_list.append(interned_slots.setdefault(slots, slots))
            else:
                refs_list.append(())
                slots_list.append(None)
        count = 0
        if refs:
            count = len(refs)
            if has_deps:  # else uses are counted from succ at the end (see below)
                for j in refs:
                    uses[j] += 1
            for j in refs:
                current = succ[j]  # link(j, i), inlined: this is the hottest loop of compiling
                if current is None:
                    succ[j] = i
                elif type(current) is int:
                    succ[j] = [current, i]
                else:
                    current.append(i)
        if has_deps:
            before = refs or ()
            sources = None
            for dependency in deps_of(node):
                if dependency._epoch is epoch:  # a constant literal one is always satisfied
                    link(dependency._index, i)
                    count += 1
                    if sources is None:
                        sources = list(before)
                    sources.append(dependency._index)
            preds_list.append(tuple(before) if sources is None else tuple(sources))
        waiting.append(count)

    if known:
        finish = _finishing_known(finish, known, compiled, has_deps)
    # A node finishes after everything it waits for: finish() can look all of them up.
    with _numbering_lock:
        _number_postorder(roots, structure, finish, epoch)
    if not has_deps:
        compiled.preds = compiled.refs  # every predecessor edge is an argument edge
        # Every successor edge is an argument edge, so a node's readers are its successors:
        # counted in one pass in index order instead of one increment at random per edge.
        compiled.uses = [0 if s is None else 1 if type(s) is int else len(s) for s in succ]
    compiled.scope_totals = Counter(scopes)  # counted in C, not one += per node
    # Literals that wait for dependencies and known values (scope ()) are not calls.
    compiled.calls = len(order) - compiled.scope_totals.pop((), 0)
    # nor are gathers and unpacks (counted apart: what a run without progress subtracts)
    compiled.internal_calls = sum(compiled.scope_totals.pop(s, 0) for s in internal.values())
    compiled.fuse = [NO_NODE] * len(order)
    if output is not None:
        if type(output) is Literal and not deps_of(output):
            compiled.output_value = output.value
        else:
            compiled.output = output._index if output._epoch is epoch else NO_NODE
    if scheduler == "random":
        _permute(compiled, random.sample(range(len(order)), len(order)))
    if fuse:
        _fuse(compiled)
    return compiled


class _KnownStructure:
    """A plan structure in which the ``known`` nodes wait for nothing (a resumed run)."""

    __slots__ = ("arguments", "children", "compact", "dependencies", "has_dependencies", "nodes")

    def __init__(self, structure, known: dict):
        self.nodes = structure.nodes
        self.compact = structure.compact
        self.has_dependencies = structure.has_dependencies
        self.arguments = structure.arguments
        dependencies, children = structure.dependencies, structure.children
        self.dependencies = lambda node: () if node in known else dependencies(node)
        self.children = lambda node: () if node in known else children(node)


def _finishing_known(finish, known: dict, compiled: CompiledPlan, has_deps: bool):
    """``finish`` that compiles a known node as its value: no function, no arguments, nothing
    to wait for; the owner completes it at once and its readers read the value."""

    def finish_known_or_not(node) -> None:
        if node not in known:
            finish(node)
            return
        node._index = len(compiled.fns)
        compiled.nodes.append(node)
        compiled.succ.append(None)
        compiled.fns.append(None)
        compiled.positional.append(())
        compiled.kwargs.append(None)
        compiled.refs.append(())
        compiled.slots.append(None)
        compiled.values.append(known[node])
        compiled.scopes.append(())
        compiled.waiting.append(0)
        if has_deps:
            compiled.uses.append(0)
            compiled.preds.append(())

    return finish_known_or_not


def _permute(compiled: CompiledPlan, new_of: list[int]) -> None:
    """Renumber the nodes: node ``i`` becomes ``new_of[i]`` (the random scheduler)."""
    n = len(new_of)
    compiled.in_order = False

    def moved(items: list) -> list:
        result = [None] * n
        for i, item in enumerate(items):
            result[new_of[i]] = item
        return result

    compiled.refs = [tuple(new_of[j] for j in refs) for refs in compiled.refs]
    if compiled.preds is not compiled.refs:
        compiled.preds = [tuple(new_of[j] for j in preds) for preds in compiled.preds]
    else:
        compiled.preds = compiled.refs
    compiled.succ = [
        None if s is None else new_of[s] if type(s) is int else [new_of[t] for t in s]
        for s in compiled.succ
    ]
    same_preds = compiled.preds is compiled.refs
    for name in ("nodes", "fns", "positional", "kwargs", "refs", "slots", "succ", "waiting",
                 "uses", "values", "scopes"):  # fmt: skip
        setattr(compiled, name, moved(getattr(compiled, name)))
    compiled.preds = compiled.refs if same_preds else moved(compiled.preds)
    if compiled.output != NO_NODE:
        compiled.output = new_of[compiled.output]


def _fuse(compiled: CompiledPlan) -> None:
    """Mark each call whose single successor edge feeds a call waiting on nothing else."""
    fns, succ, waiting = compiled.fns, compiled.succ, compiled.waiting
    fuse, uses = compiled.fuse, compiled.uses
    for j, target in enumerate(succ):
        if (
            type(target) is int
            and waiting[target] == 1
            and uses[j] == 1
            and fns[j] is not None
            and fns[target] is not None
        ):
            fuse[j] = target
            succ[j] = None  # the worker, not the owner, starts the target
            waiting[target] = -1  # never "ready" for the owner: its predecessor's worker runs it
