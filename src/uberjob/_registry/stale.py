"""The stale check: which stored values have to be (re)computed.

Walking the plan in topological order, a node is *stale* when a predecessor is stale; otherwise
its *modified time* is the latest of its predecessors' (``None`` when none has one) unless it
has a store, in which case the store decides:

- no stored value (``get_modified_time()`` is ``None``): stale;
- older than the latest input, or than ``fresh_time``: stale. A *source* without any input that
  has a modified time is never stale (nothing could have made it out of date);
- otherwise fresh, and its modified time is the store's.

The stores' modified times are fetched ahead of the walk by daemon threads
(``stale_check_max_workers``), in batches, in the walk's order; the walk (on the calling thread)
waits only for the batch it needs next, so slow stores (network file systems) are checked in
parallel while the progress observer sees the nodes complete in order. A store that the walk
does not need (its node already has a stale predecessor) may have been asked speculatively;
whatever it raised is then ignored.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections import Counter

from uberjob._builtins import INTERNAL_FUNCTIONS
from uberjob._errors import RunStopped, chained_call_error
from uberjob._util import fully_qualified_name
from uberjob.graph import Call, Literal

__all__ = ["find_stale", "is_stale", "stale_scopes"]

SERIAL_BELOW = 16  # stores; fewer than this are checked on the calling thread
MAX_BATCH = 64
TICK_SECONDS = 0.02
POLL_SECONDS = 0.1  # the longest the walk waits for a batch before serving interrupts and stops


def naive_local(value: dt.datetime | None) -> dt.datetime | None:
    """Aware datetimes as naive local time, the convention of ``get_modified_time``."""
    if value is not None and value.tzinfo is not None:
        return value.astimezone().replace(tzinfo=None)
    return value


def stale_scopes(order, mapping) -> list:
    """The ``"stale"`` progress scope of each node of ``order`` (``None`` for a non-call, and
    for a gather/unpack helper without a store: not a call the user planned, so not counted):
    ``(*scope, function name)``, plus the store's class name for a node that has a store."""
    cache: dict = {}
    scopes = []
    for node in order:
        if type(node) is not Call:
            scopes.append(None)
            continue
        entry = mapping.get(node)
        if entry is None and _is_internal(node.fn):
            scopes.append(None)
            continue
        store_type = None if entry is None else type(entry.value_store)
        fn = node.fn
        try:
            key = (node.scope, fn, store_type)
            scope = cache.get(key)
        except TypeError:  # an unhashable callable
            key, scope = None, None
        if scope is None:
            scope = (*node.scope, fully_qualified_name(fn))
            if store_type is not None:
                scope = (*scope, fully_qualified_name(store_type))
            if key is not None:
                cache[key] = scope
        scopes.append(scope)
    return scopes


def _is_internal(fn) -> bool:
    try:
        return fn in INTERNAL_FUNCTIONS
    except TypeError:  # an unhashable callable is the user's
        return False


def _modified_time(store, retry) -> tuple:
    """``(True, modified time)`` or ``(False, exception)``: whatever the store raised, even a
    ``BaseException``, is handed to the walk (a fetch thread that died would leave it waiting)."""
    try:
        get = store.get_modified_time
        return True, (retry(get) if retry is not None else get)()
    except BaseException as error:
        return False, error


