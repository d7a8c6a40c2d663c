"""``JsonFileStore``: a JSON-serializable value in a file."""

from __future__ import annotations

import json
import os

from uberjob.stores._file_store import FileStore
from uberjob.stores._repr import store_repr

__all__ = ["JsonFileStore"]


class JsonFileStore(FileStore):
    """A JSON-serializable value in a file (tuples read back as lists).

    :param path: The path of the file.
    :param encoding: The encoding of the file (``open``'s default when ``None``).
    """

    def __init__(self, path: str | os.PathLike, *, encoding: str | None = None):
        super().__init__(path)
        self.encoding = encoding

    def read(self):
        """Read the JSON value from the file."""
        with self._reading(encoding=self.encoding) as file:
            return json.load(file)

    def write(self, value) -> None:
        """Write a JSON-serializable value to the file."""
        with self._writing(encoding=self.encoding) as file:
            json.dump(value, file, indent=4)

    def __repr__(self) -> str:
        if self.encoding is None:
            return store_repr(self, self.path)
        return store_repr(self, self.path, encoding=self.encoding)
