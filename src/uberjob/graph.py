"""The node and edge classes of a symbolic call graph (the uberjob 1.0 API).

A :class:`~uberjob.Plan` keeps its nodes in a compact store of its own; ``plan.graph`` gives the
same plan as a :class:`networkx.MultiDiGraph` whose nodes are these :class:`Node` objects and whose
edge keys are :class:`Dependency`, :class:`PositionalArg` or :class:`KeywordArg`.

``Graph`` (``networkx.MultiDiGraph``) is looked up on first use, so that ``import uberjob`` does
not import networkx (see ``uberjob._util.graph_type``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

from uberjob._util.graph_type import graph_type

if TYPE_CHECKING:
    from networkx import MultiDiGraph as Graph

__all__ = [
    "Call",
    "Dependency",
    "Graph",
    "KeywordArg",
    "Literal",
    "Node",
    "PositionalArg",
    "get_argument_nodes",
    "get_scope",
]


def __getattr__(name: str):
    if name == "Graph":
        return graph_type()
    raise AttributeError(f"module 'uberjob.graph' has no attribute {name!r}")


def _repr_scope(scope: tuple) -> str:
    return f", scope={scope!r}" if scope else ""


class Node:
    """A symbolic value in a call graph."""

    # _epoch and _index are the engine's scratch space while it compiles a plan (see
    # uberjob._engine.compile): a node's number there, valid only while _epoch is that compile's.
    __slots__ = ("_epoch", "_index", "scope")

    def __init__(self, *, scope: tuple = ()):
        self.scope = scope
        self._epoch = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_repr_scope(self.scope).lstrip(', ')})"


class Literal(Node):
    """A symbolic literal value.

    :param value: The value of the literal.
    """

    __slots__ = ("value",)

    def __init__(self, value, *, scope: tuple = ()):
        self.value = value
        self.scope = scope
        self._epoch = None

    def __repr__(self) -> str:
        return f"Literal({self.value!r}{_repr_scope(self.scope)})"


class Call(Node):
    """A symbolic function call.

    :param fn: The callable function.
    :param stack_frame: Where the call was planned (for symbolic tracebacks).
    """

    # _args and _kwargs hold the gathered arguments of calls made by Plan.call (see
    # docs/ARCHITECTURE.md); a Call built by hand and added to plan.graph has neither.
    __slots__ = ("_args", "_kwargs", "fn", "stack_frame")

    def __init__(self, fn: Callable, *, scope: tuple = (), stack_frame=None):
        self.fn = fn
        self.scope = scope
        self.stack_frame = stack_frame
        self._args = None
        self._kwargs = None
        self._epoch = None

    def __repr__(self) -> str:
        frame = ", stack_frame=..." if self.stack_frame is not None else ""
        return f"Call({self.fn!r}{_repr_scope(self.scope)}{frame})"


class Dependency:
    """An edge key: the source node must run before the target node."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Dependency()"

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other) -> bool:
        return type(other) is Dependency


class PositionalArg(Dependency):
    """An edge key: the source node is positional argument ``index`` of the target call."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index

    def __repr__(self) -> str:
        return f"PositionalArg({self.index!r})"

    def __hash__(self) -> int:
        return hash(self.index)

    def __eq__(self, other) -> bool:
        return type(other) is PositionalArg and self.index == other.index


class KeywordArg(Dependency):
    """An edge key: the source node is keyword argument ``name`` of the target call.

    :param index: The position among the keyword arguments (they are ordered).
    """

    __slots__ = ("index", "name")

    def __init__(self, name: str, index: int):
        self.name = name
        self.index = index

    def __repr__(self) -> str:
        return f"KeywordArg({self.name!r}, {self.index!r})"

    def __hash__(self) -> int:
        return hash((self.name, self.index))

    def __eq__(self, other) -> bool:
        return type(other) is KeywordArg and self.index == other.index and self.name == other.name


def get_argument_nodes(graph: Graph, call: Call) -> tuple[list[Node], dict[str, Node]]:
    """Return the symbolic ``(args, kwargs)`` of ``call`` in ``graph``."""
    positional: dict[int, Node] = {}
    keyword: dict[int, tuple[str, Node]] = {}
    for predecessor, _, key in graph.in_edges(call, keys=True):
        if type(key) is PositionalArg:
            positional[key.index] = predecessor
        elif type(key) is KeywordArg:
            keyword[key.index] = (key.name, predecessor)
    args = [positional[index] for index in sorted(positional)]
    kwargs = dict(keyword[index] for index in sorted(keyword))
    return args, kwargs


def get_scope(graph: Graph, node: Node) -> tuple:
    """Return the scope of ``node``. Deprecated: use ``node.scope``."""
    warnings.warn("get_scope is deprecated. Use node.scope instead.", DeprecationWarning, 2)
    return node.scope
