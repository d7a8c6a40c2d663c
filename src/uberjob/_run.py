"""``uberjob.run``: validate, build the physical plan, compile it and drive the owner loop."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

from uberjob._engine import default_max_workers
from uberjob._engine.compile import compile_plan
from uberjob._engine.owner import run_owner_loop
from uberjob._errors import CallError
from uberjob._handle import RunHandle, set_last_run
from uberjob._plan import Plan, PlanStructure, is_node, plan_structure
from uberjob._registry import Registry
from uberjob._util.retry import coerce_retry
from uberjob._util.stack import get_stack_frame
from uberjob._util.validation import assert_is_callable, assert_is_instance
from uberjob.graph import Node
from uberjob.progress._basic import guarded
from uberjob.progress._choose import coerce_progress
from uberjob.progress._observer import Progress

__all__ = ["default_max_workers", "run"]

_SCHEDULERS = ("default", "random")

_P = ParamSpec("_P")
_R = TypeVar("_R")
#: What ``run(progress=...)`` takes (see ``uberjob.progress._choose.coerce_progress``).
ProgressSpec = bool | str | Progress | Sequence[str | Progress] | None


def _validate(
    *,
    plan,
    registry,
    dry_run,
    max_workers,
    max_errors,
    fresh_time,
    scheduler,
    transform_physical,
    stale_check_max_workers,
    executor,
) -> None:
    assert_is_instance(plan, "plan", Plan)
    assert_is_instance(registry, "registry", Registry, optional=True)
    assert_is_instance(dry_run, "dry_run", bool)
    assert_is_instance(max_workers, "max_workers", int, optional=True)
    if max_workers is not None and max_workers < 1:
        raise ValueError(f"max_workers must be at least 1; got {max_workers!r}.")
    assert_is_instance(max_errors, "max_errors", int, optional=True)
    if max_errors is not None and max_errors < 0:
        raise ValueError(f"max_errors must be at least 0 (or None); got {max_errors!r}.")
    assert_is_instance(fresh_time, "fresh_time", dt.datetime, optional=True)
    assert_is_instance(scheduler, "scheduler", str, optional=True)
    if scheduler is not None and scheduler not in _SCHEDULERS:
        raise ValueError(f"scheduler must be 'default' or 'random'; got {scheduler!r}.")
    assert_is_callable(transform_physical, "transform_physical", optional=True)
    assert_is_instance(stale_check_max_workers, "stale_check_max_workers", int, optional=True)
    if stale_check_max_workers is not None and stale_check_max_workers < 1:
        raise ValueError(
            f"stale_check_max_workers must be at least 1; got {stale_check_max_workers!r}."
        )
    if (
        executor is not None
        and not isinstance(executor, concurrent.futures.Executor)
        and not _is_dask_client(executor)
    ):
        raise TypeError(
            "executor must be a concurrent.futures.Executor or a dask.distributed.Client; "
            f"got {type(executor).__name__} ({executor!r:.80})."
        )


def _is_dask_client(value) -> bool:
    return type(value).__name__ == "Client" and type(value).__module__.startswith("distributed")


def _physical_plan(plan: Plan, output, stack_frame) -> tuple[Plan, Node | None]:
    """A copy of ``plan`` with ``output`` gathered into it (what dry_run and transforms see)."""
    physical = plan.copy()
    output_node = None
    if output is not None:
        gathered = physical._gather_argument(stack_frame, output)
        output_node = gathered if is_node(gathered) else physical.lit(gathered)
    return physical, output_node


def _pruned(plan: Plan, output_node: Node | None, roots: list[Node]) -> Plan:
    from uberjob._engine.compile import _postorder

    structure = plan_structure(plan)
    keep, _ = _postorder(roots, structure)
    pruned = Plan()
    if plan._graph is None:
        pruned._nodes = dict.fromkeys(keep)
        pruned._deps = {t: list(s) for t, s in plan._deps.items() if t in pruned._nodes}
    else:
        pruned._graph = plan._graph.subgraph(keep).copy()
    return pruned


def _engine_frames_hidden(run_function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Raise a run's ``CallError`` from ``run()`` itself: the engine's own frames (owner loop,
    dispatch) tell the user nothing; the error's cause keeps the call's own traceback, and its
    message the symbolic one."""

    @functools.wraps(run_function)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return run_function(*args, **kwargs)
        except CallError as error:
            raise error.with_traceback(None) from error.__cause__

    return run


