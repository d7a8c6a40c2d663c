"""Value stores: reprs, round trips, atomic staged writes, corrupt files, sources."""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import pickle
import signal
import subprocess
import sys
import textwrap

import pytest

from uberjob import ValueStore
from uberjob.stores import (
    BinaryFileStore,
    FileStore,
    JsonFileStore,
    LiteralSource,
    ModifiedTimeSource,
    MountedStore,
    PathSource,
    PickleFileStore,
    TextFileStore,
    TouchFileStore,
    _file_store,
    get_modified_time,
    staged_write,
    staged_write_path,
)

T0 = dt.datetime(2020, 1, 2, 3, 4, 5)


def test_reprs_are_1_0s():
    assert repr(JsonFileStore("x.json")) == "JsonFileStore('x.json')"
    assert repr(JsonFileStore("x.json", encoding="utf-8")) == (
        "JsonFileStore('x.json', encoding='utf-8')"
    )
    assert repr(PickleFileStore("a.pkl")) == "PickleFileStore('a.pkl')"
    assert repr(TextFileStore("a.txt")) == "TextFileStore('a.txt')"
    assert repr(BinaryFileStore("a.bin")) == "BinaryFileStore('a.bin')"
    assert repr(TouchFileStore("_FRESH")) == "TouchFileStore('_FRESH')"
    assert repr(PathSource("in.csv")) == "PathSource('in.csv')"
    assert repr(PathSource("in.csv", required=False)) == "PathSource('in.csv', required=False)"
    assert repr(LiteralSource(5, T0)) == "LiteralSource(5, '2020-01-02T03:04:05')"
    assert repr(LiteralSource([1], None)) == "LiteralSource([1], None)"
    assert repr(ModifiedTimeSource(T0)) == "ModifiedTimeSource('2020-01-02T03:04:05')"
    assert repr(ModifiedTimeSource(None)) == "ModifiedTimeSource(None)"


def test_abstract_classes():
    with pytest.raises(TypeError):
        ValueStore()
    with pytest.raises(TypeError):
        FileStore("x")
    with pytest.raises(TypeError):
        MountedStore(JsonFileStore)
    assert issubclass(FileStore, ValueStore)
    assert issubclass(MountedStore, ValueStore)


@pytest.mark.parametrize(
    ("store_type", "value", "read_back"),
    [
        (JsonFileStore, {"a": (1, 2)}, {"a": [1, 2]}),
        (PickleFileStore, {"a": (1, 2)}, {"a": (1, 2)}),
        (TextFileStore, "héllo\n", "héllo\n"),
        (BinaryFileStore, b"\x00\xff", b"\x00\xff"),
    ],
)
@pytest.mark.parametrize("as_path", [False, True])
def test_round_trip(tmp_path, store_type, value, read_back, as_path):
    path = tmp_path / "value"
    store = store_type(path if as_path else str(path))
    assert store.get_modified_time() is None
    store.write(value)
    assert store.read() == read_back
    assert isinstance(store.get_modified_time(), dt.datetime)
    assert os.listdir(tmp_path) == ["value"]


def test_modified_time_is_naive_local_time(tmp_path):
    path = tmp_path / "f"
    path.write_text("1")
    os.utime(path, (T0.timestamp(), T0.timestamp()))
    assert get_modified_time(path) == T0
    assert get_modified_time(str(path)) == T0
    assert get_modified_time(tmp_path / "missing") is None
    assert JsonFileStore(path).get_modified_time() == T0


def test_json_is_indented_and_encoded(tmp_path):
    store = JsonFileStore(tmp_path / "x.json", encoding="utf-16")
    store.write({"k": "é"})
    assert json.loads((tmp_path / "x.json").read_text(encoding="utf-16")) == {"k": "é"}
    assert "\n    " in (tmp_path / "x.json").read_text(encoding="utf-16")


def test_touch_file_store(tmp_path):
    store = TouchFileStore(tmp_path / "_FRESH")
    with pytest.raises(FileNotFoundError):
        store.read()
    store.write(None)
    assert store.read() is None
    assert (tmp_path / "_FRESH").read_bytes() == b""
    with pytest.raises(TypeError):
        store.write(1)
    (tmp_path / "_FRESH").write_text("x")
    with pytest.raises(OSError, match="not empty"):
        store.read()


def test_sources(tmp_path):
    path = tmp_path / "in.csv"
    required = PathSource(path)
    optional = PathSource(path, required=False)
    with pytest.raises(OSError, match="required source path"):
        required.get_modified_time()
    assert optional.get_modified_time() is None
    with pytest.raises(OSError):
        optional.read()
    assert required.read() == path
    path.write_text("a,b")
    assert optional.read() == path
    assert required.get_modified_time() is not None
    for source in (required, LiteralSource(1, T0), ModifiedTimeSource(T0)):
        with pytest.raises(NotImplementedError):
            source.write(1)
    assert LiteralSource(1, T0).read() == 1
    assert LiteralSource(1, T0).get_modified_time() == T0
    assert ModifiedTimeSource(T0).read() == T0
    assert ModifiedTimeSource(T0).get_modified_time() == T0
    with pytest.raises(TypeError, match="modified_time"):
        ModifiedTimeSource("2020-01-01")


