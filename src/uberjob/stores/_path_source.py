"""``PathSource``: a file that something outside the plan (or a dependency) produces."""

from __future__ import annotations

import datetime as dt
import os

from uberjob._value_store import ValueStore
from uberjob.stores._file_store import get_modified_time
from uberjob.stores._repr import check_path, store_repr

__all__ = ["PathSource"]


class PathSource(ValueStore):
    """A source whose value is its path; its modified time is the file's.

    :param path: The path.
    :param required: When true, ``get_modified_time`` raises if the path is missing (rather than
        returning ``None``); when false, ``read`` raises instead.
    """

    def __init__(self, path: str | os.PathLike, *, required: bool = True):
        check_path(path)
        self.path = path
        self.required = required

    def read(self) -> str | os.PathLike:
        """Return the path (checking first that it exists when ``required`` is false)."""
        if not self.required:
            self._modified_time(required=True)
        return self.path

    def write(self, value):
        """A path source cannot be written."""
        raise NotImplementedError(f"{self!r} is a source and cannot be written.")

    def get_modified_time(self) -> dt.datetime | None:
        """The file's modified time; a missing file raises when ``required``, else ``None``."""
        return self._modified_time(required=self.required)

    def _modified_time(self, *, required: bool) -> dt.datetime | None:
        modified_time = get_modified_time(self.path)
        if modified_time is None and required:
            raise OSError(f"Failed to get the modified time of the required source path "
                          f"{self.path!r}.")  # fmt: skip
        return modified_time

    def __repr__(self) -> str:
        if self.required:
            return store_repr(self, self.path)
        return store_repr(self, self.path, required=self.required)
