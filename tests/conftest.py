"""Shared fixtures for the Python tests."""

from __future__ import annotations

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


@pytest.fixture
def recorder():
    observer = RecordingObserver()
    return observer, Progress(lambda: observer)
