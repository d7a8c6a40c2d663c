"""``ModelView``: the base class of every progress view (console, HTML report, widget).

A view owns a :class:`ProgressModel` (or shares one it is given), forwards the run's events to it,
and draws the model's snapshot on its own throttle from the run's owner thread:

- ``__enter__`` starts the model and draws once at once (``final=False``), or, when
  ``first_draw_delay`` is set, leaves that first draw to the first ``tick()`` that late;
- ``tick()`` (called by the owner thread at least every ~0.1 s) draws at most every ``interval``
  seconds, and only when ``model.version`` moved since the last draw -- or, when
  ``max_interval`` is set, also once that long has passed, to advance an elapsed clock;
- ``__exit__`` finishes the model and draws the final picture (``final=True``).

Subclasses implement ``draw(snapshot, final)`` and may override ``interval``/``max_interval``.
Drawing happens on the thread that calls ``tick``/``__exit__``; the ``increment_*`` methods are
thread-safe because the model is.
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from collections.abc import Callable

from uberjob.progress._model import ProgressModel
from uberjob.progress._observer import ProgressObserver

__all__ = ["ModelView"]

_logger = logging.getLogger(__name__)


class ModelView(ProgressObserver):
    """A progress observer that draws snapshots of a :class:`ProgressModel`.

    :param model: The model to observe into; a new one by default.
    :param clock: Monotonic seconds, for the throttle; injectable for tests.
    """

    #: Least seconds between two draws while running.
    interval: float = 0.25
    #: Redraw after this many seconds even if nothing changed (None: only on change).
    max_interval: float | None = None
    #: Seconds from the start before the first draw (0: at once). A view whose first draw costs
    #: much can spare it to runs that end sooner: those are drawn once, finally.
    first_draw_delay: float = 0.0

    def __init__(
        self,
        model: ProgressModel | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.model = model if model is not None else ProgressModel()
        # The per-call events go straight to the model: a forwarding method per event would
        # cost as much as the model's own bookkeeping.
        self.increment_running = self.model.increment_running
        self.increment_completed = self.model.increment_completed
        self.record_batch = self.model.record_batch
        self.record_running = self.model.record_running
        self._clock = clock
        self._drawn_version: int | None = None
        self._draw_failed = False
        self._drawn_at: float | None = None
        self._started_at: float | None = None

    @abstractmethod
    def draw(self, snapshot: dict, final: bool) -> None:
        """Show ``snapshot``; ``final`` is True exactly once, for the run's last picture."""

    def __enter__(self):
        self.model.__enter__()
        self._started_at = self._clock()
        if not self.first_draw_delay:
            self._draw_safely()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.model.__exit__(exc_type, exc_val, exc_tb)
        try:
            self._draw(final=True)
        except Exception:
            if exc_type is None:
                raise
            # The run's own exception matters more than a broken display: don't mask it.
            _logger.exception("uberjob: drawing the final progress failed")

    def attach_run(self, run) -> None:
        # The run's scope labels (a registry's store reads and writes) name the model's rows.
        labels = getattr(run, "scope_labels", None)
        if isinstance(labels, dict):
            self.model.scope_labels = labels
        # A resumed run says so in its header (the handle fills the dict once compiled).
        resumed = getattr(run, "resumed", None)
        if isinstance(resumed, dict):
            self.model.resumed = resumed

    def _use_model(self, model: ProgressModel) -> None:
        """Observe into ``model`` instead (a resumed run goes on in its widget's model)."""
        self.model = model
        self.increment_running = model.increment_running
        self.increment_completed = model.increment_completed
        self.record_batch = model.record_batch

    def tick(self) -> None:
        now = self._clock()
        if self._drawn_at is None:
            started = self._started_at
            if started is not None and now - started < self.first_draw_delay:
                return
        else:
            waited = now - self._drawn_at
            if waited < self.interval:
                return
            changed = self.model.version != self._drawn_version
            if not changed and (self.max_interval is None or waited < self.max_interval):
                return
        self._draw_safely()

    def _draw_safely(self) -> None:
        try:
            self._draw(final=False)
        except Exception:
            # A broken display (a closed comm, a full disk for the report) must not kill an
            # hours-long computation: say so once, keep running, and try again at the end.
            if not self._draw_failed:
                _logger.exception("uberjob: drawing progress failed; the run goes on")
            self._draw_failed = True

    def _draw(self, *, final: bool) -> None:
        # Read the version before the snapshot: a change racing with it only causes one
        # redundant redraw later, never a missed one.
        self._drawn_version = self.model.version
        self._drawn_at = self._clock()
        self.draw(self.model.snapshot(), final)

    def increment_total(self, *, section: str, scope: tuple, amount: int):
        self.model.increment_total(section=section, scope=scope, amount=amount)

    def increment_running(self, *, section: str, scope: tuple):
        self.model.increment_running(section=section, scope=scope)

    def increment_completed(self, *, section: str, scope: tuple):
        self.model.increment_completed(section=section, scope=scope)

    def increment_failed(self, *, section: str, scope: tuple, exception: BaseException):
        self.model.increment_failed(section=section, scope=scope, exception=exception)
