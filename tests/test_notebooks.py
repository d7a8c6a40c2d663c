"""Every notebook in notebooks/ runs top to bottom in a real kernel (nbclient) without errors.

Cells may carry ``metadata.uberjob``: ``expect`` (the exact ``text/plain`` of the cell's value, the
lesson's documented output) and ``contains`` (texts that must appear in the cell's outputs). Cells
tagged ``raises-exception`` are meant to fail, and must.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.rglob("*.ipynb"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def output_text(output) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        return output.get("text", "")
    if kind == "error":
        return ANSI.sub("", "\n".join(output.get("traceback", [])))
    return output.get("data", {}).get("text/plain", "")


def value_text(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "execute_result":
            return output["data"].get("text/plain")
    return None


def test_there_are_a_tour_and_eight_lessons():
    names = [path.relative_to(NOTEBOOKS).as_posix() for path in PATHS]
    assert "tour.ipynb" in names
    assert len([n for n in names if n.startswith("lessons/lesson")]) == 8


def test_notebooks_are_saved_without_outputs():
    for path in PATHS:
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [], f"{path.name}: commit notebooks without outputs"
                assert cell.execution_count is None


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs_and_shows_its_documented_outputs(path, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(path, work / path.name)
    notebook = nbformat.read(work / path.name, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=120,
        store_widget_state=True,
        resources={"metadata": {"path": str(work)}},
    )
    client.execute()  # raises CellExecutionError on any error not tagged raises-exception

    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        where = f"{path.name} cell {index}"
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        if "raises-exception" in cell.metadata.get("tags", []):
            assert errors, f"{where} is tagged raises-exception but did not raise"
        expected = cell.metadata.get("uberjob", {})
        if "expect" in expected:
            assert value_text(cell) == expected["expect"], where
        text = "\n".join(output_text(output) for output in cell.outputs)
        for part in expected.get("contains", []):
            assert part in text, f"{where}: {part!r} not in\n{text}"

    # Every widget shown is in the saved widget state, so the notebook reopens with its pictures.
    shown = {
        output["data"][WIDGET_VIEW]["model_id"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if WIDGET_VIEW in output.get("data", {})
    }
    if shown:
        state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
        assert shown <= set(state)
