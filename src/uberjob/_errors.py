"""The exceptions a run raises.

Exception hierarchy::

    Exception
     ├── CallError            a call in the plan raised; __cause__ is what it raised
     └── NotTransformedError  a placeholder (e.g. registry.source) ran untransformed
    RunStopped (Exception)    a background run was stopped before it finished
"""

from __future__ import annotations

import os
import sysconfig
import traceback
import types

from uberjob._util import fully_qualified_name
from uberjob._util.stack import render_symbolic_traceback

__all__ = ["CallError", "NotTransformedError", "RunStopped"]


class CallError(Exception):
    """An exception was raised in a symbolic call.

    The message names the function and gives the symbolic traceback (where the call was
    planned); ``__cause__`` is the original exception and ``call`` the :class:`~uberjob.graph.Call`.
    """

    def __init__(self, call):
        super().__init__(
            f"An exception was raised in a symbolic call to {fully_qualified_name(call.fn)}.\n"
            + render_symbolic_traceback(call.stack_frame)
        )
        self.call = call

    def __reduce__(self):
        return CallError, (self.call,)

    def _render_traceback_(self) -> list[str]:
        """IPython's hook for an exception's traceback: its own formatting, without uberjob's
        frames at the end (the ``run`` that raised this). IPython shows the frame that raised
        even when it is marked ``__tracebackhide__``; a reader needs their cell's line, the
        cause's traceback and the symbolic one, not ours."""
        tb = _without_trailing_package_frames(self.__traceback__)
        try:
            from IPython import get_ipython

            shell = get_ipython()
            if shell is not None:
                return shell.InteractiveTB.structured_traceback(type(self), self, tb)
        except Exception:  # never let a formatting problem hide the error itself
            pass
        return traceback.format_exception(type(self), self, tb)


class NotTransformedError(Exception):
    """An expected transformation was not applied."""


class RunStopped(Exception):
    """The run was stopped (by its handle's ``stop()`` or the widget's Stop button)."""

    uberjob_stopped = True  # how progress views tell "stopped" from "failed"


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
# Frames in these files are the user's business (a store's read or write), not the engine's.
_STORE_PATHS = (os.path.join(_PACKAGE_DIR, "stores") + os.sep, _PACKAGE_DIR + "_value_store.py")
_STDLIB_DIR = os.path.dirname(os.path.abspath(os.__file__)) + os.sep
_SITE_DIRS = tuple(
    {os.path.abspath(sysconfig.get_path(n)) + os.sep for n in ("purelib", "platlib")}
)


def _filename(tb: types.TracebackType) -> str:
    return tb.tb_frame.f_code.co_filename


def _is_engine_frame(tb: types.TracebackType) -> bool:
    filename = _filename(tb)
    return filename.startswith(_PACKAGE_DIR) and not filename.startswith(_STORE_PATHS)


def _is_stdlib_frame(tb: types.TracebackType) -> bool:
    filename = _filename(tb)
    return filename.startswith(_STDLIB_DIR) and not filename.startswith(_SITE_DIRS)


def _entries(tb: types.TracebackType | None) -> list[types.TracebackType]:
    entries = []
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    return entries


def _chained(entries: list[types.TracebackType]) -> types.TracebackType | None:
    """A new traceback of ``entries``: a traceback's frames are shared, its links are not."""
    rebuilt = None
    for entry in reversed(entries):
        rebuilt = types.TracebackType(rebuilt, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return rebuilt


def _without_trailing_package_frames(tb: types.TracebackType | None):
    """``tb`` without the frames in uberjob's own files that end it (at least one is kept)."""
    entries = _entries(tb)
    while len(entries) > 1 and _filename(entries[-1]).startswith(_PACKAGE_DIR):
        entries.pop()
    return _chained(entries)


def without_leading_engine_frames(tb: types.TracebackType | None):
    """``tb`` starting at the first frame that is not the engine's: what a call or a store
    raised starts at the user's (or the store's) own frame, not at the worker or stale check
    that called it."""
    entries = _entries(tb)
    start = 0
    while start < len(entries) and _is_engine_frame(entries[start]):
        start += 1
    return tb if start == 0 else _chained(entries[start:])


def without_engine_frames(tb: types.TracebackType | None):
    """``tb`` without the engine's frames (run, owner loop, dispatchers). When all that is
    left is the standard library the engine was waiting in (threading, queue), nothing is
    left: a Ctrl-C in the owner loop is raised from ``run()`` alone."""
    entries = [entry for entry in _entries(tb) if not _is_engine_frame(entry)]
    if all(_is_stdlib_frame(entry) for entry in entries):
        return None
    return _chained(entries)


def chained_call_error(call, exception: BaseException) -> CallError:
    exception.__traceback__ = without_leading_engine_frames(exception.__traceback__)
    error = CallError(call)
    error.__cause__ = exception  # as `raise error from exception` would set it
    error.__suppress_context__ = True
    return error


# Tracebacks and reprs name the public path (uberjob.CallError), where users import them from.
for _public in (CallError, NotTransformedError, RunStopped):
    _public.__module__ = "uberjob"
del _public
