"""A dispatcher for any ``concurrent.futures.Executor`` (a process pool, a Dask executor, ...).

The owner resolves a call's arguments and submits it; the future's done-callback (which runs in
one of the executor's threads) stores the value and reports to the owner's event queue. At most
``max_workers`` calls are submitted at a time, so that "in flight" means the same as with threads,
nothing queues up inside the executor after a halt, and the executor (whose own queue is first in,
first out) runs calls in the owner's order: a reader of a value before a new branch (owner.py).
Without ``max_workers`` the cap is the executor's own worker count when it tells it
(``_max_workers``, as the standard pools do), else the default number of threads.
"""

from __future__ import annotations

from heapq import heappop, heappush
from queue import SimpleQueue

from uberjob._engine import default_max_workers
from uberjob._engine.owner import DISCARD, DONE, FAIL, SHIFT, START, Control

__all__ = ["ExecutorDispatcher"]


def invoke(fn, args, kwargs, retry):
    """What the executor runs (module-level so that process pools can pickle it)."""
    if retry is not None:
        fn = retry(fn)
    return fn(*args, **kwargs) if kwargs else fn(*args)


class ExecutorDispatcher:
    """Submits calls to a ``concurrent.futures.Executor``, lowest index first, at most ``cap``
    in flight; the futures' done-callbacks report ends (see the module docstring)."""

    def __init__(self, compiled, executor, *, max_workers: int | None, retry, control: Control):
        self.compiled = compiled
        self.executor = executor
        self.retry = retry
        self.control = control
        if max_workers is None:
            max_workers = getattr(executor, "_max_workers", None)
            if not isinstance(max_workers, int) or max_workers < 1:
                max_workers = default_max_workers()
        self.cap = max_workers
        self.width = max_workers  # calls that run at once (the owner's window, owner.py)
        self.events: SimpleQueue = SimpleQueue()
        self._ready: list[int] = []
        self._in_flight: set = set()  # futures not done yet (to cancel on an interrupt)
        # Calls submitted whose end the owner has not processed yet (owner thread only). Not
        # len(_in_flight): a future leaves that set before the owner has made its readers
        # ready, and a new branch would take the free place first.
        self._running = 0
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
        while ready and self._running < self.cap:
            i = heappop(ready)
            self._running += 1
            args, kwargs = self.compiled.arguments(i)
            self.events.put(i << SHIFT | START)
            try:
                future = self.executor.submit(invoke, compiled.fns[i], args, kwargs, self.retry)
            except Exception as exception:  # e.g. the executor was shut down; a Ctrl-C that
                self._failures[i] = exception  # lands in submit() is the run's, not the call's
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

    def settle(self) -> None:
        """The owner has processed the end of a submitted call (owner thread)."""
        self._running -= 1

    def failure(self, i: int) -> BaseException:
        return self._failures.pop(i)

    def close(self) -> None:
        pass

    def abandon(self) -> None:
        self.control.halt = True
        self._ready.clear()
        for future in list(self._in_flight):
            future.cancel()
