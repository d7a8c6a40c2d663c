"""uberjob 1.0's exception types, message texts and function names (issue: 1.0's names,
exceptions and messages). Where 1.0's own test suite pins a text, the same text is pinned here."""

from __future__ import annotations

import _thread
import datetime as dt
import functools
import io
import operator
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import traceback

import networkx as nx
import pytest

import uberjob
from uberjob._util import fully_qualified_name
from uberjob.progress import Progress
from uberjob.progress._console import ConsoleView
from uberjob.stores import JsonFileStore, LiteralSource

T0 = dt.datetime(2020, 1, 1)


def in_main(fn):
    """``fn`` as if it were defined in a script or a notebook (module ``__main__``)."""
    fn.__module__ = "__main__"
    return fn


@in_main
def dont_roll_six():
    raise Exception("Something bad happened.")


def frame_names(tb) -> list[str]:
    return [frame.name for frame in traceback.extract_tb(tb)]


def frame_files(tb) -> list[str]:
    return [frame.filename for frame in traceback.extract_tb(tb)]


# ----- a cycle: networkx.HasACycle (and ValueError), 1.0's message -----


def cyclic_plan():
    plan = uberjob.Plan()
    x = plan.call(operator.add, 1, 2)
    y = plan.call(operator.add, x, 4)
    plan.add_dependency(y, x)
    return plan, y


def registry_cyclic_plan():
    plan, registry = uberjob.Plan(), uberjob.Registry()
    x = registry.source(plan, LiteralSource(1, T0))
    y = registry.source(plan, LiteralSource(2, T0))
    plan.add_dependency(x, y)
    plan.add_dependency(y, x)
    return plan, registry, y


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_cycle_is_networkx_has_a_cycle_with_1_0s_message(dry_run):
    plan, y = cyclic_plan()
    with pytest.raises(nx.HasACycle, match=r"^The graph contains a cycle\.") as info:
        uberjob.run(plan, output=y, progress=False, dry_run=dry_run)
    assert isinstance(info.value, ValueError)
    # The extra detail names the nodes on the cycle, after 1.0's text.
    assert str(info.value).count("Call(<built-in function add>") == 3


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_cycle_through_a_registry_is_networkx_has_a_cycle(dry_run):
    plan, registry, y = registry_cyclic_plan()
    with pytest.raises(nx.HasACycle, match=r"^The graph contains a cycle\.") as info:
        uberjob.run(plan, registry=registry, output=y, progress=False, dry_run=dry_run)
    assert isinstance(info.value, ValueError)


def test_a_cycle_error_pickles_and_keeps_its_types():
    import pickle

    plan, y = cyclic_plan()
    with pytest.raises(nx.HasACycle) as info:
        uberjob.run(plan, output=y, progress=False)
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is type(info.value)
    assert str(copy) == str(info.value)


