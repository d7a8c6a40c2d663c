"""Functions that plans call to build gathered structures and unpack iterables.

Their names show up as scopes in progress displays and in ``CallError`` messages (``gather_list``,
``source``: 1.0's names), so they are plain module-level functions with stable names.
"""

from __future__ import annotations

import itertools


def gather_list(*items):
    return list(items)


def gather_tuple(*items):
    return tuple(items)


def gather_set(*items):
    return set(items)


def gather_dict(*pairs):
    return dict(pairs)


def unpack(iterable, length: int) -> tuple:
    # One item past `length` is enough to tell "too many" (an endless iterator is fine).
    values = tuple(itertools.islice(iterable, length + 1))
    if len(values) < length:
        raise ValueError(f"not enough values to unpack (expected {length}, got {len(values)})")
    if len(values) > length:
        raise ValueError(f"too many values to unpack (expected {length})")
    return values


def source():
    """Stands in for a value that only a registry store can provide (``registry.source``)."""
    from uberjob._errors import NotTransformedError

    raise NotTransformedError(
        "A source node was created via a Registry, but that Registry was not passed to uberjob.run."
    )
