"""Plan building: the 1.0 API (SPEC-1.0.md lessons 1, 3, 6)."""

from __future__ import annotations

import json
import operator

import networkx as nx
import pytest

import uberjob
from uberjob.graph import (
    Call,
    Dependency,
    KeywordArg,
    Literal,
    PositionalArg,
    get_argument_nodes,
    get_scope,
)


def add(a, b):
    return a + b


def area(width, height):
    return width * height


def test_lesson1_area_runs_only_what_output_needs():
    plan = uberjob.Plan()
    x = plan.call(add, 1, 2)
    y = plan.call(add, 3, 4)
    z = plan.call(area, width=x, height=y)
    assert uberjob.run(plan, output=z, progress=False) == 21
    assert uberjob.run(plan, progress=False) is None


def test_call_binding_error_names_the_function_and_why():
    plan = uberjob.Plan()
    with pytest.raises(TypeError, match=r"test_plan\.add is not callable with the given arguments"):
        plan.call(add, 1, 2, 3)
    with pytest.raises(TypeError, match="not callable with the given arguments"):
        plan.call(area, 1, width=2)
    with pytest.raises(TypeError, match="not callable with the given arguments"):
        plan.call(area, height=2)
    with pytest.raises(TypeError, match="not callable with the given arguments"):
        plan.call(area, 1, 2, depth=3)
    with pytest.raises(TypeError, match="fn must be callable"):
        plan.call(42)
    assert len(plan) == 0


@pytest.mark.parametrize(
    ("fn", "args", "kwargs"),
    [
        (add, (1,), {"b": 2}),
        (add, (), {"a": 1, "b": 2}),
        (lambda *a, **k: None, (1, 2, 3), {"x": 1}),
        (lambda a, /, b=2, *, c: None, (1,), {"c": 3}),
        (print, (1, 2), {"sep": "-"}),
        (dict, (), {"a": 1}),
    ],
)
def test_call_accepts_what_binds(fn, args, kwargs):
    plan = uberjob.Plan()
    plan.call(fn, *args, **kwargs)


def test_literals():
    plan = uberjob.Plan()
    x = plan.lit(7)
    assert isinstance(x, Literal)
    assert x.value == 7
    y = plan.call("{}{}{a}{b}".format, x, x, a=x, b=x)
    assert y.fn(1, 2, a=3, b=4) == "1234"
    assert uberjob.run(plan, output=y, progress=False) == "7777"
    with pytest.raises(TypeError):
        plan.lit(x)


def test_lesson3_gather():
    plan = uberjob.Plan()
    x = plan.call(int, 1)
    y = plan.call(int, 2)
    z = plan.call(json.dumps, {"x": x, "y": y, "w": [x, (y, y)]})
    assert uberjob.run(plan, output=z, progress=False) == '{"x": 1, "y": 2, "w": [1, [2, 2]]}'
    assert uberjob.run(plan, output=[x, y], progress=False) == [1, 2]
    assert uberjob.run(plan, output={"s": {x, y}}, progress=False) == {"s": {1, 2}}


def test_gather_returns_nodes_unchanged_and_literals_for_plain_values():
    plan = uberjob.Plan()
    x = plan.call(int, 1)
    assert plan.gather(x) is x
    literal = plan.gather([1, 2])
    assert isinstance(literal, Literal)
    assert literal.value == [1, 2]


def test_gather_looks_only_into_exact_builtin_containers():
    class MyList(list):
        pass

    plan = uberjob.Plan()
    x = plan.call(int, 1)
    node = plan.gather(MyList([x]))
    assert isinstance(node, Literal)
    assert uberjob.run(plan, output=node, progress=False) == [x]


def test_unpack():
    plan = uberjob.Plan()
    t = plan.call(divmod, 7, 2)
    q, r = plan.unpack(t, 2)
    assert uberjob.run(plan, output=(q, r), progress=False) == (3, 1)
    with pytest.raises(ValueError, match="length"):
        plan.unpack(t, -1)
    with pytest.raises(ValueError, match="length"):
        plan.unpack(t, 1.5)


def test_add_dependency_orders_side_effects_and_rejects_foreign_nodes():
    log = []
    plan = uberjob.Plan()
    a = plan.call(log.append, "a")
    b = plan.call(log.append, "b")
    plan.add_dependency(a, b)
    uberjob.run(plan, output=b, progress=False)
    assert log == ["a", "b"]
    other = uberjob.Plan().call(int, 1)
    with pytest.raises(KeyError):
        plan.add_dependency(other, b)
    with pytest.raises(TypeError, match="source"):
        plan.add_dependency("a", b)


def test_lesson6_scopes_and_quadratic():
    def quadratic_roots(plan, a, b, c):
        with plan.scope("discriminant"):
            d = plan.call(
                operator.sub, plan.call(operator.mul, b, b), plan.call(operator.mul, 4 * a, c)
            )
            sqrt_d = plan.call(operator.pow, d, 0.5)
        with plan.scope("roots"):
            r1 = plan.call(operator.truediv, plan.call(operator.add, -b, sqrt_d), 2 * a)
            r2 = plan.call(operator.truediv, plan.call(operator.sub, -b, sqrt_d), 2 * a)
        return r1, r2

    plan = uberjob.Plan()
    with plan.scope("quadratic"):
        roots = quadratic_roots(plan, 5, 6, 1)
    assert roots[0].scope == ("quadratic", "roots")
    assert uberjob.run(plan, output=roots, progress=False) == (-0.2, -1.0)


