"""The :class:`Plan`: a symbolic call graph, built cheaply.

A plan keeps a compact store (see docs/ARCHITECTURE.md): nodes in an ordered dict, each planned
call's gathered arguments on the call itself, explicit dependencies in a dict. Building a call
costs a couple of microseconds, not the tens that networkx would. ``plan.graph`` turns the plan
into a :class:`networkx.MultiDiGraph` for 1.0 code that reads or edits it; from then on that graph
is the truth (``graph mode``) and later calls are added to it directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain
from typing import TYPE_CHECKING, Any

from uberjob import _builtins
from uberjob._util.binding import assert_can_bind
from uberjob._util.graph_type import graph_type
from uberjob._util.stack import get_stack_frame
from uberjob._util.validation import assert_is_instance
from uberjob.graph import Call, Dependency, KeywordArg, Literal, Node, PositionalArg

if TYPE_CHECKING:
    from uberjob.graph import Graph

__all__ = ["Plan", "PlanStructure", "gather_node", "graph_node", "is_node", "plan_structure"]

_GATHER = {
    list: _builtins.gather_list,
    tuple: _builtins.gather_tuple,
    set: _builtins.gather_set,
    dict: _builtins.gather_dict,
}
_NODE_TYPES = (Call, Literal)


def _check_scope_values(values: tuple) -> None:
    """Scopes are keys of the progress tree (and interned here): each value must be hashable."""
    for value in values:
        try:
            hash(value)
        except TypeError:
            raise TypeError(
                "Scope values must be hashable (a str, int, tuple, ...); got "
                f"{type(value).__name__} ({value!r:.80})."
            ) from None


def is_node(value) -> bool:
    """Whether ``value`` is a plan node (exact types, as 1.0 decides)."""
    return type(value) in _NODE_TYPES


def gather_node(plan: Plan, stack_frame, value) -> Node:
    """``value`` as one node of ``plan``: a node as it is, a structure holding nodes as a gather
    call, anything else as a new literal. ``plan.gather`` and ``run``'s ``output`` are this."""
    gathered = plan._gather_argument(stack_frame, value)
    return gathered if type(gathered) in _NODE_TYPES else plan.lit(gathered)


def graph_node(graph: Graph, value, call: Call) -> Node:
    """An argument of ``call`` as a node of ``graph``: a node as it is, any other value as a new
    :class:`Literal` in the call's scope, added to ``graph`` (how an inline argument becomes an
    edge in ``plan.graph``, its copies and the registry's physical plan)."""
    if type(value) in _NODE_TYPES:
        return value
    literal = Literal(value, scope=call.scope)
    graph.add_node(literal)
    return literal


