"""The failures of a run: what is kept of each exception, and how failures are grouped.

Memory stays bounded however many calls fail: a failure is reduced to text at once (the exception
itself would pin its frames and their locals), groups are capped at ``max_group_keys`` (further
failures land in one overflow group per section), and only the first ``max_instances`` failures
keep their traceback text; beyond that only counts grow.
"""

from __future__ import annotations

import heapq
import re
import traceback
from typing import NamedTuple

from uberjob._util.stack import notebook_cells

__all__ = [
    "MAX_MESSAGE_CHARS",
    "MAX_SCOPES_LISTED",
    "MAX_TRACEBACK_CHARS",
    "FailureLog",
    "FailureText",
    "describe_failure",
    "drop_repeated_frames",
    "exception_type_name",
    "message_pattern",
    "name_cells",
]

MAX_MESSAGE_CHARS = 1000
# A RecursionError or a huge repr can make a traceback megabytes long; keep its head and its
# tail (where the error is) so that memory stays bounded by max_instances x this.
MAX_TRACEBACK_CHARS = 20_000
_SYMBOLIC_MARKER = "Symbolic traceback"


class FailureText(NamedTuple):
    """What the model keeps of one failure: text only, never the exception (it pins frames)."""

    type: str
    message: str
    traceback: str | None  # None when the model no longer keeps instances
    symbolic: str


def exception_type_name(exception: BaseException) -> str:
    """The qualified type name; builtins bare (``ValueError``, ``mypkg.errors.BadThing``)."""
    cls = type(exception)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def describe_failure(exception: BaseException, *, with_traceback: bool) -> FailureText:
    """Describe the user's exception behind ``exception``.

    An uberjob ``CallError`` (recognised by its ``call`` attribute and a ``__cause__``) wraps the
    user's exception: that cause gives the type, message and runtime traceback, and the
    ``CallError``'s own message gives the symbolic traceback (where the call was planned).
    """
    original, symbolic = exception, ""
    if hasattr(exception, "call") and exception.__cause__ is not None:
        original = exception.__cause__
        own_text = _safe_str(exception)
        start = own_text.find(_SYMBOLIC_MARKER)
        symbolic = own_text[start:].rstrip() if start >= 0 else ""
    runtime = None
    if with_traceback:
        try:
            runtime = "".join(traceback.format_exception(original)).rstrip()
        except Exception as error:  # a hostile __str__ must not break progress reporting
            runtime = f"(traceback unavailable: {type(error).__name__})"
        cells = notebook_cells()
        runtime = _cut_middle(name_cells(runtime, cells), MAX_TRACEBACK_CHARS)
        symbolic = drop_repeated_frames(name_cells(symbolic, cells))
    message = _safe_str(original)[:MAX_MESSAGE_CHARS]
    return FailureText(exception_type_name(original), message, runtime, symbolic)


_FRAME = re.compile(r'^(?P<indent>[ \t]*)File "(?P<file>[^"\n]+)", line (?P<line>\d+)', re.M)


def name_cells(text: str, cells: dict[str, int]) -> str:
    """Frames in a notebook cell's code named as IPython names them: ``Cell In[3], line 14``
    instead of a kernel's temporary file (``.../ipykernel_<pid>/<hash>.py``)."""
    if not cells or not text:
        return text

    def replace(match: re.Match) -> str:
        number = cells.get(match["file"])
        if number is None:
            return match[0]
        return f"{match['indent']}Cell In[{number}], line {match['line']}"

    return _FRAME.sub(replace, text)


_ANY_FRAME = re.compile(r'^[ \t]*(?:File "[^"\n]+"|Cell In\[\d+\]), line \d+')


def drop_repeated_frames(text: str) -> str:
    """A traceback without a frame that repeats the place of the frame before it: a list
    comprehension at module level is a frame of its own (``<listcomp>`` below ``<module>``)
    at the same line, which says nothing new."""
    lines = text.split("\n")
    kept: list[str] = []
    previous = None
    skipping = False
    for line in lines:
        match = _ANY_FRAME.match(line)
        if match:
            place = match[0].strip()
            skipping = place == previous
            previous = place
            if skipping:
                continue
        elif skipping and line.startswith("    "):
            continue  # the repeated frame's source line
        else:
            skipping = False
        kept.append(line)
    return "\n".join(kept)


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception as error:
        return f"(str() raised {type(error).__name__})"


