"""``run(plan, registry=...)``: the stale check and the physical plan, prepared for the run.

The order of progress events is 1.0's: the ``"stale"`` section's totals and checks first, then
the ``"run"`` section's totals (of the physical plan, reads and writes included) and the run.
"""

from __future__ import annotations

from uberjob._engine.compile import compile_plan, postorder
from uberjob._pipeline import Prepared
from uberjob._plan import Plan, gather_node, plan_structure
from uberjob._registry.physical import PhysicalStructure
from uberjob._registry.stale import find_stale
from uberjob._run_checks import check_transformed
from uberjob.graph import Literal

__all__ = ["prepare_with_registry"]


def prepare_with_registry(
    plan: Plan,
    *,
    output,
    registry,
    dry_run: bool,
    retry,
    fresh_time,
    scheduler,
    transform_physical,
    stale_check_max_workers: int,
    fuse: bool,
    stack_frame,
    known: dict | None = None,
):
    """What ``run`` prepares when given a registry: a function ``prepare(observer, handle)``
    that checks the stores (the ``"stale"`` section, so inside the run's progress) and returns
    the physical plan compiled, as a :class:`~uberjob._pipeline.Prepared` (which
    ``_pipeline.run_prepared`` runs, as it runs a plain plan). ``known``: a resumed run's kept
    values, by node (those the fresh physical plan still has are not computed again)."""
    if plan._graph is None:
        # The user's plan is read in place; a structured output is gathered on a scratch plan.
        output_node = gather_node(Plan(), stack_frame, output) if output is not None else None
        structure = plan_structure(plan)
        members = plan._nodes
    else:
        physical = plan.copy()
        output_node = gather_node(physical, stack_frame, output) if output is not None else None
        structure = plan_structure(physical)
        members = physical._graph
    mapping = registry.mapping

    def prepare(observer, handle) -> Prepared:
        roots = list(members)
        if output_node is not None:
            roots.append(output_node)
        order, positions = postorder(roots, structure)
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
            control=handle.control,
            on_failure=handle._record_failure,
        )
        physical = PhysicalStructure(structure, mapping, members, stale, output_node)
        physical_plan = None
        run_output, run_roots, run_structure = physical.output, physical.roots, physical
        if dry_run or transform_physical is not None:
            physical_plan = physical.to_plan()
            if transform_physical is not None:
                physical_plan, run_output = check_transformed(
                    transform_physical(physical_plan, run_output), run_output
                )
            run_structure = plan_structure(physical_plan)
            run_roots = list(run_structure.nodes)
            if run_output is not None:
                run_roots.append(run_output)
        compiled = compile_plan(
            run_structure, run_roots, run_output, scheduler=scheduler or "default", fuse=fuse,
            known=known,
        )  # fmt: skip
        return Prepared(
            compiled,
            dry_run_result=(physical_plan, run_output) if dry_run else None,
            # views show reads and writes as what happened to a value
            scope_labels=physical.progress_labels() if run_structure is physical else None,
        )

    return prepare
