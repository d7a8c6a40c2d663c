"""`bash scripts/lab.sh` as a newcomer starts it: the tour runs, no news pop-up covers the
widgets, the tour leaves no files in notebooks/, and the server's log has no error in it.

Unlike the other browser tests (a throw-away server on a temporary folder), this one starts the
README's own command on this repository, .venv and package.json included: that is where
JupyterLab's Node checks once broke (Node read the repo's package.json and took JupyterLab's
bundled .js files in .venv for ES modules).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from jlab import ARTIFACTS, TOKEN, Lab, _die_with_parent, _free_port, stop_lab, wait_until_serving
from nbdriver import KERNEL_READY_JS, kernel_status, run_all
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
TOUR = "notebooks/tour.ipynb"
#: What an error looks like in the server's log: tornado's "[E ..." lines, Python tracebacks,
#: Node's errors (ReferenceError, ...) and JupyterLab's failed Node checks.
ERROR_LINE = re.compile(r"^\[E |Traceback|\w*Error\b|Fail to get|Could not determine", re.M)


def _settings(home: Path) -> dict[str, str]:
    """Private Jupyter dirs for the session. Only what the test needs is set there: all cells
    in the DOM, and no autosave (the tour in the repo must stay as committed). The news pop-up
    is left to lab.sh."""
    dirs = {name: home / name for name in ("config", "settings", "workspaces", "runtime")}
    for path in dirs.values():
        path.mkdir(parents=True)
    plugins = {
        "notebook-extension/tracker": {"windowingMode": "none"},
        "docmanager-extension/plugin": {"autosave": False},
    }
    for plugin, values in plugins.items():
        path = dirs["settings"] / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return {
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTER_PLATFORM_DIRS": "1",
    }


def _start_lab_sh(home: Path, timeout: float = 120.0) -> Lab:
    port = _free_port()
    # UBERJOB_EXTRAS=test: the venv test.sh set up already has the lab extras and more, so
    # setup.sh's stamp lets lab.sh skip pip.
    env = {**os.environ, **_settings(home), "UBERJOB_EXTRAS": "test"}
    log = home.with_name(home.name + ".log")
    cmd = [
        "bash", "scripts/lab.sh", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp, to run cells and wait
    ]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent,
        )  # fmt: skip
    lab = Lab(proc, f"http://127.0.0.1:{port}", ROOT, home, log)
    return wait_until_serving(lab, timeout, "lab.sh")


def _untracked(folder: Path) -> set[str]:
    """Files git would show as new (ignored ones, like JupyterLab's checkpoints, are not)."""
    out = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", str(folder)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return set(out.stdout.splitlines())


@pytest.mark.timeout(420)
def test_lab_sh_runs_the_tour_with_a_clean_log_and_leaves_no_files(chromium):
    import nbformat

    cells = len(nbformat.read(ROOT / TOUR, as_version=4).cells)
    before = _untracked(NOTEBOOKS)
    checkpoints = NOTEBOOKS / ".ipynb_checkpoints"  # JupyterLab's, made when a notebook opens
    had_checkpoints = checkpoints.exists()
    home = Path(tempfile.mkdtemp(prefix="uj-lab-sh-"))
    lab = _start_lab_sh(home)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(lab.url(f"lab/tree/{TOUR}") + "&reset")
        notebook = page.locator(".jp-NotebookPanel").first
        expect(notebook.locator(".jp-Cell")).to_have_count(cells, timeout=60_000)
        expect(kernel_status(page)).to_be_visible(timeout=60_000)
        page.wait_for_function(KERNEL_READY_JS, timeout=60_000)
        run_all(page)
        expect(page.locator(".jp-CodeCell .jp-InputPrompt", has_text="[*]")).to_have_count(
            0, timeout=240_000
        )
        expect(kernel_status(page)).to_be_visible(timeout=30_000)
        expect(page.locator("[data-mime-type='application/vnd.jupyter.error']")).to_have_count(0)
        expect(page.locator(".uj-root").first).to_be_visible()
        expect(page.get_by_text("notified about official Jupyter news")).to_have_count(0)
    except BaseException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "FAIL-lab-sh.png"), full_page=True)
        shutil.copy(lab.log, ARTIFACTS / "FAIL-lab-sh.log")
        raise
    finally:
        context.close()
        for session in lab.api("sessions"):
            lab.api(f"sessions/{session['id']}", "DELETE")
        stop_lab(lab)  # also removes home, but not the log beside it
        if not had_checkpoints:  # ignored by git, but other tests glob notebooks/
            shutil.rmtree(checkpoints, ignore_errors=True)
    log = lab.log.read_text(errors="replace")
    lab.log.unlink()
    errors = [line[:300] for line in log.splitlines() if ERROR_LINE.search(line)]
    assert errors == [], "\n".join(errors)[:3000]
    assert _untracked(NOTEBOOKS) - before == set()
