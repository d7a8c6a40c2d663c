"""The wheel as PyPI users get it: built from this tree, installed in a clean virtualenv whose
PATH has no npm (nor node), and used from there: the bundle and CSS are inside, a run builds
the widget, and the HTML report needs nothing from outside.

Marker ``wheel`` (about half a minute: pip fetches the dependencies into the new venv);
scripts/test.sh runs these as their own suite. The widget's JS must have been built first
(``npm run build``), as the Python build would otherwise call npm.
"""

from __future__ import annotations

import html.parser
import json
import os
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ("uberjob/static/widget.js", "uberjob/static/widget.css", "uberjob/static/report.js")


class Installed:
    def __init__(self, wheel: Path, python: Path, env: dict[str, str], cwd: Path):
        self.wheel, self.python, self.env, self.cwd = wheel, python, env, cwd

    def run(self, code: str) -> str:
        out = subprocess.run(
            [str(self.python), "-c", textwrap.dedent(code)],
            env=self.env, cwd=self.cwd, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        return out.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    missing = [name for name in BUNDLE if not (ROOT / "src" / name).is_file()]
    if missing:
        pytest.fail(f"build the widget's JS first (npm ci && npm run build): {missing} missing")
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)],
        check=True, timeout=300,
    )  # fmt: skip
    (wheel,) = dist.glob("uberjob-*.whl")
    env_dir = tmp_path_factory.mktemp("clean") / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    # Only the venv's own programs: no npm, no node, nothing of the machine's.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = str(bin_dir)
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        env=env, check=True, timeout=600,
    )  # fmt: skip
    work = tmp_path_factory.mktemp("work")  # not the source tree, so `import uberjob` is the wheel
    return Installed(wheel, bin_dir / "python", env, work)


def test_the_wheel_holds_the_bundle_the_css_the_license_and_py_typed(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    assert set(BUNDLE) <= names
    assert "uberjob/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith(("js/", "tests/", "node_modules/")) for n in names)


def test_the_installed_wheel_is_what_python_imports_without_npm(installed):
    out = installed.run("""
        import shutil, sys, uberjob
        print(uberjob.__file__)
        print(uberjob.__version__, shutil.which("npm"), shutil.which("node"))
    """)
    where, facts = out.splitlines()
    assert Path(where).is_relative_to(installed.python.parents[1])
    import uberjob

    assert facts.split() == [uberjob.__version__, "None", "None"]


def test_a_run_from_the_installed_wheel_builds_the_widget(installed):
    out = installed.run("""
        import json, pathlib, uberjob
        plan = uberjob.Plan()
        with plan.scope("squares"):
            squares = [plan.call(pow, n, 2) for n in range(5)]
        handle = uberjob.run(plan, output=squares, progress="widget", background=True)
        assert handle.result() == [0, 1, 4, 9, 16]
        widget = handle.widget
        static = pathlib.Path(uberjob.__file__).parent / "static"
        print(json.dumps({
            "state": widget._snapshot["state"],
            "esm_is_the_bundle": widget._esm == (static / "widget.js").read_text(),
            "css_is_the_bundle": widget._css == (static / "widget.css").read_text(),
            "css": widget._css,
        }))
    """)
    facts = json.loads(out.splitlines()[-1])  # display() prints the widget's text form first
    assert facts["state"] == "done"
    assert facts["esm_is_the_bundle"]
    assert facts["css_is_the_bundle"]
    assert ".uj-" in facts["css"]


class _ExternalReferences(html.parser.HTMLParser):
    """Collects every attribute that would make a browser fetch something."""

    FETCHING = {"src", "href", "srcset", "data", "poster", "action", "formaction"}

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self.csp: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp.append(attrs.get("content") or "")
        for name, value in attrs.items():
            if name in self.FETCHING and value and not value.startswith(("data:", "#")):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag == "link":
            self.found.append(f"<link {attrs}>")


def test_the_html_report_from_the_installed_wheel_is_self_contained(installed):
    installed.run("""
        import uberjob
        plan = uberjob.Plan()
        def fails():
            raise ValueError("kept in the report")
        calls = [plan.call(abs, -n) for n in range(3)] + [plan.call(fails)]
        try:
            uberjob.run(plan, output=calls, progress="html:report.html", max_errors=None)
        except uberjob.CallError:
            pass
    """)
    page = (installed.cwd / "report.html").read_text()
    parser = _ExternalReferences()
    parser.feed(page)
    assert parser.found == []
    (csp,) = parser.csp
    assert "default-src 'none'" in csp
    assert "connect-src 'none'" in csp
    assert "<script src" not in page
    assert "@import" not in page
    assert "kept in the report" in page
    static = installed.python.parents[1].glob("lib/python*/site-packages/uberjob/static")
    (static,) = list(static)
    assert (static / "report.js").read_text().strip()[:200] in page  # the renderer is inlined
