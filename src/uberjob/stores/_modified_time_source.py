"""``ModifiedTimeSource``: a modified time, e.g. to rebuild something every day."""

from __future__ import annotations

import datetime as dt

from uberjob._value_store import ValueStore
from uberjob.stores._repr import store_repr

__all__ = ["ModifiedTimeSource"]


class ModifiedTimeSource(ValueStore):
    """A source whose value and modified time are the given time.

    Its dependents are rebuilt when they are older than it, whether or not their other inputs
    changed (e.g. ``ModifiedTimeSource(start_of_today)``).

    :param modified_time: The modified time.
    """

    def __init__(self, modified_time: dt.datetime | None):
        if modified_time is not None and not isinstance(modified_time, dt.datetime):
            raise TypeError(
                f"modified_time must be a datetime or None; got {type(modified_time).__name__}."
            )
        self.modified_time = modified_time

    def read(self) -> dt.datetime | None:
        """The modified time."""
        return self.modified_time

    def write(self, value):
        """A modified-time source cannot be written."""
        raise NotImplementedError(f"{self!r} is a source and cannot be written.")

    def get_modified_time(self) -> dt.datetime | None:
        """The modified time."""
        return self.modified_time

    def __repr__(self) -> str:
        return store_repr(self, self.modified_time.isoformat() if self.modified_time else None)
