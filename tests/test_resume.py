"""Fix and resume (issue 15): the frontier a run keeps, resume(), refresh, failure.rerun()."""

from __future__ import annotations

import _thread
import asyncio
import concurrent.futures
import gc
import io
import re
import sys
import textwrap
import threading
import types
import weakref

import pytest

import uberjob
from uberjob import CallError, RunStopped
from uberjob._engine.compile import CompiledPlan
from uberjob._handle import last_run


class Boom(Exception):
    pass


class Value:
    """A value that can be watched with a weak reference."""

    def __init__(self, n):
        self.n = n


# -- frontier retention -----------------------------------------------------------------------


def _retention_plan(made: list):
    def make(i):
        value = Value(i)
        made.append(weakref.ref(value))
        return value

    def ok(value):
        return make(value.n * 10)

    def bad(value):
        raise Boom(f"bad {value.n}")

    plan = uberjob.Plan()
    sources = [plan.call(make, i) for i in range(20)]
    outs = [plan.call(ok, s) for s in sources]
    return plan, [*outs, plan.call(bad, sources[7])]


def _alive(made) -> list[int]:
    gc.collect()
    return sorted(value.n for value in (ref() for ref in made) if value is not None)


def _compiled_plans_of(nodes) -> int:
    """How many compiled plans alive hold any of ``nodes``."""
    gc.collect()
    ours = set(map(id, nodes))
    return sum(
        type(o) is CompiledPlan and any(id(node) in ours for node in o.nodes)
        for o in gc.get_objects()
    )


@pytest.mark.parametrize("max_workers", [1, 3])
def test_a_failed_run_keeps_exactly_its_frontier_and_discard_frees_it(max_workers):
    made = []
    plan, output = _retention_plan(made)
    with pytest.raises(CallError):
        uberjob.run(plan, output=output, max_workers=max_workers, max_errors=None, progress=False)
    handle = last_run()
    assert _compiled_plans_of(output) == 0  # the compiled arrays are released
    assert len(made) == 40
    # What the calls not completed need: the 20 `ok` values (read by the output's gather)
    # and source 7 (read by the failed call). No other source is alive.
    assert _alive(made) == sorted([7] + [10 * i for i in range(20)])
    assert handle.kept_values == 21
    handle.discard()
    # Source 7 is still alive: the failure keeps the arguments it failed on (Failure.rerun).
    assert _alive(made) == [7]
    assert handle.failures[0].arguments[0][0].n == 7
    with pytest.raises(RuntimeError, match=r"discarded \(handle.discard\(\)\)"):
        handle.resume()


def test_keep_false_keeps_nothing_and_resume_says_why():
    made = []
    plan, output = _retention_plan(made)
    with pytest.raises(CallError):
        uberjob.run(plan, output=output, max_workers=1, max_errors=None, progress=False, keep=False)
    handle = last_run()
    assert handle.kept_values == 0
    assert handle.failures[0].arguments is None
    # (source 7 lives on in the kept traceback's frame, for post-mortem debugging)
    assert _alive(made) == [7]
    with pytest.raises(RuntimeError, match="keep=False"):
        handle.resume()
    with pytest.raises(RuntimeError, match="kept no arguments"):
        handle.failures[0].rerun()


def test_keep_is_validated_like_every_option():
    plan = uberjob.Plan()
    with pytest.raises(TypeError, match="keep must be bool"):
        uberjob.run(plan, keep="yes")


# -- resume after a fix -----------------------------------------------------------------------

FIRST = """
calls = []

def work(i):
    calls.append(i)
    if i in (3, 6):
        raise ValueError(f"bad input {i}")
    return i * i
"""

FIXED = """
def work(i):
    calls.append(i)
    return i * i
"""


@pytest.fixture
def main(monkeypatch):
    """A fake ``__main__`` (what a notebook's namespace is): code run in it defines functions
    whose ``__module__`` is ``__main__``."""
    module = types.ModuleType("__main__")
    monkeypatch.setitem(sys.modules, "__main__", module)

    def run(source: str):
        exec(textwrap.dedent(source), module.__dict__)
        return module

    return run


def _double(x):
    return 2 * x


