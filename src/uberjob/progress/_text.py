"""Pure text helpers shared by the progress model and its views.

The count and time wording is uberjob 1.0's: ``completed / total`` before a scope starts and once
it is finished, ``(completed + running) / total`` while it runs, then ``, N failed``; durations as
``12s``, ``3m05s``, ``2h01m00s``.
"""

from __future__ import annotations

__all__ = ["count_text", "duration_text", "short_duration_text"]


def count_text(total: int, completed: int, running: int, failed: int, *, live: bool = True) -> str:
    """1.0's progress text for one scope, e.g. ``(6 + 23) / 10000, 3 failed``.

    ``live=False`` (the run is over) always gives ``completed / total``: calls still counted as
    running when a run is interrupted will never finish.
    """
    finished = completed + failed >= total
    started = completed + failed + running > 0
    if not live or finished or not started:
        text = f"{completed} / {total}"
    else:
        text = f"({completed} + {running}) / {total}"
    return f"{text}, {failed} failed" if failed else text


def duration_text(seconds: float) -> str:
    """Whole seconds as ``12s``, ``3m05s`` or ``2h01m00s``."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02}m{seconds:02}s"
    if minutes:
        return f"{minutes}m{seconds:02}s"
    return f"{seconds}s"


def short_duration_text(seconds: float) -> str:
    """A run's length for one-line summaries: ``1.5s``, ``12s``, ``3m05s``, ``2h01m``."""
    if seconds < 60:
        return f"{seconds:.0f}s" if seconds >= 10 else f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
