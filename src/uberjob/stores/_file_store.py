"""``FileStore`` and atomic, staged file writes.

A write never leaves a half-written file where a reader would find it. :func:`staged_write`
writes into an anonymous file in the target's directory (Linux ``O_TMPFILE``), which the kernel
discards if the process dies, and only gives it a name when the write has succeeded: it is
linked as ``<path>.STAGING`` (``linkat`` with ``AT_EMPTY_PATH``, else through ``/proc/self/fd``)
and atomically renamed over ``<path>``. Where anonymous files are not
supported, the data is written to ``<path>.STAGING`` directly, as uberjob 1.0 did; a failed write
removes it (only a killed process can leave it behind, and the next write replaces it).

Every atomic write of the package goes through here (the stores and the HTML report), with one
policy: the staged file is fsynced before it is renamed over the target (see :func:`_sync`).
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import pathlib
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO

from uberjob._value_store import ValueStore
from uberjob.stores._repr import check_path, describe_failure, store_repr

__all__ = ["FileStore", "get_modified_time", "staged_write", "staged_write_path"]

STAGING_SUFFIX = ".STAGING"
_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000
_anonymous_files = {"enabled": bool(_O_TMPFILE) and sys.platform == "linux"}


def get_modified_time(path: str | os.PathLike) -> dt.datetime | None:
    """The modified time of ``path`` (naive, local time), or ``None`` if it is missing or
    inaccessible."""
    try:
        return dt.datetime.fromtimestamp(os.stat(path).st_mtime)
    except (OSError, ValueError):
        return None


def _staging_path(path):
    staging = f"{os.fspath(path)}{STAGING_SUFFIX}"
    return pathlib.Path(staging) if isinstance(path, pathlib.PurePath) else staging


def _remove_quietly(path) -> None:
    with suppress(OSError):
        os.remove(path)


def _sync(fd: int) -> None:
    """Put the staged file's data on disk before it is renamed over the target.

    A rename is atomic for other processes, but not across a crash: a filesystem may commit the
    rename (metadata) before the file's data (ext4 with delayed allocation, XFS, btrfs), so after
    a power loss or a kernel crash the target could name an empty or half-written file. Syncing
    first means the target holds the old value or the new one, whatever happens. It costs a
    disk flush per write: stores are written once per run, the HTML report about once a second.
    """
    os.fsync(fd)


def _sync_path(path) -> None:
    """:func:`_sync` what a caller wrote and closed at ``path`` (``staged_write_path``)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # nothing there (or unreadable): the rename that follows says so
        return
    try:
        _sync(fd)
    except OSError:  # a system that cannot fsync a read-only descriptor (Windows)
        pass
    finally:
        os.close(fd)


@contextmanager
def staged_write_path(path: str | os.PathLike) -> Iterator[str | os.PathLike]:
    """Yield a staging path (``<path>.STAGING``) to write to; on success it is synced to disk
    and atomically renamed to ``path``, on an exception it is deleted."""
    staging_path = _staging_path(path)
    try:
        yield staging_path
    except BaseException:
        _remove_quietly(staging_path)
        raise
    _sync_path(staging_path)
    os.replace(staging_path, path)


def _open_anonymous(path) -> int | None:
    """A file descriptor of an unnamed file in ``path``'s directory, or None if unsupported."""
    if not _anonymous_files["enabled"]:
        return None
    directory = os.path.dirname(os.fspath(path)) or "."
    try:
        return os.open(directory, _O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o666)
    except OSError:  # the filesystem has no O_TMPFILE, or the directory is missing
        return None


def _linkat_empty_path():
    """libc's ``linkat``, for linking an open file by descriptor (``AT_EMPTY_PATH``)."""
    try:
        import ctypes

        linkat = ctypes.CDLL(None, use_errno=True).linkat
    except (ImportError, OSError, AttributeError):
        return None
    linkat.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int)
    return linkat


_linkat = []  # filled on first use: [linkat or None]


