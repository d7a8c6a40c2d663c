"""Small helpers shared across uberjob's internals."""

from __future__ import annotations

import functools

__all__ = ["fully_qualified_name"]


@functools.lru_cache(maxsize=4096)
def _qualified_name_of_type_or_function(module, qualname, fallback) -> str:
    if qualname is None:
        return fallback
    return qualname if module in (None, "builtins") else f"{module}.{qualname}"


def fully_qualified_name(fn) -> str:
    """``module.qualname`` of a function or class (bare for builtins), as 1.0 names scopes."""
    if isinstance(fn, functools.partial):
        return fully_qualified_name(fn.func)
    target = fn if hasattr(fn, "__qualname__") else type(fn)
    qualname = getattr(target, "__qualname__", None)
    module = getattr(target, "__module__", None)
    try:
        return _qualified_name_of_type_or_function(module, qualname, repr(fn))
    except TypeError:  # unhashable attributes on an exotic callable
        return f"{module}.{qualname}" if module not in (None, "builtins") else str(qualname)
