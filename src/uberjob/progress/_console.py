"""``console_progress``: the run's progress as text on a stream (``sys.stderr`` by default).

On a terminal, a compact live view (header, scope tree with stacked bars, top failure groups) is
redrawn in place with ``rich``. Anywhere else (a log file, CI, a notebook's stderr) the view
prints periodic text blocks the way uberjob 1.0 did, and a final block. In both modes each failure
*group* (one type and message pattern, across scopes: the grouping of every view) is printed once,
the first time it appears, with the tracebacks of its first failure while the model keeps them
(``max_instances``); after that, the groups' counts grow in the live view and in the blocks.
While stragglers run (docs/snapshot-schema.md), both say so in one line: the longest running one,
and the innermost frame of the user's code it is in.

Text from user code (scope values, exception messages, tracebacks) is always printed literally:
it goes into ``rich.text.Text`` objects, which never interpret markup, and its control characters
are printed as escapes (``\\x1b[2J`` clears no screen, sets no window title).
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from uberjob.progress._model import ProgressModel
from uberjob.progress._observer import Progress
from uberjob.progress._text import (
    COUNT_LEGEND,
    MIN_RATE_SECONDS,
    PATH_SEPARATOR,
    count_text,
    duration_text,
    group_scope_text,
    node_path,
    remaining_seconds,
    run_remaining_seconds,
    short_path,
    terminal_text,
)
from uberjob.progress._view import ModelView

__all__ = ["ConsoleView", "console_progress", "straggler_text"]

_LIVE_STATES = ("pending", "running")
_STATE_STYLES = {"running": "cyan", "done": "green", "failed": "red"}


class ConsoleView(ModelView):
    """Progress printed to ``stream``: live on a terminal, periodic blocks otherwise.

    :param stream: Where to write: any text stream (a file, ``sys.stdout``, a ``StringIO``);
        ``sys.stderr`` (as it is when the view is made) by default. ``console_progress(stream)``
        makes a ``Progress`` that writes there.
    :param terminal: Force the live terminal view (True) or the log blocks (False); by default,
        whether ``stream`` is a TTY.
    :param width: The terminal width for the live view (rich detects it by default).
    """

    #: Log mode: seconds between blocks (a block is printed only if something changed, or at
    #: least this often while the run goes on), and before the first one.
    block_interval: float = 10.0
    first_block_delay: float = 1.0
    #: Most scope rows per section in the live view and in a log block.
    max_live_rows: int = 24
    max_block_rows: int = 200
    #: Most failure groups listed with their counts in a log block.
    max_block_groups: int = 10

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        terminal: bool | None = None,
        width: int | None = None,
        model: ProgressModel | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(model, clock=clock)
        self._stream = stream if stream is not None else sys.stderr
        self._terminal = _is_tty(self._stream) if terminal is None else terminal
        self._next_group = 0  # groups before this id were printed
        self._printed_done_sections: set[str] = set()
        self._started_at: float | None = None
        self._last_block_at: float | None = None
        self._live: Live | None = None
        # Draw at least every second even when nothing changed: the live view's elapsed clock
        # moves, and log blocks come every block_interval however quiet the run is.
        self.max_interval = 1.0
        if self._terminal:
            self._console = Console(
                file=self._stream, width=width, force_terminal=True, force_jupyter=False,
                highlight=False, markup=False, emoji=False,
            )  # fmt: skip
        else:
            self.interval = 0.5

    def draw(self, snapshot: dict, final: bool) -> None:
        if self._terminal:
            self._draw_live(snapshot, final)
        else:
            self._draw_block(snapshot, final)

    # ----- terminal -----

    def _draw_live(self, snapshot: dict, final: bool) -> None:
        if self._live is None:
            self._live = Live(console=self._console, auto_refresh=False, transient=False)
            self._live.start()
        try:
            for text in self._new_failure_texts(snapshot):
                self._live.console.print(Text(text), soft_wrap=True)
            self._live.update(self._live_view(snapshot), refresh=True)
        finally:
            if final:  # always give the terminal its cursor back
                self._live.stop()

    def _live_view(self, snapshot: dict) -> Group:
        failures = snapshot["failures"]
        live = snapshot["state"] in _LIVE_STATES
        header = Text()
        header.append("uberjob ", style="bold")
        header.append(snapshot["state"], style=_STATE_STYLES.get(snapshot["state"], "yellow"))
        if failures["count"]:
            header.append(f", {failures['count']:,} failed", style="red")
        header.append(f"  elapsed {duration_text(snapshot['elapsed'])}")
        left = run_remaining_seconds(snapshot)
        if left is not None:
            header.append(f"  about {duration_text(left)} left")
        if snapshot["elapsed"] >= MIN_RATE_SECONDS:
            header.append(f"  {_rate_text(snapshot['rate'])}")
        sections = [s for s in snapshot["sections"] if s["nodes"][0][2] or not live]
        if not sections:  # the totals are not known yet: nothing to draw but the header
            return Group(header)
        budget = max(4, min(self.max_live_rows, (self._console.height - 7) // len(sections)))
        rows = []  # (depth, name, count, time, counts) or a "more" marker (None)
        for section in sections:
            nodes = section["nodes"]
            for depth, row in _tree_order(nodes, budget, _open_depth(nodes, budget)):
                if row is None:
                    rows.append(None)
                    continue
                _, name, total, completed, running, failed, seconds = row
                count = count_text(total, completed, running, failed, live=live)
                left = remaining_seconds(total, completed + failed, snapshot["elapsed"])
                if live and left is not None:
                    time_text = f"{duration_text(left)} left"
                else:
                    time_text = duration_text(seconds) if seconds >= 1 else ""
                name = terminal_text(name)  # inert: scope names come from user code
                rows.append((depth, name, count, time_text, (total, completed, running, failed)))
        # Numbers win: the count and time columns keep their width; the bar shrinks first
        # (down to 4 cells) before the names are cut (with an ellipsis).
        count_width = max((len(r[2]) for r in rows if r), default=0)
        time_width = max((len(r[3]) for r in rows if r), default=0)
        name_width = max((2 * r[0] + len(r[1]) for r in rows if r), default=0)
        room = self._console.width - count_width - time_width - 3  # 3 column gaps
        bar_width = max(4, min(20, room - name_width))
        name_width = max(6, min(name_width, room - bar_width))
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True, width=name_width, overflow="ellipsis")
        table.add_column(no_wrap=True, width=bar_width)
        table.add_column(no_wrap=True, min_width=count_width)
        table.add_column(no_wrap=True, justify="right")
        for row in rows:
            if row is None:
                table.add_row(Text("  … more scopes", style="dim"))
                continue
            depth, name, count, time_text, counts = row
            table.add_row(
                Text("  " * depth + name, style="bold" if depth == 0 else ""),
                _bar(*counts, width=bar_width),
                Text(count),
                Text(time_text, style="italic" if time_text.endswith("left") else ""),
            )
        parts = [header, table]
        if live:
            parts.append(Text(f"counts: {COUNT_LEGEND}", style="dim"))
        straggler = straggler_text(snapshot)
        if straggler is not None:
            line = Text(terminal_text(straggler), style="yellow")
            line.truncate(self._console.width, overflow="ellipsis")
            parts.append(line)
        for group in failures["groups"][:3]:
            line = Text()
            line.append(f"{group['count']:,} failed: ", style="red")
            line.append(terminal_text(f"{group['type']}: {_first_line(group['message'])}"))
            line.append(terminal_text(f"  ({group_scope_text(group)})"), style="dim")
            line.truncate(self._console.width, overflow="ellipsis")
            parts.append(line)
        return Group(*parts)

    # ----- logs -----

    def _draw_block(self, snapshot: dict, final: bool) -> None:
        out = [*self._new_failure_texts(snapshot)]
        now = self._clock()
        if self._started_at is None:
            self._started_at = now
        due = (
            now - self._last_block_at >= self.block_interval
            if self._last_block_at is not None
            else now - self._started_at >= self.first_block_delay
        )
        if final or (due and snapshot["state"] in _LIVE_STATES):
            self._last_block_at = now
            out.append(self._block(snapshot, final))
        if out:
            self._stream.write("".join(text + "\n" for text in out))
            self._stream.flush()

    def _block(self, snapshot: dict, final: bool) -> str:
        head = f"uberjob {snapshot['state']}"
        failures = snapshot["failures"]
        if failures["count"]:
            head += f", {failures['count']:,} failed"
        head += f", elapsed {duration_text(snapshot['elapsed'])}"
        left = run_remaining_seconds(snapshot)
        if left is not None:
            head += f", about {duration_text(left)} left"
        if snapshot["elapsed"] >= MIN_RATE_SECONDS:
            head += f", {_rate_text(snapshot['rate'])}"
        lines = [f"{head}, updated {time.strftime('%Y-%m-%d %H:%M:%S')}"]
        live = snapshot["state"] in _LIVE_STATES
        for section in snapshot["sections"]:
            root = section["nodes"][0]
            done = root[3] + root[5] >= root[2]
            if done and section["key"] in self._printed_done_sections and not final:
                continue  # as in 1.0: a finished section is printed once, not in every block
            if done:
                self._printed_done_sections.add(section["key"])
            # The section's own line carries its counts; its scopes follow, one per line.
            rows = list(_tree_order(section["nodes"], self.max_block_rows + 1))[1:]
            title = f"{section['title']}: {_row_count(root, live)}"
            if root[6] >= 1:
                title += f", {duration_text(root[6])}"
            lines.append(title)
            if not rows:
                continue
            counts = [_row_count(row, live) if row else "" for _, row in rows]
            times = [duration_text(row[6]) if row and row[6] >= 1 else "" for _, row in rows]
            count_width = max(map(len, counts))
            time_width = max(map(len, times))
            for (depth, row), count, seconds in zip(rows, counts, times, strict=True):
                name = "… more scopes" if row is None else "  " * (depth - 1) + row[1]
                columns = [count.rjust(count_width), seconds.rjust(time_width), name]
                lines.append("  " + " | ".join(columns if time_width else columns[::2]))
        straggler = straggler_text(snapshot)
        if straggler is not None:
            lines.append(straggler)
        groups = failures["groups"]
        if groups:
            total = len(groups) + failures["groups_omitted"]
            lines.append(f"Failures: {failures['count']:,} in {total:,} group{_s(total)}")
            for group in groups[: self.max_block_groups]:
                message = _first_line(group["message"])
                lines.append(
                    f"  {group['count']:>6,} \u00d7 {group['type']}: {message}"
                    f"  ({group_scope_text(group, None)})"
                )
            if total > self.max_block_groups:
                lines.append(f"  … {total - self.max_block_groups:,} more groups")
        return terminal_text("\n".join(lines))

    # ----- failures (both modes) -----

    def _new_failure_texts(self, snapshot: dict) -> Iterator[str]:
        """Each new failure group once, with the tracebacks of its first failure if kept (as
        inert text: control characters escaped)."""
        return map(terminal_text, self._new_failures(snapshot))

    def _new_failures(self, snapshot: dict) -> Iterator[str]:
        failures = snapshot["failures"]
        group_count = len(failures["groups"]) + failures["groups_omitted"]
        while self._next_group < group_count:
            group = self.model.group(self._next_group)
            self._next_group += 1
            # The group's first failure, as it happened (the group may have grown since).
            instance = self._first_instance(group)
            message = instance["message"] if instance else group["message"]
            first_scope = group["scope"]
            if group["scopes"]:
                nodes = next(
                    s["nodes"] for s in snapshot["sections"] if s["key"] == group["section"]
                )
                first_scope = node_path(nodes, group["scopes"][0][0])
            where = PATH_SEPARATOR.join(first_scope) or "(any scope)"
            if group["section"] != "run":
                where += f" [{group['section']}]"
            text = (
                f"failure group {group['id'] + 1} at {duration_text(group['first'])}: "
                f"{group['type']}: {_first_line(message)}\n  in {where}"
            )
            if instance is not None:
                body = "\n".join(filter(None, (instance["traceback"], instance["symbolic"])))
                text += "\n" + textwrap.indent(body, "    ")
            else:
                text += f" (traceback not kept: {failures['max_instances']:,} already are)"
            yield text

    def _first_instance(self, group: dict) -> dict | None:
        if not group["instances"]:
            return None
        first = group["instances"][0]
        kept = self.model.instances(first)
        return kept[0] if kept and kept[0]["id"] == first else None


def straggler_text(snapshot: dict) -> str | None:
    """The longest running straggler in one line (None without one): its function, scope,
    elapsed time and where it is now, the innermost frame of the user's own code (or the
    innermost frame, or why there is no stack). Text from user code: print it inert."""
    running = snapshot.get("running")
    if not running or not running["stragglers"]:
        return None
    call = next((c for c in running["calls"] if c["straggler"]), None)
    if call is None:  # stragglers beyond the listed calls only
        return f"{running['stragglers']:,} stragglers running"
    text = (
        f"straggler: {call['function']} in {short_path(call['scope'], 40)}, running "
        f"{duration_text(call['elapsed'])}"
    )
    if call["median"] is not None:
        text += f" (median {duration_text(call['median'])})"
    stack = call["stack"]
    if stack is not None:
        frames = stack["frames"]
        frame = next((f for f in reversed(frames) if f["user"]), frames[-1] if frames else None)
        if frame is not None:
            text += f", at {os.path.basename(frame['file'])}:{frame['line']} in {frame['function']}"
            if frame["code"]:
                text += f": {frame['code']}"
        elif stack["note"]:
            text += f", stack {stack['note']}"
    more = running["stragglers"] - 1
    return f"{text} (+{more:,} more)" if more > 0 else text


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def _tree_order(
    nodes: list[list], max_rows: int, max_depth: int | None = None
) -> Iterator[tuple[int, list | None]]:
    """(depth, row) in depth-first order, children in first-seen order, rows deeper than
    ``max_depth`` folded, at most ``max_rows`` rows; then (0, None) if some were left out."""
    children: list[list[int]] = [[] for _ in nodes]
    for index in range(len(nodes) - 1, 0, -1):
        children[nodes[index][0]].append(index)  # reversed, so pop() yields first-seen first
    stack, shown = [(0, 0)], 0
    while stack:
        index, depth = stack.pop()
        if shown == max_rows:
            yield 0, None
            return
        shown += 1
        yield depth, nodes[index]
        if max_depth is None or depth < max_depth:
            stack += [(child, depth + 1) for child in children[index]]


def _open_depth(nodes: list[list], max_rows: int) -> int:
    """The deepest level such that the tree opened down to it fits in ``max_rows`` (at least
    1): top levels open, big subtrees folded."""
    depths = [0] * len(nodes)
    per_depth: dict[int, int] = {0: 1}
    for index in range(1, len(nodes)):
        depths[index] = depth = depths[nodes[index][0]] + 1
        per_depth[depth] = per_depth.get(depth, 0) + 1
    open_depth, rows = 0, 1
    while open_depth + 1 in per_depth and rows + per_depth[open_depth + 1] <= max_rows:
        open_depth += 1
        rows += per_depth[open_depth]
    return max(open_depth, 1)


def _row_count(row: list, live: bool) -> str:
    return count_text(row[2], row[3], row[4], row[5], live=live)


def _bar(total: int, completed: int, running: int, failed: int, width: int = 20) -> Text:
    """A stacked bar: done, failed, running, then what is left."""
    bar = Text()
    used = 0
    for count, style in ((completed, "green"), (failed, "red"), (running, "yellow")):
        # Never let a non-zero count vanish: one failure among 10,000 calls still shows.
        cells = max(1, round(width * count / total)) if total and count else 0
        cells = min(cells, width - used)
        bar.append("━" * cells, style=style)
        used += cells
    bar.append("━" * (width - used), style="grey23")
    return bar


def _rate_text(rate: float) -> str:
    return f"{rate:,.1f} calls/s" if rate < 10 else f"{rate:,.0f} calls/s"


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _first_line(message: str) -> str:
    first, _, rest = message.partition("\n")
    return f"{first} …" if rest else first


class _ConsoleProgress(Progress):
    """``console_progress`` itself, and ``console_progress(stream)`` for another stream."""

    __slots__ = ()

    def __call__(self, stream: TextIO | None = None, **options) -> Progress:
        """Progress written to ``stream`` (any text stream; ``sys.stderr`` by default).

        ``options`` are :class:`ConsoleView`'s: ``terminal`` (force the live view or the log
        blocks) and ``width``.
        """
        if stream is not None and not callable(getattr(stream, "write", None)):
            raise TypeError(
                f"stream must be a text stream with a write method; got {type(stream).__name__}."
            )
        return Progress(lambda: ConsoleView(stream, **options))


console_progress = _ConsoleProgress(ConsoleView)
"""Progress on ``sys.stderr``: live on a terminal, periodic text blocks in a log.
``console_progress(stream)`` writes to another stream (``console_progress(sys.stdout)``)."""
