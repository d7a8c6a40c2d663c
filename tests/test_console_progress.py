"""Tests of the console progress view in both modes (log blocks and the live terminal view)."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest

from uberjob.progress._console import ConsoleView, _open_depth, _tree_order, console_progress
from uberjob.progress._model import ProgressModel
from uberjob.progress._text import count_text, duration_text

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
RUN = "run"


def make_view(clock, terminal: bool, **model_options) -> tuple[ConsoleView, io.StringIO]:
    """A view on a fresh model, both on ``clock`` (the fake clock of conftest.py)."""
    stream = io.StringIO()
    model = ProgressModel(clock=clock, **model_options)
    view = ConsoleView(stream, terminal=terminal, width=120, model=model, clock=clock)
    return view, stream


def fail(view: ConsoleView, scope: tuple, exception: BaseException, section: str = RUN):
    try:
        raise exception
    except BaseException as caught:
        view.increment_running(section=section, scope=scope)
        view.increment_failed(section=section, scope=scope, exception=caught)


def plain(stream: io.StringIO) -> str:
    return ANSI.sub("", stream.getvalue())


# ----- text helpers -----


@pytest.mark.parametrize(
    ("counts", "live", "text"),
    [
        ((10, 0, 0, 0), True, "0 / 10"),
        ((10000, 6, 23, 3), True, "(6 + 23) / 10,000, 3 failed"),
        ((20001, 20001, 0, 0), True, "20,001 / 20,001"),
        ((10, 7, 0, 3), True, "7 / 10, 3 failed"),
        ((10, 6, 2, 0), False, "6 / 10"),
        ((10, 6, 0, 1), True, "(6 + 0) / 10, 1 failed"),
    ],
)
def test_count_text_uses_the_1_0_wording(counts, live, text):
    assert count_text(*counts, live=live) == text


DURATIONS = json.loads((Path(__file__).parent / "fixtures" / "durations.json").read_text())


@pytest.mark.parametrize(("seconds", "text"), DURATIONS["cases"])
def test_duration_text_follows_the_table_the_js_formatter_follows(seconds, text):
    # tests/js/render.test.js holds formatDuration to the same table
    assert duration_text(seconds) == text


def test_duration_text_of_nothing_sensible_is_zero():
    assert duration_text(float("nan")) == duration_text(float("inf")) == "0.0s"


def test_tree_order_is_depth_first_folds_and_truncates():
    nodes = [[-1, "root"], [0, "a"], [0, "b"], [1, "a1"], [2, "b1"], [3, "a1x"]]
    names = [(d, row[1]) for d, row in _tree_order(nodes, 10)]
    assert names == [(0, "root"), (1, "a"), (2, "a1"), (3, "a1x"), (1, "b"), (2, "b1")]
    assert [row and row[1] for _, row in _tree_order(nodes, 3)] == ["root", "a", "a1", None]
    assert [row[1] for _, row in _tree_order(nodes, 10, max_depth=1)] == ["root", "a", "b"]


def test_open_depth_opens_top_levels_and_folds_big_subtrees():
    nodes = [[-1, "root"], [0, "etl"], [1, "extract"], [1, "transform"]]
    nodes += [[3, f"shard_{i}"] for i in range(300)]
    assert _open_depth(nodes, 24) == 2
    assert _open_depth(nodes, 1000) == 3
    assert _open_depth([[-1, "root"], *([[0, f"f{i}"] for i in range(50)])], 24) == 1


# ----- log mode -----


def test_log_blocks_are_periodic_and_end_with_a_final_block(clock):
    view, stream = make_view(clock, terminal=False)
    with view:
        view.increment_total(section=RUN, scope=("s", "m.f"), amount=10)
        for _ in range(3):
            view.increment_running(section=RUN, scope=("s", "m.f"))
        clock.now = 0.6
        view.tick()
        assert stream.getvalue() == ""  # before first_block_delay
        clock.now = 2.0
        view.increment_completed(section=RUN, scope=("s", "m.f"))
        view.tick()
        first = stream.getvalue()
        assert first.startswith("uberjob running, elapsed 2.0s, 0.5 calls/s, updated ")
        assert first.endswith(
            "Running graph: (1 + 2) / 10, 2.0s\n"
            "  (1 + 2) / 10 | 2.0s | s\n"
            "  (1 + 2) / 10 | 2.0s |   m.f\n"
        )
        clock.now = 5.0
        view.increment_completed(section=RUN, scope=("s", "m.f"))
        view.tick()
        assert stream.getvalue() == first  # too soon for another block
        clock.now = 12.0
        view.tick()
        assert stream.getvalue().count("uberjob running") == 2
        fail(view, ("s", "m.f"), ValueError("bad"))
    text = stream.getvalue()
    final = text[text.rindex("uberjob done") :]
    assert final.startswith("uberjob done, 1 failed, elapsed 12s, 0.2 calls/s, updated ")
    assert "Running graph: 2 / 10, 1 failed, 12s\n" in final
    assert final.endswith(
        "Failures: 1 in 1 group\n       1 \u00d7 ValueError: bad  (s \u203a m.f)\n"
    )
    # the group's line, its traceback's last line (once), its line in the final block
    assert text.count("ValueError: bad") == 3


def test_times_below_one_second_are_not_shown_and_the_column_drops(clock):
    view, stream = make_view(clock, terminal=False)
    with view:
        view.increment_total(section=RUN, scope=("m.f",), amount=1)
        view.increment_running(section=RUN, scope=("m.f",))
        clock.now = 0.5
        view.increment_completed(section=RUN, scope=("m.f",))
    assert stream.getvalue().endswith("Running graph: 1 / 1\n  1 / 1 | m.f\n")


def test_each_failure_group_is_printed_once_then_counted(clock):
    view, stream = make_view(clock, terminal=False, max_instances=2)
    with view:
        for region in ("east", "west"):
            view.increment_total(section=RUN, scope=(region, "m.f"), amount=100)
        fail(view, ("east", "m.f"), KeyError("row 1"))
        view.tick()
        clock.now = 0.3
        for n in range(2, 100):  # the same problem in two scopes: one group, printed once
            fail(view, ("east" if n % 2 else "west", "m.f"), KeyError(f"row {n}"))
        fail(view, ("west", "m.f"), ValueError("second\nline two"))  # no traceback kept
        view.tick()
    text = stream.getvalue()
    assert text.count("failure group 1 at 0.0s: KeyError: 'row 1'\n  in east \u203a m.f\n") == 1
    assert text.count("Traceback (most recent call last)") == 1
    assert "\n    KeyError: 'row 1'\n" in text  # the traceback, indented
    second = "failure group 2 at 0.3s: ValueError: second \u2026\n  in west \u203a m.f"
    assert text.count(second) == 1
    assert "(traceback not kept: 2 already are)" in text
    assert "failure group 3" not in text
    final = text[text.rindex("uberjob done") :]
    assert "Failures: 100 in 2 groups\n" in final
    assert "      99 \u00d7 KeyError: 'row <n>'  (2 scopes)\n" in final
    assert "       1 \u00d7 ValueError: second \u2026  (west \u203a m.f)\n" in final
    assert len(text.splitlines()) < 40  # not a traceback per failure


def test_a_tiny_run_shows_no_rate_and_a_long_one_shows_time_left(clock):
    view, stream = make_view(clock, terminal=False)
    with view:
        view.increment_total(section=RUN, scope=("m.f",), amount=3)
        for _ in range(3):
            view.increment_running(section=RUN, scope=("m.f",))
            view.increment_completed(section=RUN, scope=("m.f",))
        clock.now = 0.012
    assert "calls/s" not in stream.getvalue()
    clock.now = 0.0  # a second run
    view, stream = make_view(clock, terminal=False)
    with view:
        view.increment_total(section=RUN, scope=("m.f",), amount=40)
        for _ in range(10):
            view.increment_running(section=RUN, scope=("m.f",))
            view.increment_completed(section=RUN, scope=("m.f",))
        clock.now = 5.0
        view.tick()
        first = stream.getvalue()
        assert first.startswith("uberjob running, elapsed 5.0s, about 15s left, 2.0 calls/s")


def test_symbolic_tracebacks_of_call_errors_are_printed_after_the_runtime_one(clock):
    view, stream = make_view(clock, terminal=False)

    class CallErrorLike(Exception):
        def __init__(self, cause):
            super().__init__("An exception...\nSymbolic traceback (most recent call last):\n  X")
            self.call = "m.f"
            self.__cause__ = cause

    with view:
        fail(view, ("m.f",), CallErrorLike(ZeroDivisionError("division by zero")))
    text = stream.getvalue()
    assert "failure group 1 at 0.0s: ZeroDivisionError: division by zero\n  in m.f\n" in text
    assert (
        "    ZeroDivisionError: division by zero\n"
        "    Symbolic traceback (most recent call last):\n      X\n"
    ) in text


def test_a_finished_section_is_printed_once_then_again_in_the_final_block(clock):
    view, stream = make_view(clock, terminal=False)
    with view:
        view.increment_total(section="stale", scope=("x", "JsonFileStore"), amount=1)
        view.increment_running(section="stale", scope=("x", "JsonFileStore"))
        view.increment_completed(section="stale", scope=("x", "JsonFileStore"))
        view.increment_total(section=RUN, scope=("x", "m.f"), amount=1)
        view.increment_running(section=RUN, scope=("x", "m.f"))
        for now in (1.0, 11.0, 21.0):  # three blocks while the run section goes on
            clock.now = now
            view.tick()
        view.increment_completed(section=RUN, scope=("x", "m.f"))
    text = stream.getvalue()
    assert text.count("Running graph:") == 4
    assert text.count("Determining stale value stores:") == 2


def test_log_blocks_are_bounded_in_rows(clock):
    view, stream = make_view(clock, terminal=False)
    view.max_block_rows = 5
    with view:
        for i in range(50):
            view.increment_total(section=RUN, scope=(f"m.f{i}",), amount=1)
    lines = stream.getvalue().splitlines()
    assert lines[-7:] == [
        "Running graph: 0 / 50",
        "  0 / 1 | m.f0",
        "  0 / 1 | m.f1",
        "  0 / 1 | m.f2",
        "  0 / 1 | m.f3",
        "  0 / 1 | m.f4",
        "        | … more scopes",
    ]


HOSTILE_SCOPE = ("<img src=x onerror=alert(1)>", "Tom & Jerry's [bold red]not markup[/]")
HOSTILE_MESSAGE = "<script>alert(1)</script> [link=x]click[/link] ✓ 日本"


@pytest.mark.parametrize("terminal", [False, True])
def test_user_text_is_printed_literally(terminal, clock):
    view, stream = make_view(clock, terminal=terminal)
    with view:
        view.increment_total(section=RUN, scope=HOSTILE_SCOPE, amount=2)
        fail(view, HOSTILE_SCOPE, ValueError(HOSTILE_MESSAGE))
    text = plain(stream)
    for literal in (*HOSTILE_SCOPE, HOSTILE_MESSAGE, f"ValueError: {HOSTILE_MESSAGE}"):
        assert literal in text


# ----- terminal mode -----


def test_terminal_view_draws_live_and_leaves_the_final_picture(clock):
    view, stream = make_view(clock, terminal=True)
    with view:
        view.increment_total(section="stale", scope=("x", "JsonFileStore"), amount=1)
        view.increment_total(section=RUN, scope=("x", "m.f"), amount=4)
        for _ in range(3):
            view.increment_running(section=RUN, scope=("x", "m.f"))
        clock.now = 1.0
        view.tick()
        assert "(0 + 3) / 4" in plain(stream)
        view.increment_completed(section=RUN, scope=("x", "m.f"))
        fail(view, ("x", "m.f"), RuntimeError("oops"))
        clock.now = 65.0
        view.tick()
    raw = stream.getvalue()
    assert "\x1b[" in raw  # redrawn in place
    assert raw.endswith("\x1b[?25h")  # the cursor is given back
    final = plain(stream)[plain(stream).rindex("uberjob done") :]
    assert final.startswith("uberjob done, 1 failed  elapsed 1m05s  0.0 calls/s\n")
    assert re.search(r"Determining stale value stores +━+ 0 / 1 *\n", final)
    assert re.search(r"\n  x +━+ 1 / 4, 1 failed 1m05s *\n", final)
    assert "1 failed: RuntimeError: oops  (x \u203a m.f)" in final
    assert plain(stream).count("failure group 1 at 1.0s: RuntimeError: oops") == 1


def test_terminal_view_folds_big_subtrees(clock):
    view, stream = make_view(clock, terminal=True)
    with view:
        for i in range(300):
            view.increment_total(section=RUN, scope=("etl", "transform", f"shard_{i}"), amount=1)
        view.increment_total(section=RUN, scope=("etl", "publish"), amount=1)
    final = plain(stream)[plain(stream).rindex("uberjob done") :]
    assert "transform" in final
    assert "publish" in final
    assert "shard_" not in final


def test_terminal_view_shows_an_interrupted_run_and_restores_the_cursor(clock):
    view, stream = make_view(clock, terminal=True)
    with pytest.raises(KeyboardInterrupt), view:
        raise KeyboardInterrupt
    assert "uberjob interrupted" in plain(stream)
    assert stream.getvalue().endswith("\x1b[?25h")


# ----- defaults -----


def test_console_progress_writes_to_stderr_as_it_is_when_the_observer_is_made(capsys):
    observer = console_progress.observer()
    assert isinstance(observer, ConsoleView)
    with observer:
        observer.increment_total(section=RUN, scope=("m.f",), amount=1)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "uberjob done" in captured.err
    assert "  0 / 1 | m.f" in captured.err  # not a TTY: log blocks


def test_a_closed_or_odd_stream_is_not_a_tty():
    class NoTTY:
        def write(self, text):
            pass

        def flush(self):
            pass

    assert ConsoleView(NoTTY())._terminal is False
    closed = io.StringIO()
    closed.close()
    assert ConsoleView(closed)._terminal is False
    assert ConsoleView()._stream is sys.stderr


def test_a_60_column_terminal_keeps_the_numbers_whole_and_shrinks_the_bar(clock):
    stream = io.StringIO()
    view = ConsoleView(
        stream, terminal=True, width=60, model=ProgressModel(clock=clock), clock=clock
    )
    scope = ("customers_in_the_north_east_region", "pipeline.load_invoices_for_customer")
    with view:
        view.increment_total(section=RUN, scope=scope, amount=20001)
        for _ in range(1234):
            view.increment_running(section=RUN, scope=scope)
        for _ in range(1200):
            view.increment_completed(section=RUN, scope=scope)
        fail(view, scope, ValueError("bad"))
        clock.now = 1.0
        view.tick()
        live = plain(stream)
    rows = [line for line in live.splitlines() if "━" in line]
    assert rows
    assert all(len(line) <= 60 for line in rows)
    row = next(line for line in rows if "customers" in line)
    assert row.endswith("(1,200 + 34) / 20,001, 1 failed 1.0s")
    assert "…" in row  # the name gave way
    assert 4 <= row.count("━") < 20  # and the bar shrank


def test_the_live_view_draws_no_empty_sections_before_the_totals_are_known(clock):
    view, stream = make_view(clock, terminal=True)
    with view:
        clock.now = 0.5
        view.tick()
        assert "0 / 0" not in plain(stream)
        assert "calls/s" not in plain(stream)
        view.increment_total(section=RUN, scope=("m.f",), amount=2)
        clock.now = 1.5
        view.tick()
        assert "0 / 2" in plain(stream)
        assert "counts: (done + running) / total" in plain(stream)


def running_picture(stack, stragglers=1) -> dict:
    scope = ("etl", "m.\x1b[2Jfetch")
    call = {
        "id": 7, "function": "m.\x1b[2Jfetch", "section": RUN, "scope": scope, "elapsed": 41.0,
        "straggler": True, "median": 0.5, "stack": stack,
    }  # fmt: skip
    return {
        "count": 3, "stragglers": stragglers, "calls": [call],
        "straggler_scopes": [(RUN, scope)],
    }  # fmt: skip


FRAMES = [
    {"file": "/home/me/etl.py", "line": 12, "function": "fetch", "code": "get(url)", "user": True},
    {"file": "/home/me/etl.py", "line": 30, "function": "get", "code": "wait()\x1b]0;x",
     "user": True},
    {"file": "/usr/lib/python3.11/threading.py", "line": 320, "function": "wait",
     "code": "waiter.acquire()", "user": False},
]  # fmt: skip


@pytest.mark.parametrize("terminal", [True, False])
def test_a_straggler_is_one_line_with_its_innermost_user_frame(terminal, clock):
    view, stream = make_view(clock, terminal=terminal)
    with view:
        view.increment_total(section=RUN, scope=("etl", "m.\x1b[2Jfetch"), amount=9)
        view.record_batch(RUN, {("etl", "m.\x1b[2Jfetch"): 3}, {})
        stack = {"sampled": 40.0, "frames": FRAMES, "note": None}
        view.record_running(running_picture(stack, stragglers=2))
        clock.now = 1.0  # a second after the engine's picture, of a call 41 s old then
        view.tick()
        raw = stream.getvalue()
    line = next(line for line in plain(stream).splitlines() if line.startswith("straggler:"))
    whole = (
        "straggler: m.\\x1b[2Jfetch in etl \u203a m.\\x1b[2Jfetch, running 42s (median 0.5s), "
        "at etl.py:30 in get: wait()\\x1b]0;x (+1 more)"
    )
    if terminal:  # one line of the terminal's width (120 here)
        assert line == whole[:119] + "\u2026"
    else:
        assert line == whole
    assert "\x1b]0;x" not in raw  # text from user code is printed inert


def test_a_straggler_without_frames_says_why(clock):
    view, stream = make_view(clock, terminal=False)
    with view:
        view.increment_total(section=RUN, scope=("etl", "m.\x1b[2Jfetch"), amount=9)
        view.record_batch(RUN, {("etl", "m.\x1b[2Jfetch"): 3}, {})
        note = {"sampled": 1.0, "frames": [], "note": "not available on this executor"}
        view.record_running(running_picture(note))
        clock.now = 5.0
        view.tick()
    assert "running 46s (median 0.5s), stack not available on this executor\n" in plain(stream)
    assert "straggler:" not in plain(stream).rpartition("uberjob done")[2]  # the run ended
