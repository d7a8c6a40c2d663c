"""``run(plan, registry=...)``: the stale check, the physical plan, then the owner loop.

The order of progress events is 1.0's: the ``"stale"`` section's totals and checks first, then
the ``"run"`` section's totals (of the physical plan, reads and writes included) and the run.
"""

from __future__ import annotations

from collections.abc import Callable

from uberjob._engine.compile import _postorder, compile_plan
from uberjob._engine.owner import run_owner_loop
from uberjob._plan import Plan, is_node, plan_structure
from uberjob._registry.physical import PhysicalStructure
from uberjob._registry.stale import find_stale
from uberjob.graph import Literal

__all__ = ["run_with_registry"]


def _gathered_output(plan: Plan, output, stack_frame):
    if output is None:
        return None
    gathered = plan._gather_argument(stack_frame, output)
    return gathered if is_node(gathered) else plan.lit(gathered)


def run_with_registry(
    plan: Plan,
    *,
    output,
    registry,
    dry_run: bool,
    max_errors,
    retry,
    fresh_time,
    scheduler,
    transform_physical,
    stale_check_max_workers: int,
    fuse: bool,
    stack_frame,
    make_dispatcher: Callable,
    observed: Callable,
):
    """What ``run`` does when given a registry.

    ``make_dispatcher(compiled, control)`` makes the run's dispatcher; ``observed(body)`` calls
    ``body(observer, handle)`` inside the progress observer with a run handle (blocking or in
    the background) and returns what ``run`` returns.
    """
    if plan._graph is None:
        # The user's plan is read in place; a structured output is gathered on a scratch plan.
        output_node = _gathered_output(Plan(), output, stack_frame)
        structure = plan_structure(plan)
        members = plan._nodes
    else:
        physical = plan.copy()
        output_node = _gathered_output(physical, output, stack_frame)
        structure = plan_structure(physical)
        members = physical._graph
    mapping = registry.mapping

    def body(observer, handle):
        control = handle.control
        roots = list(members)
        if output_node is not None:
            roots.append(output_node)
        order, positions = _postorder(roots, structure)
        # Constant literals are not in the order; a registered one still has a store to check.
        order[:0] = [
            n for n in mapping if type(n) is Literal and n in members and n not in positions
        ]
        stale = find_stale(
            order,
            structure,
            mapping,
            observer=observer,
            fresh_time=fresh_time,
            retry=retry,
            max_workers=stale_check_max_workers,
            control=control,
            on_failure=handle._record_failure,
        )
        physical = PhysicalStructure(structure, mapping, members, stale, output_node)
        physical_plan = None
        run_output, run_roots, run_structure = physical.output, physical.roots, physical
        if dry_run or transform_physical is not None:
            physical_plan = physical.to_plan()
            if transform_physical is not None:
                physical_plan, run_output = transform_physical(physical_plan, run_output)
            run_structure = plan_structure(physical_plan)
            run_roots = list(run_structure.nodes)
            if run_output is not None:
                run_roots.append(run_output)
        compiled = compile_plan(
            run_structure, run_roots, run_output, scheduler=scheduler or "default", fuse=fuse
        )
        handle.total = sum(compiled.scope_totals.values())
        if run_structure is physical:  # views show reads and writes as what happened to a value
            handle.scope_labels.update(physical.progress_labels())
        for scope, count in compiled.scope_totals.items():
            observer.increment_total(section="run", scope=scope, amount=count)
        if dry_run:
            return physical_plan, run_output
        if not len(compiled):
            return compiled.output_value
        dispatcher = make_dispatcher(compiled, control)
        return run_owner_loop(
            compiled, dispatcher, observer=observer, max_errors=max_errors, handle=handle
        )

    return observed(body)
