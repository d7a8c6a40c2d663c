"""Benchmark workloads: one measurement per process.

This file is both the scenario code and the child-process entry point that ``run.py`` starts:

    python workloads.py --impl uberjob|dask|tpe|floor --scenario NAME --params JSON --out OUT.json

It imports only the standard library plus the implementation under test, and uses only the public
uberjob 1.0 API (``Plan``, ``Plan.call``, ``Plan.scope``, ``run``, ``Registry``,
``stores.PickleFileStore``, ``progress.console_progress``), so the same code runs on uberjob 1.0.0
and on uberjob 2 (which interpreter and ``PYTHONPATH`` decide which one is imported). The Dask
equivalents are plain graph dicts run with ``dask.threaded.get``; ``tpe`` is a bare
``concurrent.futures.ThreadPoolExecutor.map`` floor for the wide and sleep shapes; ``floor`` is the
minimal sequential loop over the random DAG (the floor of its growth, see floor_scenario_run).

Every figure is written as JSON to ``--out`` (never to stdout: 1.0's console progress prints to
stdout, and ``run.py`` sends the child's stdout and stderr to /dev/null so that printing progress
is not what we measure).

Memory: every run scenario reports ``peak_rss_delta_bytes`` = peak RSS of the process
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) minus the current RSS (``/proc/self/statm``) taken
after imports and after a 10-call warm-up run with the same settings. It covers build + run and
includes everything (Python objects, networkx dicts, thread stacks touched, allocator slack).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import shutil
import sys
import time
import traceback

# ------------------------------------------------------------------------------------------------
# The call bodies. Module-level so their qualified names are stable (progress scopes use them).


def noop(*args):
    """A no-op call body: the time it takes (~0.05 µs) is negligible next to any scheduler."""
    return None


def leaf(i):
    return None


def reduce_noop(*args):
    return None


def make_value(i):
    return i


def sleep_call(seconds):
    time.sleep(seconds)


# ------------------------------------------------------------------------------------------------
# Measurement helpers.


def current_rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


class NotAvailable(Exception):
    """The implementation does not support this scenario (yet): reported as n/a."""


def random_dag(n: int, seed: int, max_preds: int = 3) -> list[list[int]]:
    """Node i gets 0..max_preds distinct predecessors drawn uniformly from nodes 0..i-1."""
    rng = random.Random(seed)
    preds = []
    for i in range(n):
        k = min(rng.randint(0, max_preds), i)
        preds.append(rng.sample(range(i), k) if k else [])
    return preds


def dag_sinks(preds: list[list[int]]) -> list[int]:
    used = bytearray(len(preds))
    for ps in preds:
        for p in ps:
            used[p] = 1
    return [i for i in range(len(preds)) if not used[i]]


def reduction_layout(n_total: int, n_scopes: int, fan_in: int = 10):
    """Sizes for the issue-6 shape: per scope, a wide layer of leaves reduced by a fan-in tree.

    Picks the leaf count per scope so that leaves + tree nodes ~= n_total / n_scopes.
    """
    per_scope = n_total // n_scopes
    leaves = max(1, round(per_scope * (fan_in - 1) / fan_in))
    return leaves


# ------------------------------------------------------------------------------------------------
# uberjob (1.0 and ours: same code).


def _uj_progress(uberjob, progress: str):
    if progress == "console":
        return uberjob.progress.console_progress
    if progress == "off":
        return False
    raise ValueError(progress)


def uj_build(uberjob, shape: str, n: int, seed: int = 0):
    """Returns (plan, output, expected-check function)."""
    plan = uberjob.Plan()
    if shape == "wide":
        out = [plan.call(noop, i) for i in range(n)]
        return plan, out, lambda r: isinstance(r, list) and len(r) == n
    if shape == "chain":
        x = plan.call(noop, 0)
        for _ in range(n - 1):
            x = plan.call(noop, x)
        return plan, x, lambda r: r is None
    if shape == "dag":
        preds = random_dag(n, seed)
        nodes = []
        for i, ps in enumerate(preds):
            with plan.scope(f"s{i % 10}"):
                nodes.append(plan.call(noop, *[nodes[p] for p in ps]))
        sinks = [nodes[i] for i in dag_sinks(preds)]
        del nodes
        return plan, sinks, lambda r: isinstance(r, list) and len(r) == len(sinks)
    if shape == "sleep":
        out = [plan.call(sleep_call, 0.01) for _ in range(n)]
        return plan, out, lambda r: len(r) == n
    if shape == "million":
        n_scopes = 100
        leaves = reduction_layout(n, n_scopes)
        roots = []
        for s in range(n_scopes):
            with plan.scope(f"part{s:02d}"):
                level = [plan.call(leaf, i) for i in range(leaves)]
                while len(level) > 1:
                    level = [
                        plan.call(reduce_noop, *level[j : j + 10]) for j in range(0, len(level), 10)
                    ]
                roots.append(level[0])
        with plan.scope("total"):
            level = roots
            while len(level) > 1:
                level = [
                    plan.call(reduce_noop, *level[j : j + 10]) for j in range(0, len(level), 10)
                ]
        return plan, level[0], lambda r: r is None
    raise ValueError(shape)


def uj_scenario_build(uberjob, p):
    n = p["n"]
    shape = p["shape"]
    times = []
    for _ in range(p["reps"]):
        gc.collect()
        t0 = time.perf_counter()
        plan = uberjob.Plan()
        if shape == "literal":
            for i in range(n):
                plan.call(noop, i)
        elif shape == "chain":
            x = plan.call(noop, 0)
            for _ in range(n - 1):
                x = plan.call(noop, x)
        else:
            raise ValueError(shape)
        times.append(time.perf_counter() - t0)
        del plan
        x = None
    best = min(times)
    return {"us_per_call": best / n * 1e6, "times_s": times}


def uj_scenario_run(uberjob, p):
    shape, n, workers = p["shape"], p["n"], p["workers"]
    progress = _uj_progress(uberjob, p["progress"])
    # Warm-up: a 10-node run with the same settings, then the memory baseline.
    plan, out, _ = uj_build(uberjob, shape if shape != "million" else "wide", 10, p.get("seed", 0))
    uberjob.run(plan, output=out, max_workers=workers, progress=progress)
    del plan, out
    gc.collect()
    baseline = current_rss_bytes()
    peak_before = peak_rss_bytes()
    builds, runs = [], []
    for _ in range(p["reps"]):
        gc.collect()
        t0 = time.perf_counter()
        plan, out, check = uj_build(uberjob, shape, n, p.get("seed", 0))
        t1 = time.perf_counter()
        result = uberjob.run(plan, output=out, max_workers=workers, progress=progress)
        t2 = time.perf_counter()
        if not check(result):
            raise AssertionError(f"unexpected result for {shape}: {str(result)[:200]}")
        builds.append(t1 - t0)
        runs.append(t2 - t1)
        del plan, out, result
    peak = peak_rss_bytes()
    best = min(runs)
    res = {
        "run_s": runs,
        "build_s": builds,
        "us_per_call": best / n * 1e6,
        "peak_rss_delta_bytes": peak - baseline,
        "peak_rss_grew": peak > peak_before,
        "bytes_per_node": (peak - baseline) / n,
    }
    if shape == "sleep":
        ideal = n * 0.01 / workers
        res["ideal_s"] = ideal
        res["efficiency"] = ideal / best
    if shape == "million":
        res["end_to_end_s"] = min(b + r for b, r in zip(builds, runs, strict=True))
    return res


def big_value(k, mb):
    """A value of ``mb`` MiB whose pages are touched, so that it counts in the RSS."""
    size = mb << 20
    value = bytearray(size)
    value[::4096] = b"\x01" * len(range(0, size, 4096))
    return value


def consume(value):
    return len(value)


def ladder_step(x, value):
    return big_value(0, len(value) >> 20)


def uj_scenario_memory(uberjob, p):
    """Issue 11's "memory-conscious order": peak RSS of the fan-out (n sources of ``mb`` MiB,
    each read by 2 calls) or the ladder (``x = step(x, produce(k))``, n steps, every value
    ``mb`` MiB), with the default number of workers (1.0's default too)."""
    shape, n, mb = p["shape"], p["n"], p["mb"]
    progress = _uj_progress(uberjob, p["progress"])
    warm = uberjob.Plan()
    uberjob.run(warm, output=[warm.call(consume, warm.call(big_value, 0, mb))], progress=progress)
    del warm
    gc.collect()
    baseline = current_rss_bytes()
    plan = uberjob.Plan()
    if shape == "fanout":
        out = []
        for k in range(n):
            source = plan.call(big_value, k, mb)
            out += [plan.call(consume, source), plan.call(consume, source)]
        check = lambda r: len(r) == 2 * n  # noqa: E731
    elif shape == "ladder":
        x = plan.call(big_value, 0, mb)
        for k in range(1, n):
            x = plan.call(ladder_step, x, plan.call(big_value, k, mb))
        out = plan.call(consume, x)
        check = lambda r: r == mb << 20  # noqa: E731
    else:
        raise ValueError(shape)
    t0 = time.perf_counter()
    result = uberjob.run(plan, output=out, progress=progress)
    elapsed = time.perf_counter() - t0
    if not check(result):
        raise AssertionError(f"wrong result for {shape}")
    peak = peak_rss_bytes() - baseline
    return {"peak_rss_mb": peak / 2**20, "values_at_peak": peak / (mb << 20), "run_s": elapsed}


def uj_scenario_registry(uberjob, p):
    if not hasattr(uberjob, "Registry"):
        raise NotAvailable("uberjob.Registry does not exist")
    try:
        from uberjob.stores import PickleFileStore
    except ImportError as e:
        raise NotAvailable(f"uberjob.stores.PickleFileStore: {e}") from e
    n, workers = p["n"], p["workers"]
    progress = _uj_progress(uberjob, p["progress"])
    root = p["dir"]
    os.makedirs(root, exist_ok=False)
    try:
        plan = uberjob.Plan()
        registry = uberjob.Registry()
        calls = []
        for i in range(n):
            c = plan.call(make_value, i)
            registry.add(c, PickleFileStore(os.path.join(root, f"v{i:05d}.pkl")))
            calls.append(c)

        def clear():
            for name in os.listdir(root):
                os.unlink(os.path.join(root, name))

        def timed(**kw):
            gc.collect()
            t0 = time.perf_counter()
            r = uberjob.run(plan, registry=registry, max_workers=workers, progress=progress, **kw)
            return time.perf_counter() - t0, r

        stale, fresh, readback = [], [], []
        for _ in range(p["reps"]):
            clear()
            t, _ = timed()
            stale.append(t)
            if len(os.listdir(root)) != n:
                raise AssertionError(f"expected {n} files after the stale run")
            t, _ = timed()
            fresh.append(t)
            t, r = timed(output=calls)
            if r != list(range(n)):
                raise AssertionError("read-back values differ")
            readback.append(t)
        return {
            "stale_us_per_call": min(stale) / n * 1e6,
            "fresh_us_per_call": min(fresh) / n * 1e6,
            "readback_us_per_call": min(readback) / n * 1e6,
            "stale_s": stale,
            "fresh_s": fresh,
            "readback_s": readback,
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# Dask (threaded scheduler, plain graph dicts).


def dask_graph(shape: str, n: int, seed: int = 0):
    if shape == "wide":
        dsk = {("w", i): (noop, i) for i in range(n)}
        return dsk, [("w", i) for i in range(n)], lambda r: len(r) == n
    if shape == "chain":
        dsk = {("c", 0): (noop, 0)}
        for i in range(1, n):
            dsk[("c", i)] = (noop, ("c", i - 1))
        return dsk, ("c", n - 1), lambda r: r is None
    if shape == "dag":
        preds = random_dag(n, seed)

        def key(i):
            return (f"s{i % 10}", i)

        dsk = {key(i): (noop, *[key(j) for j in ps]) for i, ps in enumerate(preds)}
        sinks = [key(i) for i in dag_sinks(preds)]
        return dsk, sinks, lambda r: len(r) == len(sinks)
    if shape == "sleep":
        dsk = {("s", i): (sleep_call, 0.01) for i in range(n)}
        return dsk, [("s", i) for i in range(n)], lambda r: len(r) == n
    raise NotAvailable(f"no Dask version of shape {shape!r}")


def dask_scenario_build(dask, p):
    if p["shape"] != "literal":
        raise NotAvailable("building a long chain of Delayed is O(N^2); not measured")
    n = p["n"]
    times = []
    for _ in range(p["reps"]):
        gc.collect()
        t0 = time.perf_counter()
        f = dask.delayed(noop, pure=False)
        out = [f(i) for i in range(n)]
        times.append(time.perf_counter() - t0)
        del out
    return {"us_per_call": min(times) / n * 1e6, "times_s": times}


def dask_scenario_run(dask, p):
    import contextlib

    import dask.threaded
    from dask.diagnostics import ProgressBar

    shape, n, workers = p["shape"], p["n"], p["workers"]

    def progress_cm():
        return ProgressBar() if p["progress"] == "console" else contextlib.nullcontext()

    dsk, keys, _ = dask_graph(shape, 10, p.get("seed", 0))
    with progress_cm():
        dask.threaded.get(dsk, keys, num_workers=workers)
    del dsk, keys
    gc.collect()
    baseline = current_rss_bytes()
    builds, runs = [], []
    for _ in range(p["reps"]):
        gc.collect()
        t0 = time.perf_counter()
        dsk, keys, check = dask_graph(shape, n, p.get("seed", 0))
        t1 = time.perf_counter()
        with progress_cm():
            result = dask.threaded.get(dsk, keys, num_workers=workers)
        t2 = time.perf_counter()
        if not check(result):
            raise AssertionError(f"unexpected result for {shape}")
        builds.append(t1 - t0)
        runs.append(t2 - t1)
        del dsk, keys, result
    peak = peak_rss_bytes()
    best = min(runs)
    res = {
        "run_s": runs,
        "build_s": builds,
        "us_per_call": best / n * 1e6,
        "peak_rss_delta_bytes": peak - baseline,
        "bytes_per_node": (peak - baseline) / n,
    }
    if shape == "sleep":
        ideal = n * 0.01 / workers
        res["ideal_s"] = ideal
        res["efficiency"] = ideal / best
    return res


def dask_scenario_wide_delayed(dask, p):
    """dask.compute(*[delayed(noop)(i) ...]): the idiomatic way, O(N^2) in recent Dask."""
    n, workers = p["n"], p["workers"]
    f = dask.delayed(noop, pure=False)
    dask.compute(*[f(i) for i in range(10)], scheduler="threads", num_workers=workers)
    runs = []
    for _ in range(p["reps"]):
        out = [f(i) for i in range(n)]
        gc.collect()
        t0 = time.perf_counter()
        r = dask.compute(*out, scheduler="threads", num_workers=workers)
        runs.append(time.perf_counter() - t0)
        assert len(r) == n
        del out, r
    return {"us_per_call": min(runs) / n * 1e6, "run_s": runs}


# ------------------------------------------------------------------------------------------------
# Bare ThreadPoolExecutor.map (a floor for the wide shape only).


def tpe_scenario_run(p):
    from concurrent.futures import ThreadPoolExecutor

    if p["shape"] not in ("wide", "sleep"):
        raise NotAvailable("the ThreadPoolExecutor.map floor is for the wide and sleep shapes only")
    n, workers = p["n"], p["workers"]
    fn, args = (noop, range(n)) if p["shape"] == "wide" else (sleep_call, [0.01] * n)
    runs = []
    for _ in range(p["reps"]):
        gc.collect()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(workers) as ex:
            r = list(ex.map(fn, args))
        runs.append(time.perf_counter() - t0)
        assert len(r) == n
    res = {"us_per_call": min(runs) / n * 1e6, "run_s": runs}
    if p["shape"] == "sleep":
        res["efficiency"] = n * 0.01 / workers / min(runs)
    return res


# ------------------------------------------------------------------------------------------------
# The minimal loop: the least any Python engine does per call of the random DAG (a floor for the
# DAG's growth from 20k to 200k calls, measured in the same run as ours).


def floor_scenario_run(p):
    """Evaluate the random DAG sequentially with the least bookkeeping a scheduler can keep.

    Successor lists, waiting counts and reader counts (to release each value after its last
    reader), then one loop over a heap of ready nodes: no threads, no progress, no errors, no
    plan objects. What it pays per call at 200k beyond 20k is memory traffic alone (every edge
    joins two nodes drawn uniformly from the whole DAG), so its growth is the floor for
    ``run`` on this shape; setting up is timed too, as ``run`` times its compile.
    """
    from heapq import heappop, heappush

    if p["shape"] != "dag":
        raise NotAvailable("the minimal loop is for the random DAG only")
    n = p["n"]
    preds = random_dag(n, p.get("seed", 0))
    sinks = dag_sinks(preds)
    runs, loops = [], []
    for _ in range(p["reps"]):
        gc.collect()
        t0 = time.perf_counter()
        succ = [[] for _ in range(n)]
        uses = [0] * n
        for i, sources in enumerate(preds):
            for j in sources:
                succ[j].append(i)
                uses[j] += 1
        for j in sinks:
            uses[j] += 1  # read by the output
        waiting = [len(sources) for sources in preds]
        values = [None] * n
        ready = [i for i in range(n) if not preds[i]]  # ascending: already a heap
        t1 = time.perf_counter()
        while ready:
            i = heappop(ready)
            sources = preds[i]
            values[i] = noop(*[values[j] for j in sources])
            for j in sources:
                uses[j] -= 1
                if uses[j] == 0:
                    values[j] = None
            for s in succ[i]:
                waiting[s] -= 1
                if waiting[s] == 0:
                    heappush(ready, s)
        result = [values[j] for j in sinks]
        t2 = time.perf_counter()
        assert len(result) == len(sinks)
        assert not any(waiting)
        runs.append(t2 - t0)
        loops.append(t2 - t1)
        del succ, uses, waiting, values, result
    return {
        "us_per_call": min(runs) / n * 1e6,
        "loop_us_per_call": min(loops) / n * 1e6,
        "run_s": runs,
    }


# ------------------------------------------------------------------------------------------------


def measure(impl: str, scenario: str, p: dict) -> dict:
    info = {"python": sys.version.split()[0]}
    if impl == "uberjob":
        import uberjob

        info["version"] = getattr(uberjob, "__version__", "?")
        info["module"] = os.path.dirname(uberjob.__file__)
        if not hasattr(uberjob, "run") or not hasattr(uberjob, "Plan"):
            raise NotAvailable("uberjob.run / uberjob.Plan missing")
        fn = {
            "build": uj_scenario_build,
            "run": uj_scenario_run,
            "registry": uj_scenario_registry,
            "memory": uj_scenario_memory,
        }.get(scenario)
        if fn is None:
            raise NotAvailable(scenario)
        return info, fn(uberjob, p)
    if impl == "dask":
        import dask

        info["version"] = dask.__version__
        fn = {
            "build": dask_scenario_build,
            "run": dask_scenario_run,
            "wide_delayed": dask_scenario_wide_delayed,
        }.get(scenario)
        if fn is None or p.get("shape") == "million":
            raise NotAvailable(scenario)
        return info, fn(dask, p)
    if impl == "tpe":
        info["version"] = "stdlib"
        if scenario != "run":
            raise NotAvailable(scenario)
        return info, tpe_scenario_run(p)
    if impl == "floor":
        info["version"] = "stdlib"
        if scenario != "run":
            raise NotAvailable(scenario)
        return info, floor_scenario_run(p)
    raise ValueError(impl)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--impl", required=True)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--params", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    p = json.loads(a.params)
    out = {"impl": a.impl, "scenario": a.scenario, "params": p}
    try:
        info, metrics = measure(a.impl, a.scenario, p)
        out.update(status="ok", info=info, metrics=metrics)
    except (NotAvailable, NotImplementedError) as e:
        out.update(status="n/a", reason=f"{type(e).__name__}: {e}")
    except BaseException as e:
        out.update(
            status="error", reason=f"{type(e).__name__}: {e}", traceback=traceback.format_exc()
        )
    with open(a.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
