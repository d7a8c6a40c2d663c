"""Functions that plans call to build gathered structures and unpack iterables.

Their names show up as scopes in progress displays (``uberjob._builtins.gather_list``), so they
are plain module-level functions with stable names.
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
    """``a, b, c = iterable`` for ``length`` 3: reads at most ``length + 1`` items (an endless
    iterable must not run forever) and fails with Python's own messages."""
    values = tuple(itertools.islice(iterable, length + 1))
    if len(values) > length:
        raise ValueError(f"too many values to unpack (expected {length})")
    if len(values) < length:
        raise ValueError(f"not enough values to unpack (expected {length}, got {len(values)})")
    return values


def source_placeholder():
    """Stands in for a value that only a registry store can provide."""
    from uberjob._errors import NotTransformedError

    raise NotTransformedError(
        "This node's value comes from a registry store, but no registry was passed to run(); "
        "call uberjob.run(plan, registry=registry, ...)."
    )
