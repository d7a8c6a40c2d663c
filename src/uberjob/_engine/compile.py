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

import random
from collections import Counter

from uberjob._plan import PlanStructure
from uberjob._util import fully_qualified_name
from uberjob.graph import Call, Literal, Node

__all__ = ["CompiledPlan", "CycleError", "compile_plan"]


class CycleError(ValueError):
    """The part of the plan that has to run contains a cycle."""


class CompiledPlan:
    """The run-time form of a (pruned) plan. Index ``i`` is a node; see the module docstring."""

    __slots__ = (
        "fns",
        "fuse",
        "kwargs",
        "nodes",
        "output",
        "output_value",
        "positional",
        "refs",
        "scope_totals",
        "scopes",
        "succ",
        "uses",
        "values",
        "waiting",
    )

    def __init__(self):
        self.nodes: list[Node] = []  # index -> node
        self.fns: list = []  # index -> callable, or None for a literal with dependencies
        self.positional: list = []  # index -> positional argument template (tuple or list)
        self.kwargs: list = []  # index -> keyword argument template (dict) or None
        self.refs: list = []  # index -> tuple of (position or name, source index) or ()
        self.succ: list = []  # index -> None, a successor index, or a list of them
        self.waiting: list[int] = []  # index -> number of unfinished predecessor edges
        self.uses: list[int] = []  # index -> number of argument edges that read its value
        self.fuse: list[int] = []  # index -> the successor its worker runs next, or -1
        self.values: list = []  # index -> value once computed (released when no longer used)
        self.scopes: list[tuple] = []  # index -> progress scope (*node.scope, function name)
        self.scope_totals: Counter = Counter()
        self.output: int = -1  # index of the output node, -1 when constant or absent
        self.output_value = None  # the output's value when it is a constant

    def __len__(self) -> int:
        return len(self.nodes)


def _is_constant(node, structure: PlanStructure) -> bool:
    return type(node) is Literal and not structure.dependencies(node)


def _predecessors(node, structure: PlanStructure):
    """The nodes ``node`` waits for: its node arguments, then its explicit dependencies."""
    preds = []
    if type(node) is Call:
        args, kwargs = structure.arguments(node)
        preds.extend(a for a in args if type(a) is Call or type(a) is Literal)
        if kwargs:
            preds.extend(v for v in kwargs.values() if type(v) is Call or type(v) is Literal)
    preds.extend(structure.dependencies(node))
    return preds


def _postorder(roots, structure: PlanStructure) -> list[Node]:
    """Depth-first post-order of everything the roots need; raises CycleError on a cycle."""
    order: list[Node] = []
    state: dict[Node, bool] = {}  # False: on the current path; True: finished
    for root in roots:
        if root in state:
            continue
        state[root] = False
        stack = [(root, iter(_predecessors(root, structure)))]
        while stack:
            node, preds = stack[-1]
            for pred in preds:
                seen = state.get(pred)
                if seen is None:
                    state[pred] = False
                    stack.append((pred, iter(_predecessors(pred, structure))))
                    break
                if seen is False:
                    path = [entry[0] for entry in stack]
                    cycle = path[path.index(pred) :]
                    names = " -> ".join(repr(n) for n in reversed(cycle))
                    raise CycleError(f"The plan contains a cycle: {names} -> {pred!r}.")
            else:
                stack.pop()
                state[node] = True
                order.append(node)
    return order


def _scope_of(node: Node, cache: dict, names: dict) -> tuple:
    fn = node.fn
    try:
        name = names[fn]
    except KeyError:
        name = names[fn] = fully_qualified_name(fn)
    except TypeError:  # an unhashable callable
        name = fully_qualified_name(fn)
    key = (node.scope, name)
    scope = cache.get(key)
    if scope is None:
        scope = cache[key] = (*node.scope, name)
    return scope


def compile_plan(
    structure: PlanStructure,
    roots: list[Node],
    output: Node | None,
    *,
    scheduler: str = "default",
    fuse: bool = True,
) -> CompiledPlan:
    """Compile what ``roots`` need; ``output`` (one of the roots, or None) is kept alive."""
    compiled = CompiledPlan()
    if output is not None and _is_constant(output, structure):
        compiled.output_value = output.value
        roots = [r for r in roots if r is not output]
    order = [n for n in _postorder(roots, structure) if not _is_constant(n, structure)]
    if scheduler == "random":
        random.shuffle(order)
    index = {node: i for i, node in enumerate(order)}
    n = len(order)
    compiled.nodes = order
    fns = compiled.fns = [None] * n
    positional = compiled.positional = [()] * n
    kwargs_list = compiled.kwargs = [None] * n
    refs_list = compiled.refs = [()] * n
    succ = compiled.succ = [None] * n
    waiting = compiled.waiting = [0] * n
    uses = compiled.uses = [0] * n
    compiled.fuse = [-1] * n
    compiled.values = [None] * n
    scopes = compiled.scopes = [()] * n
    scope_cache: dict = {}
    names: dict = {}

    def add_edge(source: int, target: int) -> None:
        current = succ[source]
        if current is None:
            succ[source] = target
        elif type(current) is int:
            succ[source] = [current, target]
        else:
            current.append(target)
        waiting[target] += 1

    for i, node in enumerate(order):
        if type(node) is Call:
            fns[i] = node.fn
            scopes[i] = _scope_of(node, scope_cache, names)
            args, kwargs = structure.arguments(node)
            refs = []
            template = None
            for position, arg in enumerate(args):
                kind = type(arg)
                if kind is Call or kind is Literal:
                    if template is None:
                        template = list(args)
                    j = index.get(arg)
                    if j is None:  # a constant literal
                        template[position] = arg.value
                    else:
                        refs.append((position, j))
                        add_edge(j, i)
                        uses[j] += 1
            positional[i] = args if template is None else template
            if kwargs:
                kw_template = dict(kwargs)
                for name, arg in kwargs.items():
                    kind = type(arg)
                    if kind is Call or kind is Literal:
                        j = index.get(arg)
                        if j is None:
                            kw_template[name] = arg.value
                        else:
                            refs.append((name, j))
                            add_edge(j, i)
                            uses[j] += 1
                kwargs_list[i] = kw_template
            if refs:
                refs_list[i] = tuple(refs)
        else:  # a literal that waits for dependencies: the owner completes it when ready
            compiled.values[i] = node.value
        for dependency in structure.dependencies(node):
            j = index.get(dependency)
            if j is not None:  # a constant literal dependency is always satisfied
                add_edge(j, i)

    compiled.scope_totals = Counter(scopes[i] for i in range(n) if fns[i] is not None)
    if output is not None and compiled.output_value is None and output in index:
        compiled.output = index[output]
    if fuse:
        _fuse(compiled)
    return compiled


def _fuse(compiled: CompiledPlan) -> None:
    """Mark each call whose single successor edge feeds a call waiting on nothing else."""
    fns, succ, waiting, fuse, uses = compiled.fns, compiled.succ, compiled.waiting, compiled.fuse, compiled.uses
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
