"""``BinaryFileStore``: a ``bytes`` value in a file."""

from __future__ import annotations

from uberjob.stores._file_store import FileStore

__all__ = ["BinaryFileStore"]


class BinaryFileStore(FileStore):
    """A ``bytes`` value in a file.

    :param path: The path of the file.
    """

    def read(self) -> bytes:
        """Read the bytes from the file."""
        with self._reading("rb") as file:
            return file.read()

    def write(self, value: bytes) -> None:
        """Write the bytes to the file."""
        with self._writing("wb") as file:
            file.write(value)
