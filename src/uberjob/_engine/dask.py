"""A dispatcher for a ``dask.distributed.Client``: intermediate values stay on the cluster.

The owner loop (owner.py) decides what is ready; this dispatcher turns each ready call into one
Dask task whose dependencies are the Dask futures of the calls it reads, so workers fetch
arguments from each other and nothing but the output comes back to the driver.

- ``values[i]`` holds the call's Dask *future* once it is done (the output's holds its value,
  gathered on Dask's callback thread before ``DONE`` is reported). The owner drops ``values[j]``
  when the last reader of ``j`` has finished; dropping the last reference to a Dask future
  releases its key on the cluster, so no extra hook is needed while the run goes on. When the
  run ends (output read, failure, interrupt) the futures still held are released explicitly:
  Dask's own done-callback machinery (a coroutine on its loop, a work item on its callback
  thread) holds each future a while longer, and the keys must not outlive ``run`` by chance.
- Ready calls wait in a heap (lowest index first, as in compile.py) and are submitted in one
  ``client.get(graph, keys, sync=False)`` per owner turn, at most ``max_workers`` in flight
  (default: 4 per cluster thread, at least 32). ``START`` is reported at submission.
- Each task is ``(_run_call, payload, *futures)``: ``payload`` is the call's spec (function,
  argument template, retry decorator) pickled on the driver, so Dask neither tokenizes nor
  interprets user values (a tuple argument is never mistaken for a task) and the scheduler only
  ever ships bytes. The template never carries the plan's nodes: a node reaches back through
  every call before it, and a long chain's task used to be too deep for the scheduler to pickle
  (it then dropped the workers and the run hung).
- Faults: a call that cannot be pickled fails on the driver, naming its call; a failed
  ``client.get`` is retried call by call; a value that will be read by another call is checked
  for serializability on the worker (Dask would otherwise hang transferring it); a worker that
  dies mid-call is retried by the scheduler (``distributed.scheduler.allowed-failures``) and
  then fails with ``KilledWorker``; losing the scheduler cancels every future, which fails its
  call with a ``ConnectionError``. Exceptions raised in the driver have their frames' locals
  cleared (``_detached``): a failure the user keeps must not keep futures, and so keys, alive.
- Stacks of stragglers (running.py) come from ``Client.call_stack(keys=...)``, asked on a
  thread of its own (one request at a time) and answered on a later owner turn, without the
  frames of the Dask worker and of ``_run_call``.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
import uuid
from functools import partial
from heapq import heappop, heappush
from queue import SimpleQueue

from uberjob._engine.owner import DISCARD, DONE, FAIL, SHIFT, START, Control
from uberjob._engine.stacks import parse_dask_stack

__all__ = ["DaskDispatcher", "gathered", "release_futures"]

MIN_DEFAULT_IN_FLIGHT = 32  # enough to hide a round trip to the scheduler for short calls


class _Spec:
    """What a Dask task runs besides its dependencies' values. The driver pickles it itself
    (see :func:`_pickled`), so the scheduler only ever handles bytes."""

    __slots__ = ("args", "check", "fn", "kwargs", "retry", "slots")

    def __init__(self, fn, args, kwargs, slots, retry, check):
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.slots = slots  # where each dependency's value goes: a position or a keyword
        self.retry = retry
        self.check = check  # the value is read by another call: make sure it can travel

    def __getstate__(self):
        return (self.fn, self.args, self.kwargs, self.slots, self.retry, self.check)

    def __setstate__(self, state):
        (self.fn, self.args, self.kwargs, self.slots, self.retry, self.check) = state


def _pickled(spec: _Spec) -> bytes | BaseException:
    """The spec as bytes, or why it cannot be pickled.

    Pickled here, on the driver, so that whatever cannot travel fails its own call at once: a
    task the scheduler cannot serialize when sending it to a worker makes the scheduler drop
    the worker, and the run would wait for the task forever. Bytes also spare Dask from
    tokenizing or interpreting user values (a tuple argument is never mistaken for a task).
    """
    from distributed.protocol.pickle import dumps

    try:
        return dumps(spec)
    except Exception as exception:
        return _unserializable_call(exception)


def _run_call(payload: bytes, *dependencies):
    """What a Dask worker runs for one call (module-level so that it pickles by reference):
    ``payload`` is the call's pickled :class:`_Spec`."""
    from distributed.protocol.pickle import loads

    spec = loads(payload)
    args, kwargs = spec.args, spec.kwargs
    if spec.slots:
        args = list(args)
        kwargs = dict(kwargs) if kwargs is not None else None
        for slot, value in zip(spec.slots, dependencies, strict=True):
            if type(slot) is int:
                args[slot] = value
            else:
                kwargs[slot] = value
    fn = spec.fn if spec.retry is None else spec.retry(spec.fn)
    value = fn(*args, **kwargs) if kwargs else fn(*args)
    if spec.check:
        _check_serializable(value)
    return value


