"""Functions that plans call to build gathered structures and unpack iterables.

They are plumbing, not calls the user planned: progress never counts them nor shows them as
rows (``INTERNAL_FUNCTIONS``, see compile.py); a failure in one (an iterable that does not
unpack) is still reported, under the scope it was planned in. Their names are 1.0's
(``gather_list``, ``source``): ``CallError`` messages show them.
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


def source():
    """Stands in for a value that only a registry store can provide (``registry.source``)."""
    from uberjob._errors import NotTransformedError

    raise NotTransformedError(
        "A source node was created via a Registry, but that Registry was not passed to uberjob.run."
    )


def getitem(values, index: int):
    """``values[index]``: one of the nodes ``plan.unpack`` returns.

    uberjob 1.0 planned ``operator.getitem`` here, so its errors say "a symbolic call to
    getitem"; ours has the same name but is a function of its own, which progress can tell
    from a user's own ``operator.getitem`` calls (those are counted)."""
    return values[index]


#: The functions of this module that plans call on the user's behalf.
INTERNAL_FUNCTIONS = frozenset(
    {gather_list, gather_tuple, gather_set, gather_dict, unpack, getitem, source}
)
