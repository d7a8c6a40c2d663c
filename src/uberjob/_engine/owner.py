"""The owner loop: the one thread that owns a run's scheduling state.

State (all owned by the thread that called ``run``, unless said otherwise):

- ``waiting[i]``: unfinished predecessor edges of node ``i``; at 0 the node is *ready*.
- ``uses[i]``: consumers that still have to read ``values[i]``; at 0 the value is released.
  (Both only for dispatchers that leave readiness to this thread. The thread dispatcher's
  workers count both down themselves, on countdowns of their own (``counts_readiness``,
  threads.py); this thread then leaves the two lists as compiled.)
- ``resolved[i]``: node ``i`` no longer holds the frontier back: it is ready (handed over, held
  or taken by a worker), done, or *dead* (below a failed call, it will never be ready).
- ``frontier``: the lowest index that is not resolved.
- ``held``: a heap of ready calls not yet handed to the dispatcher (outside the window). Shared
  with the thread dispatcher, whose idle workers take what the window allows without waiting
  for this thread (heap operations are atomic); everything else about it is the owner's.
- ``outstanding``: ready calls (held, handed over, or taken by a worker) that have not reported
  a terminal event. Calls the workers made ready and took (claimed) count from the end of the
  turn in which this thread sees them in the workers' tallies (``claimed``; ``count_claims``).
- errors so far, the first failed node, and whether the run is halted.
- Written by workers (threads.py): ``values``, ``resolved`` flags of what they claim, and their
  tallies of claims.
- ``done[i]``: how call ``i`` ended (``DONE`` or ``DONE_NEXT``) once this thread has processed
  its end: one store per call, read only when the run does not finish, to keep its frontier
  for resuming (frontier.py).

Policy: values are consumed before unrelated values are made, as uberjob 1.0's default
scheduler does, and beyond it.

1. *Lowest index first.* Nodes are numbered in depth-first post-order (compile.py), the order
   a sequential evaluation finishes them in, so among ready calls the lowest index is the one
   that finishes the branch in progress (a reader of a value that is alive) rather than one
   that starts a new branch. Dispatchers take the lowest ready index first; with one worker
   this *is* the sequential order, and a run holds what a sequential evaluation holds.
2. *No wait for the owner between a call and its reader.* With one worker (``in_order``) the
   worker runs every node in index order itself and this thread only counts; with several, the
   worker that finishes a call's last predecessor makes it ready and takes it (a claim,
   threads.py), and the worker that finishes a value's last reader drops it, so the order
   above does not depend on how quickly this thread turns.
3. *The window.* A ready call is handed over only while its index is below
   ``frontier + WINDOW_PER_WORKER * width`` (``width``: the calls the dispatcher runs at once);
   others wait in ``held``. Without it, idle workers would start new branches far ahead of a
   slow chain (the ladder ``x = step(x, produce(k))``: every ``produce`` value alive at once).
   With it, the values made ahead of the frontier are bounded by the window, so a run holds a
   small constant times ``width`` values beyond what the plan's own order needs. With one call
   at a time there is no window: lowest-first is already sequential. Progress is guaranteed:
   the frontier's predecessors are below it, so they are done, running, or within the window;
   a node below a failed call is dead and resolved, so a failure never holds the window back
   (and with nothing outstanding, the lowest held call is handed over whatever the window).
4. *Errors.* After the error limit is exceeded, or on a stop request, the run *halts*: nothing
   new starts, calls in flight finish, and the loop ends when nothing is outstanding. A
   stopped run raises ``RunStopped`` whatever failed before the stop; otherwise the first
   failure is raised as ``CallError``.
5. *Turns, interrupts and views.* A turn takes the events waiting (at most ``TURN_EVENTS``),
   then hands over the calls they made ready, counts and calls the progress observer's
   ``tick()``, so views redraw from this one thread. The bound matters: workers that finish
   calls faster than this thread takes their events would otherwise keep one turn going for
   the whole run (measured: 500,000 no-op calls on 8 workers in 3 turns, the display still for
   1.4 s, and the calls made ready in the turn waiting until its end). The loop waits on the
   event queue with a timeout, so Ctrl-C (or a kernel interrupt) is seen within a fraction of a
   second.
6. *What is running.* When the observer has ``record_running`` (progress/_observer.py), a
   ``RunningTracker`` (running.py) keeps the calls whose start was counted apart (see below)
   until their end, stamped with this loop's one clock reading per turn, and the durations per
   scope; on the tick, before ``tick()``, it hands the observer the calls in flight, the
   stragglers and their stacks (taken through the dispatcher's ``sample_stacks``). Blocking
   runs get it too: the run pushes it, nobody has to ask. Calls that start and end between two
   turns cost nothing more. Without such an observer (``progress=False``, 1.0 observers) there
   is no tracker.

Dispatchers (threads.py, executors.py, dask.py) run the calls and report events
``(i << 3) | kind``; a dispatcher whose workers make calls ready also reports ``READY`` for a
literal whose last predecessor they finished, which this thread completes. A call's start is
counted once (``counted_start[i]``): from a ``START`` event, or, for a dispatcher with
``running_slots`` (the thread pool, whose workers report no starts), when the owner reads the
slots at the end of a turn or sees the call's end, whichever comes first. A dispatcher that
caps the calls in flight (executors, Dask) is told when the owner has processed a call's end
(``settle()``), so that a free place goes to the reader the end made ready rather than to a
new branch.
"""

