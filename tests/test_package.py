"""The package as users get it: light to import, typed, licensed, one version, a clear error
when the widget library is missing, and a README that PyPI can show."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

import uberjob

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(uberjob.__file__).parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def run_python(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120, cwd=cwd,
    )  # fmt: skip


def test_import_uberjob_does_not_import_networkx():
    out = run_python("import sys, uberjob; print('networkx' in sys.modules)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_a_plan_runs_without_networkx_and_plan_graph_imports_it_when_needed():
    out = run_python("""
        import sys, uberjob
        plan = uberjob.Plan()
        total = plan.call(sum, [plan.call(abs, -1), 2])
        assert uberjob.run(plan, output=total, progress=False) == 3
        print('networkx' in sys.modules)
        graph = plan.graph
        import networkx
        print(type(graph) is networkx.MultiDiGraph, uberjob.graph.Graph is networkx.MultiDiGraph)
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True", "True"]


def test_the_version_has_one_home():
    assert "version" not in PYPROJECT["project"]
    assert "version" in PYPROJECT["project"]["dynamic"]
    home = PYPROJECT["tool"]["hatch"]["version"]["path"]
    assert re.search(r'^__version__ = "([^"]+)"$', (ROOT / home).read_text(), re.M)
    assert importlib.metadata.version("uberjob") == uberjob.__version__


def test_the_package_is_typed_and_licensed():
    assert (PACKAGE / "py.typed").is_file()
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    assert "Typing :: Typed" in PYPROJECT["project"]["classifiers"]
    assert {"Homepage", "Source", "Issues"} <= set(PYPROJECT["project"]["urls"])


def test_mypy_sees_the_public_api_typed(tmp_path):
    pytest.importorskip("mypy")
    user = tmp_path / "user.py"
    user.write_text(
        textwrap.dedent("""
        import uberjob
        from uberjob.stores import JsonFileStore

        plan = uberjob.Plan()
        cube = plan.call(pow, plan.lit(2), 3)
        quotient, remainder = plan.unpack(plan.call(divmod, cube, 3), 2)
        registry = uberjob.Registry()
        registry.add(cube, JsonFileStore("cube.json"))
        uberjob.run(plan, output=[quotient], registry=registry, progress=["console", "html:r"])
        uberjob.render(plan, registry=registry)
        reveal_type(uberjob.run)
        """)
    )
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
         str(user)],
        capture_output=True, text=True, timeout=170,
    )  # fmt: skip
    assert "py.typed" not in out.stdout
    assert out.returncode == 0, out.stdout
    revealed = re.search(r'Revealed type is "(.*)"', out.stdout).group(1)
    assert revealed.startswith("def (plan: uberjob._plan.Plan, *, output: Any")


def test_widget_progress_without_anywidget_says_how_to_install_it():
    out = run_python("""
        import sys
        sys.modules["anywidget"] = None  # as if it were not installed
        import uberjob
        ran = []
        plan = uberjob.Plan()
        call = plan.call(ran.append, 1)
        try:
            uberjob.run(plan, output=call, progress="widget")
        except ModuleNotFoundError as error:
            print(error.name, ran)
            print(error)
    """)
    assert out.returncode == 0, out.stderr
    first, message = out.stdout.split("\n", 1)
    assert first == "anywidget []"  # raised before any call ran
    assert "pip install anywidget" in message
    assert "pip install 'uberjob[notebook]'" in message
    assert 'progress="console"' in message


README = (ROOT / "README.md").read_text()


def test_the_readme_starts_with_the_two_commands():
    assert README.splitlines()[:3] == ["# uberjob 2", "", "```bash"]
    first_block = README.split("```bash\n", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in first_block.splitlines()] == [
        ["bash", "scripts/lab.sh"],
        ["bash", "scripts/test.sh"],
    ]


def test_the_readme_says_how_to_pip_install_and_what_the_extras_add():
    section = README.split("## Installing", 1)[1].split("\n## ", 1)[0]
    for command in ("pip install uberjob", 'pip install "uberjob[notebook]"',
                    'pip install "uberjob[dask]"', "pip install dist/uberjob-"):  # fmt: skip
        assert command in section
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert any(dep.startswith("dask[distributed]") for dep in extras["dask"])


def test_readme_images_render_off_github_and_exist_in_the_repo():
    # PyPI shows the README without the repository beside it: images need absolute URLs.
    source = PYPROJECT["project"]["urls"]["Source"]
    raw = source.replace("https://github.com/", "https://raw.githubusercontent.com/") + "/main/"
    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", README)
    assert images
    for url in images:
        assert url.startswith(raw), url
        assert (ROOT / url.removeprefix(raw)).is_file(), url
