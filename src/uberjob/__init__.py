"""uberjob: build symbolic call graphs and run them in parallel, with live progress.

A drop-in successor of uberjob 1.0: the same public API, a faster engine, and a progress widget
for Jupyter. See README.md for a tour.
"""

from uberjob import graph, progress, stores
from uberjob._errors import CallError, NotTransformedError, RunStopped
from uberjob._handle import RunHandle, last_run
from uberjob._magics import load_ipython_extension, unload_ipython_extension
from uberjob._plan import Plan
from uberjob._registry import Registry
from uberjob._render import render
from uberjob._run import run
from uberjob._value_store import ValueStore
from uberjob._version import __version__

__all__ = [
    "CallError",
    "NotTransformedError",
    "Plan",
    "Registry",
    "RunHandle",
    "RunStopped",
    "ValueStore",
    "__version__",
    "graph",
    "last_run",
    "load_ipython_extension",
    "progress",
    "render",
    "run",
    "stores",
    "unload_ipython_extension",
]
