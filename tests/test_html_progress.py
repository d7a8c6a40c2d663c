"""html_progress: one self-contained report file, replaced atomically, no network."""

from __future__ import annotations

import json
import re
import warnings

import pytest

import uberjob
from uberjob.progress import html_progress
from uberjob.progress._html import HtmlProgressObserver, render_report
from uberjob.progress._model import ProgressModel

DATA = re.compile(r'<script type="application/json" id="uj-data">(.*?)</script>', re.S)


def embedded(page: str) -> dict:
    match = DATA.search(page)
    assert match, "the page embeds its data"
    return json.loads(match.group(1))


def fail(observer, scope, message):
    try:
        raise ValueError(message)
    except ValueError as e:
        observer.increment_failed(section="run", scope=scope, exception=e)


HOSTILE_SCOPE = "</script><script>alert(1)</script><!--"


def test_the_report_embeds_the_snapshot_and_instances_and_inlines_the_renderer(tmp_path):
    path = tmp_path / "report.html"
    observer = html_progress(path).observer()
    with observer:
        observer.increment_total(section="run", scope=(HOSTILE_SCOPE, "f"), amount=4)
        observer.increment_running(section="run", scope=(HOSTILE_SCOPE, "f"))
        fail(observer, (HOSTILE_SCOPE, "f"), "<script>alert(2)</script>")
    page = path.read_text(encoding="utf-8")
    data = embedded(page)
    assert data["snapshot"] == observer.model.snapshot()
    assert data["snapshot"]["state"] == "done"
    assert data["instances"][0]["traceback"].endswith("ValueError: <script>alert(2)</script>")
    assert data["snapshot"]["sections"][0]["nodes"][1][1] == HOSTILE_SCOPE
    # only our two script elements and one style element exist; user text cannot open more
    assert page.count("<script") == 2
    assert len(re.findall(r"</script", page, re.I)) == 2
    assert page.count("<style") == 1
    assert "<!--" not in page
    assert '<main id="uj-report"></main>' in page


def test_the_report_cannot_reach_the_network(tmp_path):
    page = render_report(ProgressModel().snapshot(), [], final=True).decode()
    # the activity chart names the SVG namespace (document.createElementNS): a name, not a fetch
    page = page.replace('"http://www.w3.org/2000/svg"', '""')
    assert not re.search(r"https?://|//cdn|\bsrc=|\bhref=|@import", page)
    assert "Content-Security-Policy" in page
    assert "default-src 'none'" in page


def test_the_running_page_refreshes_itself_and_the_final_one_does_not():
    snapshot = ProgressModel().snapshot()
    assert b'http-equiv="refresh"' in render_report(snapshot, [], final=False)
    assert b'http-equiv="refresh"' not in render_report(snapshot, [], final=True)


def test_each_draw_replaces_the_file_atomically(tmp_path):
    path = tmp_path / "report.html"
    observer = HtmlProgressObserver(path)
    with observer:
        first = path.stat().st_ino
        assert 'http-equiv="refresh"' in path.read_text()
        observer.increment_total(section="run", scope=("f",), amount=1)
        observer._draw(final=False)
        assert path.stat().st_ino != first  # a new file renamed over the old one
    assert 'http-equiv="refresh"' not in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_the_report_is_on_disk_before_it_is_renamed(tmp_path, syncs_and_renames):
    # the stores' policy (tests/test_stores.py): fsync the staged file, then rename it
    events = syncs_and_renames
    path = tmp_path / "report.html"
    with HtmlProgressObserver(path):
        pass
    assert [kind for kind, _ in events] == ["fsync", "replace"] * 2  # the first and final draws
    assert events[-2] == ("fsync", path.stat().st_size)
    assert events[-1] == ("replace", "report.html")


def test_a_failed_write_leaves_no_temporary_file_and_warns_once(tmp_path):
    target = tmp_path / "occupied"
    observer = HtmlProgressObserver(target)  # the path is fine when the run starts...
    target.mkdir()
    (target / "keep").write_text("x")  # ...then os.replace onto a non-empty directory fails
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        observer.__enter__()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["occupied"]
        observer.__exit__(None, None, None)  # the run's result is kept: a warning, no raise
    assert [w.category for w in warned] == [RuntimeWarning]
    assert "could not write the progress report" in str(warned[0].message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["occupied"]


def test_a_callable_receives_the_bytes_of_each_draw():
    pages: list[bytes] = []
    observer = html_progress(pages.append).observer()
    with observer:
        observer.increment_total(section="run", scope=("f",), amount=1)
        observer._draw(final=False)
    assert len(pages) == 3
    assert all(p.startswith(b"<!doctype html>") for p in pages)
    assert embedded(pages[-1].decode())["snapshot"]["state"] == "done"


def test_html_progress_names_its_parameter_on_a_wrong_type():
    with pytest.raises(TypeError, match="path_or_callable must be a path"):
        html_progress(42)


def test_a_run_writes_its_report(tmp_path):
    path = tmp_path / "run.html"
    plan = uberjob.Plan()

    def roll(i):
        if i % 6 == 0:
            raise ValueError(f"bad {i}")
        return i

    calls = [plan.call(roll, i) for i in range(30)]
    with pytest.raises(uberjob.CallError):
        uberjob.run(plan, output=calls, max_errors=None, progress=f"html:{path}")
    data = embedded(path.read_text(encoding="utf-8"))
    assert data["snapshot"]["state"] == "failed"
    assert data["snapshot"]["failures"]["count"] == 5
    assert len(data["instances"]) == 5