def _cut_middle(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head, tail = limit // 4, limit - limit // 4
    omitted = len(text) - head - tail
    return f"{text[:head]}\n... ({omitted} characters omitted) ...\n{text[-tail:]}"


_NUMBER = re.compile(r"0x[0-9a-fA-F]+|\d+(?:\.\d+)?")


def message_pattern(message: str) -> str:
    """``message`` with its numbers as ``<n>``: failures whose messages differ only in numbers
    (ids, indices, sizes, addresses) are one problem, and make one group."""
    return _NUMBER.sub("<n>", message)


#: How many of a group's scopes a snapshot lists (first seen first); the rest are counted.
MAX_SCOPES_LISTED = 20


class _Group:
    """Failures that share (section, type, message pattern), across scopes.

    The group's ``message`` is the failures' message while they all say the same, and the
    pattern (numbers shown as ``<n>``) once they differ. ``node`` is the deepest row that holds
    every failing scope (the scope itself while there is one); ``rows`` counts the failures per
    failing scope's row, in first-seen order.
    """

    __slots__ = (
        "count",
        "first",
        "id",
        "instances",
        "last",
        "message",
        "node",
        "rows",
        "scope",
        "section",
        "type",
    )

    def __init__(
        self,
        id: int,
        section: str,
        node: int,
        scope: list[str],
        type: str,
        message: str,
        elapsed: float,
    ):
        self.id = id
        self.section = section
        self.node = node
        self.scope = scope
        self.type = type
        self.message = message
        self.count = 0
        self.first = self.last = elapsed
        self.instances: list[int] = []
        self.rows: dict[int, int] = {}

    def to_json(self) -> dict:
        """The group as a snapshot lists it."""
        # one scope: no breakdown (the group's own node and count say it all)
        listed = list(self.rows.items())[:MAX_SCOPES_LISTED] if len(self.rows) > 1 else []
        return {
            "id": self.id,
            "section": self.section,
            "node": self.node,
            "scope": self.scope,
            "type": self.type,
            "message": self.message,
            "count": self.count,
            "first": self.first,
            "last": self.last,
            "instances": self.instances.copy(),
            # [row, count] pairs: the row's path is in the section's nodes (payload stays small)
            "scopes": [[row, n] for row, n in listed],
            "scopes_omitted": len(self.rows) - len(listed) if listed else 0,
        }


class FailureLog:
    """The failures of a run, grouped, with a bounded number of groups and kept instances."""

    OVERFLOW_TYPE = "(other)"

    def __init__(self, *, max_instances: int, max_group_keys: int):
        self.max_instances = max_instances
        self.max_group_keys = max_group_keys
        self.count = 0
        self.groups: list[_Group] = []  # indexed by group id
        self.instances: list[dict] = []  # indexed by instance id
        self._by_key: dict[tuple, _Group] = {}
        self._distinct = 0  # groups created for a real key (overflow groups not counted)

    @property
    def instances_full(self) -> bool:
        return len(self.instances) >= self.max_instances

    def add(self, sec, row: int, failure: FailureText, elapsed: float) -> None:
        elapsed = round(elapsed, 3)
        pattern = message_pattern(failure.message)
        key = (sec.key, failure.type, pattern)
        group = self._by_key.get(key)
        if group is None:
            if self._distinct < self.max_group_keys:
                self._distinct += 1
                group = self._new_group(
                    key, sec.key, row, sec.path(row), failure.type, failure.message, elapsed
                )
            else:
                group = self._overflow_group(sec, elapsed)
        elif group.message != failure.message and group.type != self.OVERFLOW_TYPE:
            group.message = pattern
        if row not in group.rows:
            group.rows[row] = 0
            if group.node != row and group.type != self.OVERFLOW_TYPE:
                group.node = _common_ancestor(sec.parents, group.node, row)
                group.scope = sec.path(group.node)
        group.rows[row] += 1
        group.count += 1
        group.last = elapsed
        self.count += 1
        if failure.traceback is not None and not self.instances_full:
            instance_id = len(self.instances)
            group.instances.append(instance_id)
            self.instances.append(
                {
                    "id": instance_id,
                    "group": group.id,
                    "time": elapsed,
                    "message": failure.message,
                    "traceback": failure.traceback,
                    "symbolic": failure.symbolic,
                }
            )

    def _overflow_group(self, sec, elapsed: float) -> _Group:
        key = (sec.key, self.OVERFLOW_TYPE, None)
        group = self._by_key.get(key)
        if group is None:
            message = f"failures beyond the first {self.max_group_keys} distinct groups"
            group = self._new_group(key, sec.key, 0, [], self.OVERFLOW_TYPE, message, elapsed)
        return group

    def listed(self, max_groups: int, *, live: bool) -> list[_Group]:
        """The groups a snapshot lists: while the run is live, the first ``max_groups`` in
        first-seen order (a group keeps its place: nothing moves under the reader's mouse);
        once it ended, the largest first (ties by first occurrence)."""
        if live:
            return self.groups[:max_groups]
        return heapq.nsmallest(max_groups, self.groups, key=lambda g: (-g.count, g.id))

    def _new_group(self, key: tuple, *fields) -> _Group:
        group = _Group(len(self.groups), *fields)
        self.groups.append(group)
        self._by_key[key] = group
        return group


def _common_ancestor(parents: list[int], a: int, b: int) -> int:
    """The deepest row that is ``a`` or an ancestor of it and ``b`` or an ancestor of it."""
    ancestors = set()
    while a >= 0:
        ancestors.add(a)
        a = parents[a]
    while b not in ancestors:
        b = parents[b]
    return b
