"""Pure text helpers shared by the progress model and its views.

The count and time wording is uberjob 1.0's: ``completed / total`` before a scope starts and once
it is finished, ``(completed + running) / total`` while it runs, then ``, N failed``. Durations
read ``0.4s``, ``12s``, ``3m05s``, ``2h01m`` in every view (``js/util.js`` has the same rules:
``countText``, ``formatDuration``).

Text from user code can hold what no view may pass on as is: lone surrogates (``os.fsdecode`` of
non-UTF-8 bytes), which cannot be encoded as UTF-8, and terminal control sequences.
"""

from __future__ import annotations

import json
import math
import re

__all__ = [
    "COUNT_LEGEND",
    "MIN_RATE_SECONDS",
    "PATH_SEPARATOR",
    "count_text",
    "duration_text",
    "encodable_text",
    "encodable_value",
    "group_scope_text",
    "node_path",
    "remaining_seconds",
    "run_remaining_seconds",
    "short_path",
    "summary_text",
    "terminal_text",
]


#: Between the names of a scope path (a single right-pointing angle quotation mark).
PATH_SEPARATOR = " \u203a "
#: What the count text means (the widget's legend and tooltip say the same).
COUNT_LEGEND = "(done + running) / total"
#: A run shorter than this shows no rate: a 3-call run's "246 calls/s" says nothing.
MIN_RATE_SECONDS = 1.0


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls but tab and newline, DEL, and C1 controls: ESC starts screen-clearing, title and
# hyperlink sequences; CSI (U+009B) and OSC (U+009D) do it in one character on some terminals.
_TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_NAMES = {"\r": "\\r", "\x1b": "\\x1b"}


def encodable_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD, so it encodes as UTF-8."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def encodable_value(value):
    """A JSON-able value with every string made :func:`encodable_text`: the value itself when
    none needed it (the usual case, found by one pass of the JSON encoder), else a copy."""
    try:
        if not _LONE_SURROGATE.search(json.dumps(value, ensure_ascii=False)):
            return value
    except (TypeError, ValueError):  # not plain JSON after all: walk it
        pass
    return _encodable_copy(value)


def _encodable_copy(value):
    kind = type(value)
    if kind is str:
        return encodable_text(value)
    if kind is dict:
        return {_encodable_copy(k): _encodable_copy(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return kind(_encodable_copy(item) for item in value)
    return value


def terminal_text(text: str) -> str:
    """``text`` made inert for a terminal: control characters (but newline and tab) shown as
    escapes (``\\x1b[2J`` prints as those six characters), lone surrogates as U+FFFD."""
    text = _TERMINAL_CONTROL.sub(_escaped_control, text)
    return encodable_text(text) if _LONE_SURROGATE.search(text) else text


def _escaped_control(match: re.Match) -> str:
    char = match.group()
    return _CONTROL_NAMES.get(char) or f"\\x{ord(char):02x}"


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
    """A duration for people, rounded to its last digit (halves up): tenths under 10 s
    (``0.4s``, ``9.9s``), whole seconds under a minute (``12s``), then ``3m05s``, and past an
    hour hours and minutes only (``2h01m``). Negative or not finite: ``0.0s``.

    ``formatDuration`` in ``js/util.js`` is the same rule; ``tests/fixtures/durations.json`` holds
    both to the same table.
    """
    if not (seconds >= 0 and math.isfinite(seconds)):
        seconds = 0.0
    # Rounding is floor(x + 0.5) on doubles, as in the JS: the same digits in both languages,
    # where Python's round() and format() (halves to even) and JS's toFixed() would differ.
    tenths = math.floor(seconds * 10 + 0.5)
    if tenths < 100:
        return f"{tenths // 10}.{tenths % 10}s"
    whole = math.floor(seconds + 0.5)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02}s"
    hours, minutes = divmod(math.floor(seconds / 60 + 0.5), 60)
    return f"{hours}h{minutes:02}m"


def summary_text(state: str, completed: int, total: int, failed: int, elapsed: float) -> str:
    """A run in one line: ``uberjob: done, 9,998 / 10,000, 1,663 failed, 12s`` (a run handle's
    ``summary()`` and the widget output's text)."""
    text = f"uberjob: {state}, {completed:,} / {total:,}"
    if failed:
        text += f", {failed:,} failed"
    return f"{text}, {duration_text(elapsed)}"
