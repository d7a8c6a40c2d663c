"""Bad input gets a clear error naming the parameter before any call runs, and nothing a run
computed is thrown away over a display problem (a report that can't be written, a lone surrogate,
terminal escape sequences in user text)."""

from __future__ import annotations

import datetime as dt
import io
import json
import operator
import os
import re
import shutil
import warnings

import pytest

import uberjob
from uberjob.progress import Progress, html_progress
from uberjob.progress._console import ConsoleView
from uberjob.progress._html import render_report
from uberjob.progress._widget import WidgetProgressObserver, _compact_json
from uberjob.stores import (
    BinaryFileStore,
    JsonFileStore,
    LiteralSource,
    MountedStore,
    PathSource,
    PickleFileStore,
    TextFileStore,
    TouchFileStore,
)

T0 = dt.datetime(2020, 1, 1)
SURROGATE_NAME = os.fsdecode(b"data-\xff.csv")  # what os.listdir gives for a non-UTF-8 name
ESCAPES = "\x1b[2J\x1b]0;window title\x07\x1b]8;;https://example.invalid\x1b\\link\x1b]8;;\x1b\\"
RAW_SEQUENCES = ("\x1b[2J", "\x1b]0;", "\x1b]8;;")


def recording_plan():
    """A plan whose calls record that they ran."""
    ran: list = []
    plan = uberjob.Plan()
    return plan, ran, plan.call(ran.append, 1)


# ----- progress="html:PATH": checked up front; a later write failure warns, keeps the result -----


@pytest.mark.parametrize("how", ["string", "html_progress"])
@pytest.mark.parametrize("problem", ["missing folder", "a folder"])
def test_an_html_report_path_that_cant_be_written_is_an_error_before_any_call(
    tmp_path, how, problem
):
    path = tmp_path / "missing" / "r.html" if problem == "missing folder" else tmp_path
    plan, ran, x = recording_plan()
    progress = f"html:{path}" if how == "string" else html_progress(path)
    with pytest.raises(ValueError, match=r"^progress: cannot write the HTML report ") as info:
        uberjob.run(plan, output=x, progress=progress)
    assert ("does not exist" if problem == "missing folder" else "it is a folder") in str(
        info.value
    )
    assert ran == []