def _layered_plan(work):
    plan = uberjob.Plan()
    squares = [plan.call(work, i) for i in range(10)]
    doubled = [plan.call(_double, s) for s in squares]
    total = plan.call(sum, doubled)
    return plan, {"total": total, "doubled": doubled}


CLEAN = {"total": 2 * sum(i * i for i in range(10)), "doubled": [2 * i * i for i in range(10)]}


@pytest.mark.parametrize("max_workers", [1, 3])
def test_resume_after_a_redefinition_runs_only_what_did_not_complete(main, max_workers):
    module = main(FIRST)
    plan, output = _layered_plan(module.work)
    with pytest.raises(CallError, match="call to work"):
        uberjob.run(plan, output=output, max_workers=max_workers, max_errors=None, progress=False)
    first = last_run()
    assert first.state == "failed"
    assert sorted(module.calls) == list(range(10))
    main(FIXED)
    module.calls.clear()
    assert first.resume(refresh=True) == CLEAN
    assert sorted(module.calls) == [3, 6]  # completed calls were not run again
    resumed = last_run()
    assert resumed is not first
    assert resumed.continues is first
    assert resumed.refreshed == ["work"]
    assert resumed.resumed == {"count": 1, "reused": 16, "refreshed": ["work"]}
    assert resumed.state == "done"
    # the plan itself holds the fix: a later run uses it
    module.calls.clear()
    assert uberjob.run(plan, output=output, progress=False) == CLEAN
    assert sorted(module.calls) == list(range(10))


def test_resume_without_refresh_fails_again_and_a_second_resume_finishes(main, capsys, recorder):
    module = main(FIRST)
    plan, output = _layered_plan(module.work)
    with pytest.raises(CallError):
        uberjob.run(plan, output=output, max_errors=None, progress=recorder[1])
    first = last_run()
    module.calls.clear()
    with pytest.raises(CallError, match="call to work"):
        first.resume(max_errors=None)
    assert sorted(module.calls) == [3, 6]
    second = last_run()
    assert second.state == "failed"
    assert second.resumable
    with pytest.raises(RuntimeError, match="resumed already"):
        first.resume()
    main(FIXED)
    module.calls.clear()
    assert second.resume(refresh=True) == CLEAN
    assert "uberjob: refreshed work (redefined in __main__)" in capsys.readouterr().out
    assert sorted(module.calls) == [3, 6]
    third = last_run()
    assert third.resumed["count"] == 2
    assert third.resumed["reused"] == 16
    assert third.summary().startswith("uberjob: done, 21 / 21")


def test_resuming_a_done_run_returns_its_value_and_runs_nothing():
    calls = []

    def f():
        calls.append(1)
        return 5

    plan = uberjob.Plan()
    x = plan.call(f)
    assert uberjob.run(plan, output=x, progress=False) == 5
    handle = last_run()
    assert handle.resume() == 5
    assert handle.resume(background=True) is handle
    assert calls == [1]


@pytest.mark.parametrize("background", [False, True])
def test_a_done_run_does_not_keep_its_plan_alive(background):
    """last_run() holds a done run's handle until the next run: it keeps the value, not the
    plan (a plan can be millions of nodes the user has let go of)."""
    plan = uberjob.Plan()
    x = plan.call(int, 7)
    plan_ref = weakref.ref(plan)
    outcome = uberjob.run(plan, output=x, progress=False, background=background)
    assert (outcome.result() if background else outcome) == 7
    if background:  # the result is set just before the run's thread ends: let it end
        outcome._thread.join()
    del plan, x, outcome
    gc.collect()
    assert plan_ref() is None
    assert last_run().resume(background=False) == 7
    with pytest.raises(ValueError, match="max_workers must be at least 1"):
        last_run().resume(max_workers=0)


def test_resume_checks_its_options_before_anything_runs(main):
    module = main(FIRST)
    plan, output = _layered_plan(module.work)
    with pytest.raises(CallError):
        uberjob.run(plan, output=output, progress=False)
    handle = last_run()
    with pytest.raises(TypeError, match="unexpected option 'output'"):
        handle.resume(output=3)
    with pytest.raises(ValueError, match="max_workers must be at least 1"):
        handle.resume(max_workers=0)
    with pytest.raises(TypeError, match="refresh must be bool"):
        handle.resume(refresh="yes")
    assert handle.resumable  # nothing was taken


