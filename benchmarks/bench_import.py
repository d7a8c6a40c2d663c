"""How long ``import uberjob`` takes, against a bare interpreter start measured in the same run.

    .venv/bin/python benchmarks/bench_import.py [--rounds 15]

Each round starts fresh interpreters (``-c pass``, ``-c "import uberjob"`` and, for scale,
``-c "import networkx"``) in turn, so that machine load hits every column alike; the median of
the rounds is printed. Target: ``import uberjob`` adds at most 100 ms to the interpreter's start
(issue 14; it was 190-640 ms while networkx was imported eagerly).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
TARGET_MS = 100.0
PROGRAMS = {
    "python -c pass": "pass",
    "import uberjob": "import uberjob",
    "import networkx": "import networkx",
}


def wall_seconds(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONDONTWRITEBYTECODE": "1"}
    for code in PROGRAMS.values():  # warm the file cache and write any missing bytecode
        wall_seconds(code, {**env, "PYTHONDONTWRITEBYTECODE": ""})
    times: dict[str, list[float]] = {name: [] for name in PROGRAMS}
    for _ in range(rounds):
        for name, code in PROGRAMS.items():
            times[name].append(wall_seconds(code, env))
    median = {name: statistics.median(values) * 1000 for name, values in times.items()}
    base = median["python -c pass"]
    print(f"{'program':<18} {'median ms':>10} {'min ms':>8} {'x pass':>7}   ({rounds} rounds)")
    for name, values in times.items():
        ratio = median[name] / base
        print(f"{name:<18} {median[name]:>10.1f} {min(values) * 1000:>8.1f} {ratio:>7.2f}")
    added = median["import uberjob"] - base
    verdict = "ok" if added <= TARGET_MS else "OVER TARGET"
    print(f"import uberjob adds {added:.1f} ms to a bare start (target <= {TARGET_MS:.0f} ms): "
          f"{verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
