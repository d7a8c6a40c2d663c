"""Small helpers shared across uberjob's internals."""

from __future__ import annotations

import functools
import os
import sys
import warnings

__all__ = ["fully_qualified_name", "warn_from_user_code"]

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

# Modules whose names 1.0 leaves out: a bare ``add`` reads better than ``_operator.add``.
_UNNAMED_MODULES = ("__main__", "_operator")


def _public_module(module: str, qualname: str) -> str:
    """The public module that exports ``qualname``'s outermost name, when ``module`` is one of
    uberjob's private ones (``uberjob.stores._json_file_store`` -> ``uberjob.stores``); else
    ``module`` itself. The public module must really hold the very same object."""
    parts = module.split(".")
    if parts[0] != "uberjob":
        return module
    public = [parts[0]]
    for part in parts[1:]:
        if part.startswith("_"):
            break
        public.append(part)
    if len(public) == len(parts):
        return module
    public_name = ".".join(public)
    outer = qualname.split(".", 1)[0]
    defined_in, exported_by = sys.modules.get(module), sys.modules.get(public_name)
    if defined_in is None or exported_by is None:
        return module
    sentinel = object()
    if getattr(exported_by, outer, sentinel) is getattr(defined_in, outer, None):
        return public_name
    return module


@functools.lru_cache(maxsize=4096)
def _qualified_name(module, qualname: str) -> str:
    if not module or module.endswith("builtins") or module in _UNNAMED_MODULES:
        return qualname
    return f"{_public_module(module, qualname)}.{qualname}"


def fully_qualified_name(fn) -> str:
    """The name every view shows for a function, as 1.0 names it: ``module.qualname``, with the
    module left out for builtins, ``__main__`` and ``_operator`` (``truediv``, ``len``,
    ``dont_roll_six``), and uberjob's own objects named by their public path
    (``uberjob.stores.JsonFileStore.read``). A ``functools.partial`` is named by the function it
    wraps; a callable object without a ``__qualname__`` by its class."""
    if isinstance(fn, functools.partial):
        return fully_qualified_name(fn.func)
    target = fn if getattr(fn, "__qualname__", None) else type(fn)
    qualname = getattr(target, "__qualname__", None)
    if not isinstance(qualname, str) or not qualname:
        return repr(fn)
    module = getattr(target, "__module__", None)
    if module is not None and not isinstance(module, str):
        module = str(module)
    return _qualified_name(module, qualname)


def warn_from_user_code(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` attributed to the first caller outside uberjob (the user's
    ``run(...)`` line), however deep inside uberjob it is issued."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
