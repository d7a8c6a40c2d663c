"""A run's handle (``uberjob.RunHandle``): its state, failures, widget, and a future of its result.

Every run gets one. ``run(..., background=True)`` returns it at once; any run can be reached
afterwards as ``uberjob.last_run()``, so that a blocking run's failures stay browsable after it
raised (``%uberjob failures``, ``%uberjob debug``) and its widget can be shown elsewhere.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time

from uberjob._engine.owner import Control
from uberjob._failure_list import Failure, FailureList
from uberjob.progress._observer import final_state
from uberjob.progress._text import summary_text

__all__ = ["Failure", "FailureList", "RunHandle", "last_run"]

DEFAULT_MAX_FAILURES = 100

_last_run: RunHandle | None = None
_last_run_lock = threading.Lock()


def last_run() -> RunHandle | None:
    """The handle of the run most recently started in this process, or None.

    A run started by a call of another run (a nested run) does not count: after it, this is
    still the outer run, the one the user started. Use it to reach a blocking run's failures
    after it raised, or its widget (``uberjob.last_run().widget``) to show it elsewhere.
    """
    return _last_run


def set_last_run(handle: RunHandle) -> None:
    """Make ``handle`` the last run, unless it is started from inside a call of another run."""
    global _last_run
    if _in_a_call():
        return
    with _last_run_lock:
        _last_run = handle


def _in_a_call() -> bool:
    # The threads that run calls and background runs are ours, and named so.
    return threading.current_thread().name.startswith(("uberjob-worker-", "uberjob-run"))


class RunHandle:
    """The handle of one run: a ``concurrent.futures.Future``-like object.

    ``uberjob.run(..., background=True)`` returns it; ``uberjob.last_run()`` gives the latest.

    :ivar state: ``"pending"``, ``"running"``, ``"done"``, ``"failed"``, ``"stopped"`` or
        ``"interrupted"``.
    :ivar failures: a :class:`FailureList` of the run's failed calls: the first
        ``max_failures`` with their exceptions (``failure.cause`` has the traceback), and all of
        them counted and grouped (``failures.groups()``, ``failures.total``), grouped as every
        progress view groups them.
    :ivar widget: the run's progress widget (an ``anywidget.AnyWidget``) when it is shown with
        one, else None. Display it again elsewhere, or wrap it: marimo's
        ``mo.ui.anywidget(handle.widget)``, Voila, Solara.
    """

    def __init__(self, *, background: bool, max_failures: int = DEFAULT_MAX_FAILURES):
        self.background = background
        self.control = Control()
        self.state = "pending"  # pending, running, done, failed, stopped, interrupted
        self.total = 0
        self.completed = 0
        self.failures = FailureList(max_failures=max_failures)
        self.max_failures = max_failures
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.widget = None  # set by the widget view, so the handle can display as it
        self.widget_displayed = False  # the view showed the widget already (in the run's cell)
        self.displayed_in_cell: int | None = None  # the execution count of that cell
        # {reported scope: shown scope} for progress views: a registry run's store reads and
        # writes (filled before the run section starts; see _registry/physical.py)
        self.scope_labels: dict[tuple, tuple] = {}
        self._future: concurrent.futures.Future = concurrent.futures.Future()
        self._thread: threading.Thread | None = None
        # Fix and resume (_resume.py): what it takes to start the run again, and the values a
        # run that did not finish keeps for that (its frontier: _engine/frontier.py).
        self._spec = None
        self._frontier: dict | None = None
        self._frontier_thread: threading.Thread | None = None  # (after an interrupt)
        self._resumed_by: RunHandle | str | None = None
        self._discarded = False
        #: The handle of the run this one resumes (None for a run started by ``run()``).
        self.continues: RunHandle | None = None
        #: A resumed run's ``{"count", "reused", "refreshed"}`` (the snapshot's ``resumed``).
        self.resumed: dict = {}
        #: The functions ``resume(refresh=True)`` replaced by their redefinition in __main__.
        self.refreshed: list[str] = []
        self.show_widget = True  # False: a continued widget is not displayed again

    # -- what the engine calls ---------------------------------------------------------------

    def _started(self) -> None:
        self.state = "running"
        self.started_at = time.monotonic()
        self._future.set_running_or_notify_cancel()

    @property
    def failure_count(self) -> int:
        """How many calls failed (``len(failures)`` counts only the kept ones)."""
        return self.failures.total

    def _record_failure(
        self, section: str, scope: tuple, error: BaseException, arguments=None
    ) -> None:
        """Count a failure; ``arguments()`` gives the ``(args, kwargs)`` it failed on, asked
        only when the failure list keeps them (Failure.rerun)."""
        self.failures.record(section, scope, error, arguments)

    def _resumable(self, spec) -> None:
        """The run can be started again from ``spec`` (``run()`` made it)."""
        self._spec = spec
        self.failures.keep_arguments = spec.options["keep"]

    def _continues(self, previous: RunHandle, refreshed: list[str], *, show: bool) -> None:
        """This run resumes ``previous``: its widget and counts go on from there."""
        self.continues = previous
        previous._resumed_by = self
        self.refreshed = refreshed
        self.show_widget = show
        count = previous.resumed.get("count", 0) + 1
        self.resumed.update(count=count, reused=0, refreshed=list(refreshed))

    def _count_reused(self) -> None:
        """Once the resumed run is compiled: the calls of the plan it does not run again."""
        reused = max(self.continues.total - self.total, 0)
        self.total += reused
        self.completed = reused
        self.resumed["reused"] = reused

    def _keep_frontier(self, compiled, done: bytearray, dispatcher, interrupted=False) -> None:
        """The owner loop, as a run ends without finishing: keep what resuming needs. After an
        interrupt, once the calls still running on our threads have ended (frontier.py)."""
        if self._spec is None or not self._spec.options["keep"]:
            return
        from uberjob._engine.frontier import kept_frontier, settle_ends

        def keep() -> None:
            settle_ends(done, dispatcher.events)
            self._frontier = kept_frontier(compiled, done, getattr(dispatcher, "restored", ()))

        join = getattr(dispatcher, "join_workers", None) if interrupted else None
        if join is None:
            keep()
            return

        def keep_once_idle() -> None:
            join()
            keep()

        self._frontier_thread = threading.Thread(
            target=keep_once_idle, name="uberjob-frontier", daemon=True
        )
        self._frontier_thread.start()

    def _frontier_kept(self) -> dict | None:
        """The kept values (waiting, after an interrupt, for the calls it left running)."""
        thread, self._frontier_thread = self._frontier_thread, None
        if thread is not None:
            thread.join()
        return self._frontier

    def _take_frontier(self) -> dict:
        """The kept values, handed to the run that resumes this one (which keeps its own)."""
        frontier, self._frontier = self._frontier_kept() or {}, None
        self._resumed_by = self._resumed_by or "taken"
        return frontier

    def _finished(self, result=None, exception: BaseException | None = None) -> None:
        self.ended_at = time.monotonic()
        self.state = final_state(None if exception is None else type(exception))
        if exception is None:
            if self._spec is not None:  # nothing to resume: let the plan go (see RunSpec)
                self._spec = self._spec.options_only()
            self._future.set_result(result)
        else:
            self._future.set_exception(exception)

    # -- the Future-like API -----------------------------------------------------------------

    def result(self, timeout: float | None = None):
        """The output's value; raises the run's error (``CallError``, ``RunStopped``, ...)."""
        return self._future.result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        return self._future.exception(timeout)

    def done(self) -> bool:
        return self._future.done()

    def running(self) -> bool:
        return self.state == "running"

    def add_done_callback(self, fn) -> None:
        self._future.add_done_callback(lambda _: fn(self))

    def stop(self) -> None:
        """Stop scheduling new calls; calls in flight finish; the run ends as ``stopped``."""
        self.control.stop_requested = True
        self.control.halt = True  # workers check this before each call: nothing new starts

    # -- fix and resume ----------------------------------------------------------------------

    def resume(self, *, refresh: bool = False, **options):
        """Run the plan again, computing only the calls that did not complete (and what depends
        on them), with the values this run kept; return what ``run()`` returns: the output's
        value, or with ``background=True`` the new run's handle.

        Takes ``run()``'s options (``max_workers``, ``max_errors``, ``retry``, ``progress``,
        ``executor``, ``background``, ``scheduler``, ``fresh_time``,
        ``stale_check_max_workers``, ``keep``), this run's by default. ``refresh=True`` first
        replaces each planned function defined in ``__main__`` by the object bound to its name
        there now (a redefined function: the fix), in the plan itself, and says which it
        replaced (``refreshed`` of the new handle); functions of other modules, lambdas and
        nested functions, bound methods, names no longer bound or bound to something not
        callable are left alone. The resumed run shows in this run's widget, which goes on.

        A run that ended ``done`` runs nothing: its value (or this handle, with
        ``background=True``) is returned. Raises ``RuntimeError`` for a run still going, a run
        resumed already (resume the new one), discarded (:meth:`discard`) or run with
        ``keep=False``.
        """
        from uberjob._pipeline import hide_engine_frames
        from uberjob._resume import resume_run

        try:
            return resume_run(self, options, refresh=refresh)
        except BaseException as error:
            hide_engine_frames(error)  # as run() raises: no frames of the engine
            raise

    def discard(self) -> None:
        """Free the values kept for resuming (on Dask: release their keys on the cluster).
        The run can no longer be resumed."""
        frontier, self._frontier = self._frontier_kept(), None
        self._discarded = True
        if frontier:
            from uberjob._engine.dask import release_futures

            release_futures(frontier.values())

    @property
    def kept_values(self) -> int:
        """How many values the run keeps for resuming (0 once resumed or discarded)."""
        return len(self._frontier_kept() or ())

    @property
    def resumable(self) -> bool:
        """Whether :meth:`resume` would run something: the run ended failed, stopped or
        interrupted, kept its values, and was neither resumed nor discarded."""
        return self.state in ("failed", "stopped", "interrupted") and self._keeps_for_resume()

    def _keeps_for_resume(self) -> bool:
        """Kept what resuming needs, and neither resumed nor discarded (whatever the state)."""
        return (
            self._spec is not None
            and self._spec.options["keep"]
            and self._resumed_by is None
            and not self._discarded
        )

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the run ends; True if it did within ``timeout``."""
        concurrent.futures.wait([self._future], timeout=timeout)
        return self.done()

    # -- display -----------------------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.ended_at or time.monotonic()) - self.started_at

    def summary(self) -> str:
        """``uberjob: done, 9,998 / 10,000, 1,663 failed, 12s``."""
        return summary_text(
            self.state, self.completed, self.total, self.failure_count, self.elapsed
        )

    def __repr__(self) -> str:
        return f"<{self.summary()}>"

    def _ipython_display_(self) -> None:
        """As a cell's value: nothing in the cell whose output already shows the run's widget
        (a summary line there would stay as it was drawn, e.g. ``running, 0 / 401``); else the
        widget again (``%uberjob last``, a later cell) or the summary."""
        from IPython import get_ipython
        from IPython.display import display

        shell = get_ipython()
        cell = getattr(shell, "execution_count", None)
        if self.widget_displayed and cell is not None and cell == self.displayed_in_cell:
            return
        display(self._repr_mimebundle_(), raw=True)

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": self.summary()}
        widget = self.widget
        if widget is not None and hasattr(widget, "_repr_mimebundle_"):
            widget_bundle = widget._repr_mimebundle_(include=include, exclude=exclude)
            if isinstance(widget_bundle, tuple):
                widget_bundle = widget_bundle[0]
            if widget_bundle:
                # a live run's widget output says what it is rather than numbers that a saved
                # notebook would keep as they were (the widget's own text/plain does so)
                live = self.state in ("pending", "running")
                bundle = {**widget_bundle} if live else {**widget_bundle, **bundle}
        return bundle
