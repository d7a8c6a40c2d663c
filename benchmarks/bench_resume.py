"""Fix and resume (issue 15): what a failed run keeps for resuming, and what resuming saves.

    .venv/bin/python benchmarks/bench_resume.py [--n 10000] [--group 100] [--reps 3]

The plan: ``n`` calls ``produce(k)``, each making a new 1 MiB value (its pages touched), read in
groups of ``group`` by ``digest(*values)`` (a small number), all digests summed. ``produce``
fails at ``k = n / 2`` (``max_errors=0``, default workers, no progress): calls in flight finish,
the run raises. Figures, all from this one process:

- peak RSS of the failed run, and the RSS it retains once it has raised (the handle alive,
  after a garbage collection), both above the RSS after a warm-up run;
- the frontier's own size (the bytes of the kept values) beside that retained RSS;
- the RSS after ``handle.discard()``;
- the time of ``handle.resume(refresh=True)`` after the fix against a fresh ``run()`` of the
  fixed plan (best of ``--reps``; each resume from its own failed run).

glibc's allocator would keep freed 1 MiB blocks in its heap once the dynamic mmap threshold has
grown, which says nothing about uberjob: the script re-executes itself with
``MALLOC_MMAP_THRESHOLD_=131072`` so that every value is its own mapping, returned when freed.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import uberjob  # noqa: E402

MIB = 1 << 20
PAGE = os.sysconf("SC_PAGE_SIZE")
FAIL = {"at": -1}


def produce(k):
    if k == FAIL["at"]:
        raise RuntimeError(f"produce({k}) failed")
    return b"x" * MIB  # a new value, every page written


def digest(*values):
    return sum(len(v) for v in values)


def build(n: int, group: int):
    plan = uberjob.Plan()
    digests = []
    for start in range(0, n, group):
        values = [plan.call(produce, k) for k in range(start, min(start + group, n))]
        digests.append(plan.call(digest, *values))
    return plan, plan.call(sum, digests)


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / MIB


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def failed_run(n: int, group: int):
    FAIL["at"] = n // 2
    plan, total = build(n, group)
    try:
        uberjob.run(plan, output=total, progress=False)
    except uberjob.CallError:
        pass
    else:
        raise AssertionError("the run should have failed")
    FAIL["at"] = -1  # the fix
    return plan, total, uberjob.last_run()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--group", type=int, default=100)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    n, group = args.n, args.group
    expected = n * MIB

    warm_plan, warm_total = build(group, group)
    uberjob.run(warm_plan, output=warm_total, progress=False)
    gc.collect()
    base = rss_mib()

    _, _, handle = failed_run(n, group)
    peak = peak_mib() - base
    gc.collect()
    retained = rss_mib() - base
    kept = handle._frontier_kept() or {}
    frontier = sum(len(v) for v in kept.values() if isinstance(v, bytes)) / MIB
    values = handle.kept_values
    handle.discard()
    del kept
    gc.collect()
    after_discard = rss_mib() - base

    resume_times, fresh_times = [], []
    for _ in range(args.reps):
        _, _, handle = failed_run(n, group)
        gc.collect()
        start = time.perf_counter()
        assert handle.resume(refresh=True) == expected
        resume_times.append(time.perf_counter() - start)
        del handle
        plan, total = build(n, group)
        gc.collect()
        start = time.perf_counter()
        assert uberjob.run(plan, output=total, progress=False) == expected
        fresh_times.append(time.perf_counter() - start)

    resume, fresh = min(resume_times), min(fresh_times)
    print(f"Fix and resume: {n:,} calls making 1 MiB each, in groups of {group}, failing at "
          f"call {n // 2:,} (RSS above a warm-up run's)")  # fmt: skip
    print(f"  failed run: peak RSS                         {peak:9.1f} MiB")
    print(f"  kept for resuming: RSS retained              {retained:9.1f} MiB")
    print(f"  kept for resuming: the frontier's own values {frontier:9.1f} MiB ({values:,} values)")
    print(f"  retained / frontier                          {retained / max(frontier, 1e-9):9.2f}")
    print(f"  after handle.discard(): RSS retained         {after_discard:9.1f} MiB")
    print(f"  resume after the fix (best of {args.reps})            {resume:9.2f} s")
    print(f"  fresh run of the fixed plan (best of {args.reps})     {fresh:9.2f} s")
    print(f"  resume / fresh run                           {resume / fresh:9.2f}")
    return 0


if __name__ == "__main__":
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:  # see the module docstring
        os.environ["MALLOC_MMAP_THRESHOLD_"] = "131072"
        os.execv(sys.executable, [sys.executable, *sys.argv])
    sys.exit(main())
