"""The physical plan: the plan with each registered node's store read (and, if stale, written).

For a node ``n`` with store ``s``:

- a call ``type(s).read(s)`` replaces ``n`` as the argument of every consumer of ``n``;
- if ``n`` is stale and stored, a call ``type(s).write(s, n)`` runs first and the read waits for
  it, so consumers see the value as the store gives it back (a tuple through JSON is a list);
- if ``n`` is a stale source, a :data:`Barrier` literal waits for the source's dependencies
  (lesson 4: the call that produces the file) and the read waits for the barrier;
- an explicit dependency on ``n`` becomes a dependency on its write (or barrier) when ``n`` is
  stale, and is dropped when it is fresh (the stored value is already there).

The reads and writes take the scope of the node they replace (plus its function's name), as in
1.0's physical plan; their symbolic traceback is the ``registry.add`` / ``source`` line. Progress
views show them beside the node's own row, as what happened to its value
(:meth:`PhysicalStructure.progress_labels`): ``square (written to store)``, ``square (read from
store)``, or ``square (up to date, read from store)`` when the stored value was fresh and the call
did not run, so a call's row counts calls of the function only.

Nothing is copied: :class:`PhysicalStructure` is an overlay on the plan's structure that the
compiler reads like any other, rewriting the arguments of only the calls it is asked about. The
write calls (and barriers) are the roots that must run even when no output is requested.
:meth:`PhysicalStructure.to_plan` materializes the needed part as a ``Plan`` for ``dry_run``,
``transform_physical`` and ``render``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uberjob._engine.compile import _postorder
from uberjob._plan import Plan, PlanStructure
from uberjob._util import fully_qualified_name
from uberjob._util.graph_type import graph_type
from uberjob._value_store import ValueStore
from uberjob.graph import Call, Dependency, KeywordArg, Literal, Node, PositionalArg

if TYPE_CHECKING:
    from uberjob.graph import Graph

__all__ = ["Barrier", "PhysicalStructure"]


class _BarrierType:
    __slots__ = ()

    def __repr__(self) -> str:
        return "Barrier"

    def __reduce__(self):
        return "Barrier"


Barrier = _BarrierType()
"""The value of the literal that a stale source's read waits for."""


def _is_node(value) -> bool:
    return type(value) is Call or type(value) is Literal


