"""``console_progress``: the run's progress as text on a stream (``sys.stderr`` by default).

On a terminal, a compact live view (header, scope tree with stacked bars, top failure groups) is
redrawn in place with ``rich``. Anywhere else (a log file, CI, a notebook's stderr) the view
prints periodic text blocks the way uberjob 1.0 did, and a final block. In both modes each new
failure is printed once: with its tracebacks while the model keeps them (``max_instances``), and
as one line per new group after that.

Text from user code (scope values, exception messages, tracebacks) is always printed literally:
it goes into ``rich.text.Text`` objects, which never interpret markup, and its control characters
are printed as escapes (``\\x1b[2J`` clears no screen, sets no window title).
"""

from __future__ import annotations

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
from uberjob.progress._text import count_text, duration_text, terminal_text
from uberjob.progress._view import ModelView

__all__ = ["ConsoleView", "console_progress"]

_LIVE_STATES = ("pending", "running")
_STATE_STYLES = {"running": "cyan", "done": "green", "failed": "red"}


class ConsoleView(ModelView):
    """Progress printed to ``stream``: live on a terminal, periodic blocks otherwise.

    :param stream: Where to write; ``sys.stderr`` (as it is when the view is made) by default.
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
        self._next_instance = 0
        self._announced_groups: set[int] = set()
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
        header = Text()
        header.append("uberjob ", style="bold")
        header.append(snapshot["state"], style=_STATE_STYLES.get(snapshot["state"], "yellow"))
        header.append(f"  elapsed {duration_text(snapshot['elapsed'])}")
        header.append(f"  {snapshot['rate']:.1f} calls/s")
        if failures["count"]:
            header.append(f"  {failures['count']} failed", style="red")
        # One grid for every section, so that the columns line up across sections.
        table = Table.grid(padding=(0, 1))
        for _ in range(4):
            table.add_column(no_wrap=True)
        live = snapshot["state"] in _LIVE_STATES
        sections = snapshot["sections"]
        budget = max(4, min(self.max_live_rows, (self._console.height - 6) // len(sections)))
        for section in sections:
            nodes = section["nodes"]
            for depth, row in _tree_order(nodes, budget, _open_depth(nodes, budget)):
                if row is None:
                    table.add_row(Text("  … more scopes", style="dim"))
                    continue
                _, name, total, completed, running, failed, seconds = row
                table.add_row(
                    Text("  " * depth + terminal_text(name), style="bold" if depth == 0 else ""),
                    _bar(total, completed, running, failed),
                    Text(count_text(total, completed, running, failed, live=live)),
                    Text(duration_text(seconds) if seconds >= 1 else ""),
                )
        parts = [header, table]
        for group in failures["groups"][:3]:
            line = Text()
            line.append(f"{group['count']} failed: ", style="red")
            line.append(terminal_text(f"{group['type']}: {_first_line(group['message'])}"))
            line.append(terminal_text(f"  ({_scope_text(group)})"), style="dim")
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
        lines = [
            f"uberjob {snapshot['state']}, elapsed {duration_text(snapshot['elapsed'])}, "
            f"{snapshot['rate']:.1f} calls/s, updated {time.strftime('%Y-%m-%d %H:%M:%S')}"
        ]
        live = snapshot["state"] in _LIVE_STATES
        for section in snapshot["sections"]:
            root = section["nodes"][0]
            done = root[3] + root[5] >= root[2]
            if done and section["key"] in self._printed_done_sections and not final:
                continue  # as in 1.0: a finished section is printed once, not in every block
            if done:
                self._printed_done_sections.add(section["key"])
            rows = list(_tree_order(section["nodes"], self.max_block_rows))
            counts = [_row_count(row, live) if row else "" for _, row in rows]
            times = [duration_text(row[6]) if row and row[6] >= 1 else "" for _, row in rows]
            count_width = max(map(len, counts))
            time_width = max(map(len, times))
            lines.append(f"{section['title']}:")
            for (depth, row), count, seconds in zip(rows, counts, times, strict=True):
                if row is None:
                    name = "… more scopes"
                else:
                    name = "  " * (depth - 1) + row[1] if depth else "(all)"
                columns = [count.rjust(count_width), seconds.rjust(time_width), name]
                lines.append("  " + " | ".join(columns if time_width else columns[::2]))
        return terminal_text("\n".join(lines))

    # ----- failures (both modes) -----

    def _new_failure_texts(self, snapshot: dict) -> Iterator[str]:
        """Each kept instance once, with its tracebacks; then each new group without one
        (as inert text: control characters escaped)."""
        return map(terminal_text, self._new_failures(snapshot))

    def _new_failures(self, snapshot: dict) -> Iterator[str]:
        for instance in self.model.instances(self._next_instance):
            self._next_instance = instance["id"] + 1
            group = self.model.group(instance["group"])
            self._announced_groups.add(group["id"])
            body = "\n".join(filter(None, (instance["traceback"], instance["symbolic"])))
            yield (
                f"failure {instance['id'] + 1} at {duration_text(instance['time'])}: "
                f"{group['type']}: {_first_line(group['message'])}\n"
                f"  in {_scope_text(group)}\n{textwrap.indent(body, '    ')}"
            )
        for group in snapshot["failures"]["groups"]:
            if group["id"] not in self._announced_groups:
                self._announced_groups.add(group["id"])
                yield (
                    f"new failure group: {group['type']}: {_first_line(group['message'])}\n"
                    f"  in {_scope_text(group)} (traceback not kept: "
                    f"{snapshot['failures']['max_instances']} already are)"
                )


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


def _scope_text(group: dict) -> str:
    scope = ", ".join(group["scope"]) or "(several scopes)"
    return scope if group["section"] == "run" else f"{scope} [{group['section']}]"


def _first_line(message: str) -> str:
    first, _, rest = message.partition("\n")
    return f"{first} …" if rest else first


console_progress = Progress(ConsoleView)
"""Progress on ``sys.stderr``: live on a terminal, periodic text blocks in a log."""
