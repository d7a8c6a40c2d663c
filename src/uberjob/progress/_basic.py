"""The observers that draw nothing themselves: null, composite, and the guard of user code."""

from __future__ import annotations

import contextlib
import warnings

from uberjob.progress._observer import Progress, ProgressObserver

__all__ = [
    "CompositeProgressObserver",
    "GuardedProgressObserver",
    "NullProgressObserver",
    "composite_progress",
    "guarded",
    "null_progress",
]


class NullProgressObserver(ProgressObserver):
    """Observes nothing."""

    @property
    def observes_nothing(self) -> bool:
        """The engine skips counting events for this observer; not for subclasses, which may
        override some methods to observe something."""
        return type(self) is NullProgressObserver

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        return None

    def increment_total(self, *, section: str, scope: tuple, amount: int):
        pass

    def increment_running(self, *, section: str, scope: tuple):
        pass

    def increment_completed(self, *, section: str, scope: tuple):
        pass

    def increment_failed(self, *, section: str, scope: tuple, exception: BaseException):
        pass


null_progress = Progress(NullProgressObserver)
"""Progress that shows nothing."""


class CompositeProgressObserver(ProgressObserver):
    """Forwards every event to each member observer, in order."""

    def __init__(self, members):
        self.members = tuple(members)
        self._ticks = tuple(m.tick for m in self.members if hasattr(m, "tick"))
        # Batches of events (see ProgressModel.record_batch) only when every member takes them.
        if self.members and all(hasattr(m, "record_batch") for m in self.members):
            self.record_batch = self._record_batch
        # What is running (record_running) when some member wants to see it: only those see it.
        self._record_running = tuple(
            m.record_running for m in self.members if hasattr(m, "record_running")
        )
        if self._record_running:
            self.record_running = self._forward_running
        self._stack: contextlib.ExitStack | None = None

    def __enter__(self):
        with contextlib.ExitStack() as stack:
            for member in self.members:
                stack.enter_context(member)
            self._stack = stack.pop_all()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        stack, self._stack = self._stack, None
        return stack.__exit__(exc_type, exc_val, exc_tb) if stack is not None else None

    def increment_total(self, *, section: str, scope: tuple, amount: int):
        for member in self.members:
            member.increment_total(section=section, scope=scope, amount=amount)

    def increment_running(self, *, section: str, scope: tuple):
        for member in self.members:
            member.increment_running(section=section, scope=scope)

    def increment_completed(self, *, section: str, scope: tuple):
        for member in self.members:
            member.increment_completed(section=section, scope=scope)

    def increment_failed(self, *, section: str, scope: tuple, exception: BaseException):
        for member in self.members:
            member.increment_failed(section=section, scope=scope, exception=exception)

    def _record_batch(self, section: str, started: dict, completed: dict) -> None:
        for member in self.members:
            member.record_batch(section, started, completed)

    def _forward_running(self, picture: dict) -> None:
        for record in self._record_running:
            record(picture)

    def tick(self) -> None:
        for tick in self._ticks:
            tick()

    def attach_run(self, run) -> None:
        for member in self.members:
            attach = getattr(member, "attach_run", None)
            if attach is not None:
                attach(run)


def composite_progress(*members: Progress) -> Progress:
    """Progress that shows every one of ``members``."""
    for index, member in enumerate(members):
        if not isinstance(member, Progress):
            raise TypeError(
                f"composite_progress members must be Progress; member {index} is "
                f"{type(member).__name__} ({member!r:.80})."
            )
    return Progress(lambda: CompositeProgressObserver(m.observer() for m in members))


class GuardedProgressObserver(ProgressObserver):
    """Forwards to ``observer``; when it raises, warns once and observes nothing more.

    A progress display is not the computation: an observer that raises (in ``__enter__``, an
    event, ``tick`` or ``__exit__``) must neither fail the run nor lose the result of a run that
    completed, nor leave the engine's threads behind. ``KeyboardInterrupt`` and other
    ``BaseException`` s still go through. ``__exit__`` is called whenever ``__enter__`` returned,
    so the observer may clean up even after it failed.
    """

    def __init__(self, observer):
        self.observer = observer
        self.broken = False
        self._entered = False
        if hasattr(observer, "record_batch"):
            self.record_batch = self._record_batch
        if hasattr(observer, "record_running"):
            self.record_running = self._record_running

    def _failed(self, method: str, exception: Exception) -> None:
        if self.broken:
            return
        self.broken = True
        warnings.warn(
            f"uberjob: the progress observer {type(self.observer).__qualname__} raised in "
            f"{method}(); the run goes on without it. {type(exception).__name__}: {exception}",
            RuntimeWarning,
            stacklevel=3,
        )

    def __enter__(self):
        if self.broken:
            return self
        try:
            self.observer.__enter__()
        except Exception as exception:
            self._failed("__enter__", exception)
        else:
            self._entered = True
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        if not self._entered:
            return None
        self._entered = False
        try:
            self.observer.__exit__(exc_type, exc_val, exc_tb)
        except Exception as exception:
            self._failed("__exit__", exception)
        return None  # the run's own exception is the run's: a display never swallows it

    def increment_total(self, *, section: str, scope: tuple, amount: int):
        if not self.broken:
            try:
                self.observer.increment_total(section=section, scope=scope, amount=amount)
            except Exception as exception:
                self._failed("increment_total", exception)

    def increment_running(self, *, section: str, scope: tuple):
        if not self.broken:
            try:
                self.observer.increment_running(section=section, scope=scope)
            except Exception as exception:
                self._failed("increment_running", exception)

    def increment_completed(self, *, section: str, scope: tuple):
        if not self.broken:
            try:
                self.observer.increment_completed(section=section, scope=scope)
            except Exception as exception:
                self._failed("increment_completed", exception)

    def increment_failed(self, *, section: str, scope: tuple, exception: BaseException):
        if not self.broken:
            try:
                self.observer.increment_failed(section=section, scope=scope, exception=exception)
            except Exception as error:
                self._failed("increment_failed", error)

    def _record_batch(self, section: str, started: dict, completed: dict) -> None:
        if not self.broken:
            try:
                self.observer.record_batch(section, started, completed)
            except Exception as exception:
                self._failed("record_batch", exception)

    def _record_running(self, picture: dict) -> None:
        if not self.broken:
            try:
                self.observer.record_running(picture)
            except Exception as exception:
                self._failed("record_running", exception)

    def tick(self) -> None:
        if not self.broken:
            tick = getattr(self.observer, "tick", None)
            if tick is not None:
                try:
                    tick()
                except Exception as exception:
                    self._failed("tick", exception)

    def attach_run(self, run) -> None:
        attach = getattr(self.observer, "attach_run", None)
        if attach is not None and not self.broken:
            try:
                attach(run)
            except Exception as exception:
                self._failed("attach_run", exception)


def guarded(observer) -> ProgressObserver:
    """``observer`` as the engine drives it: each member of a composite guarded on its own
    (one broken display does not silence the others); nothing to guard for the null one."""
    if type(observer) is NullProgressObserver or type(observer) is GuardedProgressObserver:
        return observer
    if type(observer) is CompositeProgressObserver:
        return CompositeProgressObserver(guarded(member) for member in observer.members)
    return GuardedProgressObserver(observer)