class Plan:
    """A symbolic call graph."""

    def __init__(self) -> None:
        self._nodes: dict[Node, None] = {}
        self._deps: dict[Node, list[Node]] = {}
        self._graph: Graph | None = None
        self._scope: tuple = ()
        self._scope_lock = threading.RLock()
        # Equal scopes share one tuple, so nodes of a loop of `with plan.scope(...)` blocks
        # share their scope object (less memory, and the engine caches by identity).
        self._interned_scopes: dict[tuple, tuple] = {}

    # -- building ----------------------------------------------------------------------------

    def call(self, fn: Callable, /, *args, **kwargs) -> Call:
        """Add a call of ``fn`` to the plan and return its symbolic result.

        Arguments may be nodes or plain values; structures containing nodes are gathered.

        :raises TypeError: when ``fn`` is not callable or the arguments cannot bind to it.
        """
        if not callable(fn):
            raise TypeError(f"fn must be callable; got {type(fn).__name__} ({fn!r:.80}).")
        assert_can_bind(fn, args, kwargs)
        return self._add_call(get_stack_frame(), fn, args, kwargs)

    def _add_call(
        self, stack_frame, fn, args: tuple, kwargs: dict | None, *, nodes_only: bool = False
    ) -> Call:
        """``nodes_only``: every argument is known to be a node (nothing to gather)."""
        call = Call(fn, scope=self._scope, stack_frame=stack_frame)
        if not nodes_only:
            gather = _GATHER
            for arg in args:
                if type(arg) in gather:  # only containers need work; `args` is reused otherwise
                    args = tuple([self._gather_argument(stack_frame, a) for a in args])
                    break
        call._args = args
        if kwargs:
            call._kwargs = {k: self._gather_argument(stack_frame, v) for k, v in kwargs.items()}
        if self._graph is None:
            self._nodes[call] = None
        else:
            self._add_call_to_graph(call)
        return call

    def _gather_argument(self, stack_frame, value):
        """A node, or ``value`` itself when it holds no node (kept inline, no Literal node)."""
        kind = type(value)
        if kind in _NODE_TYPES:
            return value
        gather_fn = _GATHER.get(kind)
        if gather_fn is None:
            return value
        if kind is not dict and value and all(map(_NODE_TYPES.__contains__, map(type, value))):
            # Nodes only (an output list of calls, the common case): nothing to look into, and
            # the test runs in C instead of one call of this method per item.
            return self._add_call(stack_frame, gather_fn, tuple(value), None, nodes_only=True)
        # A dict is gathered from its (key, value) tuples, each gathered when it holds a node.
        items = value.items() if kind is dict else value
        children = [self._gather_argument(stack_frame, item) for item in items]
        if any(type(child) in _NODE_TYPES for child in children):
            return self._add_call(stack_frame, gather_fn, tuple(children), None)
        return value

    def _check_member(self, node: Node, what: str) -> None:
        if node not in (self._nodes if self._graph is None else self._graph):
            raise KeyError(
                f"The plan graph does not contain the node {node!r}. It is the {what} given to "
                "add_dependency; a node belongs to the plan that made it."
            )

    def lit(self, value: Any) -> Literal:
        """Add a literal value to the plan."""
        if is_node(value) or isinstance(value, Node):
            raise TypeError(f"The value is already a {Node.__name__}.")
        literal = Literal(value, scope=self._scope)
        self._add_node(literal)
        return literal

    def _add_node(self, node: Node) -> None:
        if self._graph is None:
            self._nodes[node] = None
        else:
            self._graph.add_node(node)

    def gather(self, value: Any) -> Node:
        """Turn a structure that may contain nodes into one node whose value is that structure.

        Only exact ``dict``, ``list``, ``set`` and ``tuple`` are looked into, recursively; a node is
        returned unchanged and a value with no nodes becomes a literal.
        """
        return gather_node(self, get_stack_frame(), value)

    def unpack(self, iterable: Node, length: int) -> tuple[Node, ...]:
        """Unpack a symbolic iterable of known ``length`` into a tuple of nodes."""
        if type(length) is not int or length < 0:
            raise ValueError(f"length must be a non-negative int; got {length!r}.")
        stack_frame = get_stack_frame()
        values = self._add_call(stack_frame, _builtins.unpack, (iterable, length), None)
        return tuple(
            self._add_call(stack_frame, _builtins.getitem, (values, index), None)
            for index in range(length)
        )

    def add_dependency(self, source: Node, target: Node) -> None:
        """Make ``source`` run before ``target``.

        :raises KeyError: when either node is not in the plan.
        """
        assert_is_instance(source, "source", Node)
        assert_is_instance(target, "target", Node)
        self._check_member(source, "source")
        self._check_member(target, "target")
        if self._graph is None:
            self._deps.setdefault(target, []).append(source)
        else:
            self._graph.add_edge(source, target, Dependency())

    @contextmanager
    def scope(self, *args) -> Iterator[None]:
        """Append ``args`` to the scope of nodes created inside the ``with`` block."""
        _check_scope_values(args)
        with self._scope_lock:
            parent_scope = self._scope
            child_scope = parent_scope + args
            child_scope = self._interned_scopes.setdefault(child_scope, child_scope)
            self._scope = child_scope
            try:
                yield
            finally:
                if self._scope != child_scope:
                    raise Exception("Plan scopes must be entered and exited in stack order.")
                self._scope = parent_scope

    def copy(self) -> Plan:
        """A copy of the plan (sharing its nodes), starting with an empty scope."""
        new = Plan()
        if self._graph is None:
            new._nodes = self._nodes.copy()
            new._deps = {target: list(sources) for target, sources in self._deps.items()}
        else:
            new._graph = self._graph.copy()
        return new

    __copy__ = copy

    def _restricted_to(self, keep) -> Plan:
        """A new plan of the nodes in ``keep`` (and the edges among them): a pruned plan."""
        new = Plan()
        if self._graph is None:
            new._nodes = dict.fromkeys(keep)
            new._deps = {
                target: list(sources)
                for target, sources in self._deps.items()
                if target in new._nodes
            }
        else:
            new._graph = self._graph.subgraph(keep).copy()
        return new

    def __contains__(self, node) -> bool:
        return node in (self._nodes if self._graph is None else self._graph)

    def __len__(self) -> int:
        return len(self._nodes if self._graph is None else self._graph)

    # -- the networkx view -------------------------------------------------------------------

    @property
    def graph(self) -> Graph:
        """The plan as a :class:`networkx.MultiDiGraph` (from now on, the plan's truth)."""
        if self._graph is None:
            self._graph = to_networkx(self)
            self._nodes = {}
            self._deps = {}
        return self._graph

    @graph.setter
    def graph(self, graph: Graph) -> None:
        assert_is_instance(graph, "graph", graph_type())
        self._graph = graph
        self._nodes = {}
        self._deps = {}

    def _add_call_to_graph(self, call: Call) -> None:
        graph = self._graph
        graph.add_node(call)
        for index, arg in enumerate(call._args):
            graph.add_edge(graph_node(graph, arg, call), call, PositionalArg(index))
        for index, (name, arg) in enumerate((call._kwargs or {}).items()):
            graph.add_edge(graph_node(graph, arg, call), call, KeywordArg(name, index))


