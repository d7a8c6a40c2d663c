"""Ctrl-C: run raises KeyboardInterrupt within a second, and a second run works."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

SCRIPT = textwrap.dedent(
    """
    import sys, threading, time
    import uberjob

    started = threading.Event()
    finished = []

    def slow(i):
        started.set()
        time.sleep(5)
        finished.append(i)
        return i

    def count_started(i):
        return slow(i)

    plan = uberjob.Plan()
    calls = [plan.call(count_started, i) for i in range(100)]
    announce = lambda: (started.wait(), print("STARTED", flush=True))
    threading.Thread(target=announce, daemon=True).start()
    try:
        uberjob.run(plan, output=calls, max_workers=2, progress=False)
    except KeyboardInterrupt:
        print("INTERRUPTED", time.monotonic(), flush=True)
    # A second run in the same process works normally.
    plan2 = uberjob.Plan()
    second = uberjob.run(plan2, output=plan2.call(sum, [1, 2, 3]), progress=False)
    print("SECOND", second, flush=True)
    workers = [t for t in threading.enumerate() if t.name.startswith("uberjob-worker")]
    print("WORKERS", len(workers), flush=True)
    """
)


def test_sigint_stops_a_run_within_a_second(tmp_path):
    script = tmp_path / "interrupt.py"
    script.write_text(SCRIPT)
    process = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout.readline().strip() == "STARTED"
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        line = process.stdout.readline().split()
        assert line[0] == "INTERRUPTED", process.stderr.read()
        assert float(line[1]) - sent < 1.0
        assert process.stdout.readline().strip() == "SECOND 6"
        # The two busy workers are still inside their 5 s calls; they exit when those return.
        assert process.stdout.readline().split()[0] == "WORKERS"
        process.wait(timeout=30)
        assert process.returncode == 0
    finally:
        process.kill()