class PhysicalStructure(PlanStructure):
    """A plan structure (``arguments``, ``dependencies``) with the registry's reads and writes.

    It is a :class:`PlanStructure` in its general mode (arguments and dependencies are asked
    for, never read off the calls), so the compiler treats it like a plan in graph mode.
    """

    __slots__ = ("_barrier_source", "_base", "_own_args", "_own_deps", "_read_of", "_registered",
                 "_scopes", "_write_of", "output", "roots")  # fmt: skip

    def __init__(self, base, mapping, members, stale: set, output: Node | None):
        """``members``: the nodes in the plan (a registered node outside it is ignored)."""
        # args={} and a non-empty deps select PlanStructure's general mode; both are unused.
        super().__init__(base.nodes, {}, {None: ()})
        self._base = base
        self._registered = {node: e for node, e in mapping.items() if node in members}
        self._read_of: dict[Node, Call] = {}  # made on demand: only what is read is planned
        self._write_of: dict[Node, Node] = {}  # stale nodes only: their write call or barrier
        self._own_args: dict[Call, tuple] = {}
        self._own_deps: dict[Node, list] = {}
        self._barrier_source: dict[Literal, Node] = {}
        self._scopes: dict = {}  # (scope, function) -> the reads' and writes' shared scope
        roots: list[Node] = []
        for node, entry in self._registered.items():
            if node in stale:
                if entry.is_source:
                    write = Literal(Barrier, scope=node.scope)
                    self._barrier_source[write] = node
                else:
                    store = entry.value_store
                    write = self._new_call(
                        type(store).write, self._scope(node), entry.stack_frame, (store, node)
                    )
                self._write_of[node] = write
                roots.append(write)
        if output is not None and output in self._registered:
            output = self._read(output)
        self.output = output
        self.roots = ([output] if output is not None else []) + roots

    def progress_labels(self) -> dict[tuple, tuple]:
        """How progress views show the reads' and writes' scopes: {the scope the engine
        reports (the node's scope, its function, the store method): the scope to show}."""
        labels: dict[tuple, tuple] = {}
        fresh_reads: dict[tuple, bool] = {}
        for node, read in self._read_of.items():
            reported = (*read.scope, fully_qualified_name(read.fn))
            fresh = node not in self._write_of
            fresh_reads[reported] = fresh_reads.get(reported, True) and fresh
            labels[reported] = node
        for node, write in self._write_of.items():
            if type(write) is Call:
                labels[(*write.scope, fully_qualified_name(write.fn))] = node
        shown = {}
        for reported, node in labels.items():
            if reported in fresh_reads:
                what = "up to date, read from store" if fresh_reads[reported] else "read from store"
            else:
                what = "written to store"
            name = fully_qualified_name(node.fn) if type(node) is Call else "value"
            shown[reported] = (*node.scope, f"{name} ({what})")
        return shown

    def _scope(self, node: Node) -> tuple:
        """The scope of the calls that replace ``node``: its scope and function name."""
        if type(node) is not Call:
            return node.scope
        key = (id(node.scope), id(node.fn))  # both stay alive while the plan does
        scope = self._scopes.get(key)
        if scope is None:
            scope = self._scopes[key] = (*node.scope, fully_qualified_name(node.fn))
        return scope

    def _read(self, node: Node) -> Call:
        """The call that reads the store of ``node`` (after its write, when it is stale)."""
        read = self._read_of.get(node)
        if read is None:
            entry = self._registered[node]
            store = entry.value_store
            read = self._new_call(type(store).read, self._scope(node), entry.stack_frame, (store,))
            self._read_of[node] = read
            write = self._write_of.get(node)
            if write is not None:
                self._own_deps[read] = [write]
        return read

    def _new_call(self, fn, scope, stack_frame, args: tuple) -> Call:
        call = Call(fn, scope=scope, stack_frame=stack_frame)
        call._args = args
        self._own_args[call] = (args, None)
        return call

    def arguments(self, call: Call) -> tuple[tuple, dict | None]:
        own = self._own_args.get(call)
        if own is not None:
            return own
        args, kwargs = self._base.arguments(call)
        registered = self._registered
        for arg in args:
            if _is_node(arg) and arg in registered:
                args = tuple(self._read(a) if _is_node(a) and a in registered else a for a in args)
                break
        if kwargs:
            for value in kwargs.values():
                if _is_node(value) and value in registered:
                    kwargs = {
                        k: self._read(v) if _is_node(v) and v in registered else v
                        for k, v in kwargs.items()
                    }
                    break
        return args, kwargs

    def dependencies(self, node: Node) -> list[Node]:
        own = self._own_deps.get(node)
        if own is not None:
            return own
        if type(node) is Literal and node in self._barrier_source:
            source = self._barrier_source[node]
            args, kwargs = self.arguments(source) if type(source) is Call else ((), None)
            preds = [a for a in args if _is_node(a)]
            preds.extend(v for v in (kwargs or {}).values() if _is_node(v))
            return [*preds, *self._redirect(self._base.dependencies(source))]
        return self._redirect(self._base.dependencies(node))

    def _redirect(self, deps) -> list[Node]:
        if not deps:
            return deps
        registered, write_of = self._registered, self._write_of
        if not any(d in registered for d in deps):
            return deps
        # On a stored node: wait for its write when it is stale; nothing to wait for when fresh.
        kept = [d for d in deps if d not in registered or d in write_of]
        return [write_of[d] if d in registered else d for d in kept]

    def to_plan(self, roots: list[Node] | None = None) -> Plan:
        """What ``roots`` (default: the output and the writes) need, as a plan in graph mode."""
        order, _ = _postorder(self.roots if roots is None else roots, self)
        graph = graph_type()()
        graph.add_nodes_from(order)
        stores: dict = {}  # a store's read and write share one literal, as in 1.0
        for node in order:
            if type(node) is Call:
                args, kwargs = self.arguments(node)
                for index, arg in enumerate(args):
                    source = _as_node(graph, arg, node, stores)
                    graph.add_edge(source, node, PositionalArg(index))
                for index, (name, arg) in enumerate((kwargs or {}).items()):
                    source = _as_node(graph, arg, node, stores)
                    graph.add_edge(source, node, KeywordArg(name, index))
            for dependency in self.dependencies(node):
                graph.add_edge(dependency, node, Dependency())
        plan = Plan()
        plan.graph = graph
        return plan


def _as_node(graph: Graph, value, call: Call, stores: dict) -> Node:
    if _is_node(value):
        return value
    key = (id(value), call.scope) if isinstance(value, ValueStore) else None
    literal = stores.get(key) if key is not None else None
    if literal is None:
        literal = Literal(value, scope=call.scope)
        graph.add_node(literal)
        if key is not None:
            stores[key] = literal
    return literal
