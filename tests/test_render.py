"""uberjob.render: Graphviz drawings of plans, physical plans and collapsed scopes."""

from __future__ import annotations

import operator
import shutil
import sys
import types

import pytest

import uberjob
from uberjob import _render
from uberjob.stores import JsonFileStore

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing")


def area(width, height):
    return width * height


def lesson2_plan():
    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = plan.call(operator.add, 1, 2)
    registry.add(x, JsonFileStore("x.json"))
    with plan.scope("inputs", "y"):
        y = plan.call(operator.add, 3, 4)
        y2 = plan.call(operator.neg, y)
    z = plan.call(area, width=x, height=y2)
    registry.add(z, JsonFileStore("z.json"))
    plan.add_dependency(y, z)
    return plan, registry, z


def dot_source(plan, registry=None, **kwargs) -> str:
    return uberjob.render(plan, registry=registry, format="dot", **kwargs).decode()


@needs_dot
def test_returns_svg_by_default_and_leaves_the_plan_alone():
    plan, registry, _ = lesson2_plan()
    svg = uberjob.render(plan, registry=registry)
    assert isinstance(svg, bytes)
    assert b"<svg" in svg
    assert plan._graph is None  # not switched to graph mode
    assert len(plan) == 4


@needs_dot
def test_colours_labels_and_edges():
    plan, registry, _ = lesson2_plan()
    source = dot_source(plan, registry)
    assert _render.TEAL in source  # the literals 1, 2, 3, 4
    assert _render.ORANGE in source  # the unstored calls
    assert _render.PURPLE in source  # x and z
    assert "JsonFileStore('x.json')" in source
    assert f"{__name__}.area" in source
    assert "label=width" in source.replace('"', "")
    assert "label=height" in source.replace('"', "")
    assert "label=0" in source.replace('"', "")
    assert "style=dashed" in source.replace('"', "")
    without_registry = dot_source(plan)
    assert _render.PURPLE not in without_registry


@needs_dot
def test_dry_run_physical_plan_and_graph_inputs():
    plan, registry, z = lesson2_plan()
    physical = uberjob.run(plan, registry=registry, output=z, dry_run=True, progress=False)
    source = dot_source(physical)
    assert "JsonFileStore.write" in source
    assert "JsonFileStore.read" in source
    assert dot_source(physical[0].graph) == source


@needs_dot
def test_level_collapses_scopes_into_counted_boxes():
    plan, registry, _ = lesson2_plan()
    source = dot_source(plan, registry, level=1)
    assert _render.GRAY in source
    assert "inputs\\n4 nodes" in source  # y, y2 and the literals 3 and 4
    assert "_operator.neg" not in source


@needs_dot
def test_predicate_filters_nodes():
    plan, registry, _ = lesson2_plan()
    seen = []

    def only_calls(node, attributes):
        seen.append(attributes["scope"])
        return type(node) is uberjob.graph.Call

    source = dot_source(plan, registry, predicate=only_calls)
    assert _render.TEAL not in source
    assert ("inputs", "y") in seen


@needs_dot
def test_hostile_text_is_escaped():
    plan = uberjob.Plan()
    plan.call(print, '<b>"quoted"</b> \\ back\\slash\n', {"}": "{"})
    source = dot_source(plan)
    assert "<b>" in source  # kept as text, not an HTML-like label


def test_missing_dot_names_what_to_install(monkeypatch):
    monkeypatch.setenv("PATH", "")
    plan, registry, _ = lesson2_plan()
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        uberjob.render(plan, registry=registry)


def test_validation():
    with pytest.raises(TypeError, match="plan"):
        uberjob.render("not a plan")
    with pytest.raises(TypeError, match="registry"):
        uberjob.render(uberjob.Plan(), registry={})


@needs_dot
def test_displays_in_a_notebook(monkeypatch):
    shown = []
    display = types.ModuleType("IPython.display")
    display.SVG = lambda data: ("svg", data)
    display.Image = lambda data, format: (format, data)
    display.display = shown.append
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    monkeypatch.setattr(_render, "in_jupyter_kernel", lambda: True)
    plan, registry, _ = lesson2_plan()
    assert uberjob.render(plan, registry=registry) is None
    assert uberjob.render(plan, format="ipython/png") is None
    assert [kind for kind, _ in shown] == ["svg", "png"]
    assert isinstance(uberjob.render(plan, format="svg"), bytes)