from __future__ import annotations

import gc
import time
from bisect import bisect_left
from contextlib import suppress
from functools import partial
from heapq import heappop, heappush
from itertools import compress
from operator import not_
from queue import Empty, SimpleQueue
from typing import Protocol

from uberjob._engine.compile import NO_NODE, InternalScope
from uberjob._engine.counting import NO_RUN, ProgressCounter
from uberjob._engine.running import RunningTracker
from uberjob._errors import RunStopped, chained_call_error

__all__ = [
    "DISCARD",
    "DONE",
    "DONE_NEXT",
    "END",
    "FAIL",
    "READY",
    "START",
    "Control",
    "Dispatcher",
    "run_owner_loop",
]

START, DONE, FAIL, DISCARD, DONE_NEXT, END, READY = range(7)
SHIFT = 3
MASK = 7
POLL_SECONDS = 0.1  # how long the owner blocks before checking for interrupts and stops
TICK_SECONDS = 0.02  # how often, at most, the observer's tick() is called
#: How far past the frontier calls may start, per call the dispatcher runs at once (see above).
WINDOW_PER_WORKER = 4
#: Events taken in one turn at most (see 5. above).
TURN_EVENTS = 1024


class Control:
    """A run's flags: plain attributes, since one write or read of an attribute is atomic.

    - ``halt``: no new call may start; calls in flight finish. Written by the owner (error limit
      exceeded, interrupt), by a worker whose failure exceeds the error limit (so that no other
      call starts before the owner sees it), by a dispatcher's ``abandon()``, and by
      ``RunHandle.stop()`` from any thread. Read by workers before each call and by the owner.
    - ``shutdown``: idle workers exit. Written by the dispatcher (``close()``/``abandon()``);
      read by workers when the heap is empty and while they wait for room to report a failure.
    - ``stop_requested``: a stop was asked for (``RunHandle.stop()``, any thread): the run ends
      with ``RunStopped`` once nothing is in flight. Read by the owner.
    """

    __slots__ = ("halt", "shutdown", "stop_requested")

    def __init__(self):
        self.halt = False
        self.shutdown = False
        self.stop_requested = False


