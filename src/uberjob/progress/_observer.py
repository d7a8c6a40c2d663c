"""The progress protocol of uberjob 1.0: ``ProgressObserver`` and ``Progress``.

The engine's owner thread is the only caller of an observer's ``increment_*`` methods during a
run, but 1.0 documented the last three as thread-safe and custom observers may rely on calling
them from elsewhere, so every built-in observer keeps them thread-safe.

uberjob 2 adds four optional hooks; 1.0 observers need none of them:

- ``tick()``: the owner thread calls it on every turn of its loop (at least every ~0.1 s) so that
  views redraw on their own throttle from one thread, instead of each running a timer thread.
- ``attach_run(run)``: called once before ``__enter__`` with the run's handle.
- ``record_batch(section, started, completed)`` (not defined here: an observer opts in by having
  it): the owner then hands over each turn's starts and completions counted per scope, instead
  of calling ``increment_running``/``increment_completed`` once per call. The dicts are only
  valid during the call. See ``ProgressModel.record_batch``.
- ``record_running(picture)`` (not defined here either: an observer opts in by having it): the
  owner thread then keeps track of the calls in flight and their durations
  (``uberjob/_engine/running.py``) and, on its tick, hands over what is running whenever that
  changed (not for the elapsed times alone). ``picture`` is a dict: ``count`` (calls in
  flight), ``stragglers`` (how many of them are), ``calls`` (at most 20, longest running
  first, each ``{"id", "function", "section", "scope", "elapsed", "straggler", "median",
  "stack"}``: ``scope`` is the scope as reported to ``increment_*``, ``elapsed`` seconds as of
  the call, ``stack`` a straggler's stack as ``docs/snapshot-schema.md`` describes it, else
  None) and ``straggler_scopes`` (``[(section, scope)]`` with a straggler in flight). Only a
  run's ``run`` section has this. See ``ProgressModel.record_running``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

__all__ = ["Progress", "ProgressObserver", "final_state"]


class ProgressObserver(ABC):
    """The abstract base class for all progress observers."""

    @abstractmethod
    def __enter__(self):
        """Start observing progress."""

    @abstractmethod
    def __exit__(self, exc_type, exc_val, exc_tb):
        """Stop observing progress; ``exc_type`` tells how the run ended."""

    @abstractmethod
    def increment_total(self, *, section: str, scope: tuple, amount: int):
        """Increment the number of entries in this section and scope by ``amount``."""

    @abstractmethod
    def increment_running(self, *, section: str, scope: tuple):
        """Increment the number of running entries in this section and scope. Thread-safe."""

    @abstractmethod
    def increment_completed(self, *, section: str, scope: tuple):
        """Increment the number of completed entries in this section and scope. Thread-safe."""

    @abstractmethod
    def increment_failed(self, *, section: str, scope: tuple, exception: BaseException):
        """Increment the number of failed entries in this section and scope. Thread-safe."""

    def tick(self) -> None:  # noqa: B027 - an optional hook, deliberately not abstract
        """Called often by the run's owner thread; views redraw here on their own throttle."""

    def attach_run(self, run) -> None:  # noqa: B027 - an optional hook, deliberately not abstract
        """Called once before ``__enter__`` with the run's handle (``uberjob.RunHandle``):
        views may offer its ``stop()`` (a Stop button) or register themselves as its display."""


class Progress:
    """A factory of :class:`ProgressObserver`, one per run.

    :param create_observer: A callable that takes no arguments and returns a new observer.
    """

    __slots__ = ("_create_observer",)

    def __init__(self, create_observer: Callable[[], ProgressObserver]):
        if not callable(create_observer):
            raise TypeError(
                f"create_observer must be callable; got {type(create_observer).__name__}."
            )
        self._create_observer = create_observer

    def observer(self) -> ProgressObserver:
        """Create a new observer for one run."""
        return self._create_observer()

    def __repr__(self) -> str:
        name = getattr(self._create_observer, "__qualname__", repr(self._create_observer))
        return f"Progress({name})"


def final_state(exc_type: type[BaseException] | None) -> str:
    """How a run that ended with ``exc_type`` (None: no error) ended: ``done``, ``interrupted``
    (Ctrl-C, a kernel interrupt), ``stopped`` (an exception class marked ``uberjob_stopped``, as
    ``RunStopped`` is) or ``failed``. The model and the run handle both say it this way."""
    if exc_type is None:
        return "done"
    if issubclass(exc_type, KeyboardInterrupt):
        return "interrupted"
    if getattr(exc_type, "uberjob_stopped", False) is True:
        return "stopped"
    return "failed"
