"""``uberjob.render``: draw a plan (or a physical plan from ``dry_run``) with Graphviz.

Literals are teal, calls orange, nodes with a store purple (labelled with the store), collapsed
scopes grey. Argument edges are labelled with the position or keyword, dependency edges dashed.
DOT text is built by the ``graphviz`` package (it quotes and escapes); the ``dot`` program
itself comes from a Graphviz installation.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from uberjob._plan import Plan, to_networkx
from uberjob._util import fully_qualified_name
from uberjob._util.graph_type import graph_type
from uberjob._util.validation import assert_is_instance
from uberjob.graph import Dependency, KeywordArg, Literal, Node, PositionalArg

if TYPE_CHECKING:
    from uberjob._registry import Registry
    from uberjob.graph import Graph

__all__ = ["render"]

TEAL = "#009aa6"  # literals
ORANGE = "#e37222"  # calls
PURPLE = "#bb2fed"  # nodes with a value store
GRAY = "#666666"  # a collapsed scope

_compact = reprlib.Repr()
_compact.maxstring = 80
_compact.maxother = 80

MISSING_DOT = (
    "uberjob.render needs the Graphviz 'dot' program, which is not on PATH. Install Graphviz: "
    "'apt-get install graphviz' (Debian/Ubuntu), 'brew install graphviz' (macOS), "
    "'conda install graphviz', or see https://graphviz.org/download/."
)


class _Scope:
    """A collapsed group of nodes sharing a scope prefix (``level=``)."""

    __slots__ = ("count", "scope")

    def __init__(self, scope: tuple, count: int):
        self.scope = scope
        self.count = count


def _as_graph(plan) -> Graph:
    if (
        isinstance(plan, tuple)
        and len(plan) == 2
        and isinstance(plan[0], Plan)
        and (plan[1] is None or isinstance(plan[1], Node))
    ):
        plan = plan[0]  # what run(..., dry_run=True) returns
    assert_is_instance(plan, "plan", (Plan, graph_type()))
    # to_networkx copies: the user's plan is not switched into graph mode, nor changed.
    return to_networkx(plan) if isinstance(plan, Plan) else plan.copy()


def _collapse(graph: Graph, level: int) -> None:
    groups: dict[tuple, list] = {}
    for node in graph:
        if node.scope:
            groups.setdefault(node.scope[:level], []).append(node)
    for scope, members in groups.items():
        group = set(members)
        box = _Scope(scope, len(group))
        predecessors, successors = set(), []
        for member in group:
            predecessors.update(p for p in graph.predecessors(member) if p not in group)
            successors.extend(
                (v, key) for _, v, key in graph.out_edges(member, keys=True) if v not in group
            )
        graph.add_node(box)
        graph.add_edges_from((p, box, Dependency()) for p in predecessors)
        graph.add_edges_from((box, v, key) for v, key in successors)
        graph.remove_nodes_from(group)


def _text(*lines: str) -> str:
    """A DOT label of literal text lines (backslashes and ``<...>`` lose their meaning)."""
    import graphviz

    return graphviz.nohtml("\\n".join(graphviz.escape(line) for line in lines))


def _node_style(node, registry) -> tuple[str, str]:
    if type(node) is _Scope:
        noun = "node" if node.count == 1 else "nodes"
        return _text(*(str(v) for v in node.scope), f"{node.count} {noun}"), GRAY
    label = _compact.repr(node.value) if type(node) is Literal else fully_qualified_name(node.fn)
    store = registry.get(node) if registry is not None else None
    if store is not None:
        return _text(label, repr(store)), PURPLE
    return _text(label), TEAL if type(node) is Literal else ORANGE


def to_dot(graph: Graph, registry=None):
    """The ``graphviz.Digraph`` of a (copied, possibly collapsed) plan graph."""
    import graphviz

    dot = graphviz.Digraph(
        node_attr={"shape": "box", "style": "filled", "margin": "0.05", "width": "0",
                   "height": "0", "fontcolor": "white", "fontname": "Courier",
                   "fontsize": "10"},
        edge_attr={"arrowhead": "open", "arrowtail": "open", "fontname": "Courier",
                   "fontsize": "10"},
    )  # fmt: skip
    ids = {}
    for index, node in enumerate(graph):
        ids[node] = name = f"n{index}"
        label, colour = _node_style(node, registry)
        dot.node(name, label=label, fillcolor=colour)
    for source, target, key in graph.edges(keys=True):
        kind = type(key)
        if kind is PositionalArg:
            dot.edge(ids[source], ids[target], label=str(key.index))
        elif kind is KeywordArg:
            dot.edge(ids[source], ids[target], label=_text(key.name))
        else:
            dot.edge(ids[source], ids[target], style="dashed")
    return dot


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def render(
    plan: Plan | Graph | tuple[Plan, Node | None],
    *,
    registry: Registry | None = None,
    predicate: Callable[[Node, dict], bool] | None = None,
    level: int | None = None,
    format: str | None = None,
) -> bytes | None:
    """Draw a plan's symbolic call graph with Graphviz.

    :param plan: a :class:`~uberjob.Plan`, its ``graph``, or the ``(physical_plan, output)``
        that ``run(..., dry_run=True)`` returns.
    :param registry: a :class:`~uberjob.Registry` whose stored nodes are shown with their store.
    :param predicate: ``f(node, attributes)``; only nodes for which it is true are drawn
        (``attributes`` holds the node's ``scope``).
    :param level: group nodes by ``scope[:level]``, each group drawn as one box with a count.
    :param format: a Graphviz output format (``"svg"``, ``"png"``, ``"pdf"``, ``"dot"``...)
        whose bytes are returned; ``"ipython/<format>"`` displays it in a notebook. By default,
        a notebook displays SVG and anywhere else the SVG bytes are returned.
    :raises RuntimeError: when Graphviz's ``dot`` program is not installed.
    """
    from uberjob._registry import Registry

    assert_is_instance(registry, "registry", Registry, optional=True)
    assert_is_instance(level, "level", int, optional=True)
    assert_is_instance(format, "format", str, optional=True)
    if predicate is not None and not callable(predicate):
        raise TypeError(f"predicate must be callable; got {type(predicate).__name__}.")
    graph = _as_graph(plan)
    if predicate is not None:
        attributes = graph.nodes
        graph.remove_nodes_from(
            [u for u in list(graph) if not predicate(u, {"scope": u.scope, **attributes[u]})]
        )
    if level is not None:
        _collapse(graph, level)
    display = format is None and _in_notebook()
    if format is not None and format.startswith("ipython/"):
        display, format = True, format.split("/", 1)[1]
    import graphviz

    try:
        data = to_dot(graph, registry).pipe(format=format or "svg")
    except graphviz.ExecutableNotFound as error:
        raise RuntimeError(MISSING_DOT) from error
    if not display:
        return data
    from IPython.display import SVG, Image
    from IPython.display import display as show

    show(SVG(data) if (format or "svg") == "svg" else Image(data, format=format))
    return None
