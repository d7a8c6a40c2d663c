"""``html_progress``: one self-contained HTML file showing what the widget shows.

The report inlines the same renderer (``js/report.js`` bundled into ``uberjob/static/``) and CSS
as the widget, and embeds the snapshot and the kept failure instances as JSON. It makes no
network request at all (a Content-Security-Policy forbids any). The file is replaced atomically
on each draw; while the run goes on, the page reloads itself every few seconds, the final one
doesn't. Given a callable instead of a path, each draw passes it the page's bytes.
"""

from __future__ import annotations

import functools
import html
import json
import os
from collections.abc import Callable
from pathlib import Path

from uberjob._util import warn_from_user_code
from uberjob.progress._model import ProgressModel
from uberjob.progress._observer import Progress
from uberjob.progress._text import encodable_text
from uberjob.progress._view import ModelView
from uberjob.stores._file_store import staged_write

__all__ = ["HtmlProgressObserver", "html_progress", "render_report", "static_path", "static_text"]

STATIC = Path(__file__).parent.parent / "static"

#: Seconds between the running page's self-reloads.
REFRESH_SECONDS = 3

_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'"
)


def static_path(name: str) -> Path:
    """The path of a built frontend file; a clear error when the bundle was never built."""
    path = STATIC / name
    if not path.is_file():
        raise FileNotFoundError(
            f"uberjob: the progress frontend is not built ({path} is missing). "
            "In a source checkout run `npm ci && npm run build` (or `pip install -e .`)."
        )
    return path


@functools.cache
def static_text(name: str) -> str:
    """A built frontend file's text, read once per process."""
    return static_path(name).read_text(encoding="utf-8")


def _json_for_script(value) -> str:
    # Inside <script> only "</script" (and "<!--") can end or confuse the element; escaping
    # every "<" as \u003c keeps the JSON valid and leaves nothing for the HTML parser to see.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def render_report(snapshot: dict, instances: list[dict], *, final: bool) -> bytes:
    """The report page for one snapshot, as UTF-8 bytes."""
    script = static_text("report.js").replace("</script", "<\\/script")
    css = static_text("widget.css").replace("</style", "<\\/style")
    # A lone surrogate in user text (a file name from os.listdir) would fail the UTF-8 encoding
    # below and lose the report (and the result): it is shown as U+FFFD instead.
    data = encodable_text(_json_for_script({"snapshot": snapshot, "instances": instances}))
    refresh = "" if final else f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">\n'
    title = encodable_text(html.escape(f"uberjob: {snapshot.get('state', '')}"))
    page = (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"{refresh}<title>{title}</title>\n<style>\n{css}\n{_PAGE_CSS}</style>\n</head>\n"
        '<body class="uj-page">\n<main id="uj-report"></main>\n'
        "<noscript>uberjob: this progress report needs JavaScript.</noscript>\n"
        f'<script type="application/json" id="uj-data">{data}</script>\n'
        f'<script type="module">\n{script}\n</script>\n</body>\n</html>\n'
    )
    return page.encode("utf-8")


_PAGE_CSS = """\
html { color-scheme: light dark; }
body.uj-page { margin: 0 auto; padding: 16px; max-width: 1280px; background: #ffffff; }
@media (prefers-color-scheme: dark) { body.uj-page { background: #0d1117; } }
"""


class HtmlProgressObserver(ModelView):
    """Writes the report on enter, at most every ``interval`` seconds, and once at the end."""

    interval = 1.0
    #: Rewrite now and then even without events, so the running page's elapsed time moves.
    max_interval = 5.0

    def __init__(
        self, target: Path | Callable[[bytes], object], model: ProgressModel | None = None
    ):
        if isinstance(target, Path):
            check_report_path(target)  # made when a run starts: before any call runs
        super().__init__(model)
        self.target = target
        self._write_failed = False

    def draw(self, snapshot: dict, final: bool) -> None:
        data = render_report(snapshot, self.model.instances(), final=final)
        if not isinstance(self.target, Path):
            self.target(data)
            return
        try:
            # staged: synced to disk, then renamed over the report (the stores' writes too)
            with staged_write(self.target, "wb") as file:
                file.write(data)
        except OSError as error:
            # A full disk or a vanished folder must not throw away the run's result: say so
            # (once) and try again on the next draw.
            if not self._write_failed:
                warn_from_user_code(
                    f"uberjob: could not write the progress report {self.target}: {error}",
                    RuntimeWarning,
                )
            self._write_failed = True


def check_report_path(path: Path) -> None:
    """A report can be written at ``path``: its folder exists and is writable, and ``path``
    is not a folder. Raises ``ValueError`` naming ``progress``."""
    folder = path.parent
    problem = None
    if path.is_dir():
        problem = "it is a folder"
    elif not folder.is_dir():
        problem = f"its folder {str(folder)!r} does not exist"
    elif not os.access(folder, os.W_OK | os.X_OK):
        problem = f"its folder {str(folder)!r} is not writable"
    if problem is not None:
        raise ValueError(f"progress: cannot write the HTML report {str(path)!r}: {problem}.")


def html_progress(path_or_callable: str | os.PathLike | Callable[[bytes], object]) -> Progress:
    """Progress written as one self-contained HTML report.

    :param path_or_callable: A file path (replaced atomically as the run goes on) or a callable
        that receives the page's bytes on each update.
    """
    if isinstance(path_or_callable, (str, os.PathLike)):
        target: Path | Callable[[bytes], object] = Path(path_or_callable)
    elif callable(path_or_callable):
        target = path_or_callable
    else:
        raise TypeError(
            "path_or_callable must be a path (str or os.PathLike) or a callable taking bytes; "
            f"got {type(path_or_callable).__name__}."
        )
    return Progress(functools.partial(HtmlProgressObserver, target))
