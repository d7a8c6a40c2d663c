"""Pure text helpers shared by the progress model and its views.

The count and time wording is uberjob 1.0's: ``completed / total`` before a scope starts and once
it is finished, ``(completed + running) / total`` while it runs, then ``, N failed``; durations as
``12s``, ``3m05s``, ``2h01m00s``.
"""

from __future__ import annotations

__all__ = [
    "COUNT_LEGEND",
    "MIN_RATE_SECONDS",
    "PATH_SEPARATOR",
    "count_text",
    "duration_text",
    "group_scope_text",
    "node_path",
    "remaining_seconds",
    "run_remaining_seconds",
    "short_duration_text",
    "short_path",
]

#: Between the names of a scope path (a single right-pointing angle quotation mark).
PATH_SEPARATOR = " \u203a "
#: What the count text means (the widget's legend and tooltip say the same).
COUNT_LEGEND = "(done + running) / total"
#: A run shorter than this shows no rate: a 3-call run's "246 calls/s" says nothing.
MIN_RATE_SECONDS = 1.0


def count_text(total: int, completed: int, running: int, failed: int, *, live: bool = True) -> str:
    """1.0's progress text for one scope, e.g. ``(6 + 23) / 10,000, 3 failed``.

    ``live=False`` (the run is over) always gives ``completed / total``: calls still counted as
    running when a run is interrupted will never finish.
    """
    finished = completed + failed >= total
    started = completed + failed + running > 0
    if not live or finished or not started:
        text = f"{completed:,} / {total:,}"
    else:
        text = f"({completed:,} + {running:,}) / {total:,}"
    return f"{text}, {failed:,} failed" if failed else text


def remaining_seconds(total: int, finished: int, elapsed: float) -> float | None:
    """Seconds left for ``total`` calls of which ``finished`` took ``elapsed`` seconds, at that
    pace; None while there is not enough to go on (the first 2 s, the first 5 calls) and once
    all finished. The widget's ``remainingSeconds`` is the same rule."""
    if finished >= total or elapsed < 2 or finished < 5:
        return None
    return (total - finished) * elapsed / finished


def run_remaining_seconds(snapshot: dict) -> float | None:
    """The time-left estimate of a running snapshot's whole run (every section)."""
    if snapshot["state"] != "running":
        return None
    total = finished = 0
    for section in snapshot["sections"]:
        root = section["nodes"][0]
        total += root[2]
        finished += root[3] + root[5]
    return remaining_seconds(total, finished, snapshot["elapsed"])


def short_path(parts, max_chars: int = 48) -> str:
    """Scope names joined by ``PATH_SEPARATOR``, shortened from the left to ``max_chars`` (the
    leaf, the function and its nearest scopes, tells failures apart). The widget's
    ``shortPath``."""
    parts = [str(part) for part in parts]
    full = PATH_SEPARATOR.join(parts)
    if len(full) <= max_chars:
        return full
    text = parts[-1] if parts else ""
    for part in reversed(parts[:-1]):
        longer = f"{part}{PATH_SEPARATOR}{text}"
        if len(longer) + 2 > max_chars:
            break
        text = longer
    if len(text) + 2 > max_chars:
        text = text[len(text) - max_chars + 2 :]
    return f"… {text}"


def node_path(nodes: list, index: int) -> list[str]:
    """The scope names of row ``index`` of a section's ``nodes`` (the root's child first)."""
    names = []
    while index > 0:
        names.append(nodes[index][1])
        index = nodes[index][0]
    return names[::-1]


def group_scope_text(group: dict, max_chars: int | None = 48) -> str:
    """Where a failure group's failures happened: its scope, or ``9 scopes in customers``."""
    scopes = len(group.get("scopes", ())) + group.get("scopes_omitted", 0)

    def path(parts) -> str:
        if max_chars is None:
            return PATH_SEPARATOR.join(str(part) for part in parts)
        return short_path(parts, max_chars)

    scope = group.get("scope") or []
    if scopes <= 1:
        return path(scope) if scope else "(any scope)"
    if scope:
        return f"{scopes:,} scopes in {path(scope)}"
    return f"{scopes:,} scopes"


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