def test_a_report_that_fails_to_be_written_later_warns_and_keeps_the_result(tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    plan = uberjob.Plan()
    x = plan.call(lambda: shutil.rmtree(folder) or 42)  # the folder vanishes mid-run
    with pytest.warns(RuntimeWarning, match=r"could not write the progress report") as warned:
        assert uberjob.run(plan, output=x, progress=f"html:{folder / 'r.html'}") == 42
    assert len(warned) == 1
    assert warned[0].filename == __file__  # attributed to the user's run() line


# ----- progress="widget" without a Jupyter kernel: the console, and one line saying so -----


def test_the_widget_outside_jupyter_falls_back_to_the_console_with_a_warning(capsys):
    plan = uberjob.Plan()
    x = plan.call(operator.add, 1, 2)
    with pytest.warns(UserWarning, match=r'progress="widget" needs a Jupyter kernel') as warned:
        assert uberjob.run(plan, output=x, progress="widget") == 3
    assert len(warned) == 1
    message = str(warned[0].message)
    assert "\n" not in message
    assert "console" in message
    assert warned[0].filename == __file__
    out, err = capsys.readouterr()
    assert out == ""  # no raw mimebundle dicts on stdout
    assert "uberjob done" in err  # the console view's final block


# ----- transform_physical must return (plan, output_node) -----


@pytest.mark.parametrize("registry", [False, True])
@pytest.mark.parametrize(
    "returns",
    [lambda p, n: None, lambda p, n: (1, n), lambda p, n: (p, 5), lambda p, n: [p, n],
     lambda p, n: (p, n, None), lambda p, n: (p, uberjob.Plan().lit(1))],
)  # fmt: skip
def test_a_transform_physical_returning_the_wrong_thing_is_named(registry, returns):
    plan, ran, x = recording_plan()
    kwargs = {}
    if registry:
        kwargs["registry"] = reg = uberjob.Registry()
        reg.add(x, LiteralSource(None, None))  # stale: would be computed and written
    with pytest.raises((TypeError, ValueError), match=r"^transform_physical ") as info:
        uberjob.run(plan, output=x, progress=False, transform_physical=returns, **kwargs)
    assert "(plan, output_node)" in str(info.value) or "not in the plan" in str(info.value)
    assert ran == []


@pytest.mark.parametrize("registry", [False, True])
def test_a_transform_physical_returning_plan_and_node_runs(registry, tmp_path):
    plan = uberjob.Plan()
    x = plan.call(operator.add, 1, 2)
    kwargs = {}
    if registry:
        kwargs["registry"] = reg = uberjob.Registry()
        reg.add(x, JsonFileStore(str(tmp_path / "x.json")))
    same = lambda p, n: (p, n)  # noqa: E731
    assert uberjob.run(plan, output=x, progress=False, transform_physical=same, **kwargs) == 3


# ----- scopes must be hashable -----


def test_an_unhashable_scope_value_says_scopes_must_be_hashable():
    plan = uberjob.Plan()
    scope = plan.scope("ok", ["x"])
    with pytest.raises(TypeError, match=r"^Scope values must be hashable .*got list \(\['x'\]\)"):
        scope.__enter__()
    assert plan._scope == ()  # the plan's scope is left as it was
    with plan.scope("ok", ("a", 1)):
        assert plan.lit(1).scope == ("ok", ("a", 1))


# ----- nodes of another plan -----


@pytest.mark.parametrize("nested", [False, True])
@pytest.mark.parametrize("registry", [False, True])
def test_an_output_of_another_plan_is_an_error_before_any_call(nested, registry):
    plan, ran, x = recording_plan()
    other = uberjob.Plan()
    foreign = other.call(ran.append, 2)
    output = {"mine": x, "theirs": [foreign]} if nested else foreign
    kwargs = {}
    if registry:
        kwargs["registry"] = reg = uberjob.Registry()
        reg.add(x, LiteralSource(None, None))
    with pytest.raises(ValueError, match=r"^output refers to a node that is not in the plan: "):
        uberjob.run(plan, output=output, progress=False, **kwargs)
    assert ran == []


def test_a_copy_of_the_plan_shares_its_nodes():
    plan = uberjob.Plan()
    x = plan.call(operator.add, 1, 2)
    assert uberjob.run(plan.copy(), output=x, progress=False) == 3


def test_a_registry_holding_only_another_plans_node_is_an_error(tmp_path):
    plan, ran, x = recording_plan()
    registry = uberjob.Registry()
    registry.add(uberjob.Plan().lit(1), JsonFileStore(str(tmp_path / "other.json")))
    with pytest.raises(ValueError, match=r"^registry holds a node that is not in the plan: ") as e:
        uberjob.run(plan, output=x, registry=registry, progress=False)
    assert f'File "{__file__}"' in str(e.value)  # where it was registered
    assert ran == []
    assert not (tmp_path / "other.json").exists()


# ----- a store's path must be a path -----


@pytest.mark.parametrize(
    "store", [JsonFileStore, PickleFileStore, TextFileStore, BinaryFileStore, TouchFileStore,
              PathSource]
)  # fmt: skip
@pytest.mark.parametrize("path", [3, None, True, 1.5, ["x.json"]])
def test_a_store_path_that_is_not_a_path_is_a_type_error(store, path):
    with pytest.raises(TypeError, match=r"^path must be a str or os\.PathLike"):
        store(path)


def test_a_file_descriptor_is_never_read_or_closed():
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(TypeError, match=r"got int \("):
            JsonFileStore(read_end)
        os.fstat(read_end)  # still open
    finally:
        os.close(read_end)
        os.close(write_end)


def test_other_store_arguments_are_checked():
    with pytest.raises(TypeError, match=r"^modified_time must be a datetime or None"):
        LiteralSource(1, "2020-01-01")

    class Mounted(MountedStore):
        def copy_to_local(self, local_path):
            pass

        def copy_from_local(self, local_path):
            pass

        def get_modified_time(self):
            return None

    with pytest.raises(TypeError, match=r"^create_store must be callable"):
        Mounted("x.json")


# ----- a lone surrogate in user text: every view shows it, no result is lost -----


def surrogate_plan():
    def fails(name):
        raise ValueError(f"cannot read {name}")

    plan = uberjob.Plan()
    with plan.scope(SURROGATE_NAME):
        ok = plan.call(operator.add, 1, 2)
        bad = plan.call(fails, SURROGATE_NAME)
    return plan, ok, bad


def report_data(path) -> dict:
    text = path.read_text(encoding="utf-8")  # strict: the file is valid UTF-8
    return json.loads(re.search(r'id="uj-data">(.*?)</script>', text, re.S).group(1))


def test_a_lone_surrogate_in_a_scope_keeps_the_result_and_shows_in_the_html_report(tmp_path):
    plan, ok, _ = surrogate_plan()
    path = tmp_path / "r.html"
    assert uberjob.run(plan, output=ok, progress=f"html:{path}") == 3
    data = report_data(path)
    names = [row[1] for row in data["snapshot"]["sections"][0]["nodes"]]
    assert "data-\ufffd.csv" in names


def test_a_lone_surrogate_in_a_failure_leaves_a_final_html_report(tmp_path):
    plan, _, bad = surrogate_plan()
    path = tmp_path / "r.html"
    with pytest.raises(uberjob.CallError):
        uberjob.run(plan, output=bad, progress=f"html:{path}")
    assert 'http-equiv="refresh"' not in path.read_text(encoding="utf-8")  # final: no reload
    data = report_data(path)
    assert data["snapshot"]["state"] == "failed"
    assert data["snapshot"]["failures"]["groups"][0]["message"] == "cannot read data-\ufffd.csv"
    assert "data-\ufffd.csv" in data["instances"][0]["traceback"]


def test_a_lone_surrogate_reaches_the_widget_as_encodable_json(monkeypatch):
    sent: list = []
    observers: list = []

    def make():
        observer = WidgetProgressObserver(display=False)
        observers.append(observer)
        return observer

    monkeypatch.setattr("uberjob.progress._widget.ProgressWidget.send", lambda w, m: sent.append(m))
    plan, ok, bad = surrogate_plan()
    with pytest.raises(uberjob.CallError):
        uberjob.run(plan, output=[ok, bad], max_errors=None, progress=Progress(make))
    widget = observers[0].widget
    wire = bytes(_compact_json(widget._snapshot, widget)).decode("utf-8")  # strict
    assert "data-\ufffd.csv" in wire
    json.dumps(widget._instances, ensure_ascii=False).encode("utf-8")  # what the comm sends
    json.dumps(sent, ensure_ascii=False).encode("utf-8")
    assert "data-\ufffd.csv" in json.dumps(widget._instances, ensure_ascii=False)
    bundle = observers[0]._static_bundle()
    json.dumps(bundle, ensure_ascii=False).encode("utf-8")  # the static picture's display


@pytest.mark.parametrize("terminal", [False, True])
def test_a_lone_surrogate_reaches_a_strict_utf8_console(terminal):
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    plan, ok, bad = surrogate_plan()
    progress = Progress(lambda: ConsoleView(stream, terminal=terminal, width=120))
    with pytest.raises(uberjob.CallError):
        uberjob.run(plan, output=[ok, bad], max_errors=None, progress=progress)
    text = raw.getvalue().decode("utf-8")
    assert "data-\ufffd.csv" in text


# ----- terminal escape sequences in user text are shown inert -----


def escapes_plan():
    def fails():
        raise ValueError(f"{ESCAPES} boom")

    fails.__qualname__ = f"fails{ESCAPES}"
    plan = uberjob.Plan()
    with plan.scope(f"scope{ESCAPES}"):
        x = plan.call(fails)
    return plan, x


@pytest.mark.parametrize("terminal", [False, True])
def test_escape_sequences_in_user_text_reach_the_console_inert(terminal):
    stream = io.StringIO()
    plan, x = escapes_plan()
    progress = Progress(lambda: ConsoleView(stream, terminal=terminal, width=200))
    with pytest.raises(uberjob.CallError):
        uberjob.run(plan, output=x, progress=progress)
    text = stream.getvalue()
    for sequence in RAW_SEQUENCES:
        assert sequence not in text
    assert "\x07" not in text
    assert "\\x1b[2J" in text  # shown, as an escape
    assert "scope\\x1b[2J" in text
    assert "boom" in text


def test_the_hostile_fixture_renders_as_inert_text_and_encodes_in_every_view():
    """The shared hostile-text fixture (also drawn by the JS and browser tests): the console
    draws it inert, the report and the widget's wire format encode it as UTF-8."""
    from pathlib import Path

    directory = Path(__file__).parent / "fixtures" / "snapshots"
    snapshot = json.loads((directory / "hostile_text.json").read_text(encoding="utf-8"))
    instances = json.loads((directory / "hostile_text.instances.json").read_text(encoding="utf-8"))
    text = json.dumps(snapshot, ensure_ascii=False)
    assert "\udcff" in text  # the fixture does hold a lone surrogate
    assert "\\u001b[2J" in text  # and escape sequences

    page = render_report(snapshot, instances, final=True).decode("utf-8")
    assert "data-\ufffd.csv" in page
    wire = bytes(_compact_json(snapshot, None)).decode("utf-8")
    assert "data-\ufffd.csv" in wire

    for terminal in (False, True):
        stream = io.StringIO()
        view = ConsoleView(stream, terminal=terminal, width=200)
        if terminal:
            view._console.print(view._live_view(snapshot))
        else:
            stream.write(view._block(snapshot, final=True))
        drawn = stream.getvalue()
        for sequence in RAW_SEQUENCES:
            assert sequence not in drawn, (terminal, sequence)
        assert "\udcff" not in drawn


def test_no_warning_or_error_for_plain_text():
    stream = io.StringIO()
    plan = uberjob.Plan()
    with plan.scope("naïve ✓ 日本語\ttab"):
        x = plan.call(operator.add, 1, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert uberjob.run(plan, output=x, progress=Progress(lambda: ConsoleView(stream))) == 3
    assert "naïve ✓ 日本語\ttab" in stream.getvalue()


# ----- the two text helpers every view uses -----


def test_terminal_text_escapes_control_characters_but_newline_and_tab():
    from uberjob.progress._text import terminal_text

    assert terminal_text("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert terminal_text("title\x1b]0;x\x07") == "title\\x1b]0;x\\x07"
    assert terminal_text("csi\x9b2J del\x7f nul\x00 cr\r") == "csi\\x9b2J del\\x7f nul\\x00 cr\\r"
    assert terminal_text("lines\n\ttabbed ✓ 日本") == "lines\n\ttabbed ✓ 日本"
    assert terminal_text(SURROGATE_NAME) == "data-\ufffd.csv"
    assert terminal_text(terminal_text("\x1b[2J")) == terminal_text("\x1b[2J")  # idempotent


def test_encodable_value_copies_only_when_a_string_needs_it():
    from uberjob.progress._text import encodable_value

    plain = {"scope": ["a", "b"], "n": 1}
    assert encodable_value(plain) is plain
    hostile = {"scope": [SURROGATE_NAME, ("x",)], SURROGATE_NAME: 1}
    assert encodable_value(hostile) == {"scope": ["data-\ufffd.csv", ("x",)], "data-\ufffd.csv": 1}
    assert hostile["scope"][0] == SURROGATE_NAME  # the original is left alone