def _check_serializable(value) -> None:
    if value is None or type(value) in (int, float, str, bytes, bool):
        return
    from distributed.protocol import serialize

    try:
        serialize(value, on_error="raise")
    except Exception as exception:
        raise TypeError(
            f"The call returned a {type(value).__name__} that cannot be serialized, so Dask "
            f"cannot pass it to the calls that read it: {exception}"
        ) from exception


class ClusterLostError(ConnectionError):
    """The Dask client lost its scheduler while the run was going."""


class DaskDispatcher:
    """Submits calls to a Dask cluster as tasks that read their arguments' futures, lowest index
    first, at most ``cap`` in flight, one graph per owner turn (see the module docstring)."""

    def __init__(self, compiled, client, *, max_workers: int | None, retry, control: Control):
        self.compiled = compiled
        self.client = client
        self.retry = retry
        self.control = control
        self.max_workers = max_workers
        self.cap = max_workers or MIN_DEFAULT_IN_FLIGHT
        self.width = self.cap  # calls in flight at once (the owner's window, owner.py)
        # Calls submitted whose end the owner has not processed yet (owner thread only); not
        # len(_in_flight), which a call leaves before the owner has made its readers ready.
        self._running = 0
        self.events: SimpleQueue = SimpleQueue()
        self._ready: list[int] = []
        self._in_flight: dict = {}  # index -> Dask future; whoever pops an entry reports it
        self._failures: dict[int, BaseException] = {}
        self._token = uuid.uuid4().hex
        self._names: dict = {}
        self._abandoned = False
        # Stacks of stragglers: one request to the cluster at a time (sample_stacks).
        self._stack_answers: SimpleQueue = SimpleQueue()
        self._stacks_pending = False
        from distributed import Future

        self._future_type = Future

    # -- the dispatcher protocol (owner thread) ------------------------------------------------

    def start(self) -> None:
        if self.client.status != "running":
            raise ClusterLostError(self._lost_message())
        if self.max_workers is None:
            threads = sum(self.client.nthreads().values())
            self.cap = self.width = max(4 * threads, MIN_DEFAULT_IN_FLIGHT)

    def submit(self, i: int) -> None:
        heappush(self._ready, i)
        self.pump()

    def submit_many(self, indices: list[int]) -> None:
        ready = self._ready
        if not ready:
            ready.extend(indices)  # a sorted list is a heap
        else:
            for i in indices:
                heappush(ready, i)
        self.pump()

    def pump(self) -> None:
        """Submit ready calls while fewer than the cap are in flight, in one graph."""
        ready, events = self._ready, self.events
        if self.control.halt:
            while ready:
                events.put(heappop(ready) << SHIFT | DISCARD)
            return
        if not ready:
            return
        if self.client.status != "running":
            lost = ClusterLostError(self._lost_message())
            while ready:
                i = heappop(ready)
                events.put(i << SHIFT | START)
                self._running += 1  # its FAIL is settled like any other end
                self._fail(i, lost)
            return
        room = self.cap - self._running
        if room <= 0:
            return
        batch = []
        while ready and len(batch) < room:
            batch.append(heappop(ready))
        self._running += len(batch)
        graph = {}
        keys = []
        submitted = []
        for i in batch:
            events.put(i << SHIFT | START)
            key, task = self._task(i)  # None: it failed already (it cannot be pickled)
            if task is not None:
                graph[key] = task
                keys.append(key)
                submitted.append(i)
        batch = submitted
        if not batch:
            return
        futures = _get(self.client, graph, keys)
        if isinstance(futures, BaseException):
            # Call by call, so that each failure is its own call's (and names it).
            for i, key in zip(batch, keys, strict=True):
                self._submit_one(i, key, graph.pop(key))
            return
        for i, future in zip(batch, futures, strict=True):
            self._track(i, future)

    def settle(self) -> None:
        """The owner has processed the end of a submitted call (owner thread)."""
        self._running -= 1

    def failure(self, i: int) -> BaseException:
        return self._failures.pop(i)

    def failed_arguments(self, i: int) -> tuple[tuple, dict | None]:
        """The arguments call ``i`` failed on, each Dask future among them replaced by a new
        future of the same key: the run's clean-up releases its own futures, and these keep
        their keys on the cluster until ``Failure.rerun`` gathers them or the handle lets go."""
        args, kwargs = self.compiled.arguments(i)
        future_type, client = self._future_type, self.client

        def held(value):
            return future_type(value.key, client) if type(value) is future_type else value

        return tuple(map(held, args)), {k: held(v) for k, v in kwargs.items()} if kwargs else None

    def sample_stacks(self, calls: list[int]) -> dict[int, tuple]:
        """The stacks of stragglers (running.py) from Dask's call-stack API, asked off the
        owner's thread so a slow cluster never stalls its loop: the answers that came in since
        the last call, ``{call: (frames, note, age)}``, and a new request for ``calls`` if no
        request is pending."""
        taken = {}
        answers = self._stack_answers
        while not answers.empty():
            asked_at, stacks = answers.get_nowait()
            age = time.monotonic() - asked_at
            for i, (frames, note) in stacks.items():
                taken[i] = (frames, note, age)
        if calls and not self._stacks_pending:
            keys = {}
            for i in calls:
                future = self._in_flight.get(i)
                if future is not None:
                    keys[future.key] = i
            if keys:
                self._stacks_pending = True
                threading.Thread(
                    target=self._ask_stacks,
                    args=(keys, time.monotonic()),
                    name="uberjob-dask-stacks",
                    daemon=True,
                ).start()
        return taken

    def _ask_stacks(self, keys: dict, asked_at: float) -> None:
        """A thread of its own: ``Client.call_stack`` for ``keys`` ({key: call}), answered
        through ``_stack_answers``."""
        try:
            stacks = {}
            try:
                by_worker = self.client.call_stack(keys=list(keys))
                for tasks in by_worker.values():
                    for key, texts in tasks.items():
                        i = keys.get(key)
                        if i is not None:
                            stacks[i] = (parse_dask_stack(texts), None)
                note = "not running on a worker when asked"
            except Exception as exception:  # a stack is a hint: never the run's failure
                note = f"the cluster gave no stack: {type(exception).__name__}: {exception}"
            for i in keys.values():
                stacks.setdefault(i, ([], note))
            self._stack_answers.put((asked_at, stacks))
        finally:
            self._stacks_pending = False

    def close(self) -> None:
        self._drop_futures()

    def abandon(self) -> None:
        """Interrupt: nothing new starts and what is pending on the cluster is cancelled."""
        self._abandoned = True
        self.control.halt = True
        self._ready.clear()
        futures = list(self._in_flight.values())
        self._in_flight.clear()
        if futures:
            with contextlib.suppress(Exception):  # the cluster may be gone: nothing to cancel
                self.client.cancel(futures)
            _release(futures)
        self._drop_futures()

    # -- helpers -------------------------------------------------------------------------------

    def _task(self, i: int):
        compiled = self.compiled
        fn = compiled.fns[i]
        try:
            name = self._names[fn]
        except KeyError:
            name = self._names[fn] = _key_prefix(fn)
        except TypeError:
            name = _key_prefix(fn)
        key = f"{name}-{self._token}-{i}"
        args, kwargs, values = compiled.positional[i], compiled.kwargs[i], compiled.values
        slots = []
        dependencies = []
        if compiled.refs[i]:
            future_type = self._future_type
            args = list(args)
            kwargs = dict(kwargs) if kwargs is not None else None
            for slot, j in compiled.ref_slots(i):
                value = values[j]
                if type(value) is future_type:
                    slots.append(slot)
                    dependencies.append(value)
                    value = None  # the worker puts the dependency's value here
                # The template holds the plan's node here: never ship it (a node reaches back
                # through every call before it: a long chain pickles to a deep recursion).
                if type(slot) is int:
                    args[slot] = value
                else:
                    kwargs[slot] = value
        check = compiled.uses[i] > 0 and i != compiled.output
        payload = _pickled(_Spec(fn, tuple(args), kwargs, tuple(slots), self.retry, check))
        if type(payload) is not bytes:
            self._fail(i, _detached(payload))
            return key, None
        return key, (_run_call, payload, *dependencies)

    def _submit_one(self, i: int, key, task) -> None:
        futures = _get(self.client, {key: task}, [key])
        if isinstance(futures, BaseException):
            self._fail(i, futures)
            return
        self._track(i, futures[0])

    def _track(self, i: int, future) -> None:
        self._in_flight[i] = future
        future.add_done_callback(partial(self._finished, i))

    def _finished(self, i: int, future) -> None:
        """Dask's callback thread: store the result and report (exactly once per call)."""
        if self._in_flight.pop(i, None) is None or self._abandoned:
            return
        status = future.status
        if status == "finished":
            if i == self.compiled.output:
                try:
                    value = future.result()
                except BaseException as exception:
                    # The traceback's frames hold the future: clear them, so that a CallError
                    # kept by the user (sys.last_value) does not keep the key on the cluster.
                    future.release()
                    del future
                    if exception.__traceback__ is not None:
                        traceback.clear_frames(exception.__traceback__.tb_next)
                    self._fail(i, exception)
                    return
                future.release()  # before DONE: the run may return before this thread lets go
            else:
                value = future
            self.compiled.values[i] = value
            self.events.put(i << SHIFT | DONE)
        elif status == "error":
            try:
                exception = future.exception()
                exception = exception.with_traceback(future.traceback())
            except BaseException as error:  # fetching it failed: report that instead
                exception = error
            self._fail(i, exception)
        elif self.client.status != "running":
            self._fail(i, ClusterLostError(self._lost_message()))
        else:
            from concurrent.futures import CancelledError

            self._fail(i, CancelledError(f"The Dask task {future.key!r} was cancelled."))

    def _fail(self, i: int, exception: BaseException) -> None:
        self._failures[i] = exception
        self.events.put(i << SHIFT | FAIL)

    def _lost_message(self) -> str:
        address = getattr(self.client.scheduler, "address", None) if self.client.scheduler else None
        return (
            f"Lost the Dask cluster: the client's connection to the scheduler at {address} is "
            f"{self.client.status!r}."
        )

    def _drop_futures(self) -> None:
        """Let go of every future still held (after a failure), so the cluster frees them."""
        values, future_type = self.compiled.values, self._future_type
        held = []
        for k, value in enumerate(values):
            if type(value) is future_type:
                held.append(value)
                values[k] = None
        _release(held)


