"""``PickleFileStore``: a picklable value in a file."""

from __future__ import annotations

import pickle

from uberjob.stores._file_store import FileStore

__all__ = ["PickleFileStore"]


class PickleFileStore(FileStore):
    """A picklable value in a file.

    :param path: The path of the file.
    """

    def read(self):
        """Read the pickled value from the file."""
        with self._reading("rb") as file:
            return pickle.load(file)

    def write(self, value) -> None:
        """Write a picklable value to the file."""
        with self._writing("wb") as file:
            pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
