"""``LiteralSource``: a value and modified time given up front."""

from __future__ import annotations

import datetime as dt

from uberjob._value_store import ValueStore
from uberjob.stores._repr import store_repr

__all__ = ["LiteralSource"]


class LiteralSource(ValueStore):
    """A source that returns the value and modified time it was constructed with.

    :param value: The value.
    :param modified_time: The modified time (``None``: there is no value yet).
    """

    def __init__(self, value, modified_time: dt.datetime | None):
        if modified_time is not None and not isinstance(modified_time, dt.datetime):
            raise TypeError(
                f"modified_time must be a datetime or None; got {type(modified_time).__name__} "
                f"({modified_time!r:.80})."
            )
        self.value = value
        self.modified_time = modified_time

    def read(self):
        """The value."""
        return self.value

    def write(self, value):
        """A literal source cannot be written."""
        raise NotImplementedError(f"{self!r} is a source and cannot be written.")

    def get_modified_time(self) -> dt.datetime | None:
        """The modified time."""
        return self.modified_time

    def __repr__(self) -> str:
        time = self.modified_time.isoformat() if self.modified_time else None
        return store_repr(self, self.value, time)
