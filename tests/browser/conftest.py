"""Browser-test fixtures: one JupyterLab and one Debian Chromium per session, a page per test."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from jlab import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, start_lab, stop_lab


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


def _require_browser_tools():
    problems = []
    if not Path(CHROMIUM).exists():
        problems.append(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    for module in ("playwright", "jupyterlab"):
        try:
            __import__(module)
        except ImportError:
            problems.append(f"the {module} package is missing")
    if problems:
        message = "uberjob: browser tests need " + "; ".join(problems)
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI a missing browser is a failure, not a skip
        pytest.skip(message)


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    _require_browser_tools()
    lab = start_lab(tmp_path_factory.mktemp("notebooks"))
    yield lab
    stop_lab(lab)


@pytest.fixture(scope="session")
def chromium():
    _require_browser_tools()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(lab, chromium, request):
    """A fresh browser context and page; kernels are shut down afterwards."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    log: list[str] = []
    page.on("console", lambda m: log.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: log.append(f"pageerror: {e}"))
    page.console_log = log
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        page.screenshot(path=str(ARTIFACTS / f"FAIL-{name}.png"), full_page=True)
        (ARTIFACTS / f"FAIL-{name}.console.txt").write_text("\n".join(log))
        shutil.copy(lab.log, ARTIFACTS / f"FAIL-{name}.jupyter.log")
    context.close()
    for session in lab.api("sessions"):  # closing a page leaves its kernel running
        lab.api(f"sessions/{session['id']}", "DELETE")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
