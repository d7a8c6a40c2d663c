"""A against B: the run scenarios of ``workloads.py`` on an earlier commit and on this checkout.

    python benchmarks/ab.py --base e35b8ac                       # the six no-op scenarios
    python benchmarks/ab.py --base main~3 --scenarios dag:8,wide:8 --pairs 12
    python benchmarks/ab.py --base e35b8ac --scenarios sleep:32 --calls 256

Each pair runs ``workloads.py --scenario run`` once on each side, in fresh processes, one after
the other (which side goes first alternates), with the same interpreter; a side's figure is the
median of its repetitions. The ratio printed is the median of the pairs' ratios (this checkout
over the base), with their range: on a shared 2-core machine single runs of one side spread by
±15% and more, and only pairs taken moments apart cancel the drift. Use it for "no slower than
commit X" targets; ``run.py`` compares implementations instead.

The base is checked out with ``git worktree`` into a temporary directory and removed afterwards;
both sides import ``uberjob`` from their own ``src`` through ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKLOADS = HERE / "workloads.py"
DEFAULT_SCENARIOS = "wide:1,wide:8,chain:1,chain:8,dag:1,dag:8"


def one_side(src: Path, shape: str, workers: int, args) -> float:
    """The median run time of one fresh process on ``src``, in seconds."""
    params = {
        "shape": shape,
        "n": args.calls,
        "workers": workers,
        "progress": args.progress,
        "reps": args.reps,
    }
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "out.json"
        subprocess.run(
            [sys.executable, str(WORKLOADS), "--impl", "uberjob", "--scenario", "run",
             "--params", json.dumps(params), "--out", str(out)],
            env=dict(os.environ, PYTHONPATH=str(src)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
        )  # fmt: skip
        result = json.loads(out.read_text())
    if result["status"] != "ok":
        raise SystemExit(f"{src} {shape}:{workers}: {result.get('reason')}")
    return statistics.median(result["metrics"]["run_s"])


def compare(base_src: Path, new_src: Path, shape: str, workers: int, args) -> str:
    ratios, base_times, new_times = [], [], []
    for pair in range(args.pairs):
        if pair % 2:
            new = one_side(new_src, shape, workers, args)
            base = one_side(base_src, shape, workers, args)
        else:
            base = one_side(base_src, shape, workers, args)
            new = one_side(new_src, shape, workers, args)
        ratios.append(new / base)
        base_times.append(base)
        new_times.append(new)
    per_call = 1e6 / args.calls
    return (
        f"| {shape}, {workers} worker{'s' if workers > 1 else ''} "
        f"| {statistics.median(new_times) * per_call:.2f} "
        f"| {statistics.median(base_times) * per_call:.2f} "
        f"| {statistics.median(ratios):.3f} [{min(ratios):.2f}-{max(ratios):.2f}] |"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the commit to compare against")
    parser.add_argument("--scenarios", default=DEFAULT_SCENARIOS, help="shape:workers,...")
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--reps", type=int, default=5, help="repetitions per process")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--progress", default="console", choices=["console", "off"])
    args = parser.parse_args(argv)
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        worktree = Path(scratch) / "base"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree), args.base],
            check=True, capture_output=True,
        )  # fmt: skip
        try:
            print(f"{head} (working tree) against {args.base}: µs per call, median of "
                  f"{args.pairs} pairs' ratios [range], {args.progress} progress")  # fmt: skip
            print("\n| scenario | now | base | now / base |\n|---|---:|---:|---:|")
            for spec in args.scenarios.split(","):
                shape, workers = spec.split(":")
                print(
                    compare(worktree / "src", REPO / "src", shape, int(workers), args),
                    flush=True,
                )
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)],
                check=False, capture_output=True,
            )  # fmt: skip


if __name__ == "__main__":
    main()
