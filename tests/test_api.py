"""The public API: every name uberjob 1.0 offered is here, and __all__ lists exactly them."""

from __future__ import annotations

import importlib

import pytest

import uberjob

ONE_ZERO_NAMES = {
    "uberjob": {"Plan", "Registry", "ValueStore", "run", "render", "CallError",
                "NotTransformedError", "__version__", "graph", "progress", "stores"},
    "uberjob.graph": {"Node", "Call", "Literal", "Dependency", "PositionalArg", "KeywordArg",
                      "get_argument_nodes", "get_scope", "Graph"},
    "uberjob.progress": {"Progress", "ProgressObserver", "null_progress", "console_progress",
                         "html_progress", "ipython_progress", "default_progress",
                         "composite_progress"},
    "uberjob.stores": {"FileStore", "JsonFileStore", "PickleFileStore", "TextFileStore",
                       "BinaryFileStore", "TouchFileStore", "PathSource", "LiteralSource",
                       "ModifiedTimeSource", "MountedStore", "get_modified_time",
                       "staged_write", "staged_write_path"},
}  # fmt: skip


@pytest.mark.parametrize("module_name", sorted(ONE_ZERO_NAMES))
def test_every_1_0_name_is_there(module_name):
    module = importlib.import_module(module_name)
    missing = {name for name in ONE_ZERO_NAMES[module_name] if not hasattr(module, name)}
    assert not missing


@pytest.mark.parametrize("module_name", sorted(ONE_ZERO_NAMES))
def test_all_is_sorted_and_complete(module_name):
    module = importlib.import_module(module_name)
    assert list(module.__all__) == sorted(module.__all__)
    assert ONE_ZERO_NAMES[module_name] <= set(module.__all__)
    for name in module.__all__:
        assert hasattr(module, name), name


def test_top_level_public_names_are_all_listed():
    public = {name for name in vars(uberjob) if not name.startswith("_")}
    submodules = {"graph", "progress", "stores"}
    assert public - submodules <= set(uberjob.__all__)


def test_version():
    assert uberjob.__version__ == "2.0.0.dev0"


def test_importing_uberjob_imports_no_widget_or_notebook_library():
    import subprocess
    import sys

    code = (
        "import sys, uberjob; "
        "print(sorted(m for m in ('anywidget', 'IPython', 'ipywidgets', 'rich', 'dask') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("workers", [1, 3])
def test_a_run_without_progress_counts_only_the_calls_planned(workers):
    """Gathers made for a structured output are not calls the user planned: the handle's count
    leaves them out with progress off too, as every view does (it said 9 / 6 here)."""
    plan = uberjob.Plan()
    calls = [plan.call(int, k) for k in range(6)]
    uberjob.run(plan, output=[calls, (calls[0], calls[1])], max_workers=workers, progress=False)
    handle = uberjob.last_run()
    assert (handle.completed, handle.total) == (6, 6)

    def fails_on_three(k):
        if k == 3:
            raise ValueError(k)
        return k

    plan = uberjob.Plan()
    calls = [plan.call(fails_on_three, k) for k in range(6)]
    with pytest.raises(uberjob.CallError):
        uberjob.run(
            plan,
            output=[calls[:2], calls],
            max_workers=workers,
            max_errors=None,
            progress=False,
        )
    handle = uberjob.last_run()
    assert (handle.completed, handle.total, handle.failure_count) == (5, 6, 1)