def test_the_cycle_error_class_does_not_import_networkx_until_a_cycle_is_raised():
    script = textwrap.dedent(
        """
        import sys
        import uberjob
        import uberjob._engine.compile as compile
        assert "networkx" not in sys.modules
        assert compile._networkx_cycle_error.cache_info().currsize == 0
        error = compile.CycleError("The graph contains a cycle.")
        assert "networkx" in sys.modules
        import networkx
        assert isinstance(error, (networkx.HasACycle, ValueError, compile.CycleError))
        assert compile._networkx_cycle_error.cache_info().currsize == 1
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr


# ----- messages -----


@in_main
def g(a, b=0, *, c, d=0):
    pass


def test_a_binding_error_has_1_0s_text():
    plan = uberjob.Plan()
    with pytest.raises(TypeError) as info:
        plan.call(g, 0, 0, 0)
    assert str(info.value) == (
        "g is not callable with the given arguments; too many positional arguments"
    )
    assert len(plan) == 0


@pytest.mark.parametrize("graph_mode", [False, True])
@pytest.mark.parametrize("foreign_end", ["source", "target"])
def test_add_dependency_with_another_plans_node_has_1_0s_text(graph_mode, foreign_end):
    plan1, plan2 = uberjob.Plan(), uberjob.Plan()
    if graph_mode:
        plan1.graph  # noqa: B018 (switches the plan to its networkx graph)
    x, y = plan1.lit(1), plan2.lit(2)
    source, target = (x, y) if foreign_end == "target" else (y, x)
    with pytest.raises(KeyError) as info:
        plan1.add_dependency(source, target)
    assert info.value.args[0].startswith("The plan graph does not contain the node Literal(2).")
    assert foreign_end in info.value.args[0]


def test_a_second_store_for_a_node_has_1_0s_text():
    plan, registry = uberjob.Plan(), uberjob.Registry()
    x = plan.call(operator.add, 1, 2)
    registry.add(x, LiteralSource(1, T0))
    with pytest.raises(Exception, match=r"^The node already has a value store\.") as info:
        registry.add(x, LiteralSource(1, T0))
    assert "LiteralSource(1" in str(info.value)  # which store, after 1.0's text


def test_a_registry_source_run_without_its_registry_has_1_0s_text():
    plan, registry = uberjob.Plan(), uberjob.Registry()
    x = registry.source(plan, LiteralSource(5, T0))
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, output=x, progress=False)
    assert isinstance(info.value.__cause__, uberjob.NotTransformedError)
    assert str(info.value.__cause__) == (
        "A source node was created via a Registry, but that Registry was not passed to uberjob.run."
    )
    assert str(info.value).startswith("An exception was raised in a symbolic call to source.\n")


@pytest.mark.parametrize(
    ("values", "message"),
    [([1], "not enough values to unpack (expected 2, got 1)"),
     ([1, 2, 3], "too many values to unpack (expected 2)")],
)  # fmt: skip
def test_unpack_errors_have_1_0s_text(values, message):
    plan = uberjob.Plan()
    a, _ = plan.unpack(plan.lit(values), 2)
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, output=a, progress=False)
    assert str(info.value.__cause__) == message


def test_unpack_reads_no_more_than_one_item_past_the_length():
    pulled = []

    def long_iterator():
        for i in range(10**6):
            pulled.append(i)
            yield i

    plan = uberjob.Plan()
    a, b = plan.unpack(plan.call(long_iterator), 2)
    with pytest.raises(uberjob.CallError) as info:  # an endless iterator would be fine too
        uberjob.run(plan, output=[a, b], progress=False)
    assert str(info.value.__cause__) == "too many values to unpack (expected 2)"
    assert pulled == [0, 1, 2]


# ----- names: one helper, 1.0's rule -----


class Callable:
    def __call__(self):
        return 1


@pytest.mark.parametrize(
    ("fn", "name"),
    [
        (operator.truediv, "truediv"),
        (operator.add, "add"),
        (len, "len"),
        (str.upper, "str.upper"),
        (dont_roll_six, "dont_roll_six"),
        (functools.partial(operator.mul, 2), "mul"),
        (JsonFileStore.read, "uberjob.stores.JsonFileStore.read"),
        (JsonFileStore("x.json").write, "uberjob.stores.JsonFileStore.write"),
        (JsonFileStore, "uberjob.stores.JsonFileStore"),
        (uberjob.Plan.call, "uberjob.Plan.call"),
        (Callable(), f"{__name__}.Callable"),
        (frame_names, f"{__name__}.frame_names"),
    ],
)
def test_functions_are_named_as_1_0_names_them(fn, name):
    assert fully_qualified_name(fn) == name


def test_a_module_ending_in_builtins_is_left_out_as_1_0_does():
    from uberjob import _builtins

    assert fully_qualified_name(_builtins.gather_list) == "gather_list"
    assert fully_qualified_name(_builtins.source) == "source"


def test_a_private_module_whose_object_is_not_public_keeps_its_path():
    from uberjob._util import stack

    assert fully_qualified_name(stack.get_stack_frame) == "uberjob._util.stack.get_stack_frame"


def test_every_view_shows_1_0s_names(recorder, tmp_path):
    observer, progress = recorder
    plan = uberjob.Plan()
    with plan.scope("dice"):
        calls = [plan.call(dont_roll_six), plan.call(operator.truediv, 1, 0)]
    stream = io.StringIO()
    console = Progress(lambda: ConsoleView(stream, terminal=False))
    html = tmp_path / "report.html"
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(
            plan,
            output=calls,
            max_errors=None,
            max_workers=1,
            progress=[progress, console, f"html:{html}"],
        )
    assert str(info.value).startswith("An exception was raised in a symbolic call to ")
    assert str(info.value).split("\n")[0] in {
        "An exception was raised in a symbolic call to dont_roll_six.",
        "An exception was raised in a symbolic call to truediv.",
    }
    scopes = {event[2] for event in observer.events if event[0] == "total"}
    assert scopes == {("dice", "dont_roll_six"), ("dice", "truediv")}
    text = stream.getvalue()
    assert "dont_roll_six" in text
    assert "__main__." not in text
    assert "_operator." not in text
    report = html.read_text(encoding="utf-8")
    assert '"truediv"' in report
    assert "_operator.truediv" not in report
    assert "__main__.dont_roll_six" not in report
    if shutil.which("dot") is not None:  # render needs Graphviz's dot
        source = uberjob.render(plan, format="dot").decode()
        assert "truediv" in source
        assert "_operator.truediv" not in source


def test_store_calls_are_named_by_their_public_path(recorder, tmp_path):
    observer, progress = recorder
    plan, registry = uberjob.Plan(), uberjob.Registry()
    x = plan.call(operator.add, 1, 2)
    registry.add(x, JsonFileStore(str(tmp_path / "x.json")))
    s = registry.source(plan, JsonFileStore(str(tmp_path / "x.json")))
    plan.add_dependency(x, s)
    assert uberjob.run(plan, output=[x, s], registry=registry, progress=progress) == [3, 3]
    scopes = {(event[1], event[2]) for event in observer.events if event[0] == "total"}
    assert ("stale", ("add", "uberjob.stores.JsonFileStore")) in scopes
    assert ("stale", ("source", "uberjob.stores.JsonFileStore")) in scopes
    assert ("run", ("add", "uberjob.stores.JsonFileStore.write")) in scopes
    assert ("run", ("add", "uberjob.stores.JsonFileStore.read")) in scopes


# ----- tracebacks: no engine frames in anything run() raises -----

ENGINE = re.compile(r"uberjob[/\\](_run|_engine|_registry|_util)")


def test_a_call_errors_traceback_is_the_callers_line_and_its_cause_starts_in_user_code():
    plan = uberjob.Plan()
    x = plan.call(dont_roll_six)
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, output=x, progress=False, retry=2)  # retry's frames are engine's too
    this = sys._getframe().f_code.co_name
    assert frame_names(info.value.__traceback__) == [this]
    assert frame_names(info.value.__cause__.__traceback__) == ["dont_roll_six"]


class FailingStore(LiteralSource):
    def get_modified_time(self):
        raise OSError("the file server is gone")


@pytest.mark.parametrize("stores", [1, 40])  # checked on the calling thread, and by a pool
@pytest.mark.parametrize("retry", [None, 2])
def test_a_store_failing_in_the_stale_check_has_a_traceback_starting_at_the_store(stores, retry):
    plan, registry = uberjob.Plan(), uberjob.Registry()
    nodes = [plan.call(operator.add, i, 1) for i in range(stores)]
    for node in nodes:
        registry.add(node, FailingStore(1, T0))
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, output=nodes, registry=registry, progress=False, retry=retry)
    cause = info.value.__cause__
    assert isinstance(cause, OSError)
    assert frame_names(cause.__traceback__) == ["get_modified_time"]
    assert frame_files(cause.__traceback__) == [__file__]
    assert frame_names(info.value.__traceback__) == [sys._getframe().f_code.co_name]


def test_an_error_of_our_own_store_starts_at_the_stores_frame(tmp_path):
    plan, registry = uberjob.Plan(), uberjob.Registry()
    x = plan.call(operator.add, 1, 2)
    (tmp_path / "x.json").write_text("{ not json")
    registry.add(x, JsonFileStore(str(tmp_path / "x.json")))
    s = registry.source(plan, JsonFileStore(str(tmp_path / "x.json")))
    plan.add_dependency(x, s)
    with pytest.raises(uberjob.CallError) as info:
        uberjob.run(plan, output=s, registry=registry, progress=False, fresh_time=T0)
    names = frame_names(info.value.__cause__.__traceback__)
    assert names[0] == "read"  # JsonFileStore.read, then json's own frames
    assert not any(ENGINE.search(f) for f in frame_files(info.value.__cause__.__traceback__))


@pytest.mark.parametrize("case", ["cycle", "validation", "transform", "output"])
def test_other_exceptions_of_run_carry_no_engine_frames(case):
    plan, y = cyclic_plan()
    kwargs: dict = {"output": y}
    if case == "validation":
        kwargs = {"max_workers": 0}
    elif case == "transform":

        def transform(plan, node):
            raise RuntimeError("transform fails")

        kwargs = {"output": plan.lit(1), "transform_physical": transform}
    elif case == "output":
        kwargs = {"output": uberjob.Plan().lit(1)}
    with pytest.raises(Exception) as info:  # each case raises its own type
        uberjob.run(plan, progress=False, **kwargs)
    files = frame_files(info.value.__traceback__)
    assert not any(ENGINE.search(f) for f in files), files
    names = frame_names(info.value.__traceback__)
    assert names[0] == sys._getframe().f_code.co_name
    if case == "transform":
        assert names == [names[0], "transform"]  # the user's transform stays
    else:
        assert names == [names[0]]


def test_ctrl_c_during_a_run_shows_no_engine_frames():
    release = threading.Event()

    def interrupt_the_run():
        _thread.interrupt_main()  # what Ctrl-C does, delivered to the run's owner thread
        release.wait(10)

    plan = uberjob.Plan()
    x = plan.call(interrupt_the_run)
    try:
        with pytest.raises(KeyboardInterrupt) as info:
            uberjob.run(plan, output=x, progress=False, max_workers=1)
    finally:
        release.set()
    assert frame_names(info.value.__traceback__) == [sys._getframe().f_code.co_name]


def test_a_background_runs_error_shows_no_engine_frames():
    plan = uberjob.Plan()
    handle = uberjob.run(plan, output=plan.call(dont_roll_six), progress=False, background=True)
    with pytest.raises(uberjob.CallError) as info:
        handle.result(timeout=30)
    files = frame_files(info.value.__traceback__)
    assert not any(ENGINE.search(f) for f in files), files
    assert frame_names(info.value.__cause__.__traceback__) == ["dont_roll_six"]
