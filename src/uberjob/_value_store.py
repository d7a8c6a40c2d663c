"""``ValueStore``: where a registry keeps a node's value between runs."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from typing import Any

__all__ = ["ValueStore"]


class ValueStore(ABC):
    """The abstract base class for all value stores.

    A store holds one value. :meth:`get_modified_time` decides staleness: a stored value older
    than any value it was computed from (or than ``fresh_time``) is recomputed and written.
    """

    @abstractmethod
    def read(self) -> Any:
        """Read the value from the store."""

    @abstractmethod
    def write(self, value: Any) -> None:
        """Write a value to the store."""

    @abstractmethod
    def get_modified_time(self) -> dt.datetime | None:
        """The modified time of the stored value, or ``None`` when there is no stored value."""
