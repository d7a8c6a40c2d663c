"""Turning ``run(progress=...)`` values into a Progress, and the default choice."""

from __future__ import annotations

import sys

from uberjob._util import warn_from_user_code
from uberjob.progress._basic import composite_progress, null_progress
from uberjob.progress._observer import Progress

__all__ = ["coerce_progress", "default_progress", "in_jupyter_kernel"]

_NAMES = '"widget", "console", "html:PATH"'


def in_jupyter_kernel() -> bool:
    """Whether we run inside a Jupyter kernel that can display widgets."""
    ipython_module = sys.modules.get("IPython")
    if ipython_module is None:
        return False
    shell = ipython_module.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _widget_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("anywidget") is not None


def _default_observer():
    from uberjob import progress

    if in_jupyter_kernel() and _widget_available():
        return progress.widget_progress.observer()
    return progress.console_progress.observer()


default_progress = Progress(_default_observer)
"""The widget inside a Jupyter kernel, the console anywhere else."""


def _from_string(value: str) -> Progress:
    from uberjob import progress

    if value == "widget":
        widget_progress = progress.widget_progress  # without anywidget: how to install it
        if in_jupyter_kernel():
            return widget_progress
        # Outside Jupyter a widget can't be drawn (plain Python would print its raw data).
        warn_from_user_code(
            'uberjob: progress="widget" needs a Jupyter kernel; showing console progress instead.'
        )
        return progress.console_progress
    if value == "console":
        return progress.console_progress
    if value.startswith("html:") and len(value) > len("html:"):
        return progress.html_progress(value[len("html:") :])
    raise ValueError(f"progress must be one of {_NAMES} (or a Progress); got {value!r}.")


def coerce_progress(progress) -> Progress:
    """True → default, False/None → none, a string, a Progress, or a list/tuple of those."""
    if progress is None or progress is False:
        return null_progress
    if progress is True:
        return default_progress
    if isinstance(progress, Progress):
        return progress
    if isinstance(progress, str):
        return _from_string(progress)
    if isinstance(progress, (list, tuple)):
        members = [coerce_progress(p) for p in progress]
        return members[0] if len(members) == 1 else composite_progress(*members)
    raise TypeError(
        f"progress must be a bool, None, {_NAMES}, a Progress, or a list of those; "
        f"got {type(progress).__name__} ({progress!r:.80})."
    )