def test_resume_while_the_run_is_still_going_is_an_error():
    release = threading.Event()
    plan = uberjob.Plan()
    x = plan.call(release.wait, 10)
    handle = uberjob.run(plan, output=x, background=True, progress=False)
    with pytest.raises(RuntimeError, match="still going"):
        handle.resume()
    release.set()
    assert handle.result(timeout=10) is True


def test_options_change_on_resume_and_background_returns_a_new_handle(main):
    module = main(FIRST)
    plan, output = _layered_plan(module.work)
    with pytest.raises(CallError):
        uberjob.run(plan, output=output, max_workers=2, progress=False)
    first = last_run()
    main(FIXED)
    pool = concurrent.futures.ThreadPoolExecutor(2)
    with pool:
        handle = first.resume(refresh=True, background=True, executor=pool, retry=2)
        assert isinstance(handle, uberjob.RunHandle)
        assert handle is not first
        assert handle.result(timeout=30) == CLEAN


def test_stop_then_resume():
    in_flight, release = threading.Event(), threading.Event()
    ran = []

    def first_call():
        ran.append("first")
        in_flight.set()
        assert release.wait(timeout=10)
        return 100

    def later(i):
        ran.append(i)
        return i

    plan = uberjob.Plan()
    calls = [plan.call(first_call)] + [plan.call(later, i) for i in range(20)]
    handle = uberjob.run(plan, output=calls, max_workers=1, background=True, progress=False)
    assert in_flight.wait(timeout=10)
    handle.stop()
    release.set()
    with pytest.raises(RunStopped):
        handle.result(timeout=10)
    assert handle.resumable
    assert ran == ["first"]
    assert handle.resume(background=False) == [100, *range(20)]
    assert ran == ["first", *range(20)]  # the first call was not run again


def test_interrupt_then_resume():
    ran = []
    four_seen = threading.Event()

    class Watch(uberjob.progress.ProgressObserver):
        """Tells when the owner has processed the ends of the first four steps."""

        completed = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def increment_total(self, **kwargs):
            pass

        def increment_running(self, **kwargs):
            pass

        def increment_completed(self, **kwargs):
            self.completed += 1
            if self.completed >= 4:
                four_seen.set()

        def increment_failed(self, **kwargs):
            pass

    def step(prev, i):
        ran.append(i)
        if i == 5 and ran.count(5) == 1:
            assert four_seen.wait(timeout=10)
            _thread.interrupt_main()  # Ctrl-C, while this call runs
        return prev + i

    plan = uberjob.Plan()
    x = plan.lit(0)
    for i in range(1, 11):
        x = plan.call(step, x, i)
    progress = uberjob.progress.Progress(Watch)
    with pytest.raises(KeyboardInterrupt):
        uberjob.run(plan, output=x, max_workers=2, progress=progress)
    handle = last_run()
    assert handle.state == "interrupted"
    assert handle.resumable
    # The kept values are taken once the call the interrupt left running has ended: step 5
    # (or a later step, if its worker went on before it saw the interrupt).
    assert handle.kept_values == 1
    assert handle.resume() == sum(range(11))
    assert sorted(ran) == list(range(1, 11))  # no step ran twice


def test_a_registry_run_resumes_through_the_registry(tmp_path):
    calls = []

    def make(i):
        calls.append(i)
        return i + 1

    def check(values, fail):
        if fail:
            raise Boom("not yet")
        return sum(values)

    plan = uberjob.Plan()
    registry = uberjob.Registry()
    made = [plan.call(make, i) for i in range(5)]
    for i, node in enumerate(made):
        registry.add(node, uberjob.stores.JsonFileStore(tmp_path / f"v{i}.json"))
    switch = {"fail": True}
    total = plan.call(lambda values: check(values, switch["fail"]), made)
    with pytest.raises(CallError, match=r"call to .*lambda"):
        uberjob.run(plan, output=total, registry=registry, progress=False)
    handle = last_run()
    switch["fail"] = False
    calls.clear()
    assert handle.resume() == 15
    assert calls == []  # stored by the first run: up to date, read back
    assert last_run().resumed["count"] == 1


