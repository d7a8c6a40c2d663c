"""What a progress widget's output holds besides the widget: a one-line summary and static HTML.

Where widgets cannot be drawn (a terminal, a text-only notebook viewer, a notebook whose widget
state was not saved) the output's ``text/plain`` reads like ``uberjob: done, 9,998 / 10,000,
1,663 failed, 12s`` and its ``text/html`` is a small static picture of the snapshot: the header, the
top rows of each section's scope tree and the largest failure groups. No script, no style sheet
from elsewhere; every text from user code is escaped.
"""

from __future__ import annotations

import html

from uberjob.progress._text import group_scope_text, short_duration_text

__all__ = ["StaticPicture", "snapshot_summary", "static_html"]

_MAX_ROWS = 30
_MAX_GROUPS = 10


def _run_root(snapshot: dict) -> list | None:
    sections = snapshot.get("sections") or []
    for section in sections:
        if section.get("key") == "run" and section.get("nodes"):
            return section["nodes"][0]
    return None


def snapshot_summary(snapshot: dict) -> str:
    """``uberjob: done, 9,998 / 10,000, 1,663 failed, 12s`` (the run section's counts)."""
    state = snapshot.get("state", "pending")
    root = _run_root(snapshot)
    total, completed = (root[2], root[3]) if root else (0, 0)
    failed = (snapshot.get("failures") or {}).get("count", 0)
    text = f"uberjob: {state}, {completed:,} / {total:,}"
    if failed:
        text += f", {failed:,} failed"
    return f"{text}, {short_duration_text(snapshot.get('elapsed', 0.0))}"


def _count_text(total: int, completed: int, running: int, failed: int, live: bool) -> str:
    text = f"({completed:,} + {running:,}) / {total:,}" if live and running else ""
    text = text or f"{completed:,} / {total:,}"
    return f"{text}, {failed:,} failed" if failed else text


def _depths(nodes: list) -> list[int]:
    depths = []
    for parent, *_ in nodes:
        depths.append(0 if parent < 0 else depths[parent] + 1)
    return depths


def static_html(snapshot: dict) -> str:
    """A static picture of ``snapshot`` (escaped, no scripts)."""
    esc = html.escape
    live = snapshot.get("state") == "running"
    parts = [
        '<div class="uj-static" style="font-family: sans-serif; font-size: 13px">',
        f"<p><strong>{esc(snapshot_summary(snapshot))}</strong></p>",
    ]
    for section in snapshot.get("sections") or []:
        nodes = section.get("nodes") or []
        parts.append(f"<p><em>{esc(str(section.get('title', '')))}</em></p>")
        parts.append('<table style="border-collapse: collapse">')
        depths = _depths(nodes)
        shown = [i for i in range(len(nodes)) if depths[i] <= 2][:_MAX_ROWS]
        for index in shown:
            _, name, total, completed, running, failed, seconds = nodes[index][:7]
            pad = 1.2 * depths[index]
            share = f"{100 * completed / total:.0f}%" if total else ""
            time_text = short_duration_text(seconds) if seconds >= 1 else ""
            parts.append(
                f'<tr><td style="padding-left: {pad:.1f}em; text-align: left">{esc(str(name))}</td>'
                f'<td style="padding: 0 1em">{esc(share)}</td>'
                f"<td>{esc(_count_text(total, completed, running, failed, live))}</td>"
                f'<td style="padding-left: 1em">{esc(time_text)}</td></tr>'
            )
        if len(nodes) > len(shown):
            parts.append(f"<tr><td>… {len(nodes) - len(shown):,} more rows</td></tr>")
        parts.append("</table>")
    failures = snapshot.get("failures") or {}
    groups = failures.get("groups") or []
    if groups:
        parts.append(f"<p><strong>Failures: {failures.get('count', 0):,}</strong></p><ul>")
        for group in groups[:_MAX_GROUPS]:
            scope = group_scope_text(group, None)
            parts.append(
                f"<li>{group.get('count', 0):,} \u00d7 <code>{esc(str(group.get('type', '')))}: "
                f"{esc(str(group.get('message', '')))}</code> in {esc(scope)}</li>"
            )
        if len(groups) > _MAX_GROUPS:
            parts.append(f"<li>… {len(groups) - _MAX_GROUPS:,} more groups</li>")
        parts.append("</ul>")
    parts.append("</div>")
    return "\n".join(parts)


class StaticPicture:
    """A display object: the static picture of a snapshot, and its summary as plain text."""

    def __init__(self, snapshot: dict):
        self.snapshot = snapshot

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {
            "text/html": static_html(self.snapshot),
            "text/plain": snapshot_summary(self.snapshot),
        }
