"""How fast the progress model takes events and builds snapshots.

    .venv/bin/python benchmarks/bench_snapshot.py

Targets: a snapshot of 1,000 scopes and 10,000 failures in at most 2 ms (views snapshot every
~0.25 s, so this keeps their cost under 1% of one core); events at a few microseconds each (the
engine's owner thread sends three per call).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from uberjob.progress._model import ProgressModel

SNAPSHOT_TARGET_MS = 2.0


def best_of(repeat: int, number: int, fn) -> float:
    """The best mean seconds per call of ``fn`` over ``repeat`` rounds of ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def model_with_failures(scopes: int = 1000, failures: int = 10_000) -> ProgressModel:
    model = ProgressModel()
    model.__enter__()
    scope_list = [(f"batch_{i // 100}", f"jobs.task_{i}") for i in range(scopes)]
    for scope in scope_list:
        model.increment_total(section="run", scope=scope, amount=20)
    errors = [ValueError(f"bad record {k}") for k in range(5)]
    for n in range(failures):
        scope = scope_list[(n * 7) % scopes]
        model.increment_running(section="run", scope=scope)
        model.increment_failed(section="run", scope=scope, exception=errors[n % 5])
    for scope in scope_list[::3]:  # some calls still running, so profiling settles lazily
        model.increment_running(section="run", scope=scope)
    return model


def bench_events() -> dict[str, float]:
    model = ProgressModel()
    model.__enter__()
    scopes = [(f"s{i % 50}", f"m.f{i}") for i in range(1000)]
    for scope in scopes:
        model.increment_total(section="run", scope=scope, amount=1000)
    rounds = 200_000

    def run_and_complete():
        for i in range(rounds):
            scope = scopes[i % 1000]
            model.increment_running(section="run", scope=scope)
            model.increment_completed(section="run", scope=scope)

    start = time.perf_counter()
    run_and_complete()
    per_event = (time.perf_counter() - start) / (2 * rounds)
    error = ValueError("x")
    model.__init__()  # a fresh model: its first 100 failures format tracebacks
    model.__enter__()
    start = time.perf_counter()
    for i in range(20_000):
        model.increment_failed(section="run", scope=scopes[i % 1000], exception=error)
    per_failure = (time.perf_counter() - start) / 20_000
    return {"event_us": per_event * 1e6, "failure_us": per_failure * 1e6}


def main() -> int:
    model = model_with_failures()
    snapshot = model.snapshot()
    size = len(json.dumps(snapshot))
    seconds = best_of(repeat=7, number=50, fn=model.snapshot)
    events = bench_events()
    rows = len(snapshot["sections"][0]["nodes"])
    print(f"snapshot: {seconds * 1e3:.2f} ms for {rows} rows and 10,000 failures "
          f"({len(model.snapshot()['failures']['groups'])} groups listed, json {size:,} bytes); "
          f"target <= {SNAPSHOT_TARGET_MS} ms")  # fmt: skip
    print(f"increment_running/completed: {events['event_us']:.2f} us per event")
    print(f"increment_failed (after the first 100 instances): {events['failure_us']:.2f} us")
    return 0 if seconds * 1e3 <= SNAPSHOT_TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
