"""The one tail of every ``run()``: a prepared (compiled) plan run inside its progress observer.

Each source of a run prepares the same thing, a :class:`Prepared`: the plain plan (``_run.py``,
compiled before progress starts), the plan in graph mode or transformed (``_run.py``), and the
plan with a registry (``_registry/run.py``, whose stale check is part of the run's progress, so
it prepares inside the observer). Then :func:`run_prepared` reports the totals and drives the
owner loop, and :func:`observed` runs all of it inside the progress observer, blocking or in the
background, with the run's handle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from uberjob._engine import default_max_workers
from uberjob._engine.compile import CompiledPlan
from uberjob._engine.owner import run_owner_loop
from uberjob._errors import CallError, without_engine_frames
from uberjob._handle import RunHandle, set_last_run
from uberjob.progress._basic import guarded

__all__ = [
    "Options",
    "Prepared",
    "hide_engine_frames",
    "is_dask_client",
    "observed",
    "run_prepared",
]


class Prepared(NamedTuple):
    """A run, ready to go: the compiled physical plan and what the views need to know of it."""

    compiled: CompiledPlan
    #: ``(physical_plan, output_node)`` for ``dry_run=True``: returned instead of running.
    dry_run_result: tuple | None = None
    #: Progress labels of store reads and writes (``RunHandle.scope_labels``).
    scope_labels: dict | None = None


class Options(NamedTuple):
    """The options of ``run()`` that the tail needs (validated and coerced already)."""

    executor: Any
    max_workers: int | None
    max_errors: int | None
    retry: Callable | None


def run_prepared(prepared: Prepared, observer, handle: RunHandle, options: Options):
    """Report the totals, then run ``prepared`` through the owner loop (or return the dry run's
    result, or a constant output)."""
    compiled = prepared.compiled
    handle.total = sum(compiled.scope_totals.values())
    if handle.resumed:
        handle._count_reused()  # a resumed run counts on from what was done
    if prepared.scope_labels:
        handle.scope_labels.update(prepared.scope_labels)
    for scope, count in compiled.scope_totals.items():
        observer.increment_total(section="run", scope=scope, amount=count)
    if prepared.dry_run_result is not None:
        return prepared.dry_run_result
    if not len(compiled):
        return compiled.output_value
    dispatcher = make_dispatcher(compiled, options, handle.control)
    return run_owner_loop(
        compiled, dispatcher, observer=observer, max_errors=options.max_errors, handle=handle
    )


def is_dask_client(value) -> bool:
    return type(value).__name__ == "Client" and type(value).__module__.startswith("distributed")


def make_dispatcher(compiled: CompiledPlan, options: Options, control):
    """The dispatcher for ``options.executor``: our threads, a Dask client, or an Executor."""
    executor, max_workers, retry = options.executor, options.max_workers, options.retry
    if executor is None:
        from uberjob._engine.threads import ThreadDispatcher

        return ThreadDispatcher(
            compiled,
            max_workers=max_workers or default_max_workers(),
            max_errors=options.max_errors,
            retry=retry,
            control=control,
        )
    if is_dask_client(executor):
        from uberjob._engine.dask import DaskDispatcher

        return DaskDispatcher(
            compiled, executor, max_workers=max_workers, retry=retry, control=control
        )
    from uberjob._engine.executors import ExecutorDispatcher

    return ExecutorDispatcher(
        compiled, executor, max_workers=max_workers, retry=retry, control=control
    )


def hide_engine_frames(exception: BaseException) -> None:
    """``exception`` without the engine's frames (a ``CallError`` without any)."""
    if isinstance(exception, CallError):
        exception.__traceback__ = None
    else:
        exception.__traceback__ = without_engine_frames(exception.__traceback__)


def observed(
    progress, body, *, background: bool, spec=None, previous=None, refreshed=(), show=True
):
    """Run ``body(observer, handle)`` inside a progress observer, with a run handle.

    Blocking: returns the body's result. Background: enters the observer here (so a widget
    displays in the calling cell), runs the body on a thread of its own, returns the handle.
    ``spec``: what the handle needs to resume the run (_resume.py); ``previous``: the handle of
    the run this one resumes (its widget goes on showing this one), which ``refreshed`` names
    the functions of; ``show=False``: a continued widget is not displayed again.
    """
    handle = RunHandle(background=background)
    if spec is not None:
        handle._resumable(spec)
    if previous is not None:
        handle._continues(previous, list(refreshed), show=show)
    set_last_run(handle)
    # A display that raises is warned about and dropped: it never fails or hangs the run.
    observer = guarded(progress.observer())
    observer.attach_run(handle)
    if not background:
        with observer:
            handle._started()
            try:
                result = body(observer, handle)
            except BaseException as exception:
                handle._finished(exception=exception)
                raise
            handle._finished(result)
            return result

    observer.__enter__()
    handle._started()

    def run_in_background() -> None:
        try:
            result = body(observer, handle)
        except BaseException as exception:
            hide_engine_frames(exception)
            try:
                observer.__exit__(type(exception), exception, exception.__traceback__)
            finally:
                handle._finished(exception=exception)
            return
        try:
            observer.__exit__(None, None, None)
        finally:
            handle._finished(result)

    thread = threading.Thread(target=run_in_background, name="uberjob-run", daemon=True)
    handle._thread = thread
    thread.start()
    return handle
