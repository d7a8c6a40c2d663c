"""A dispatcher for any ``concurrent.futures.Executor`` (a process pool, a Dask executor, ...).

The owner resolves a call's arguments and submits it; the future's done-callback (which runs in
one of the executor's threads) stores the value and reports to the owner's event queue. At most
``max_workers`` calls are submitted at a time (default: all that are ready), so that "in flight"
means the same as with threads and nothing queues up inside the executor after a halt.
"""

from __future__ import annotations

from heapq import heappop, heappush
from queue import SimpleQueue

from uberjob._engine.owner import DISCARD, DONE, FAIL, SHIFT, START, Control

__all__ = ["ExecutorDispatcher"]


def invoke(fn, args, kwargs, retry):
    """What the executor runs (module-level so that process pools can pickle it)."""
    if retry is not None:
        fn = retry(fn)
    return fn(*args, **kwargs) if kwargs else fn(*args)


class ExecutorDispatcher:
    def __init__(self, compiled, executor, *, max_workers: int | None, retry, control: Control):
        self.compiled = compiled
        self.executor = executor
        self.retry = retry
        self.control = control
        self.cap = max_workers if max_workers is not None else float("inf")
        self.events: SimpleQueue = SimpleQueue()
        self._ready: list[int] = []
        self._in_flight: set = set()
        self._failures: dict[int, BaseException] = {}

    def start(self) -> None:
        pass

    def submit(self, i: int) -> None:
        heappush(self._ready, i)
        self.pump()

    def submit_many(self, indices: list[int]) -> None:
        for i in indices:
            heappush(self._ready, i)
        self.pump()

    def pump(self) -> None:
        """Submit ready calls while fewer than ``max_workers`` are in flight (owner thread)."""
        ready, in_flight, compiled = self._ready, self._in_flight, self.compiled
        if self.control.halt:
            while ready:
                self.events.put(heappop(ready) << SHIFT | DISCARD)
            return
        while ready and len(in_flight) < self.cap:
            i = heappop(ready)
            args, kwargs = self.compiled.arguments(i)
            self.events.put(i << SHIFT | START)
            try:
                future = self.executor.submit(invoke, compiled.fns[i], args, kwargs, self.retry)
            except BaseException as exception:  # e.g. the executor was shut down
                self._failures[i] = exception
                self.events.put(i << SHIFT | FAIL)
                continue
            in_flight.add(future)
            future.add_done_callback(lambda f, i=i: self._finished(i, f))

    def _finished(self, i: int, future) -> None:
        self._in_flight.discard(future)
        try:
            self.compiled.values[i] = future.result()
        except BaseException as exception:
            self._failures[i] = exception
            self.events.put(i << SHIFT | FAIL)
        else:
            self.events.put(i << SHIFT | DONE)

    def failure(self, i: int) -> BaseException:
        return self._failures.pop(i)

    def close(self) -> None:
        pass

    def abandon(self) -> None:
        self.control.halt = True
        self._ready.clear()
        for future in list(self._in_flight):
            future.cancel()