class DirectoryMountedStore(MountedStore):
    """A "remote" store that is a directory (what a cloud bucket would be)."""

    def __init__(self, create_store, remote_path):
        super().__init__(create_store)
        self.remote_path = remote_path

    def copy_to_local(self, local_path):
        pathlib.Path(local_path).write_bytes(pathlib.Path(self.remote_path).read_bytes())

    def copy_from_local(self, local_path):
        pathlib.Path(self.remote_path).write_bytes(pathlib.Path(local_path).read_bytes())

    def get_modified_time(self):
        return get_modified_time(self.remote_path)


def test_mounted_store(tmp_path):
    store = DirectoryMountedStore(JsonFileStore, tmp_path / "remote.json")
    assert store.get_modified_time() is None
    store.write((1, 2))
    assert store.read() == [1, 2]
    assert json.loads((tmp_path / "remote.json").read_text()) == [1, 2]
    assert repr(store).startswith("DirectoryMountedStore(<class ")


# -- staged writes ---------------------------------------------------------------------------


@pytest.fixture(params=["anonymous", "named"])
def staging(request, monkeypatch):
    """Both ways of staging: an O_TMPFILE file (where supported) and a named .STAGING file."""
    if request.param == "named":
        monkeypatch.setitem(_file_store._anonymous_files, "enabled", False)
    return request.param


def test_staged_write_replaces_atomically(tmp_path, staging):
    path = tmp_path / "out.txt"
    with staged_write(path) as file:
        file.write("one")
        assert not path.exists()  # nothing visible until the write succeeds
    assert path.read_text() == "one"
    with staged_write(str(path), "w", encoding="utf-8") as file:
        file.write("two")
    assert path.read_text() == "two"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_a_failed_write_keeps_the_previous_value(tmp_path, staging):
    store = PickleFileStore(tmp_path / "v.pkl")
    store.write([1, 2, 3])

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle this")

    with pytest.raises(RuntimeError, match="cannot pickle") as info:
        store.write([1, Unpicklable()])
    assert store.read() == [1, 2, 3]
    assert os.listdir(tmp_path) == ["v.pkl"]
    assert any("PickleFileStore(" in note and "v.pkl" in note for note in info.value.__notes__)

    with pytest.raises(TypeError):
        JsonFileStore(tmp_path / "v.json").write({1, 2})  # a set is not JSON
    assert os.listdir(tmp_path) == ["v.pkl"]


def test_a_leftover_staging_file_is_replaced(tmp_path, staging):
    (tmp_path / "v.json.STAGING").write_text("left by a killed process")
    store = JsonFileStore(tmp_path / "v.json")
    store.write([1])
    assert store.read() == [1]
    assert os.listdir(tmp_path) == ["v.json"]


def test_a_staged_write_is_on_disk_before_it_is_renamed(tmp_path, staging, syncs_and_renames):
    events = syncs_and_renames
    with staged_write(tmp_path / "out.bin", "wb") as file:
        file.write(b"12345")
    assert events == [("fsync", 5), ("replace", "out.bin")]
    events.clear()
    with staged_write_path(tmp_path / "path.bin") as staging_path:
        staging_path.write_bytes(b"123")
    assert events == [("fsync", 3), ("replace", "path.bin")]


def test_staged_write_rejects_read_modes(tmp_path):
    with pytest.raises(ValueError, match="'w'"), staged_write(tmp_path / "x", "r"):
        pass


def test_staged_write_path(tmp_path):
    path = tmp_path / "out.bin"
    with staged_write_path(path) as staging_path:
        assert staging_path == tmp_path / "out.bin.STAGING"
        assert isinstance(staging_path, pathlib.Path)
        staging_path.write_bytes(b"1")
    assert path.read_bytes() == b"1"

    def fail_half_way():
        with staged_write_path(str(path)) as staging_path:
            assert staging_path == f"{path}.STAGING"
            pathlib.Path(staging_path).write_bytes(b"2")
            raise KeyError("failed")

    with pytest.raises(KeyError):
        fail_half_way()
    assert path.read_bytes() == b"1"
    assert os.listdir(tmp_path) == ["out.bin"]


KILLED_WRITER = textwrap.dedent(
    """
    import os, sys
    from uberjob.stores import BinaryFileStore, _file_store
    if sys.argv[2] == "named":
        _file_store._anonymous_files["enabled"] = False


    from uberjob.stores import staged_write
    with staged_write(sys.argv[1], "wb") as file:
        file.write(b"new" * 100_000)
        file.flush()
        print("writing", flush=True)
        sys.stdin.readline()  # killed here, in the middle of the write
        file.write(b"more")
    """
)


def test_sigkill_mid_write_keeps_the_previous_value(tmp_path):
    path = tmp_path / "value.bin"
    BinaryFileStore(path).write(b"old")
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path), "anonymous"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline() == "writing\n"
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        process.kill()
        process.stdin.close()
        process.stdout.close()
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["value.bin"]  # no staging file left behind


# -- corrupt files -----------------------------------------------------------------------------


def test_corrupt_files_name_the_store_and_path(tmp_path):
    (tmp_path / "bad.json").write_text('{"a": ')
    (tmp_path / "bad.pkl").write_bytes(pickle.dumps(list(range(100)))[:20])
    for store, error_type in [
        (JsonFileStore(tmp_path / "bad.json"), json.JSONDecodeError),
        (PickleFileStore(tmp_path / "bad.pkl"), (EOFError, pickle.UnpicklingError)),
    ]:
        with pytest.raises(error_type) as info:
            store.read()
        notes = "\n".join(info.value.__notes__)
        assert type(store).__name__ in notes
        assert str(store.path) in notes
