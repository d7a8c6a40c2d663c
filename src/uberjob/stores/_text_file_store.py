"""``TextFileStore``: a ``str`` value in a file."""

from __future__ import annotations

import os

from uberjob.stores._file_store import FileStore
from uberjob.stores._repr import store_repr

__all__ = ["TextFileStore"]


class TextFileStore(FileStore):
    """A ``str`` value in a file.

    :param path: The path of the file.
    :param encoding: The encoding of the file (``open``'s default when ``None``).
    """

    def __init__(self, path: str | os.PathLike, *, encoding: str | None = None):
        super().__init__(path)
        self.encoding = encoding

    def read(self) -> str:
        """Read the text from the file."""
        with self._reading(encoding=self.encoding) as file:
            return file.read()

    def write(self, value: str) -> None:
        """Write the text to the file."""
        with self._writing(encoding=self.encoding) as file:
            file.write(value)

    def __repr__(self) -> str:
        if self.encoding is None:
            return store_repr(self, self.path)
        return store_repr(self, self.path, encoding=self.encoding)