def test_graph_mode_and_transformed_plans_resume_their_own_physical_plan(main):
    module = main(FIRST)
    plan, output = _layered_plan(module.work)
    plan.graph  # noqa: B018 - the plan switches to graph mode
    seen = []

    def transform(physical, node):
        seen.append(physical)
        return physical, node

    with pytest.raises(CallError):
        uberjob.run(
            plan, output=output, max_errors=None, progress=False, transform_physical=transform
        )
    main(FIXED)
    module.calls.clear()
    assert last_run().resume(refresh=True) == CLEAN
    assert sorted(module.calls) == [3, 6]
    assert len(seen) == 1  # the first run's physical plan, not transformed again


def test_the_html_report_keeps_its_path_and_shows_the_resumed_run(main, tmp_path):
    module = main(FIRST)
    plan, output = _layered_plan(module.work)
    report = tmp_path / "report.html"
    with pytest.raises(CallError):
        uberjob.run(plan, output=output, max_errors=None, progress=f"html:{report}")
    assert '"state":"failed"' in report.read_text()
    main(FIXED)
    assert last_run().resume(refresh=True) == CLEAN
    page = report.read_text()
    assert '"state":"done"' in page
    assert '"resumed":{"count":1,"reused":16,"refreshed":["work"]}' in page


# -- refresh ----------------------------------------------------------------------------------


def test_refresh_leaves_alone_what_it_cannot_look_up(main):
    from uberjob._refresh import refresh_functions, refreshed_function

    module = main(
        """
        class Loader:
            def load(self, x):
                return x
        def f(x):
            return x
        g = f
        h = lambda x: x
        """
    )
    old_f, old_load, old_h = module.f, module.Loader.load, module.h
    bound = module.Loader().load
    main(
        """
        class Loader:
            def load(self, x):
                return x + 1
        def f(x):
            return x + 1
        h = lambda x: x + 1
        """
    )
    assert refreshed_function(old_f) is module.f
    assert refreshed_function(old_load) is module.Loader.load  # through attributes
    assert refreshed_function(old_h) is None  # a lambda
    assert refreshed_function(bound) is None  # a bound method
    assert refreshed_function(len) is None  # not from __main__
    module.f = 3
    assert refreshed_function(old_f) is None  # not callable any more
    del module.f
    assert refreshed_function(old_f) is None  # no longer bound
    plan = uberjob.Plan()
    calls = [plan.call(old_load, None, 1), plan.call(old_h, 1), plan.call(len, "ab")]
    assert refresh_functions(plan._nodes) == ["Loader.load"]
    assert [c.fn for c in calls] == [module.Loader.load, old_h, len]


# -- rerun ------------------------------------------------------------------------------------


def test_rerun_returns_the_value_or_raises_from_the_function(main):
    module = main(FIRST)
    plan, output = _layered_plan(module.work)
    with pytest.raises(CallError):
        uberjob.run(plan, output=output, max_errors=None, max_workers=1, progress=False)
    failure = last_run().failures[0]
    assert failure.arguments == ((3,), None)
    with pytest.raises(ValueError, match="bad input 3") as info:
        failure.rerun()
    frames = [entry.name for entry in info.traceback]
    assert frames[-1] == "work"
    assert "rerun" not in frames
    assert "prepare_rerun" not in frames
    main(FIXED)
    assert failure.rerun() == 9
    with pytest.raises(ValueError, match="bad input 3"):
        failure.rerun(refresh=False)  # the function the plan holds


def test_arguments_are_kept_for_three_failures_per_group():
    def fail(i, *, tag):
        raise Boom(f"failure {i}")

    plan = uberjob.Plan()
    calls = [plan.call(fail, i, tag="t") for i in range(10)]
    with pytest.raises(CallError):
        uberjob.run(plan, output=calls, max_errors=None, max_workers=1, progress=False)
    failures = last_run().failures
    assert [f.arguments for f in failures[:4]] == [((i,), {"tag": "t"}) for i in range(3)] + [None]
    with pytest.raises(RuntimeError, match="kept no arguments"):
        failures[5].rerun()


