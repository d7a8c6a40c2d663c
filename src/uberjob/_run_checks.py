"""Checks of ``run()``'s arguments against the plan, made before any call runs.

Each names the parameter at fault: a node of another plan, or a ``transform_physical`` that
returns something else than ``(plan, output_node)``, would otherwise run the wrong thing, be
ignored, or fail later with an error that says nothing about the cause.
"""

from __future__ import annotations

from uberjob._plan import Plan
from uberjob.graph import Call, Literal, Node

__all__ = ["check_output_in_plan", "check_registry_in_plan", "check_transformed"]

_NODE_TYPES = (Call, Literal)
_CONTAINERS = (dict, list, set, tuple)  # what gather looks into (exact types only)

_BELONGS = "A node belongs to the plan that made it (and to that plan's copies)."


def _nodes_in(value):
    """The nodes in ``value``, looking where gather looks: exact dict, list, set and tuple."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind in _NODE_TYPES or isinstance(item, Node):
            yield item
        elif kind in _CONTAINERS:
            stack.extend(item.items() if kind is dict else item)


def check_output_in_plan(plan: Plan, output) -> None:
    """``output`` refers only to nodes of ``plan``."""
    if output is None:
        return
    contains = (plan._nodes if plan._graph is None else plan._graph).__contains__
    if type(output) in (list, tuple):
        try:  # the common wide output, a list of the plan's nodes: one pass at C speed
            if all(map(contains, output)):
                return
        except TypeError:  # an unhashable item (a nested list): the general walk below
            pass
    for node in _nodes_in(output):
        if not contains(node):
            raise ValueError(
                f"output refers to a node that is not in the plan: {node!r}. {_BELONGS}"
            )


def check_registry_in_plan(plan: Plan, registry) -> None:
    """Every node of ``registry`` is in ``plan`` (else its store would silently never be
    written)."""
    for node, entry in registry.mapping.items():
        if node not in plan:
            where = entry.stack_frame
            added = f' (added at File "{where.path}", line {where.line})' if where else ""
            raise ValueError(
                f"registry holds a node that is not in the plan: {node!r}{added}. {_BELONGS}"
            )


def check_transformed(result, output_node) -> tuple[Plan, Node | None]:
    """What ``transform_physical`` returned, when it is ``(plan, output_node)``."""
    if (
        isinstance(result, tuple)
        and len(result) == 2
        and isinstance(result[0], Plan)
        and (result[1] is None or isinstance(result[1], Node))
    ):
        plan, node = result
        if node is not None and node not in plan:
            raise ValueError(
                "transform_physical returned an output node that is not in the plan it "
                f"returned: {node!r}."
            )
        return plan, node
    expected = "a Node" if output_node is not None else "a Node or None"
    raise TypeError(
        f"transform_physical must return a tuple (plan, output_node) of a Plan and {expected}; "
        f"got {_describe(result)}."
    )


def _describe(result) -> str:
    if isinstance(result, tuple) and len(result) == 2:
        return f"({type(result[0]).__name__}, {type(result[1]).__name__})"
    return f"{type(result).__name__} ({result!r:.80})"