class _ModifiedTimes:
    """Modified times of the stored nodes, fetched ahead in batches (or on demand if few).

    The fetch threads are daemon threads of our own: each takes the next batch (in the walk's
    order) and checks ``closed`` before each store, so that after an interrupt, a failure or a
    stop no new store check starts and nothing of ours keeps the process from exiting. The
    walk waits for a batch in short polls (``on_wait`` is called between them), so that Ctrl-C,
    a stop request and the progress display are served while slow stores are checked.
    """

    def __init__(self, stored: list, mapping, *, retry, max_workers: int):
        self._retry = retry
        self._mapping = mapping
        self._threads: list[threading.Thread] = []
        self.closed = False
        if len(stored) < SERIAL_BELOW or max_workers <= 1:
            return
        size = max(1, min(MAX_BATCH, -(-len(stored) // (max_workers * 4))))
        self._size = size
        self._position = {node: k for k, node in enumerate(stored)}
        stores = [mapping[node].value_store for node in stored]
        self._batches = [stores[start : start + size] for start in range(0, len(stores), size)]
        self._results: list = [None] * len(self._batches)
        self._ready = [threading.Event() for _ in self._batches]
        self._next_batch = itertools.count().__next__  # atomic: each batch is taken once
        self._threads = [
            threading.Thread(target=self._fetch, name=f"uberjob-stale-{k}", daemon=True)
            for k in range(min(max_workers, len(self._batches)))
        ]
        try:
            for thread in self._threads:
                thread.start()  # the first ones check stores while the others start
        except BaseException:  # Ctrl-C while starting: those started must not go on
            self.close()
            raise

    def _fetch(self) -> None:
        batches, retry = self._batches, self._retry
        while not self.closed:
            b = self._next_batch()
            if b >= len(batches):
                return
            results = []
            for store in batches[b]:
                if self.closed:
                    return
                results.append(_modified_time(store, retry))
            self._results[b] = results
            self._ready[b].set()

    def get(self, node, on_wait) -> dt.datetime | None:
        """The store's modified time; raises what ``get_modified_time`` raised."""
        if not self._threads:
            ok, value = _modified_time(self._mapping[node].value_store, self._retry)
        else:
            k = self._position[node]
            b = k // self._size
            ready = self._ready[b]
            while not ready.wait(POLL_SECONDS):
                on_wait()
            ok, value = self._results[b][k % self._size]
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """No new store check starts; the threads end after the one they are in."""
        self.closed = True


def _predecessors(node, structure):
    if type(node) is Call:
        args, kwargs = structure.arguments(node)
        preds = [a for a in args if type(a) is Call or type(a) is Literal]
        if kwargs:
            preds.extend(v for v in kwargs.values() if type(v) is Call or type(v) is Literal)
        deps = structure.dependencies(node)
        if deps:
            preds.extend(deps)
        return preds
    return structure.dependencies(node)


def is_stale(
    own: dt.datetime | None,
    latest: dt.datetime | None,
    fresh_time: dt.datetime | None,
    *,
    is_source: bool,
) -> bool:
    """The freshness rule for a node with a store (see the module docstring).

    ``own``: the store's modified time (``None``: no stored value); ``latest``: the latest
    modified time among its inputs (``None``: none has one); ``fresh_time``: ``run``'s.
    """
    if own is None:
        return True
    if latest is None and is_source:
        return False  # nothing could have made a source without dated inputs out of date
    return (latest is not None and latest > own) or (fresh_time is not None and fresh_time > own)


def find_stale(
    order: list,
    structure,
    mapping,
    *,
    observer,
    fresh_time: dt.datetime | None,
    retry,
    max_workers: int,
    control=None,
    on_failure=None,
) -> set:
    """The stale nodes of ``order`` (every node of the plan, in topological order).

    Reports the ``"stale"`` section to ``observer``: the totals first, then each call as it is
    checked. A store that raises fails the run with a ``CallError`` for its node (also passed
    to ``on_failure(section, scope, error)``). A stop request on ``control`` ends the check with
    ``RunStopped``.
    """
    scopes = stale_scopes(order, mapping)
    for scope, count in Counter(s for s in scopes if s is not None).items():
        observer.increment_total(section="stale", scope=scope, amount=count)
    fresh_time = naive_local(fresh_time)
    stored = [node for node in order if node in mapping]
    times = _ModifiedTimes(stored, mapping, retry=retry, max_workers=max_workers)
    running, completed = observer.increment_running, observer.increment_completed
    tick = getattr(observer, "tick", None)
    next_tick = time.monotonic() + TICK_SECONDS

    def serve() -> None:
        """Redraw the display and honour a stop request (between nodes and while waiting)."""
        if tick is not None:
            tick()
        if control is not None and control.stop_requested:
            raise RunStopped("The run was stopped before it finished.")

    stale: set = set()
    modified: dict = {}  # node -> the latest modified time it depends on (only when not None)
    try:
        for node, scope in zip(order, scopes, strict=True):
            if scope is not None:
                running(section="stale", scope=scope)
            preds = _predecessors(node, structure)
            if preds and not stale.isdisjoint(preds):
                stale.add(node)
            else:
                latest = max(
                    (t for t in map(modified.get, preds) if t is not None), default=None
                )  # fmt: skip
                entry = mapping.get(node)
                if entry is None:
                    if latest is not None:
                        modified[node] = latest
                else:
                    try:
                        own = naive_local(times.get(node, serve))
                    except RunStopped:
                        raise
                    except Exception as error:
                        if scope is None:  # a stored literal: there is no call to blame
                            raise
                        call_error = chained_call_error(node, error)
                        if on_failure is not None:
                            on_failure("stale", scope, call_error)
                        observer.increment_failed(
                            section="stale", scope=scope, exception=call_error
                        )
                        raise call_error from error
                    if is_stale(own, latest, fresh_time, is_source=entry.is_source):
                        stale.add(node)
                    else:
                        modified[node] = own
            if scope is not None:
                completed(section="stale", scope=scope)
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + TICK_SECONDS
                serve()
    finally:
        times.close()
    return stale
