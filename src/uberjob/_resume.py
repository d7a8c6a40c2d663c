"""Resuming a run that did not finish: ``RunHandle.resume()``, ``%uberjob resume``, Resume.

A run keeps what it takes to start again (:class:`RunSpec`: the plan, the output, the registry,
the options as given, and once compiled the physical plan it ran) and, when it does not finish,
its frontier (``_engine/frontier.py``): the values of completed calls that the calls not
completed still need. :func:`resume_run` starts the same plan again with those values known, so
only what did not complete (and what depends on it) runs; the frontier leaves the old handle as
the new run starts, and the new handle keeps its own should it not finish either.

- The plain plan and the plan in graph mode or transformed run the very physical plan of the
  first run (its nodes are the frontier's keys); a plan with a registry goes through the
  registry as any run does: a fresh stale check (what the first run wrote is up to date), then
  the physical plan, with the frontier's values for the nodes it still has.
- ``resume()`` takes ``run()``'s options, the first run's by default (:data:`RESUME_OPTIONS`).
- ``refresh=True`` puts the functions redefined in ``__main__`` into the plan first
  (``_refresh.py``): the plan itself keeps the fix for later runs.
- A run that ended ``done`` has nothing left to run: ``resume()`` returns its value (or, with
  ``background=True``, its own handle) and runs nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RESUME_OPTIONS", "RunSpec", "resume_run"]

#: What ``resume()`` may change of the first run (its other arguments define the plan run).
RESUME_OPTIONS = (
    "background",
    "executor",
    "fresh_time",
    "keep",
    "max_errors",
    "max_workers",
    "progress",
    "retry",
    "scheduler",
    "stale_check_max_workers",
)


class RunSpec:
    """What ``run()`` was asked: enough to start the same run again."""

    __slots__ = ("options", "output", "physical", "plan", "registry", "stack_frame",
                 "transform_physical")  # fmt: skip

    def __init__(self, plan, output, registry, transform_physical, stack_frame, options: dict):
        self.plan = plan
        self.output = output
        self.registry = registry
        self.transform_physical = transform_physical
        self.stack_frame = stack_frame
        self.options = options  # as given to run() (validated), keyed by RESUME_OPTIONS
        #: ``(structure, output_node)`` the run compiled (not for a registry's runs, whose
        #: physical plan follows a fresh stale check each time).
        self.physical: tuple | None = None

    def with_options(self, options: dict) -> RunSpec:
        spec = RunSpec(
            self.plan, self.output, self.registry, self.transform_physical, self.stack_frame,
            {**self.options, **options},
        )  # fmt: skip
        spec.physical = self.physical
        return spec

    def options_only(self) -> RunSpec:
        """What a done run keeps: its options (resume() checks them and returns the value),
        not the plan, the output or the registry, which last_run() would otherwise pin."""
        return RunSpec(None, None, None, None, None, self.options)

    def nodes(self):
        """The nodes whose functions a refresh replaces: the plan's and the physical plan's."""
        plan = self.plan
        yield from plan._nodes if plan._graph is None else plan._graph
        if self.physical is not None and self.physical[0].nodes is not None:
            yield from self.physical[0].nodes


def resume_run(handle, options: dict[str, Any], *, refresh: bool, show: bool = True):
    """What ``handle.resume(refresh=..., **options)`` does (see the module docstring).

    ``show=False``: a continued widget is not displayed again (the Resume button: the widget is
    where the click was)."""
    from uberjob._run import start_run, validate_options

    spec = handle._spec
    if spec is None:
        raise RuntimeError(
            "This run cannot be resumed: only runs started by uberjob.run() can (not a dry run)."
        )
    unknown = sorted(set(options) - set(RESUME_OPTIONS))
    if unknown:
        raise TypeError(
            f"resume() got an unexpected option {unknown[0]!r}: it takes run()'s options "
            f"{', '.join(RESUME_OPTIONS)} (and refresh); the plan, output and registry are the "
            "first run's."
        )
    if not isinstance(refresh, bool):
        raise TypeError(f"refresh must be bool; got {type(refresh).__name__} ({refresh!r:.80}).")
    merged = {**spec.options, **options}
    validate_options(merged)
    if handle.state in ("pending", "running"):
        raise RuntimeError(
            "The run is still going: wait for it to end (handle.wait()) or stop it "
            "(handle.stop()), then resume it."
        )
    if handle.state == "done":  # nothing left to run
        return handle if merged["background"] else handle.result()
    if not spec.options["keep"]:
        raise RuntimeError(
            "This run cannot be resumed: it ran with keep=False, so it kept no values to resume "
            "from. Run the plan again with uberjob.run()."
        )
    if handle._resumed_by is not None:
        raise RuntimeError(
            "This run was resumed already, and its kept values went to the resumed run: resume "
            "that one instead (the handle resume() returned, or uberjob.last_run())."
        )
    if handle._discarded:
        raise RuntimeError(
            "This run's kept values were discarded (handle.discard()): nothing to resume from. "
            "Run the plan again with uberjob.run()."
        )
    refreshed = []
    if refresh:
        from uberjob._refresh import refresh_functions

        refreshed = refresh_functions(spec.nodes())
        if refreshed:
            print(f"uberjob: refreshed {', '.join(refreshed)} (redefined in __main__)")
    known = handle._take_frontier()
    if not _is_dask_client(merged["executor"]):
        known = _gathered(known)  # values kept on a Dask cluster, for a run elsewhere
    new_spec = spec.with_options(options)
    return start_run(new_spec, known=known, previous=handle, refreshed=refreshed, show=show)


def _is_dask_client(value) -> bool:
    return type(value).__name__ == "Client" and type(value).__module__.startswith("distributed")


def _gathered(known: dict) -> dict:
    if not any(type(v).__name__ == "Future" for v in known.values()):
        return known
    from uberjob._engine.dask import gathered

    nodes = list(known)
    return dict(zip(nodes, gathered([known[node] for node in nodes]), strict=True))