def test_scopes_must_exit_in_stack_order():
    plan = uberjob.Plan()
    outer = plan.scope("a")
    inner = plan.scope("b")
    outer.__enter__()
    inner.__enter__()
    with pytest.raises(Exception, match="stack order"):
        outer.__exit__(None, None, None)


def test_graph_view_matches_1_0_shape():
    plan = uberjob.Plan()
    x = plan.call(add, 1, b=2)
    y = plan.call(add, x, x)
    plan.add_dependency(x, y)
    graph = plan.graph
    assert isinstance(graph, nx.MultiDiGraph)
    assert {type(n) for n in graph} == {Call, Literal}
    args, kwargs = get_argument_nodes(graph, x)
    assert [a.value for a in args] == [1]
    assert kwargs["b"].value == 2
    assert get_argument_nodes(graph, y) == ([x, x], {})
    keys = {key for _, _, key in graph.in_edges(y, keys=True)}
    assert keys == {PositionalArg(0), PositionalArg(1), Dependency()}
    assert KeywordArg("b", 0) == KeywordArg("b", 0) != KeywordArg("b", 1)
    assert hash(PositionalArg(3)) == hash(PositionalArg(3))
    with pytest.warns(DeprecationWarning, match="node.scope"):
        assert get_scope(graph, x) == ()


def test_graph_mode_plans_keep_working_and_run_edits():
    plan = uberjob.Plan()
    x = plan.call(add, 1, 2)
    graph = plan.graph
    # Edit the graph as 1.0 code may: swap the first argument for another literal.
    (literal,) = [s for s, _, k in graph.in_edges(x, keys=True) if k == PositionalArg(0)]
    graph.remove_edge(literal, x, PositionalArg(0))
    ten = Literal(10)
    graph.add_edge(ten, x, PositionalArg(0))
    y = plan.call(add, x, 100)
    assert uberjob.run(plan, output=y, progress=False) == 112


def test_copy_is_independent():
    plan = uberjob.Plan()
    x = plan.call(add, 1, 2)
    copy = plan.copy()
    y = copy.call(add, x, 1)
    assert y in copy
    assert y not in plan
    assert uberjob.run(copy, output=y, progress=False) == 4


def test_symbolic_stack_frame_points_at_the_planning_line():
    plan = uberjob.Plan()
    x = plan.call(add, 1, 2)
    line = __import__("inspect").currentframe().f_lineno - 1  # the line above
    assert x.stack_frame.line == line
    assert x.stack_frame.path == __file__
    assert x.stack_frame.name == "test_symbolic_stack_frame_points_at_the_planning_line"


@pytest.mark.parametrize(
    ("fn", "args", "kwargs"),
    [
        (lambda a, /, b: None, (), {"a": 1, "b": 2}),  # positional-only given by name
        (lambda a, *rest: None, (), {}),  # too few before *args
        (lambda *, key: None, (), {}),  # a required keyword-only argument missing
        (lambda a, b=2: None, (1,), {"a": 1}),  # a given twice
        (lambda a, **kw: None, (), {"b": 1}),  # a missing, extra keywords fine
    ],
)
def test_call_rejects_what_does_not_bind(fn, args, kwargs):
    plan = uberjob.Plan()
    with pytest.raises(TypeError, match="not callable with the given arguments"):
        plan.call(fn, *args, **kwargs)


def test_varargs_functions_take_any_number_of_positional_arguments():
    plan = uberjob.Plan()
    x = plan.call(max, 1, 2, 3)
    y = plan.call(lambda a, *rest: a + sum(rest), 1, 2, 3, 4)
    assert uberjob.run(plan, output=[x, y], progress=False) == [3, 10]


def test_symbolic_frames_of_throwaway_code_are_never_confused():
    # Notebook cells compile a new code object each time; one freed and another allocated at
    # the same address must not inherit the first one's interned frame.
    plan = uberjob.Plan()
    frames = []
    for line in range(1, 30):
        source = "\n" * (line - 1) + "frames.append(plan.call(abs, -1).stack_frame)"
        exec(compile(source, f"<cell {line}>", "exec"), {"plan": plan, "frames": frames})
    assert [(f.path, f.line) for f in frames] == [(f"<cell {n}>", n) for n in range(1, 30)]


@pytest.mark.parametrize("max_workers", [1, 4])
def test_gathered_containers_of_nodes_only_mixed_and_empty(max_workers):
    """A container of nodes only is gathered as one call over its items (a fast path: a run's
    output list of 20,000 calls); mixed, nested and empty containers as before."""
    plan = uberjob.Plan()
    calls = [plan.call(add, k, 1) for k in range(5)]
    structure = {
        "nodes": calls,
        "tuple": tuple(calls[:2]),
        "set": {calls[0], calls[1]},
        "mixed": [calls[0], 7, [calls[1], "x"]],
        "empty": [],
        "plain": [1, 2],
    }
    gathered = plan.gather(structure)
    assert plan.gather(calls[:3]) in plan
    result = uberjob.run(plan, output=gathered, max_workers=max_workers, progress=False)
    assert result == {
        "nodes": [1, 2, 3, 4, 5],
        "tuple": (1, 2),
        "set": {1, 2},
        "mixed": [1, 7, [2, "x"]],
        "empty": [],
        "plain": [1, 2],
    }
    assert uberjob.run(plan, output=[], progress=False) == []