@_engine_frames_hidden
def run(
    plan: Plan,
    *,
    output: Any = None,
    registry: Registry | None = None,
    dry_run: bool = False,
    max_workers: int | None = None,
    max_errors: int | None = 0,
    retry: int | Callable | None = None,
    fresh_time: dt.datetime | None = None,
    progress: ProgressSpec = True,
    scheduler: str | None = None,
    transform_physical: Callable | None = None,
    stale_check_max_workers: int | None = None,
    executor: concurrent.futures.Executor | Any | None = None,  # Any: a dask.distributed.Client
    background: bool = False,
) -> Any:
    """Run a :class:`~uberjob.Plan` and return the value of ``output``.

    - Only what ``output`` needs runs; with no output (and no registry) nothing runs.
    - Calls run on ``max_workers`` threads (default ``min(32, cores + 4)``), or on ``executor``.
    - After more than ``max_errors`` errors (default 0; ``None``: no limit) no new call starts;
      once nothing is in flight, the *first* error is raised as :class:`~uberjob.CallError`.
    - ``retry``: attempts per call (an int) or a decorator applied to each function.
    - ``dry_run=True`` returns ``(physical_plan, output_node)`` instead of running.
    - ``background=True`` returns a run handle at once (``result()``, ``done()``, ``stop()``,
      ``failures``); the plan runs on a thread of its own.
    """
    _validate(
        plan=plan, registry=registry, dry_run=dry_run, max_workers=max_workers,
        max_errors=max_errors, fresh_time=fresh_time, scheduler=scheduler,
        transform_physical=transform_physical,
        stale_check_max_workers=stale_check_max_workers, executor=executor,
    )  # fmt: skip
    assert_is_instance(background, "background", bool)
    retry = coerce_retry(retry)
    progress = coerce_progress(progress)
    stack_frame = get_stack_frame()
    if registry:  # as in 1.0, an empty registry is no registry
        from uberjob._registry.run import run_with_registry

        return run_with_registry(
            plan, output=output, registry=registry, dry_run=dry_run, max_errors=max_errors,
            retry=retry, fresh_time=fresh_time, scheduler=scheduler,
            transform_physical=transform_physical, fuse=executor is None,
            stale_check_max_workers=stale_check_max_workers or max_workers
            or default_max_workers(),
            stack_frame=stack_frame,
            make_dispatcher=lambda compiled, control: _make_dispatcher(
                compiled, executor, max_workers, max_errors, retry, control
            ),
            observed=lambda body: _observed(
                progress, body, background=background and not dry_run
            ),
        )  # fmt: skip

    if dry_run or transform_physical is not None or plan._graph is not None:
        physical, output_node = _physical_plan(plan, output, stack_frame)
        if transform_physical is not None:
            physical, output_node = transform_physical(physical, output_node)
        if dry_run:
            roots = [output_node] if output_node is not None else []
            return _pruned(physical, output_node, roots), output_node
        structure = plan_structure(physical)
    else:
        # The fast path: the user's plan is read in place, never copied or changed; gather
        # calls for a structured output are made on a scratch plan.
        output_node = None
        if output is not None:
            gathered = Plan()._gather_argument(stack_frame, output)
            output_node = gathered if is_node(gathered) else Plan().lit(gathered)
        structure = PlanStructure(None, None, plan._deps)
    roots = [output_node] if output_node is not None else []

    compiled = compile_plan(
        structure, roots, output_node, scheduler=scheduler or "default", fuse=executor is None
    )

    def body(observer, handle: RunHandle):
        handle.total = sum(compiled.scope_totals.values())
        for scope, count in compiled.scope_totals.items():
            observer.increment_total(section="run", scope=scope, amount=count)
        dispatcher = _make_dispatcher(
            compiled, executor, max_workers, max_errors, retry, handle.control
        )
        return run_owner_loop(
            compiled, dispatcher, observer=observer, max_errors=max_errors, handle=handle
        )

    return _observed(progress, body, background=background)


def _observed(progress, body, *, background: bool):
    """Run ``body(observer, handle)`` inside a progress observer, with a run handle.

    Blocking: returns the body's result. Background: enters the observer here (so a widget
    displays in the calling cell), runs the body on a thread of its own, returns the handle.
    """
    handle = RunHandle(background=background)
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


def _make_dispatcher(compiled, executor, max_workers, max_errors, retry, control):
    if executor is None:
        from uberjob._engine.threads import ThreadDispatcher

        return ThreadDispatcher(
            compiled,
            max_workers=max_workers or default_max_workers(),
            max_errors=max_errors,
            retry=retry,
            control=control,
        )
    if _is_dask_client(executor):
        from uberjob._engine.dask import DaskDispatcher

        return DaskDispatcher(
            compiled, executor, max_workers=max_workers, retry=retry, control=control
        )
    from uberjob._engine.executors import ExecutorDispatcher

    return ExecutorDispatcher(
        compiled, executor, max_workers=max_workers, retry=retry, control=control
    )
