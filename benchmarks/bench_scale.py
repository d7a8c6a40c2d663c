#!/usr/bin/env python3
"""Scale benchmark (issue 6): a million calls locally, and ten thousand on a Dask cluster.

    python benchmarks/bench_scale.py                 # everything (~2-4 min on a 2-core machine)
    python benchmarks/bench_scale.py --quick         # 100,000 local calls, 2,000 Dask calls
    python benchmarks/bench_scale.py --only local    # or: --only dask

The shape: scopes of 10,000 no-op calls each, a wide layer of 9,000 leaves feeding a reduction
tree of fan-in 10 (900 + 90 + 9 + 1 calls), the scope roots being the output. 100 scopes make
1,000,000 calls.

1. **Local**: uberjob 2 builds and runs 1,000,000 calls on its thread engine with the progress
   widget's model updating (the real ``WidgetProgressObserver``, not displayed: snapshots are
   taken and serialized on its throttle exactly as in Jupyter). Targets: <= 15 s end to end,
   <= 1 KB peak memory per node (peak RSS minus RSS after imports and a warm-up run). uberjob
   1.0.0 (``benchmarks/.venv-uberjob1``) runs the same shape at 100,000 calls with its console
   progress (to /dev/null), and its time is projected linearly to 1,000,000 (1.0 grows
   super-linearly, so the projection flatters it).
2. **Dask**: on one ``LocalCluster`` (2 worker processes x 1 thread, 127.0.0.1), the 10,000-call
   shape through ``uberjob.run(plan, executor=client)`` against Dask's own ``client.compute`` of
   the equivalent ``dask.delayed`` graph, alternating, best of 3. Target: our time per call
   <= 1.5x Dask's. Run with the newest distributed (the dev venv) and with 2024.8.2
   (``benchmarks/.venv-distributed-2024``) when that venv exists.

Each measurement runs in a child process of its own (clean memory figures); children write JSON
to a file and their output goes to /dev/null.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OURS = ROOT / ".venv" / "bin" / "python"
UBERJOB1 = BENCH / ".venv-uberjob1" / "bin" / "python"
DISTRIBUTED_2024 = BENCH / ".venv-distributed-2024" / "bin" / "python"
PER_SCOPE = 10_000
LEAVES = 9_000
FAN_IN = 10


# ------------------------------------------------------------------------------------------------
# Call bodies (module-level: stable scope names, picklable by reference on Dask workers).


def leaf(i):
    return None


def reduce_noop(*args):
    return None


# ------------------------------------------------------------------------------------------------
# Building the shape.


def build_uberjob(uberjob, calls: int):
    """The shape with uberjob's public 1.0 API; returns (plan, scope roots)."""
    plan = uberjob.Plan()
    roots = []
    for s in range(max(1, calls // PER_SCOPE)):
        with plan.scope(f"group{s:03d}"):
            level = [plan.call(leaf, i) for i in range(LEAVES)]
            while len(level) > 1:
                level = [
                    plan.call(reduce_noop, *level[k : k + FAN_IN])
                    for k in range(0, len(level), FAN_IN)
                ]
            roots.append(level[0])
    return plan, roots


def build_delayed(dask):
    delayed = dask.delayed
    level = [delayed(leaf, pure=False)(i) for i in range(LEAVES)]
    while len(level) > 1:
        level = [
            delayed(reduce_noop, pure=False)(*level[k : k + FAN_IN])
            for k in range(0, len(level), FAN_IN)
        ]
    return level[0]


# ------------------------------------------------------------------------------------------------
# Children.


def current_rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_seconds() -> float:
    """CPU time of this process (all threads): robust to other load on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_local(calls: int) -> dict:
    import uberjob

    version = getattr(uberjob, "__version__", "?")
    if version.startswith("1."):
        progress = uberjob.progress.console_progress
        label = "console_progress"
    else:
        from uberjob.progress import Progress
        from uberjob.progress._widget import WidgetProgressObserver

        progress = Progress(lambda: WidgetProgressObserver(display=False))
        label = "widget model (WidgetProgressObserver, not displayed)"
    warm, roots = build_uberjob(uberjob, PER_SCOPE)  # warm-up: imports, code paths, thread pool
    uberjob.run(warm, output=roots, progress=progress)
    del warm, roots
    gc.collect()
    baseline = current_rss()
    cpu_start, start = cpu_seconds(), time.perf_counter()
    plan, roots = build_uberjob(uberjob, calls)
    cpu_built, built = cpu_seconds(), time.perf_counter()
    uberjob.run(plan, output=roots, progress=progress)
    cpu_done, done = cpu_seconds(), time.perf_counter()
    return {
        "uberjob": version,
        "progress": label,
        "calls": calls,
        "build_s": built - start,
        "run_s": done - built,
        "total_s": done - start,
        "build_cpu_s": cpu_built - cpu_start,
        "run_cpu_s": cpu_done - cpu_built,
        "total_cpu_s": cpu_done - cpu_start,
        "load_average": os.getloadavg()[0],
        "peak_rss_delta_bytes": peak_rss() - baseline,
    }


def child_dask(calls: int, reps: int) -> dict:
    import dask
    import distributed

    import uberjob
    from uberjob.progress import Progress
    from uberjob.progress._model import ProgressModel

    if calls != PER_SCOPE:
        global LEAVES
        LEAVES = calls * LEAVES // PER_SCOPE
    model_progress = Progress(ProgressModel)
    results = {"dask": dask.__version__, "distributed": distributed.__version__, "calls": calls}
    with (
        distributed.LocalCluster(
            processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        client.wait_for_workers(2)

        def ours(max_workers=None):
            plan, roots = build_uberjob(uberjob, calls)
            start = time.perf_counter()
            uberjob.run(plan, output=roots, executor=client, max_workers=max_workers,
                        progress=model_progress)  # fmt: skip
            return time.perf_counter() - start

        def theirs():
            root = build_delayed(dask)
            start = time.perf_counter()
            client.compute(root).result()
            return time.perf_counter() - start

        def theirs_graph():
            """The same through ``client.get`` of a plain graph dict (no delayed layer)."""
            graph = {f"leaf-{i}": (leaf, i) for i in range(LEAVES)}
            level = list(graph)
            depth = 0
            while len(level) > 1:
                depth += 1
                nxt = []
                for k in range(0, len(level), FAN_IN):
                    key = f"reduce{depth}-{k}"
                    graph[key] = (reduce_noop, *level[k : k + FAN_IN])
                    nxt.append(key)
                level = nxt
            start = time.perf_counter()
            client.get(graph, level[0])
            return time.perf_counter() - start

        theirs(), ours()  # warm-up: imports and code paths on the workers
        timings = {"ours": [], "ours_max_workers_64": [], "dask_compute_delayed": [],
                   "dask_get_graph": []}  # fmt: skip
        for _ in range(reps):
            timings["dask_compute_delayed"].append(theirs())
            timings["ours"].append(ours())
            timings["dask_get_graph"].append(theirs_graph())
            timings["ours_max_workers_64"].append(ours(64))
    results["timings_s"] = timings
    results["best_s"] = {k: min(v) for k, v in timings.items()}
    return results


# ------------------------------------------------------------------------------------------------
# Driver.


def run_child(python: Path, args: list[str], *, pythonpath: Path | None = None) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = dict(os.environ)
        if pythonpath is not None:
            env["PYTHONPATH"] = str(pythonpath)
        else:
            env.pop("PYTHONPATH", None)
        completed = subprocess.run(
            [str(python), str(Path(__file__).resolve()), "--child", *args, "--out", out.name],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
            cwd=str(BENCH),
        )  # fmt: skip
        if completed.returncode != 0:
            return {"error": completed.stderr.strip().splitlines()[-1:]}
        return json.loads(Path(out.name).read_text() or "{}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["local", "dask"])
    parser.add_argument("--calls", type=int)
    parser.add_argument("--uberjob1-calls", type=int)
    parser.add_argument("--dask-calls", type=int)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--child", choices=["local", "dask"])
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child is not None:
        if args.child == "local":
            result = child_local(args.calls)
        else:
            result = child_dask(args.dask_calls, args.reps)
        Path(args.out).write_text(json.dumps(result))
        return

    calls = args.calls or (100_000 if args.quick else 1_000_000)
    calls1 = args.uberjob1_calls or (20_000 if args.quick else 100_000)
    dask_calls = args.dask_calls or (2_000 if args.quick else 10_000)
    report: dict = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}

    if args.only in (None, "local"):
        ours = run_child(OURS, ["local", "--calls", str(calls)], pythonpath=ROOT / "src")
        report["local_ours"] = ours
        print(f"uberjob 2, {calls:,} calls: {json.dumps(ours)}")
        if "total_s" in ours:
            per_node = ours["peak_rss_delta_bytes"] / calls
            print(
                f"  end to end {ours['total_s']:.2f} s (target <= 15 s): build "
                f"{ours['build_s']:.2f} s + run {ours['run_s']:.2f} s; peak memory "
                f"{per_node:.0f} B/node (target <= 1024); CPU {ours['total_cpu_s']:.2f} s "
                f"(load average {ours['load_average']:.1f} on {os.cpu_count()} cores)"
            )
        if UBERJOB1.exists():
            old = run_child(UBERJOB1, ["local", "--calls", str(calls1)])
            report["local_uberjob1"] = old
            print(f"uberjob 1.0, {calls1:,} calls: {json.dumps(old)}")
            if "total_s" in old and "total_s" in ours:
                projected = old["total_s"] * calls / calls1
                report["uberjob1_projected_s"] = projected
                print(
                    f"  projected to {calls:,}: {projected:.1f} s (linear, flattering 1.0); "
                    f"ours is {projected / ours['total_s']:.1f}x faster (CPU time: "
                    f"{old['total_cpu_s'] * calls / calls1 / ours['total_cpu_s']:.1f}x)"
                )
        else:
            print(f"(no {UBERJOB1}: pip install uberjob==1.0.0 there to compare)")

    if args.only in (None, "dask"):
        for label, python in (("newest", OURS), ("2024.8.2", DISTRIBUTED_2024)):
            if not python.exists():
                print(f"(no {python}: skipping distributed {label})")
                continue
            result = run_child(
                python, ["dask", "--dask-calls", str(dask_calls), "--reps", str(args.reps)],
                pythonpath=ROOT / "src",
            )  # fmt: skip
            report[f"dask_{label}"] = result
            if "best_s" not in result:
                print(f"dask {label}: {result}")
                continue
            best = result["best_s"]
            per_call = {k: 1e6 * v / dask_calls for k, v in best.items()}
            print(
                f"LocalCluster, distributed {result['distributed']}, {dask_calls:,} calls "
                f"(best of {args.reps}), us/call: "
                + ", ".join(f"{k} {v:.0f}" for k, v in per_call.items())
            )
            print(
                f"  ours / client.compute(delayed) = "
                f"{best['ours'] / best['dask_compute_delayed']:.2f} (target <= 1.5); "
                f"with max_workers=64: "
                f"{best['ours_max_workers_64'] / best['dask_compute_delayed']:.2f}"
            )

    RESULTS = BENCH / "results"
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"scale-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"saved {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
