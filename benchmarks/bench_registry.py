"""Registry benchmark: 2,000 PickleFileStores on a RAM disk, uberjob 2 against uberjob 1.0.

Three runs of the same plan (a call per store, progress off), each the best of ``--reps``:

- all stale: every store is missing, so every call runs, is written (and nothing read back);
- all fresh, nothing to do: the stale check finds every store up to date, no output asked for;
- all fresh, read back: ``output=`` every node, so every store is read.

Each implementation runs in its own interpreter (ours from this checkout's ``.venv``, 1.0 from
``benchmarks/.venv-uberjob1``, created with ``python3 -m venv benchmarks/.venv-uberjob1 &&
benchmarks/.venv-uberjob1/bin/pip install uberjob==1.0.0``). Usage::

    .venv/bin/python benchmarks/bench_registry.py [--n 2000] [--reps 5] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = {
    "uberjob 2": ROOT / ".venv" / "bin" / "python",
    "uberjob 1.0": HERE / ".venv-uberjob1" / "bin" / "python",
}
TARGETS = {  # scenario -> (target text, check(ours, theirs))
    "stale": ("≤ 1/2 of 1.0", lambda ours, theirs: ours <= theirs / 2),
    "fresh": ("≤ 15 µs", lambda ours, theirs: ours <= 15),
    "readback": ("≤ 1/2 of 1.0", lambda ours, theirs: ours <= theirs / 2),
}
LABELS = {
    "stale": "all stale (compute + write)",
    "fresh": "all fresh, nothing to do",
    "readback": "all fresh, read back as output",
}

CHILD = r"""
import gc, json, os, sys, time
import uberjob
from uberjob.stores import PickleFileStore

def make_value(i):
    return i

n, reps, workers, root = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
plan = uberjob.Plan()
registry = uberjob.Registry()
calls = []
for i in range(n):
    call = plan.call(make_value, i)
    registry.add(call, PickleFileStore(os.path.join(root, f"v{i:05d}.pkl")))
    calls.append(call)

def timed(**kwargs):
    gc.collect()
    start = time.perf_counter()
    result = uberjob.run(plan, registry=registry, max_workers=workers, progress=False, **kwargs)
    return time.perf_counter() - start, result

best = {"stale": [], "fresh": [], "readback": []}
for _ in range(reps):
    for name in os.listdir(root):
        os.unlink(os.path.join(root, name))
    seconds, _ = timed()
    best["stale"].append(seconds)
    assert len(os.listdir(root)) == n, "every store is written"
    seconds, _ = timed()
    best["fresh"].append(seconds)
    seconds, result = timed(output=calls)
    assert result == list(range(n)), "the values read back"
    best["readback"].append(seconds)
print(json.dumps({k: min(v) / n * 1e6 for k, v in best.items()}))
"""


def measure(python: Path, n: int, reps: int, workers: int) -> dict | None:
    if not python.exists():
        return None
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=base, prefix="uberjob-bench-") as root:
        out = subprocess.run(
            [str(python), "-c", CHILD, str(n), str(reps), str(workers), root],
            check=False,
            capture_output=True,
            text=True,
            cwd=tempfile.gettempdir(),  # import the installed package, not a checkout
        )
    if out.returncode != 0:
        raise RuntimeError(f"{python} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    results = {
        name: measure(python, args.n, args.reps, args.workers) for name, python in PEERS.items()
    }
    ours, theirs = results["uberjob 2"], results["uberjob 1.0"]
    print(f"Registry: {args.n:,} PickleFileStores on a RAM disk, µs per call (best of {args.reps})")
    print(f"{'scenario':34} {'uberjob 2':>10} {'1.0':>10} {'ratio':>7}  target")
    failed = False
    for key, label in LABELS.items():
        mine = ours[key]
        other = theirs[key] if theirs else None
        ratio = f"{mine / other:7.2f}" if other else "      -"
        target, check = TARGETS[key]
        met = check(mine, other if other else float("inf"))
        failed |= not met
        other_text = f"{other:10.1f}" if other else "  (absent)"
        print(f"{label:34} {mine:10.1f} {other_text} {ratio}  {target} {'ok' if met else 'MISSED'}")
    if theirs is None:
        print("uberjob 1.0 is not installed in benchmarks/.venv-uberjob1; ratios not measured.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
