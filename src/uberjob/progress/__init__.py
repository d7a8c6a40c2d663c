"""Observing a run's progress: the 1.0 protocol and uberjob 2's views.

``console_progress``, ``html_progress``, ``widget_progress`` (1.0 name ``ipython_progress``) are
imported on first use, so that ``import uberjob`` does not import a widget library.
"""

from uberjob.progress._basic import composite_progress, null_progress
from uberjob.progress._choose import default_progress
from uberjob.progress._observer import Progress, ProgressObserver

__all__ = [
    "Progress",
    "ProgressObserver",
    "composite_progress",
    "console_progress",
    "default_progress",
    "html_progress",
    "ipython_progress",
    "null_progress",
    "widget_progress",
]

_LAZY = {
    "console_progress": ("uberjob.progress._console", "console_progress"),
    "html_progress": ("uberjob.progress._html", "html_progress"),
    "widget_progress": ("uberjob.progress._widget", "widget_progress"),
    "ipython_progress": ("uberjob.progress._widget", "widget_progress"),
}


def __getattr__(name: str):
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'uberjob.progress' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module_name), attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