class Dispatcher(Protocol):
    """What the owner loop needs of a dispatcher (threads.py, executors.py, dask.py).

    Every method is called from the owner's thread; workers and callbacks only put events.
    """

    #: Events ``(i << SHIFT) | kind`` from workers or callbacks; the owner is the only reader.
    events: SimpleQueue
    #: How many calls run at once: the owner's window is ``WINDOW_PER_WORKER`` times this.
    width: int

    def start(self) -> None:
        """Prepare to run (threads start with the first work; Dask checks its cluster)."""

    def submit(self, i: int) -> None:
        """Hand over ready call ``i``."""

    def submit_many(self, indices: list[int]) -> None:
        """Hand over ready calls, ``indices`` sorted ascending."""

    def pump(self) -> None:
        """Once per owner turn: submit what a cap on calls in flight held back."""

    def failure(self, i: int) -> BaseException:
        """The exception of call ``i``, once, after its ``FAIL`` event."""

    def close(self) -> None:
        """The run is over and nothing is outstanding: release threads and resources."""

    def abandon(self) -> None:
        """Interrupt: halt, start nothing new, cancel what can be cancelled."""

    # Optional members, looked up with getattr:
    # - ``running_slots``: a list, per worker, of the call it runs (NO_NODE before its first):
    #   a dispatcher with it reports no START events (threads.py).
    # - ``counts_readiness``: True when the workers make calls ready and drop values
    #   themselves (threads.py); then also ``claimed``, per worker the calls it took so far,
    #   and ``advance(s)``, for this thread to count down a literal's successor.
    # - ``settle()``: told when the owner has processed a call's end (caps on calls in flight).
    # - ``sample_stacks(calls)``: the current stacks of running calls (stragglers, running.py).


def _freeze_existing_objects() -> bool:
    """Move every object alive now (the plan, the compiled arrays) out of the cyclic garbage
    collector's sight for the run, so its collections only scan what calls create. Skipped when
    someone else froze objects already (their gc.freeze is theirs to undo)."""
    if not gc.isenabled() or gc.get_freeze_count():
        return False
    gc.freeze()
    return True


def _internal_done(compiled, done: bytearray, completed: int) -> int:
    """How many of the ``completed`` calls were internal (gathers, unpacks), for a run that
    counted nothing on the way (no progress): all of them if every call completed, else counted
    from the done flags (a run that did not finish: off the fast path)."""
    if completed >= sum(compiled.scope_totals.values()) + compiled.internal_calls:
        return compiled.internal_calls
    if not compiled.internal_calls:
        return 0
    return sum(
        1
        for flag, scope in zip(done, compiled.scopes, strict=True)
        if flag and type(scope) is InternalScope
    )


