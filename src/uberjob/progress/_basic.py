"""The observers that draw nothing themselves: null and composite."""

from __future__ import annotations

import contextlib

from uberjob.progress._observer import Progress, ProgressObserver

__all__ = [
    "CompositeProgressObserver",
    "NullProgressObserver",
    "composite_progress",
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