def test_rerun_under_the_debugger_stops_at_the_first_line(main, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("p i\nn\np i + 100\nc\n"))
    module = main(FIRST)
    plan, output = _layered_plan(module.work)
    with pytest.raises(CallError):
        uberjob.run(plan, output=output, max_workers=1, progress=False)
    main(FIXED)
    assert last_run().failures[0].rerun(debug=True) == 9
    out = capsys.readouterr().out
    assert "<string>(3)work()" in out  # stopped at the function's first line
    # (IPython's debugger once an IPython shell exists in the process, else pdb)
    assert re.search(r"(\(Pdb\)|ipdb>) 3\n", out)
    assert re.search(r"(\(Pdb\)|ipdb>) 103\n", out)


# -- Dask -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            processes=False,
            n_workers=1,
            threads_per_worker=2,
            dashboard_address=":0",
            worker_dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _dask_work(i):
    if i == 3 and _dask_switch["fail"]:
        raise Boom("bad 3")
    _dask_ran.append(i)
    return i * i


_dask_switch = {"fail": True}
_dask_ran: list[int] = []


def test_dask_keeps_its_frontier_as_futures_and_resumes_on_the_cluster(dask_client):
    plan = uberjob.Plan()
    squares = [plan.call(_dask_work, i) for i in range(6)]
    total = plan.call(sum, [plan.call(_double, s) for s in squares])
    _dask_switch["fail"] = True
    _dask_ran.clear()
    with pytest.raises(CallError):
        uberjob.run(plan, output=total, executor=dask_client, max_errors=None, progress=False)
    handle = last_run()
    kept = list(handle._frontier.values())
    assert kept
    assert all(type(v).__name__ == "Future" for v in kept)
    assert all(v.status == "finished" for v in kept)  # the keys live on, on the cluster
    failure = handle.failures[0]
    _dask_switch["fail"] = False
    assert failure.rerun() == 9  # its argument (a plain int) came along
    before = sorted(_dask_ran)
    assert handle.resume() == 2 * sum(i * i for i in range(6))
    assert sorted(_dask_ran) == sorted([*before, 3])  # only the failed call ran again


def test_dask_frontier_is_gathered_for_a_resume_elsewhere_and_discard_releases(dask_client):
    plan = uberjob.Plan()
    squares = [plan.call(_dask_work, i) for i in range(6)]
    total = plan.call(sum, [plan.call(_double, s) for s in squares])
    _dask_switch["fail"] = True
    with pytest.raises(CallError):
        uberjob.run(plan, output=total, executor=dask_client, max_errors=None, progress=False)
    handle = last_run()
    _dask_switch["fail"] = False
    assert handle.resume(executor=None) == 2 * sum(i * i for i in range(6))
    # discard: the futures are released at once
    _dask_switch["fail"] = True
    with pytest.raises(CallError):
        uberjob.run(plan, output=total, executor=dask_client, max_errors=None, progress=False)
    handle = last_run()
    keys = [v.key for v in handle._frontier.values()]
    assert keys
    assert all(key in dask_client.refcount for key in keys)
    handle.discard()
    assert handle.kept_values == 0
    dask_client.sync(asyncio.sleep, 0)  # (releases are processed on the client's loop)
    assert not any(key in dask_client.refcount for key in keys)  # released on the cluster


def _dask_source():
    return 21


def _dask_check(x):
    if _dask_switch["fail"]:
        raise Boom("not yet")
    return 2 * x


def test_dask_rerun_gathers_the_arguments_kept_on_the_cluster(dask_client):
    plan = uberjob.Plan()
    checked = plan.call(_dask_check, plan.call(_dask_source))
    _dask_switch["fail"] = True
    with pytest.raises(CallError):
        uberjob.run(plan, output=checked, executor=dask_client, progress=False)
    failure = last_run().failures[0]
    (argument,), _ = failure.arguments
    assert type(argument).__name__ == "Future"  # held on the cluster, not fetched
    _dask_switch["fail"] = False
    assert failure.rerun() == 42
