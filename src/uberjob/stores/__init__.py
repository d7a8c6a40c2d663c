"""Value stores: where a :class:`~uberjob.Registry` keeps values between runs.

Files (:class:`FileStore` and its JSON, pickle, text, binary and touch-file kinds, all written
atomically through :func:`staged_write`), sources that are only read (:class:`PathSource`,
:class:`LiteralSource`, :class:`ModifiedTimeSource`), and :class:`MountedStore` for remote
storage reached through a local copy.
"""

from uberjob.stores._binary_file_store import BinaryFileStore
from uberjob.stores._file_store import (
    FileStore,
    get_modified_time,
    staged_write,
    staged_write_path,
)
from uberjob.stores._json_file_store import JsonFileStore
from uberjob.stores._literal_source import LiteralSource
from uberjob.stores._modified_time_source import ModifiedTimeSource
from uberjob.stores._mounted_store import MountedStore
from uberjob.stores._path_source import PathSource
from uberjob.stores._pickle_file_store import PickleFileStore
from uberjob.stores._text_file_store import TextFileStore
from uberjob.stores._touch_file_store import TouchFileStore

__all__ = [
    "BinaryFileStore",
    "FileStore",
    "JsonFileStore",
    "LiteralSource",
    "ModifiedTimeSource",
    "MountedStore",
    "PathSource",
    "PickleFileStore",
    "TextFileStore",
    "TouchFileStore",
    "get_modified_time",
    "staged_write",
    "staged_write_path",
]
