"""Redefined functions: the fix in a re-executed ``def`` cell, put into the plan.

In a notebook a fix is usually a cell that defines the function again, while the plan still holds
the old function object. ``resume(refresh=True)`` (and ``Failure.rerun``) look each planned
function defined in ``__main__`` up under its qualified name (``fetch``, ``Loader.fetch`` through
attributes) in the namespace it was defined in (its globals: the notebook's namespace) and use
the object bound there now.

Left alone: functions not defined in ``__main__`` (a module's are fixed by reloading it), lambdas
and functions defined inside other functions (``<lambda>``, ``<locals>``: no name to look up),
bound methods (their name leads to the class's function, not to the object), names no longer
bound in ``__main__``, and names now bound to something that is not callable.
"""

from __future__ import annotations

import inspect
import sys

from uberjob.graph import Call

__all__ = ["refresh_functions", "refreshed_function"]

_MISSING = object()


def refreshed_function(fn):
    """What ``__main__`` binds now under the name of ``fn``, when that is another callable;
    else None (see the module docstring for what is left alone)."""
    if inspect.ismethod(fn) or getattr(fn, "__module__", None) != "__main__":
        return None
    qualname = getattr(fn, "__qualname__", None)
    if not isinstance(qualname, str) or not qualname or "<" in qualname:
        return None
    # Where the function was defined: its globals (IPython's user namespace in a notebook,
    # which is __main__'s dict in a kernel), else the __main__ module's (a class).
    namespace = getattr(fn, "__globals__", None)
    if not isinstance(namespace, dict):
        namespace = getattr(sys.modules.get("__main__"), "__dict__", {})
    first, *rest = qualname.split(".")
    current = namespace.get(first, _MISSING)
    for part in rest:
        if current is _MISSING:
            return None
        try:
            current = getattr(current, part, _MISSING)
        except Exception:  # a hostile __getattr__: nothing to refresh from
            return None
    if current is _MISSING:
        return None
    if current is fn or not callable(current):
        return None
    return current


def refresh_functions(nodes) -> list[str]:
    """Replace the function of each call among ``nodes`` by its redefinition in ``__main__``;
    return the qualified names of the functions replaced (first seen first)."""
    replacement: dict[int, object] = {}  # id(old function) -> new one, or None
    keep_alive = []  # the old functions, so that their ids stay theirs during the walk
    names: list[str] = []
    for node in nodes:
        if type(node) is not Call:
            continue
        fn = node.fn
        key = id(fn)
        if key not in replacement:
            keep_alive.append(fn)
            new = replacement[key] = refreshed_function(fn)
            if new is not None:
                names.append(fn.__qualname__)
        new = replacement[key]
        if new is not None:
            node.fn = new
    return names
