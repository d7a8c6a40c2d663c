"""``TouchFileStore``: an empty file whose modified time is what matters."""

from __future__ import annotations

from uberjob.stores._file_store import FileStore

__all__ = ["TouchFileStore"]


class TouchFileStore(FileStore):
    """A touch file: it stores ``None`` as an empty file.

    Useful for side effects, and for a persistent ``fresh_time`` (lesson 8).

    :param path: The path of the file.
    """

    def read(self) -> None:
        """Return ``None`` after checking that the file exists and is empty."""
        with self._reading("rb") as file:
            if file.read(1):
                raise OSError(f"The path {self.path!r} exists but is not empty.")
        return None

    def write(self, value: None) -> None:
        """(Re)create the empty file; ``value`` must be ``None``."""
        if value is not None:
            raise TypeError(f"The value must be None; got {type(value).__name__}.")
        with self._writing("wb"):
            pass
