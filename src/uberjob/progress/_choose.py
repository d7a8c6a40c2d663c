"""Turning ``run(progress=...)`` values into a Progress, and the default choice.

The default (``progress=True``, ``default_progress``) is the widget inside a Jupyter kernel or a
marimo notebook and the console elsewhere, unless the environment variable ``UBERJOB_PROGRESS``
says otherwise (the way ``TQDM_DISABLE`` works): ``widget``, ``console``, ``none`` (also ``off``,
``false``, ``0``), or ``html:PATH``. An explicit ``progress=`` argument always wins.
"""

from __future__ import annotations

import os
import sys

from uberjob.progress._basic import composite_progress, null_progress
from uberjob.progress._observer import Progress

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "coerce_progress",
    "default_progress",
    "in_jupyter_kernel",
    "in_marimo",
    "progress_from_environment",
]

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


ENVIRONMENT_VARIABLE = "UBERJOB_PROGRESS"
_OFF = frozenset({"none", "off", "false", "0"})


def in_marimo() -> bool:
    """Whether we run inside a marimo notebook."""
    marimo = sys.modules.get("marimo")
    running = getattr(marimo, "running_in_notebook", None)
    try:
        return bool(running()) if running is not None else False
    except Exception:  # an old or odd marimo: not worth breaking a run over
        return False


def progress_from_environment() -> Progress | None:
    """The Progress that ``UBERJOB_PROGRESS`` names, or None when it is unset or empty."""
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if not value:
        return None
    if value.lower() in _OFF:
        return null_progress
    try:
        return _from_string(value)
    except ValueError:
        raise ValueError(
            f"The environment variable {ENVIRONMENT_VARIABLE} must be one of {_NAMES} or "
            f"none; got {value!r}."
        ) from None


def _default_observer():
    from uberjob import progress

    chosen = progress_from_environment()
    if chosen is not None:
        return chosen.observer()
    if (in_jupyter_kernel() or in_marimo()) and _widget_available():
        return progress.widget_progress.observer()
    return progress.console_progress.observer()


default_progress = Progress(_default_observer)
"""The widget inside a Jupyter kernel or marimo, the console anywhere else; the environment
variable ``UBERJOB_PROGRESS`` (``widget``, ``console``, ``none``, ``html:PATH``) overrides that."""


def _from_string(value: str) -> Progress:
    from uberjob import progress

    if value == "widget":
        return progress.widget_progress
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
        progress_from_environment()  # a bad UBERJOB_PROGRESS fails now, before any call runs
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
