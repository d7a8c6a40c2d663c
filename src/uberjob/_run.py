"""``uberjob.run``: validate, prepare the physical plan, then the one tail (``_pipeline.py``).

Three sources prepare a run: the plain plan (read in place: the fast path), the plan copied in
graph mode or transformed (``transform_physical``, ``dry_run``), and the plan with a registry
(``_registry/run.py``). Each produces a ``Prepared``; ``_pipeline.run_prepared`` runs it.

``run()`` records what it was asked as a ``RunSpec`` (``_resume.py``) and starts it with
:func:`start_run`; ``RunHandle.resume()`` starts the same spec again with the values the run kept
(``known``), on the physical plan the first run compiled (the plain and graph/transformed paths)
or through the registry's fresh stale check."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

from uberjob._engine import default_max_workers
from uberjob._engine.compile import compile_plan, postorder
from uberjob._pipeline import (
    Options,
    Prepared,
    hide_engine_frames,
    is_dask_client,
    observed,
    run_prepared,
)
from uberjob._plan import Plan, PlanStructure, gather_node, plan_structure
from uberjob._registry import Registry
from uberjob._resume import RunSpec
from uberjob._run_checks import check_output_in_plan, check_registry_in_plan, check_transformed
from uberjob._util.retry import coerce_retry
from uberjob._util.stack import get_stack_frame
from uberjob._util.validation import assert_is_callable, assert_is_instance
from uberjob.graph import Node
from uberjob.progress._choose import coerce_progress
from uberjob.progress._observer import Progress

__all__ = ["default_max_workers", "run", "start_run", "validate_options"]

_SCHEDULERS = ("default", "random")

_P = ParamSpec("_P")
_R = TypeVar("_R")
#: What ``run(progress=...)`` takes (see ``uberjob.progress._choose.coerce_progress``).
ProgressSpec = bool | str | Progress | Sequence[str | Progress] | None


def validate_options(options: dict) -> None:
    """The options of ``run()`` that ``resume()`` takes again, checked as ``run()`` checks them."""
    _validate(
        plan=Plan(), registry=None, dry_run=False, transform_physical=None,
        **{name: value for name, value in options.items() if name not in ("retry", "progress")},
    )  # fmt: skip
    coerce_retry(options["retry"])
    coerce_progress(options["progress"])


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
    background=False,
    keep=True,
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
        and not is_dask_client(executor)
    ):
        raise TypeError(
            "executor must be a concurrent.futures.Executor or a dask.distributed.Client; "
            f"got {type(executor).__name__} ({executor!r:.80})."
        )
    assert_is_instance(background, "background", bool)
    assert_is_instance(keep, "keep", bool)


def _physical_plan(plan: Plan, output, stack_frame) -> tuple[Plan, Node | None]:
    """A copy of ``plan`` with ``output`` gathered into it (what dry_run and transforms see)."""
    physical = plan.copy()
    output_node = gather_node(physical, stack_frame, output) if output is not None else None
    return physical, output_node


def _pruned(plan: Plan, roots: list[Node]) -> Plan:
    """What a dry run returns: the part of ``plan`` that ``roots`` need."""
    keep, _ = postorder(roots, plan_structure(plan))
    return plan._restricted_to(keep)


def _engine_frames_hidden(run_function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Raise every exception from ``run()`` itself: the engine's own frames (owner loop,
    dispatch, stale check) tell the user nothing. A ``CallError``'s cause keeps the call's own
    traceback, and its message the symbolic one; any other exception keeps the frames of user
    code it went through (a ``transform_physical``, a progress observer). A Ctrl-C is raised
    from ``run()`` alone."""

    @functools.wraps(run_function)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return run_function(*args, **kwargs)
        except BaseException as error:
            hide_engine_frames(error)
            raise  # a re-raise adds no frame: the traceback starts at the caller's line

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
    keep: bool = True,
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
    - ``keep`` (default True): a run that does not finish (failed, stopped, interrupted) keeps,
      on its handle, the values of completed calls that the calls not completed still need (its
      *frontier*, nothing more), so that ``handle.resume()`` computes only what is left; and the
      arguments of the first 3 failures of each failure group, for ``failure.rerun()``.
      ``handle.discard()`` frees the frontier. ``keep=False`` keeps neither (then ``resume()``
      and ``rerun()`` raise an error saying so).
    """
    _validate(
        plan=plan, registry=registry, dry_run=dry_run, max_workers=max_workers,
        max_errors=max_errors, fresh_time=fresh_time, scheduler=scheduler,
        transform_physical=transform_physical,
        stale_check_max_workers=stale_check_max_workers, executor=executor,
        background=background, keep=keep,
    )  # fmt: skip
    check_output_in_plan(plan, output)
    if registry:
        check_registry_in_plan(plan, registry)
    spec = RunSpec(
        plan,
        output,
        registry,
        transform_physical,
        get_stack_frame(),
        {
            "max_workers": max_workers, "max_errors": max_errors, "retry": retry,
            "fresh_time": fresh_time, "progress": progress, "scheduler": scheduler,
            "stale_check_max_workers": stale_check_max_workers, "executor": executor,
            "background": background, "keep": keep,
        },
    )  # fmt: skip
    return start_run(spec, dry_run=dry_run)


def start_run(spec: RunSpec, *, dry_run=False, known=None, previous=None, refreshed=(), show=True):
    """Start the run ``spec`` describes (``run()``, and ``RunHandle.resume()`` with the
    ``known`` values of the run it resumes, ``previous``)."""
    options = spec.options
    retry = coerce_retry(options["retry"])
    progress = coerce_progress(options["progress"])
    executor, max_workers = options["executor"], options["max_workers"]
    scheduler = options["scheduler"] or "default"
    tail = Options(executor, max_workers, options["max_errors"], retry)
    fuse = executor is None  # fused chains run on our own threads only
    background = options["background"] and not dry_run
    resumable = None if dry_run else spec
    plan, output, stack_frame = spec.plan, spec.output, spec.stack_frame
    if spec.registry:  # as in 1.0, an empty registry is no registry
        from uberjob._registry.run import prepare_with_registry

        prepare = prepare_with_registry(
            plan, output=output, registry=spec.registry, dry_run=dry_run, retry=retry,
            fresh_time=options["fresh_time"], scheduler=scheduler,
            transform_physical=spec.transform_physical,
            stale_check_max_workers=options["stale_check_max_workers"] or max_workers
            or default_max_workers(),
            fuse=fuse, stack_frame=stack_frame, known=known,
        )  # fmt: skip

        def body(observer, handle):
            return run_prepared(prepare(observer, handle), observer, handle, tail)

        return observed(
            progress, body, background=background, spec=resumable, previous=previous,
            refreshed=refreshed, show=show,
        )  # fmt: skip
    if spec.physical is None:
        if dry_run or spec.transform_physical is not None or plan._graph is not None:
            physical, output_node = _physical_plan(plan, output, stack_frame)
            if spec.transform_physical is not None:
                physical, output_node = check_transformed(
                    spec.transform_physical(physical, output_node), output_node
                )
            if dry_run:
                roots = [output_node] if output_node is not None else []
                return _pruned(physical, roots), output_node
            structure = plan_structure(physical)
        else:
            # The fast path: the user's plan is read in place, never copied or changed; gather
            # calls for a structured output are made on a scratch plan.
            output_node = gather_node(Plan(), stack_frame, output) if output is not None else None
            structure = PlanStructure(None, None, plan._deps)
        # A resumed run runs this same physical plan (its nodes are the known values' keys).
        spec.physical = (structure, output_node)
    structure, output_node = spec.physical
    roots = [output_node] if output_node is not None else []
    # Compiled before progress starts: a plan that cannot run (a cycle) shows no display.
    prepared = Prepared(
        compile_plan(structure, roots, output_node, scheduler=scheduler, fuse=fuse, known=known)
    )
    del known  # the compiled plan holds what it needs of them; the caller let go of the rest
    return observed(
        progress,
        lambda observer, handle: run_prepared(prepared, observer, handle, tail),
        background=background,
        spec=resumable,
        previous=previous,
        refreshed=refreshed,
        show=show,
    )
