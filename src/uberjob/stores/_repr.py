"""The ``ClassName(arg, key=value)`` reprs that 1.0's stores print."""

from __future__ import annotations

import os
import reprlib

_compact = reprlib.Repr()
_compact.maxstring = 80
_compact.maxother = 80


def store_repr(instance, *args, **kwargs) -> str:
    """``Name(args..., key=value...)``; callers pass only keyword arguments that differ from
    their defaults, as 1.0 prints them."""
    parts = [_compact.repr(arg) for arg in args]
    parts.extend(f"{key}={_compact.repr(value)}" for key, value in kwargs.items())
    return f"{type(instance).__name__}({', '.join(parts)})"


def describe_failure(error: BaseException, action: str, store) -> None:
    """Name the store (and so its path) on an exception raised while reading or writing it.

    The note keeps the exception's type (code that catches ``json.JSONDecodeError`` still does)
    while every traceback shown to the user says which store and file were involved.
    """
    note = f"uberjob: raised while {action} {store!r}"
    path = getattr(store, "path", None)
    if path is not None:
        note += f" at {os.fspath(path)}"  # in full: the repr shortens long paths
    if note not in getattr(error, "__notes__", ()):
        error.add_note(note)


def check_path(path, name: str = "path") -> None:
    """A store's path is a str, bytes or os.PathLike. An int would be taken by ``open`` as a
    file descriptor (read, then closed), and anything else fails only when the store is used."""
    if isinstance(path, bool) or not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(
            f"{name} must be a str or os.PathLike (a file path); "
            f"got {type(path).__name__} ({path!r:.80})."
        )
