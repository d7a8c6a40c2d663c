"""A throw-away headless JupyterLab server and the Debian Chromium options (browser tests only).

Adapted from ../shared/recipes/jupyterlab-playwright: isolated config/settings/runtime dirs, no
news or update checks, no cell windowing (off-screen cells stay in the DOM), own process group
with a parent-death signal so a killed test run leaves no server or kernel behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

TOKEN = "uberjob-browser-tests"
#: Screenshots (and, on failure, console logs) land here; CI keeps them as artifacts.
ARTIFACTS = Path(
    os.environ.get("ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAB_FLAGS = [
    "--no-browser",
    "--ServerApp.open_browser=False",
    "--ServerApp.terminals_enabled=False",
    "--ServerApp.jpserver_extensions=jupyter_lsp=False",
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
    "--LabApp.expose_app_in_browser=True",
    "--ServerApp.log_level=WARN",
]


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    proc: subprocess.Popen
    base: str
    root: Path
    home: Path
    log: Path

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={TOKEN}"

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(
            f"{self.base}/api/{path.lstrip('/')}",
            method=method,
            headers={"Authorization": f"token {TOKEN}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            data = response.read()
            return json.loads(data) if data else None


def _isolated_env(home: Path) -> dict[str, str]:
    dirs = {d: home / d for d in ("config", "settings", "workspaces", "runtime")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    settings = dirs["settings"] / "@jupyterlab"
    (settings / "apputils-extension").mkdir(parents=True)
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True})
    )
    (settings / "notebook-extension").mkdir(parents=True)
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"})
    )
    return {
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTER_PLATFORM_DIRS": "1",
    }


def start_lab(root: Path, timeout: float = 60.0) -> Lab:
    home = Path(tempfile.mkdtemp(prefix="uj-jlab-home-"))
    port = _free_port()
    env = {**os.environ, **_isolated_env(home)}
    log = home / "jupyter.log"
    cmd = [
        sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={root}", *LAB_FLAGS,
    ]  # fmt: skip
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent,
        )  # fmt: skip
    return wait_until_serving(
        Lab(proc, f"http://127.0.0.1:{port}", root, home, log), timeout, "jupyter lab"
    )


def wait_until_serving(lab: Lab, timeout: float, what: str) -> Lab:
    """Return ``lab`` once its server answers; stop it and raise, with its log's end, if its
    process exits or ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        if lab.proc.poll() is not None:
            raise RuntimeError(f"uberjob: {what} exited:\n{lab.log.read_text()[-3000:]}")
        try:
            lab.api("status")
            return lab
        except OSError:
            if time.monotonic() > deadline:
                stop_lab(lab)
                tail = lab.log.read_text()[-3000:]
                raise TimeoutError(f"uberjob: {what} not ready:\n{tail}") from None
            time.sleep(0.1)  # polling the server's start, not waiting on the page


def stop_lab(lab: Lab, timeout: float = 10.0) -> None:
    if lab.proc.poll() is None:
        lab.proc.send_signal(signal.SIGTERM)
        try:
            lab.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(lab.proc.pid, signal.SIGKILL)
            lab.proc.wait(5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(lab.proc.pid, signal.SIGKILL)  # stray kernels of the group
    shutil.rmtree(lab.home, ignore_errors=True)
