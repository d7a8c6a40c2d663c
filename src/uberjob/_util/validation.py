"""Argument validation whose messages name the parameter and what it got."""

from __future__ import annotations


def _type_names(types) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(t.__name__ for t in types)


def assert_is_instance(value, name: str, types, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    accepted = types if isinstance(types, tuple) else (types,)
    # bool is an int subclass; a flag passed where a count is expected is a mistake.
    if isinstance(value, bool) and bool not in accepted and int in accepted:
        raise TypeError(f"{name} must be {_type_names(types)}; got a bool ({value!r}).")
    if not isinstance(value, types):
        expected = _type_names(types) + (" or None" if optional else "")
        raise TypeError(f"{name} must be {expected}; got {type(value).__name__} ({value!r:.80}).")


def assert_is_callable(value, name: str, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if not callable(value):
        raise TypeError(f"{name} must be callable; got {type(value).__name__} ({value!r:.80}).")