def run_owner_loop(
    compiled, dispatcher: Dispatcher, *, observer, max_errors, handle, section="run"
):
    """Run ``compiled`` to the end through ``dispatcher``; return the output value.

    ``handle`` (a RunHandle) carries the Control flags and receives the completed count and the
    failures as they happen.

    Raises the first failure as ``CallError``, ``RunStopped`` after a stop request, and lets
    ``KeyboardInterrupt`` through at once (after telling the dispatcher to halt).
    """
    n = len(compiled)
    fns, succ, waiting, uses, refs, values, scopes, nodes = (
        compiled.fns,
        compiled.succ,
        compiled.waiting,
        compiled.uses,
        compiled.refs,
        compiled.values,
        compiled.scopes,
        compiled.nodes,
    )
    output, fuse = compiled.output, compiled.fuse
    control = handle.control
    completed = handle.completed
    tick = getattr(observer, "tick", None) or (lambda: None)
    counter = ProgressCounter(observer, scopes, section)  # (counting.py)
    counted_start = counter.counted_start
    # Calls seen once, at their end (the common case): those of the current run's scope are
    # counted in a local, the others listed; both are counted at the end of the turn (counting.py).
    run_scope, run_count = NO_RUN, 0
    seen_once: list[int] = []
    count_seen_once = seen_once.append
    # Starts that no event reports are seen when the loop turns; it turns at least once per
    # redraw interval then, so a long call shows as running (and is credited its time) in time.
    running_slots = getattr(dispatcher, "running_slots", None)
    counting = not getattr(observer, "observes_nothing", False)  # null_progress: nothing to count
    if not counting:
        running_slots = None
    # What is running, for an observer that wants to see it (running.py): its calls in flight
    # are the starts and ends counted apart; it is told the picture on the tick.
    record_running = getattr(observer, "record_running", None) if counting else None
    running = None
    if record_running is not None:
        running = RunningTracker(
            scopes, section, record_running, getattr(dispatcher, "sample_stacks", None)
        )
        running.now = time.monotonic()
        counter.running = running
    poll_seconds = POLL_SECONDS if running_slots is None else TICK_SECONDS

    errors = 0
    first_error = None
    outstanding = 0
    submit = dispatcher.submit
    # The window (see the module docstring): ready calls wait in `held` until they are within
    # `window` of the frontier, the lowest node that is not yet resolved (ready, taken by a
    # worker, done, or dead below a failure).
    held: list[int] = []
    # The sources (nothing to wait for) are ready, so resolved, from the start: one pass in C.
    resolved = bytearray(map(not_, waiting))
    # done[i]: the kind of call i's end (DONE or DONE_NEXT), once the owner has processed it:
    # what a run that does not finish keeps for resuming (frontier.py).
    done = bytearray(n)
    frontier = 0  # every node below it is resolved
    window = n  # set once the dispatcher has started and knows its width
    # A dispatcher whose workers make calls ready and drop values themselves (threads.py): this
    # thread leaves `waiting` and `uses` alone, completes the literals they report READY, and
    # counts the calls they took from their own tallies (`claimed`, one slot per worker).
    counts_readiness = getattr(dispatcher, "counts_readiness", False)
    claimed = dispatcher.claimed if counts_readiness else None
    claims_counted = 0
    # Dispatchers that cap the calls in flight learn from the owner when one has ended.
    settle = getattr(dispatcher, "settle", None)
    failed_arguments = getattr(dispatcher, "failed_arguments", None) or compiled.arguments
    # A run that does not finish leaves its frontier to the handle (frontier.py, RunHandle).
    keep_frontier = getattr(handle, "_keep_frontier", None)

    def finish_trivial_and_collect(start: list[int]) -> list[int]:
        """Complete ready literals (no work) and return the ready calls they lead to."""
        calls = []
        stack = list(start)
        while stack:
            i = stack.pop()
            if fns[i] is not None:
                calls.append(i)
                continue
            done[i] = DONE
            complete_trivial(i, stack)
        return calls

    def count_down(s: int) -> bool:
        """One predecessor edge of ``s`` finished: True when it was the last."""
        left = waiting[s] - 1
        waiting[s] = left
        return left == 0

    # Whose counts: the workers' countdowns (threads.py), or this thread's `waiting`.
    last_predecessor = dispatcher.advance if counts_readiness else count_down

    def complete_trivial(i: int, ready: list[int]) -> None:
        """Node ``i`` has no work (a literal that waited for dependencies, a known value; it
        reads no argument) and is complete: drop its value if nobody reads it, and make ready
        the successors it was the last predecessor of."""
        if uses[i] == 0 and i != output:
            values[i] = None
        successors = succ[i]
        if successors is None:
            return
        for s in (successors,) if type(successors) is int else successors:
            if last_predecessor(s):
                resolved[s] = 1
                ready.append(s)

    def count_claims() -> None:
        """Count the calls the workers made ready and took since the last look (outstanding
        from now on). A worker adds to its tally before it reports the end that made them
        ready, so every call whose end, or whose predecessor's end, this thread has taken is
        counted by now: ``outstanding`` cannot reach 0 while one of them is still to end."""
        nonlocal outstanding, claims_counted
        total = sum(claimed)
        outstanding += total - claims_counted
        claims_counted = total

    def mark_dead_below(i: int) -> None:
        """Resolve everything downstream of failed call ``i``: it will never be ready."""
        stack = [i]
        while stack:
            j = stack.pop()
            following = fuse[j]
            if following != NO_NODE and not resolved[following]:
                resolved[following] = 1
                stack.append(following)
            successors = succ[j]
            if successors is None:
                continue
            for s in (successors,) if type(successors) is int else successors:
                if not resolved[s]:
                    resolved[s] = 1
                    stack.append(s)

    def limit() -> int:
        """The first index that may not start yet: the frontier plus the window."""
        nonlocal frontier
        found = resolved.find(0, frontier)
        frontier = n if found < 0 else found
        return frontier + window

    def hand_over(ready: list[int]) -> None:
        """Hand over the calls just made ready (they count as outstanding from now on), those
        beyond the window to ``held``."""
        nonlocal outstanding
        outstanding += len(ready)
        if len(ready) == 1 and not held:  # the common case
            r = ready[0]
            if r < frontier + window or r < limit():
                submit(r)
            else:
                heappush(held, r)
            return
        if held:  # lowest first, across what was held and what is new
            for r in ready:
                heappush(held, r)
            release_held()
            return
        ready.sort()
        within = bisect_left(ready, limit())
        if within:
            dispatcher.submit_many(ready[:within] if within < len(ready) else ready)
        for r in ready[within:]:
            heappush(held, r)

    def release_held() -> None:
        """Hand over the held calls within the window of the frontier (lowest first)."""
        end = limit()
        batch = []
        while True:
            try:
                r = heappop(held)  # (a worker may take from `held` meanwhile: threads.py)
            except IndexError:
                break
            if r >= end:
                heappush(held, r)
                break
            batch.append(r)
        if not batch and held and outstanding == len(held):
            # Nothing but held calls is outstanding: never idle with work held (the frontier
            # guarantees progress; this guards it).
            with suppress(IndexError):
                batch.append(heappop(held))
        if len(batch) == 1:
            submit(batch[0])
        elif batch:
            dispatcher.submit_many(batch)  # popped in order: sorted

    def drop_held() -> None:
        """The run halted: what is held never starts."""
        nonlocal outstanding
        while True:
            try:
                heappop(held)
            except IndexError:
                return
            outstanding -= 1

    frozen = _freeze_existing_objects()
    try:
        dispatcher.start()
        # One call at a time takes the lowest ready index, which is the sequential order: no
        # window needed (and none wanted: with one worker, waiting for the owner is the cost).
        width = getattr(dispatcher, "width", None) or 1
        if width > 1:
            window = min(n, WINDOW_PER_WORKER * width)
            share_window = getattr(dispatcher, "share_window", None)
            if share_window is not None:  # workers take held calls too (threads.py)
                share_window(held, resolved, window)
        in_order = getattr(dispatcher, "in_order", False)
        if in_order:  # one worker runs every call in index order (threads.py): it owns the
            outstanding = 1  # values, and this thread counts, until its END event
            dispatcher.run_in_order()
        else:
            sources = list(compress(range(n), resolved))  # (in C, as resolved above)
            # Only literals and known values finish without work; a plan of calls has none.
            initial = sources if compiled.calls == n else finish_trivial_and_collect(sources)
            if initial:
                hand_over(initial)
        next_tick = 0.0
        get, get_nowait = dispatcher.events.get, dispatcher.events.get_nowait
        while outstanding:
            try:
                event = get(timeout=poll_seconds)
            except Empty:
                event = None
            ready: list[int] = []
            budget = TURN_EVENTS
            while event is not None:
                i = event >> SHIFT
                kind = event & MASK
                if kind in (DONE, DONE_NEXT):
                    completed += 1
                    done[i] = kind
                    if counting:  # (a run without progress skips all of it)
                        if counted_start[i]:  # its start was seen on its own
                            counter.finish(i)
                        else:
                            counted_start[i] = 1  # a stale running slot may still show it
                            if scopes[i] is run_scope:
                                run_count += 1
                            else:
                                count_seen_once(i)
                    if counts_readiness:  # the workers release and make ready themselves
                        if uses[i] == 0 and i != output:
                            values[i] = None  # a value nobody reads
                        if kind == DONE:
                            outstanding -= 1
                        else:
                            resolved[fuse[i]] = 1
                    elif not in_order:  # (else the worker drops values and goes on itself)
                        # Release its arguments and count down its successors: once per call,
                        # the hottest code
                        for j in refs[i]:
                            left = uses[j] - 1
                            uses[j] = left
                            if left == 0 and j != output:
                                values[j] = None
                        if uses[i] == 0 and i != output:
                            values[i] = None
                        successors = succ[i]
                        if successors is None:
                            pass
                        elif type(successors) is int:
                            left = waiting[successors] - 1
                            waiting[successors] = left
                            if left == 0:
                                resolved[successors] = 1
                                ready.append(successors)
                        else:
                            for s in successors:
                                left = waiting[s] - 1
                                waiting[s] = left
                                if left == 0:
                                    resolved[s] = 1
                                    ready.append(s)
                        if kind == DONE:  # else its worker went on to the fused successor,
                            outstanding -= 1  # whose start is counted like any other's
                            if settle is not None:
                                settle()
                        else:
                            resolved[fuse[i]] = 1
                elif kind == START:  # from dispatchers without running slots
                    counter.start(i)
                elif kind == FAIL:
                    if not in_order:
                        outstanding -= 1
                        if settle is not None:
                            settle()
                    errors += 1
                    if not counted_start[i]:
                        counter.start(i)
                    if running is not None:
                        running.failed(i)
                    error = chained_call_error(nodes[i], dispatcher.failure(i))
                    if first_error is None:
                        first_error = error
                    scope = scopes[i]
                    if type(scope) is InternalScope:  # reported under a plain tuple: a
                        scope = tuple(scope)  # failed unpack is the user's to see
                    # The arguments it failed on, should the handle keep them (Failure.rerun).
                    handle._record_failure(section, scope, error, partial(failed_arguments, i))
                    if counting:  # what completed before it is counted before its failure
                        run_scope = counter.flush(seen_once, run_scope, run_count)
                        run_count = 0
                    observer.increment_failed(section=section, scope=scope, exception=error)
                    if max_errors is not None and errors > max_errors:
                        control.halt = True
                    elif not control.halt and not in_order:
                        mark_dead_below(i)  # so that the frontier moves past what it blocks
                elif kind == READY:  # a literal whose last predecessor a worker finished
                    resolved[i] = 1
                    ready.append(i)
                else:
                    # DISCARD: handed over (or claimed) but never started, the run halted; END:
                    # an in-order worker is through.
                    outstanding -= 1
                budget -= 1
                if not budget:  # the rest next turn, after this one's hand-over and redraw
                    break
                try:
                    event = get_nowait()
                except Empty:
                    event = None
            if claimed is not None:
                count_claims()
            if control.stop_requested and not control.halt:
                control.halt = True
            if not control.halt:
                if ready:
                    ready = finish_trivial_and_collect(ready)
                    if ready:
                        hand_over(ready)
                elif held:
                    release_held()
            elif held:
                drop_held()
            dispatcher.pump()
            if running_slots is not None:
                counter.count_running_slots(running_slots)
            if counting:
                run_scope = counter.flush(seen_once, run_scope, run_count)
                run_count = 0
            handle.completed = completed - counter.internal_done
            now = time.monotonic()
            if running is not None:
                running.now = now  # the time of the starts and ends seen next turn
            if now >= next_tick:
                next_tick = now + TICK_SECONDS
                if running is not None:
                    running.update(now)
                tick()
    except BaseException:
        control.halt = True
        if keep_frontier is not None:
            keep_frontier(compiled, done, dispatcher, interrupted=True)
        dispatcher.abandon()
        raise
    finally:
        if frozen:
            gc.unfreeze()
        if counting:
            counter.flush(seen_once, run_scope, run_count)
        handle.completed = completed - (
            counter.internal_done if counting else _internal_done(compiled, done, completed)
        )
    if keep_frontier is not None and (control.stop_requested or first_error is not None):
        # (before close: Dask's releases what it holds)
        keep_frontier(compiled, done, dispatcher)
    dispatcher.close()
    if control.stop_requested:  # a stopped run is stopped, whatever failed before the stop
        raise RunStopped("The run was stopped before it finished.")
    if first_error is not None:
        raise first_error
    if output != NO_NODE:
        return values[output]
    return compiled.output_value
