"""A base for the tests' scripted dispatchers: they run the calls handed over in the owner's
own thread, whenever the test's script says, and report their ends on ``events``; nothing
fails, and starting, pumping and closing do nothing unless a test says otherwise."""

from __future__ import annotations

from queue import SimpleQueue

from uberjob._engine.owner import DONE, SHIFT


class OwnerThreadDispatcher:
    width = 1

    def __init__(self, compiled):
        self.compiled = compiled
        self.events: SimpleQueue = SimpleQueue()

    def run_call(self, i: int) -> int:
        """Run call ``i`` here; return its end event (for the script to report when it wants)."""
        compiled = self.compiled
        args, kwargs = compiled.arguments(i)
        compiled.values[i] = compiled.fns[i](*args, **(kwargs or {}))
        return i << SHIFT | DONE

    def start(self):
        pass

    def pump(self):
        pass

    def failure(self, i):
        raise AssertionError("nothing fails here")

    def close(self):
        pass

    def abandon(self):
        pass