def _get(client, graph: dict, keys: list):
    """``client.get(graph, keys, sync=False)``: the futures, or what it raised, detached from
    the frames that hold the graph (and so the futures of the tasks' dependencies)."""
    result = _returning_exception(client.get, graph, keys, sync=False)
    return _detached(result) if isinstance(result, BaseException) else result


def _returning_exception(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, or the exception it raised."""
    try:
        return fn(*args, **kwargs)
    except Exception as exception:
        return exception


def _detached(exception: BaseException) -> BaseException:
    """``exception`` with the local variables of its tracebacks' frames (and those of its causes
    and contexts) cleared, keeping the lines. Call it once the frames have returned: a kept
    failure must not keep Dask futures alive through a frame, and so their keys on the cluster.
    """
    seen: set[int] = set()
    pending: list = [exception]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if current.__traceback__ is not None:
            traceback.clear_frames(current.__traceback__)
        pending.extend((current.__cause__, current.__context__))
    return exception


def _release(futures) -> None:
    """Give up our claim on these keys now, whoever else still holds the Future objects."""
    for future in futures:
        with contextlib.suppress(Exception):  # a closed client has nothing left to release
            future.release()


def _key_prefix(fn) -> str:
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "call"


def _unserializable_call(exception: BaseException) -> BaseException:
    error = TypeError(
        "The call's function or arguments cannot be serialized to send to the Dask cluster: "
        f"{exception}"
    )
    error.__cause__ = exception
    return error


def _is_future(value) -> bool:
    return type(value).__name__ == "Future" and type(value).__module__.startswith("distributed")


def gathered(values: list) -> list:
    """``values`` with every Dask future replaced by its value (fetched from its cluster)."""
    positions = [k for k, value in enumerate(values) if _is_future(value)]
    if not positions:
        return values
    futures = [values[k] for k in positions]
    fetched = futures[0].client.gather(futures)
    values = list(values)
    for k, value in zip(positions, fetched, strict=True):
        values[k] = value
    return values


def release_futures(values) -> None:
    """Release the Dask futures among ``values`` (a kept frontier, kept arguments)."""
    _release([value for value in values if _is_future(value)])
