"""The default dispatcher: a run's own pool of worker threads.

Hand-off without locks in the workers' hot path: ready node indices go into a shared heap (the
owner pushes, workers pop; ``heapq`` on a list of ints runs entirely in C while holding the GIL, so
each push and pop is atomic) and every pushed index is matched by one token on a ``SimpleQueue``
that idle workers block on. A worker reports ``DONE``/``FAIL`` after a call, writing the value
into the shared ``values`` list itself; when the call has a fused successor (compile.py) it runs
that one next without waiting for the owner. Two thread hand-offs per call would cost ~75 µs on
these machines; a worker that keeps going costs ~1 µs.

Starts are not events: each worker writes the index it is running into its own slot of
``running_slots``, which the owner reads at the end of each turn (see owner.py). A ``START`` event
per call was half of all events, and each one could wake the owner for nothing.

Depth first without waiting for the owner. With one worker (and the default numbering) the worker
simply runs every node in index order, which is the sequential order (compile.py): no heap, no
countdowns, and the owner only counts (``_work_in_order``). With several, the workers make calls
ready themselves: each node has a countdown of its predecessor edges and each value one of its
reader edges (countdown.py: ``next()`` on an ``itertools.count``, atomic, so of the workers that
finish a node's predecessors at once exactly one finds it at its end). A worker that finishes a
call advances the countdowns of the values it read, dropping those it was the last reader of,
and of its successors: a successor it was the last predecessor of is ready, and the worker
*claims* it. It adds the claim to its tally (``claimed[k]``, which only it writes), reports its
own ``DONE`` and runs the lowest claimed call itself unless a lower index waits in the heap,
pushing the others, so this worker or the next idle one runs them before any new branch. A
literal that waited for the call has nothing to run; the worker reports it ``READY`` and the
owner completes it. The owner never counts predecessors or readers of these runs: it counts the
calls the workers took from their tallies (owner.py). Two things keep that exact: a worker adds
to its tally before it reports the end that made the calls ready, and it reports a call's end
only after it has advanced every countdown the call ends, so a claimed call can end before the
owner has seen all of its predecessors end (tests/test_claims.py) but never before its claim is
counted. Claiming only the next index instead was tried and measured: calls then wait for the
owner's turn, and the fan-out of 1 MiB values held 47 MiB instead of 10 and ran 12 times slower
(benchmarks/README.md). Counting readiness on the owner (it took every end event to count down
the successors, workers checked finished flags to claim) cost the 8-worker random DAG half again
as much per call as this (benchmarks/README.md).

Stacks: ``sample_stacks`` takes the current frame of the worker running a straggler (the owner
asks every couple of seconds, running.py), without the frames of the worker loop.

Backpressure: a failed call's exception (with its traceback and frames) waits in ``_failures``
until the owner takes it. At most ``MAX_PENDING_FAILURES`` wait at once; a worker that fails
beyond that waits for the owner to catch up before it reports, so calls that fail faster than
the owner counts them cannot pile up their frames in memory.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import threading
from heapq import heappop, heappush
from queue import SimpleQueue

from uberjob._engine.compile import NO_NODE
from uberjob._engine.countdown import NEVER, counters_for, is_last
from uberjob._engine.owner import DISCARD, DONE, DONE_NEXT, END, FAIL, READY, SHIFT, Control
from uberjob._engine.stacks import thread_stack

__all__ = ["MAX_PENDING_FAILURES", "ThreadDispatcher"]

MAX_PENDING_FAILURES = 64  # failures reported but not yet taken by the owner (backpressure)

if hasattr(sys, "_is_gil_enabled") and not sys._is_gil_enabled():  # pragma: no cover
    raise ImportError("uberjob's thread dispatcher relies on the GIL for atomic heap operations.")


class ThreadDispatcher:
    """Runs a compiled plan's calls on ``max_workers`` threads of its own (the default).

    Ready calls wait in one heap shared with the workers, lowest index first; workers report
    each call's end as an event, write the call they run in ``running_slots``, run fused
    successors and the successors they claim without a round trip through the owner, and wait
    for room before reporting a failure (see the module docstring).
    """

    def __init__(
        self, compiled, *, max_workers: int, max_errors: int | None, retry, control: Control
    ):
        self.compiled = compiled
        self.max_errors = max_errors
        self.control = control
        self.retry = retry
        self.events: SimpleQueue = SimpleQueue()
        self._heap: list[int] = []
        self._tokens: SimpleQueue = SimpleQueue()
        self._failures: dict[int, BaseException] = {}
        self._failed_arguments: dict[int, tuple] = {}  # taken with the failure (failure())
        self._last_failed_arguments: tuple = ((), None)
        #: Fused predecessors whose value a failed call's worker put back (frontier.py).
        self.restored: set[int] = set()
        # Free places for failures the owner has not taken yet (see the module docstring).
        self._failure_room = threading.Semaphore(MAX_PENDING_FAILURES)
        self._started = False
        self._frames: list = []  # each worker's own frame (see close())
        # The owner's window (owner.py), shared so that an idle worker takes held calls the
        # window allows without a round trip through the owner: see share_window.
        self._held: list[int] = []
        self._resolved = bytearray(len(compiled))
        self._window = len(compiled)
        self._frontier = [0]  # a hint where the lowest unresolved index is (only grows)
        calls = compiled.calls
        self._threads = [
            threading.Thread(target=self._work, args=(k,), name=f"uberjob-worker-{k}", daemon=True)
            for k in range(max(1, min(max_workers, calls)))
        ]
        # running_slots[k]: the call worker k started last (NO_NODE before its first). Stale once it
        # has reported that call's end; the owner knows which ends it has seen.
        self.running_slots = [NO_NODE] * len(self._threads)
        self.width = len(self._threads)  # calls that run at once (the owner's window, owner.py)
        #: One worker and a depth-first numbering: the worker runs the calls in index order
        #: itself, which is the sequential order, and the owner only counts (see run_in_order).
        self.in_order = self.width == 1 and compiled.in_order
        #: The workers make calls ready and drop values themselves (see the module docstring):
        #: the owner leaves the compiled counts alone and only counts what they took.
        self.counts_readiness = not self.in_order
        #: claimed[k]: how many calls worker k has made ready and taken so far (its own slot,
        #: written before it reports the end that made them ready; owner.py sums them).
        self.claimed = [0] * len(self._threads)
        self._ready_counters: list = []
        self._read_counters: list = []
        if self.counts_readiness:
            self._ready_counters = counters_for(compiled.waiting)
            self._read_counters = counters_for(compiled.uses)
            if compiled.output != NO_NODE:  # the run's result: never dropped
                self._read_counters[compiled.output] = NEVER

    def advance(self, s: int) -> bool:
        """The owner finished a predecessor of ``s`` (a literal it completed): True when it
        was the last, and ``s`` is ready (countdown.py)."""
        return is_last(self._ready_counters, s)

    def share_window(self, held: list[int], resolved: bytearray, window: int) -> None:
        """Share the owner's held calls, resolved flags and window (before the first call)."""
        self._held, self._resolved, self._window = held, resolved, window

    def _take_held(self) -> None:
        """An idle worker moves the held calls within the window to the heap (lowest first).

        The owner does the same on its turns; this spares the wait for it when the workers
        run out of work between two turns. Each pop is atomic; a call popped beyond the
        window goes back, and one popped after a halt is discarded like any other."""
        held, heap, give = self._held, self._heap, self._tokens.put
        found = self._resolved.find(0, self._frontier[0])
        frontier = len(self._resolved) if found < 0 else found
        self._frontier[0] = frontier
        end = frontier + self._window
        while True:
            try:
                i = heappop(held)
            except IndexError:
                return
            if i >= end:
                heappush(held, i)
                return
            heappush(heap, i)
            give(None)

    def start(self) -> None:
        """Nothing yet: the threads start with the first work handed over (see _start_threads)."""

    def run_in_order(self) -> None:
        """Start the one worker on every call in index order (``in_order`` dispatchers only):
        nothing is handed over; the worker reports each call's end and ``END`` when through."""
        self._start_threads()

    def _start_threads(self) -> None:
        # Started after work is queued, so the first worker starts calling while the owner is
        # still starting the others (32 thread starts take ~3 ms).
        self._started = True
        for thread in self._threads:
            thread.start()

    def submit(self, i: int) -> None:
        heappush(self._heap, i)
        self._tokens.put(None)
        if not self._started:
            self._start_threads()

    def submit_many(self, indices: list[int]) -> None:
        """Hand over ``indices`` (sorted ascending)."""
        heap = self._heap
        if not heap:
            heap.extend(indices)  # a sorted list is a heap
        else:
            for i in indices:
                heappush(heap, i)
        put = self._tokens.put
        for _ in indices:
            put(None)
        if indices and not self._started:
            self._start_threads()

    def pump(self) -> None:
        """Nothing to do: workers take what is ready themselves."""

    def sample_stacks(self, calls: list[int]) -> dict[int, tuple]:
        """The current stacks of ``calls`` (stragglers, running.py) from their workers' frames,
        without the worker loop and what is outside it: ``{call: (frames, None, 0.0)}``."""
        if not calls:
            return {}
        wanted = set(calls)
        slots = self.running_slots
        current = sys._current_frames()
        stacks = {}
        try:
            for k, i in enumerate(slots):
                frame = current.get(self._threads[k].ident) if i in wanted else None
                if frame is not None:
                    frames = thread_stack(frame, _WORK_CODES)
                    if slots[k] == i:  # the worker is still on that call: the stack is its
                        stacks[i] = (frames, None, 0.0)
        finally:
            del current  # frames of every thread: not kept a moment longer
        return stacks

    def failure(self, i: int) -> BaseException:
        exception = self._failures.pop(i)
        self._last_failed_arguments = self._failed_arguments.pop(i, ((), None))
        self._failure_room.release()
        return exception

    def _keep_failed_arguments(self, i: int, previous: int, args, kwargs) -> None:
        """A worker, after call ``i`` failed: keep its arguments (``failed_arguments``) and put
        back the value of its fused predecessor ``previous``, dropped before the call ran: the
        failed call still needs it, and a resumed run reads it from the frontier (frontier.py)
        instead of running the fused chain again."""
        args = tuple(args)
        self._failed_arguments[i] = (args, kwargs)
        if previous == NO_NODE:
            return
        compiled = self.compiled
        slots = compiled.slots[i]
        for position, j in enumerate(compiled.refs[i]):
            if j == previous:
                key = position if slots is None else slots[position]
                compiled.values[previous] = args[key] if type(key) is int else kwargs[key]
                self.restored.add(previous)
                return

    def failed_arguments(self, i: int) -> tuple[tuple, dict | None]:
        """The arguments call ``i`` failed on (right after ``failure(i)``): the worker's own,
        since a fused predecessor's value was dropped before the call ran."""
        return self._last_failed_arguments

    def close(self) -> None:
        """End the workers once nothing is outstanding (they exit as soon as they are idle)."""
        self.control.shutdown = True
        if not self._started:
            return
        for _ in self._threads:
            self._tokens.put(None)
        for thread in self._threads:
            thread.join()
        self._release_frames()

    def _release_frames(self) -> None:
        # A kept failure's traceback reaches the worker's frame (its caller) and through its
        # locals the whole compiled plan and its values: the frames are done, let go of those.
        for frame in self._frames:
            with contextlib.suppress(RuntimeError):  # (a frame still running: never, joined)
                frame.clear()
        self._frames.clear()

    def join_workers(self) -> None:
        """Wait until every worker has exited (after ``abandon()``: once their calls end)."""
        for thread in self._threads:
            if thread.ident is not None:  # (an interrupt may land while they are started)
                thread.join()
        self._release_frames()

    def abandon(self) -> None:
        """Stop at once (interrupt): nothing new starts; busy workers exit after their call."""
        self.control.halt = True
        self.control.shutdown = True
        self._heap.clear()
        for _ in self._threads:
            self._tokens.put(None)
            self._failure_room.release()  # a worker waiting to report a failure goes on

    def _wait_for_failure_room(self) -> None:
        """Block until the owner has taken enough failures (or the run is abandoned)."""
        room, control = self._failure_room, self.control
        while not room.acquire(timeout=0.1):
            if control.shutdown:
                return

    def _work_in_order(self) -> None:
        """The one worker of an ``in_order`` run: every node in index order, which is the
        sequential order (compile.py), with no heap, claims or counts of waiting predecessors.

        The worker owns ``uses`` and drops each value once its last reader has succeeded, so a
        run holds exactly what a sequential evaluation holds. A failed call's arguments stay
        alive (as in a run of many workers, where the owner drops values only on success), and
        every node below a failed one is *dead*: it never runs. It reports ``DONE`` or ``FAIL``
        per call and ``END`` once it is through or the run halted.
        """
        self._frames.append(sys._getframe())  # (see close())
        compiled = self.compiled
        fns, positional, kwargs_list, refs_list, slots_list, preds_list = (
            compiled.fns,
            compiled.positional,
            compiled.kwargs,
            compiled.refs,
            compiled.slots,
            compiled.preds,
        )
        values, uses, output = compiled.values, compiled.uses, compiled.output
        control, retry, failures = self.control, self.retry, self._failures
        running, report = self.running_slots, self.events.put
        value_of = values.__getitem__
        arguments = compiled.arguments  # (compile.py: the one filler of argument templates)
        room_for_failure = self._failure_room.acquire
        max_errors, errors = self.max_errors, 0
        dead = None  # a bytearray once a call failed: the nodes below failures
        try:
            for i in range(len(fns)):
                if control.halt:
                    return
                if dead is not None:
                    for p in preds_list[i]:
                        if dead[p]:
                            dead[i] = 1
                            break
                    if dead[i]:
                        continue
                refs = refs_list[i]
                fn = fns[i]
                if fn is not None:
                    running[0] = i  # a list store is atomic: the owner sees this call as started
                    kwargs = kwargs_list[i]
                    if not refs:
                        args = positional[i]
                    elif slots_list[i] is None:  # the arguments are exactly the refs' values
                        args = list(map(value_of, refs))
                    else:  # a template to fill in (rare)
                        args, kwargs = arguments(i)
                    try:
                        if retry is not None:  # (inside the try: applying it may raise)
                            fn = retry(fn)
                        values[i] = fn(*args, **kwargs) if kwargs else fn(*args)
                    except BaseException as exception:
                        failures[i] = exception.with_traceback(
                            exception.__traceback__.tb_next if exception.__traceback__ else None
                        )
                        del exception
                        self._keep_failed_arguments(i, NO_NODE, args, kwargs)
                        if dead is None:
                            dead = bytearray(len(fns))
                        dead[i] = 1
                        errors += 1
                        if max_errors is not None and errors > max_errors:
                            control.halt = True
                        if not room_for_failure(blocking=False):
                            self._wait_for_failure_room()
                        report(i << SHIFT | FAIL)
                        continue
                    finally:
                        args = kwargs = fn = None
                    report(i << SHIFT | DONE)
                for j in refs:
                    left = uses[j] - 1
                    uses[j] = left
                    if left == 0 and j != output:
                        values[j] = None
                if uses[i] == 0 and i != output:
                    values[i] = None  # a value nobody reads
        finally:
            report(END)

    def _work(self, k: int) -> None:
        self._frames.append(sys._getframe())  # (see close())
        if self.in_order:
            return self._work_in_order()
        compiled = self.compiled
        fns, positional, kwargs_list, refs_list, slots_list = (
            compiled.fns,
            compiled.positional,
            compiled.kwargs,
            compiled.refs,
            compiled.slots,
        )
        values, fuse, output, succ = compiled.values, compiled.fuse, compiled.output, compiled.succ
        # The countdowns (countdown.py): predecessor edges per node, argument edges per value.
        ready_counters, read_counters = self._ready_counters, self._read_counters
        control, retry, heap, failures = self.control, self.retry, self._heap, self._failures
        running, tallies = self.running_slots, self.claimed
        held, resolved = self._held, self._resolved
        claims = 0  # calls this worker made ready and took (its tally, tallies[k], for the owner)
        # Locals, not globals, in the loop below (it runs once per call).
        no_node, ready_kind = NO_NODE, READY
        value_of = values.__getitem__
        arguments = compiled.arguments  # (compile.py: the one filler of argument templates)
        take = self._tokens.get
        give = self._tokens.put
        report = self.events.put
        room_for_failure = self._failure_room.acquire
        # The worker that sees the error over the limit halts the run itself, so that no other
        # call starts in the meantime; next() on itertools.count is atomic.
        count_error = itertools.count(1).__next__
        max_errors = self.max_errors
        while True:
            if held and not heap and not control.halt:
                self._take_held()
            take()
            try:
                i = heappop(heap)
            except IndexError:
                if control.shutdown:
                    return
                continue
            if control.halt:
                report(i << SHIFT | DISCARD)
                continue
            previous = no_node  # a fused predecessor whose value this call is the only reader of
            while True:
                running[k] = i  # a list store is atomic: the owner sees this call as started
                kwargs = kwargs_list[i]
                refs = refs_list[i]
                if not refs:
                    args = positional[i]
                elif slots_list[i] is None:  # the arguments are exactly the refs' values
                    args = list(map(value_of, refs))
                else:  # a template to fill in (rare)
                    args, kwargs = arguments(i)
                if previous != no_node and previous != output:
                    values[previous] = None  # a fused predecessor's only reader has its value
                try:
                    # Inside the try: a retry decorator that raises when applied fails the call.
                    fn = fns[i] if retry is None else retry(fns[i])
                    values[i] = fn(*args, **kwargs) if kwargs else fn(*args)
                except BaseException as exception:
                    failures[i] = exception.with_traceback(
                        exception.__traceback__.tb_next if exception.__traceback__ else None
                    )
                    del exception
                    self._keep_failed_arguments(i, previous, args, kwargs)
                    if max_errors is not None and count_error() > max_errors:
                        control.halt = True
                    if not room_for_failure(blocking=False):
                        self._wait_for_failure_room()
                    report(i << SHIFT | FAIL)
                    break
                finally:
                    args = kwargs = None
                # Drop the values this call was the last reader of. (A fused call's one ref is
                # its predecessor, dropped above; a failed call keeps its arguments.)
                if refs and previous == no_node:
                    for j in refs:
                        if not next(read_counters[j]):
                            values[j] = None
                following = fuse[i]
                if following != no_node and not control.halt:
                    resolved[following] = 1  # (for the window: the owner marks it too)
                    report(i << SHIFT | DONE_NEXT)
                    previous, i = i, following
                    continue
                # Take the successors this call was the last predecessor of (see the module
                # docstring); a literal that waited for it is the owner's to complete.
                successors = succ[i]
                if successors is None or control.halt:
                    report(i << SHIFT | DONE)
                    break
                if type(successors) is int:  # one successor (the common case): no list
                    if next(ready_counters[successors]):  # not its last predecessor
                        report(i << SHIFT | DONE)
                        break
                    if fns[successors] is None:
                        report(successors << SHIFT | ready_kind)
                        report(i << SHIFT | DONE)
                        break
                    resolved[successors] = 1  # the window moves on without the owner
                    claims += 1
                    tallies[k] = claims  # before the end: the owner counts it from there
                    report(i << SHIFT | DONE)
                    run_next, claimed = successors, None
                else:
                    claimed = None
                    for s in successors:
                        if not next(ready_counters[s]):
                            if fns[s] is None:
                                report(s << SHIFT | ready_kind)
                                continue
                            resolved[s] = 1
                            if claimed is None:
                                claimed = [s]
                            else:
                                claimed.append(s)
                    if claimed is None:
                        report(i << SHIFT | DONE)
                        break
                    claims += len(claimed)
                    tallies[k] = claims
                    report(i << SHIFT | DONE)
                    if len(claimed) == 1:
                        run_next, claimed = claimed[0], None
                    else:
                        claimed.sort()
                        run_next = claimed.pop(0)
                # Run the lowest claimed call right here unless a lower one waits in the heap;
                # push the others for whichever worker is idle.
                try:
                    lowest_waiting = heap[0]
                except IndexError:
                    lowest_waiting = run_next
                if lowest_waiting < run_next:
                    heappush(heap, run_next)
                    give(None)
                    run_next = no_node
                if claimed:
                    for s in claimed:
                        heappush(heap, s)
                        give(None)
                if run_next == no_node:
                    break
                if control.halt:
                    report(run_next << SHIFT | DISCARD)
                    break
                previous, i = no_node, run_next


#: The worker loops' code: a call's stack ends where they begin (sample_stacks).
_WORK_CODES = frozenset({ThreadDispatcher._work.__code__, ThreadDispatcher._work_in_order.__code__})
