"""``MountedStore``: a store on remote storage, read and written through a local copy."""

from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from uberjob._value_store import ValueStore
from uberjob.stores._repr import store_repr

__all__ = ["MountedStore"]


@contextmanager
def _local_path() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as directory:
        yield os.path.join(directory, "temp")


class MountedStore(ValueStore, ABC):
    """An abstract store that behaves like a mounted storage device.

    A value is written by the store that ``create_store(local_path)`` makes (e.g. a
    :class:`~uberjob.stores.JsonFileStore`) to a temporary local file, then uploaded with
    :meth:`copy_from_local`; it is read by downloading with :meth:`copy_to_local` first.
    Subclasses also implement ``get_modified_time``.

    :param create_store: Creates the underlying store for a local path.
    """

    def __init__(self, create_store: Callable[[str], ValueStore]):
        if not callable(create_store):
            raise TypeError(
                "create_store must be callable (local path -> store); "
                f"got {type(create_store).__name__} ({create_store!r:.80})."
            )
        self.create_store = create_store

    @abstractmethod
    def copy_to_local(self, local_path: str) -> None:
        """Copy the stored value to ``local_path`` (download)."""

    @abstractmethod
    def copy_from_local(self, local_path: str) -> None:
        """Copy the value at ``local_path`` into the store (upload)."""

    def read(self):
        """Download the value to a temporary file and read it with the underlying store."""
        with _local_path() as local_path:
            self.copy_to_local(local_path)
            return self.create_store(local_path).read()

    def write(self, value) -> None:
        """Write the value to a temporary file with the underlying store, then upload it."""
        with _local_path() as local_path:
            self.create_store(local_path).write(value)
            self.copy_from_local(local_path)

    def __repr__(self) -> str:
        return store_repr(self, self.create_store)