def _link_anonymous(fd: int, target: str) -> None:
    """Give the anonymous file ``fd`` the name ``target``.

    :raises FileExistsError: when ``target`` exists; another ``OSError`` when this system
        cannot link an open file.
    """
    if not _linkat:
        _linkat.append(_linkat_empty_path())
    linkat = _linkat[0]
    if linkat is not None:
        if linkat(fd, b"", _AT_FDCWD, os.fsencode(target), _AT_EMPTY_PATH) == 0:
            return
        code = _get_errno()
        if code == errno.EEXIST:
            raise FileExistsError(code, os.strerror(code), target)
    # The unprivileged way, for kernels that refuse AT_EMPTY_PATH to non-root users.
    os.link(f"/proc/self/fd/{fd}", target, follow_symlinks=True)


def _get_errno() -> int:
    import ctypes

    return ctypes.get_errno()


def _publish_anonymous(fd: int, path) -> None:
    """Give the anonymous file ``fd`` the name ``path``, atomically replacing what was there."""
    staging_path = os.fspath(_staging_path(path))
    try:
        try:
            _link_anonymous(fd, staging_path)
        except FileExistsError:  # left by a process killed between the link and the rename
            _remove_quietly(staging_path)
            _link_anonymous(fd, staging_path)
    except OSError:  # this system cannot link an open file: copy it to a named staging file
        _anonymous_files["enabled"] = False  # and don't try again
        with open(staging_path, "wb") as staging:
            os.lseek(fd, 0, os.SEEK_SET)
            while chunk := os.read(fd, 1 << 20):
                staging.write(chunk)
            staging.flush()
            _sync(staging.fileno())
    try:
        os.replace(staging_path, path)
    except BaseException:
        _remove_quietly(staging_path)
        raise


@contextmanager
def staged_write(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Yield a file object to write to; on success its content atomically replaces ``path``,
    on an exception (or if the process dies) ``path`` keeps its previous content.

    :param mode: an ``open`` mode that includes ``"w"``; ``kwargs`` go to ``open``.
    """
    if "w" not in mode:
        raise ValueError(f"The mode must include 'w'; got {mode!r}.")
    fd = _open_anonymous(path)
    if fd is None:
        staging_path = _staging_path(path)
        try:
            with open(staging_path, mode, **kwargs) as file:
                yield file
                file.flush()
                _sync(file.fileno())
            os.replace(staging_path, path)
        except BaseException:
            _remove_quietly(staging_path)
            raise
        return
    try:
        file = open(fd, mode, **kwargs)  # noqa: SIM115 - closed by the with block below
    except BaseException:
        os.close(fd)
        raise
    with file:
        yield file
        file.flush()
        _sync(file.fileno())
        _publish_anonymous(file.fileno(), path)


class FileStore(ValueStore, ABC):
    """The abstract base class for storing a value in a file.

    :param path: The path of the file.
    """

    def __init__(self, path: str | os.PathLike):
        check_path(path)
        self.path = path

    @abstractmethod
    def read(self):
        """Read the value from the file."""

    @abstractmethod
    def write(self, value) -> None:
        """Write a value to the file."""

    def get_modified_time(self) -> dt.datetime | None:
        """The file's modified time, or ``None`` if it is missing or inaccessible."""
        return get_modified_time(self.path)

    def __repr__(self) -> str:
        return store_repr(self, self.path)

    @contextmanager
    def _reading(self, mode: str = "r", **kwargs) -> Iterator[IO]:
        """Open the file for reading; any failure names this store (and so the path)."""
        try:
            with open(self.path, mode, **kwargs) as file:
                yield file
        except Exception as error:
            describe_failure(error, "reading", self)
            raise

    @contextmanager
    def _writing(self, mode: str = "w", **kwargs) -> Iterator[IO]:
        """A staged write of the file; any failure names this store (and so the path)."""
        try:
            with staged_write(self.path, mode, **kwargs) as file:
                yield file
        except Exception as error:
            describe_failure(error, "writing", self)
            raise