def to_networkx(plan: Plan) -> Graph:
    """A networkx graph of ``plan`` (inline argument values become :class:`Literal` nodes)."""
    if plan._graph is not None:
        return plan._graph.copy()
    graph = graph_type()()
    graph.add_nodes_from(plan._nodes)
    edges = []
    for node in plan._nodes:
        if type(node) is Call and node._args is not None:
            for index, arg in enumerate(node._args):
                edges.append((graph_node(graph, arg, node), node, PositionalArg(index)))
            for index, (name, arg) in enumerate((node._kwargs or {}).items()):
                edges.append((graph_node(graph, arg, node), node, KeywordArg(name, index)))
    for target, sources in plan._deps.items():
        edges.extend((source, target, Dependency()) for source in sources)
    graph.add_edges_from(edges)
    return graph


class PlanStructure:
    """Read access to a plan's arguments and dependencies, in either storage mode."""

    __slots__ = ("_args", "_deps", "children", "compact", "has_dependencies", "nodes")

    def __init__(self, nodes, args, deps):
        self.nodes = nodes  # iterable of every node
        self._args = args  # call -> (args tuple, kwargs dict or None), or None: read the call
        self._deps = deps  # node -> list of dependency sources
        self.compact = args is None  # arguments live on the calls themselves
        self.has_dependencies = bool(deps)
        # What a node waits for (arguments that are not nodes are skipped by the caller): the
        # engine asks this once per node, so the common case gets a closure with no lookups.
        self.children = _compact_children if self.compact and not deps else self._children

    def arguments(self, call: Call) -> tuple[tuple, dict | None]:
        if self._args is None:
            return call._args or (), call._kwargs
        return self._args.get(call, ((), None))

    def dependencies(self, node: Node) -> list[Node]:
        deps = self._deps
        return deps.get(node, ()) if deps else ()

    def _children(self, node: Node):
        deps = self.dependencies(node)
        if type(node) is Call:
            args, kwargs = self.arguments(node)
            if kwargs is None and not deps:
                return args
            return chain(args, kwargs.values() if kwargs else (), deps)
        return deps


def _compact_children(node: Node):
    if type(node) is Call:
        kwargs = node._kwargs
        return (node._args or ()) if kwargs is None else chain(node._args, kwargs.values())
    return ()


def plan_structure(plan: Plan) -> PlanStructure:
    """The arguments and dependencies of every node of ``plan``."""
    if plan._graph is None:
        return PlanStructure(plan._nodes, None, plan._deps)
    graph = plan._graph
    args: dict[Call, tuple[tuple, dict | None]] = {}
    deps: dict[Node, list[Node]] = {}
    for node in graph:
        positional: dict[int, Node] = {}
        keyword: dict[int, tuple[str, Node]] = {}
        for source, _, key in graph.in_edges(node, keys=True):
            kind = type(key)
            if kind is PositionalArg:
                positional[key.index] = source
            elif kind is KeywordArg:
                keyword[key.index] = (key.name, source)
            else:
                deps.setdefault(node, []).append(source)
        if type(node) is Call:
            args[node] = (
                tuple(positional[i] for i in sorted(positional)),
                dict(keyword[i] for i in sorted(keyword)) or None,
            )
    return PlanStructure(graph.nodes, args, deps)
