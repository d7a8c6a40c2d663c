"""Shared fixtures for the Python tests."""

from __future__ import annotations

import os
import threading

import pytest

from uberjob.progress import Progress, ProgressObserver


class RecordingObserver(ProgressObserver):
    """Records every event; thread-safe, as 1.0 requires of observers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events: list[tuple] = []
        self.entered = False
        self.exit_type = None

    def __enter__(self):
        self.entered = True
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.exit_type = exc_type

    def increment_total(self, *, section, scope, amount):
        with self.lock:
            self.events.append(("total", section, scope, amount))

    def increment_running(self, *, section, scope):
        with self.lock:
            self.events.append(("running", section, scope))

    def increment_completed(self, *, section, scope):
        with self.lock:
            self.events.append(("completed", section, scope))

    def increment_failed(self, *, section, scope, exception):
        with self.lock:
            self.events.append(("failed", section, scope, exception))

    def count(self, kind: str, section: str = "run") -> int:
        return sum(
            e[3] if kind == "total" else 1 for e in self.events if e[0] == kind and e[1] == section
        )


class Clock:
    """A fake monotonic clock: calling it gives ``now``, which a test sets (``clock.now = 2.0``)."""

    def __init__(self, now: float = 0.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """A fake monotonic clock at 0.0 for models and views (``ProgressModel(clock=clock)``), so
    that tests say exactly when each event happens instead of sleeping."""
    return Clock()


@pytest.fixture
def recorder():
    observer = RecordingObserver()
    return observer, Progress(lambda: observer)


@pytest.fixture
def syncs_and_renames(monkeypatch) -> list[tuple]:
    """Records ``os.fsync`` (with the size of the synced file) and ``os.replace`` (with the
    target's name) calls, in order: how atomic writes are checked to sync before renaming."""
    events: list[tuple] = []
    fsync, replace = os.fsync, os.replace

    def recording_fsync(fd):
        events.append(("fsync", os.fstat(fd).st_size))
        fsync(fd)

    def recording_replace(source, target):
        events.append(("replace", os.path.basename(target)))
        replace(source, target)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", recording_replace)
    return events
