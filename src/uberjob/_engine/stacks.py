"""A running call's Python stack as the progress views show it (the stack of a straggler).

A stack is a JSON-able dict ``{"sampled": seconds, "frames": [...], "note": text or None}``
(``docs/snapshot-schema.md``); each frame is ``{"file", "line", "function", "code", "user"}``,
outermost first as in a traceback. ``user`` says whether the frame is the user's own code: not
the standard library, not an installed package (site-packages), not uberjob. The engine's frames
(the worker loop and everything outside it) are left out by the dispatchers that take stacks:
:func:`thread_stack` for our worker threads, :func:`parse_dask_stack` for Dask's call-stack API.

Stacks are bounded: the innermost ``MAX_FRAMES`` frames (where a call is stuck), each source
line cut to ``MAX_CODE_CHARS``.
"""

from __future__ import annotations

import functools
import linecache
import os
import re
from types import FrameType

__all__ = [
    "MAX_CODE_CHARS",
    "MAX_FRAMES",
    "frame_json",
    "is_user_file",
    "parse_dask_stack",
    "thread_stack",
]

#: The innermost frames a stack keeps (a deep recursion is cut from the outside).
MAX_FRAMES = 50
#: A frame's source line is cut to this many characters.
MAX_CODE_CHARS = 200

_UBERJOB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_PACKAGE_DIRS = ("site-packages", "dist-packages")


@functools.cache
def _library_prefixes() -> tuple[str, ...]:
    """Where the standard library, installed packages and uberjob live (asked once, at the
    first stack: not at import)."""
    import sysconfig

    paths = sysconfig.get_paths()
    found = {_UBERJOB_DIR}
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = paths.get(name)
        if path:
            found.add(os.path.abspath(path) + os.sep)
    return tuple(sorted(found))


def is_user_file(path: str) -> bool:
    """Whether code in ``path`` is the user's: not the standard library (frozen modules
    included), not an installed package, not uberjob. Notebook cells (``<ipython-input-…>``,
    ``/tmp/ipykernel_…/….py``) and other scripts are the user's."""
    if path.startswith("<"):
        return not path.startswith("<frozen")
    if path.startswith(_library_prefixes()):
        return False
    parts = path.replace("\\", "/").split("/")
    return not any(part in _PACKAGE_DIRS for part in parts)


def frame_json(file: str, line: int, function: str, code: str) -> dict:
    """One frame as a snapshot holds it (``code``: its source line, stripped and cut)."""
    code = code.strip()
    if len(code) > MAX_CODE_CHARS:
        code = code[: MAX_CODE_CHARS - 1] + "…"
    return {
        "file": file,
        "line": line,
        "function": function,
        "code": code,
        "user": is_user_file(file),
    }


def thread_stack(frame: FrameType | None, stop_codes: frozenset) -> list[dict]:
    """The frames from ``frame`` (a thread's current frame) out to, not including, the first
    frame running one of ``stop_codes`` (the dispatcher's worker loops), outermost first; the
    innermost ``MAX_FRAMES`` of them."""
    frames = []
    while frame is not None and frame.f_code not in stop_codes and len(frames) < MAX_FRAMES:
        code = frame.f_code
        line = frame.f_lineno or 0
        source = linecache.getline(code.co_filename, line, frame.f_globals) if line else ""
        frames.append(frame_json(code.co_filename, line, code.co_name, source))
        frame = frame.f_back
    frames.reverse()
    return frames


# Dask renders each frame as 'File "<file>", line <n>, in <function>' and the source line.
_DASK_FRAME = re.compile(r'\s*File "(?P<file>.*)", line (?P<line>\d+), in (?P<function>[^\n]*)\n?')
_DASK_RUNNER = os.path.join("uberjob", "_engine", "dask.py")


def parse_dask_stack(texts: list[str]) -> list[dict]:
    """A Dask worker's call stack of one task (its text per frame, outermost first, as
    ``Client.call_stack`` returns it) as frames, without Dask's frames and ours: only what runs
    inside our task runner (``dask.py``'s ``_run_call``). The innermost ``MAX_FRAMES``."""
    frames = []
    for text in texts:
        match = _DASK_FRAME.match(text)
        if match is None:
            continue
        file, function = match["file"], match["function"]
        if function == "_run_call" and file.endswith(_DASK_RUNNER):
            frames.clear()  # everything so far was the worker's machinery and our runner
            continue
        code = text[match.end() :]
        frames.append(frame_json(file, int(match["line"]), function, code))
    return frames[-MAX_FRAMES:]
