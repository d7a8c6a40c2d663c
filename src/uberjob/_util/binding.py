"""A fast check that arguments bind to a function's signature.

``inspect.signature(fn).bind(...)`` costs several microseconds, which is most of the budget of
planning a call. The signature of each function is analysed once into a :class:`_Shape`; checking
a call against it is then a few integer comparisons. Only when the quick check fails (or the
shape is unusual) do we fall back to ``Signature.bind`` for its exact error message.
"""

from __future__ import annotations

import inspect
import sys

from uberjob._util import fully_qualified_name

__all__ = ["assert_can_bind"]

_P = inspect.Parameter


class _Shape:
    """What a signature accepts, reduced to what a quick check needs.

    ``min_positional``/``max_positional`` decide calls without keywords (None: ask
    ``Signature.bind``); ``names`` is set only for plain signatures (positional-or-keyword
    parameters and nothing else), where calls with keywords can be decided quickly too.
    """

    __slots__ = ("max_positional", "min_positional", "names", "signature")

    def __init__(self, signature: inspect.Signature):
        self.signature = signature
        params = list(signature.parameters.values())
        positional = [p for p in params if p.kind in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)]
        kinds = {p.kind for p in params}
        defaults = [p.default is not _P.empty for p in positional]
        required_keyword = any(p.kind is _P.KEYWORD_ONLY and p.default is _P.empty for p in params)
        # Required positionals must come first for the count check to be exact.
        countable = defaults == sorted(defaults) and not required_keyword
        self.min_positional = defaults.count(False) if countable else None
        self.max_positional = None
        if countable:
            self.max_positional = sys.maxsize if _P.VAR_POSITIONAL in kinds else len(positional)
        plain = countable and kinds <= {_P.POSITIONAL_OR_KEYWORD}
        self.names = frozenset(p.name for p in positional) if plain else None


_shapes: dict = {}
_UNKNOWN = object()  # no signature available (some builtins): nothing to check
_MAX_SHAPES = 10_000


def _shape_of(fn):
    try:
        shape = _shapes.get(fn)
    except TypeError:  # unhashable callable
        shape = None
        return _make_shape(fn)
    if shape is None:
        shape = _make_shape(fn)
        if len(_shapes) >= _MAX_SHAPES:
            _shapes.clear()
        _shapes[fn] = shape
    return shape


def _make_shape(fn):
    try:
        return _Shape(inspect.signature(fn))
    except (ValueError, TypeError):
        return _UNKNOWN


def assert_can_bind(fn, args: tuple, kwargs: dict) -> None:
    """Raise ``TypeError`` naming ``fn`` when ``fn(*args, **kwargs)`` cannot bind."""
    shape = _shape_of(fn)
    if shape is _UNKNOWN:
        return
    if shape.max_positional is not None:
        n = len(args)
        if not kwargs:
            if shape.min_positional <= n <= shape.max_positional:
                return
        elif shape.names is not None and n <= shape.max_positional:
            # Every keyword must name a parameter not already given positionally, and the
            # required ones must all be given one way or the other.
            names = shape.names
            if all(k in names for k in kwargs) and n + len(kwargs) >= shape.min_positional:
                params = list(shape.signature.parameters)
                given = set(params[:n])
                if not any(k in given for k in kwargs) and all(
                    p in kwargs for p in params[n : shape.min_positional]
                ):
                    return
    try:
        shape.signature.bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(
            f"{fully_qualified_name(fn)} is not callable with the given arguments; {error}"
        ) from None
