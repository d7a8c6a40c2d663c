"""``retry=N``: attempt each call up to N times (picklable, so it also works in process pools)."""

from __future__ import annotations

from uberjob._util.validation import assert_is_instance

__all__ = ["Retry", "coerce_retry"]


class _Retrying:
    __slots__ = ("attempts", "fn")

    def __init__(self, fn, attempts: int):
        self.fn = fn
        self.attempts = attempts

    def __call__(self, *args, **kwargs):
        for attempt in range(self.attempts):
            try:
                return self.fn(*args, **kwargs)
            except Exception:
                if attempt == self.attempts - 1:
                    raise
        raise AssertionError("unreachable")


class Retry:
    """A decorator that attempts a function up to ``attempts`` times (``Exception`` only)."""

    __slots__ = ("attempts",)

    def __init__(self, attempts: int):
        self.attempts = attempts

    def __call__(self, fn):
        return _Retrying(fn, self.attempts)

    def __repr__(self) -> str:
        return f"Retry({self.attempts})"


def coerce_retry(retry):
    """None (attempt once), a decorator, or ``Retry`` for an int; validates the int."""
    if retry is None or callable(retry):
        return retry
    assert_is_instance(retry, "retry", int)
    if retry < 1:
        raise ValueError(f"retry must be at least 1 (the number of attempts); got {retry!r}.")
    return None if retry == 1 else Retry(retry)
