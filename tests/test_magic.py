"""The %uberjob magic through IPython's global test shell: every form and every mistake."""

from __future__ import annotations

import functools
import io
import json
import threading
import traceback

import pytest

pytest.importorskip("IPython")

from IPython.core.debugger import Pdb
from IPython.core.error import UsageError
from IPython.core.getipython import get_ipython as _current_shell
from IPython.testing.globalipapp import start_ipython

import uberjob
from uberjob import CallError, RunStopped
from uberjob._handle import last_run
from uberjob._magics._uberjob import FailureList, _split_options


class Boom(Exception):
    pass


def get_ipython():
    """IPython's global test shell (started once per process)."""
    start_ipython()
    return _current_shell()


@pytest.fixture
def ip(monkeypatch):
    shell = get_ipython()
    shell.run_line_magic("load_ext", "uberjob")
    names = set(shell.user_ns)
    monkeypatch.setattr(uberjob._handle, "_last_run", None)
    shell.user_ns["uberjob"] = uberjob
    yield shell
    for name in set(shell.user_ns) - names:
        del shell.user_ns[name]
    shell.run_line_magic("unload_ext", "uberjob")


def magic(ip, line: str):
    return ip.run_line_magic("uberjob", line)


def usage_error(ip, line: str, cell: str | None = None) -> str:
    def call():
        if cell is None:
            return magic(ip, line)
        return ip.run_cell_magic("uberjob", line, cell)

    with pytest.raises(UsageError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    return message


def add(a, b):
    return a + b


def fail_on_odd(i):
    if i % 2:
        raise Boom(f"odd {i}")
    return i


@pytest.fixture
def plan(ip):
    plan = uberjob.Plan()
    ip.user_ns.update(plan=plan, x=plan.call(add, 1, 2), y=plan.call(add, 3, 4))
    return plan


# -- loading -----------------------------------------------------------------------------------


def test_load_and_unload_are_a_symmetric_pair():
    shell = get_ipython()
    shell.run_line_magic("load_ext", "uberjob")
    assert shell.find_line_magic("uberjob") is not None
    assert shell.find_cell_magic("uberjob") is not None
    shell.run_line_magic("unload_ext", "uberjob")
    assert shell.find_line_magic("uberjob") is None
    assert shell.find_cell_magic("uberjob") is None
    shell.run_line_magic("load_ext", "uberjob")
    assert shell.find_line_magic("uberjob") is not None
    shell.run_line_magic("unload_ext", "uberjob")


def test_the_extension_functions_are_public_and_import_no_ipython_until_loaded():
    assert uberjob.load_ipython_extension.__module__ == "uberjob._magics"
    assert "load_ipython_extension" in uberjob.__all__
    assert "unload_ipython_extension" in uberjob.__all__


def test_help_documents_every_form_with_examples(ip):
    doc = ip.find_line_magic("uberjob").__doc__
    for text in [
        "%uberjob plan z",
        "%%uberjob",
        "--max-workers",
        "--max-errors",
        "--retry",
        "--registry",
        "--fresh",
        "--dry-run",
        "--background",
        "--progress",
        "%uberjob last",
        "%uberjob failures",
        "%uberjob debug",
        "%uberjob stop",
        "%uberjob resume",
        "%uberjob rerun",
        "--no-refresh",
        "--debug",
    ]:
        assert text in doc, text


# -- the line magic ----------------------------------------------------------------------------


def test_line_magic_runs_the_named_plan_and_returns_the_output(ip, plan):
    assert magic(ip, "plan x --progress none") == 3
    assert magic(ip, "plan [x, {'y': y}] --progress none --max-workers 2") == [3, {"y": 7}]
    assert last_run().state == "done"


def test_output_expressions_with_spaces_brackets_and_dashes_stay_whole(ip, plan):
    assert magic(ip, "plan (x, 'a --b', y) --progress none") == (3, "a --b", 7)
    assert magic(ip, "plan x if True else y --progress=none") == 3
    assert _split_options("plan f(a, b='--x') --retry 2") == ("plan f(a, b='--x')", "--retry 2")
    assert _split_options("plan x-- y") == ("plan x-- y", "")


def test_without_output_nothing_runs(ip, plan):
    assert magic(ip, "plan --progress none") is None


def test_options_reach_run(ip):
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise Boom("not yet")
        return "ok"

    plan = uberjob.Plan()
    ip.user_ns.update(plan=plan, z=plan.call(flaky))
    assert magic(ip, "plan z --retry 3 --progress none") == "ok"
    assert len(attempts) == 3

    physical, node = magic(ip, "plan z --dry-run --progress none")
    assert isinstance(physical, uberjob.Plan)
    assert node is not None
    assert len(attempts) == 3  # a dry run runs nothing


def test_max_errors_none_runs_everything_then_raises_the_first(ip):
    plan = uberjob.Plan()
    ip.user_ns.update(plan=plan, calls=[plan.call(fail_on_odd, i) for i in range(6)])
    with pytest.raises(CallError):
        magic(ip, "plan calls --max-errors none --max-workers 1 --progress none")
    handle = last_run()
    assert handle.failure_count == 3
    assert handle.completed == 3


def test_registry_option_uses_the_named_registry(ip, tmp_path):
    from uberjob.stores import JsonFileStore

    made = []

    def make():
        made.append(1)
        return {"a": 1}

    plan = uberjob.Plan()
    registry = uberjob.Registry()
    x = plan.call(make)
    registry.add(x, JsonFileStore(str(tmp_path / "x.json")))
    ip.user_ns.update(plan=plan, registry=registry, x=x)
    assert magic(ip, "plan x --registry registry --progress none") == {"a": 1}
    assert magic(ip, "plan x --registry registry --progress none") == {"a": 1}
    assert len(made) == 1  # up to date the second time
    assert magic(ip, "plan x --registry registry --fresh --progress none") == {"a": 1}
    assert len(made) == 2


def test_console_progress_prints_blocks(ip, plan, capsys):
    assert magic(ip, "plan x --progress console") == 3
    shown = capsys.readouterr()
    assert "1 / 1" in shown.out + shown.err


# -- the cell magic ----------------------------------------------------------------------------


def test_cell_magic_builds_a_fresh_plan_and_runs_its_last_expression(ip):
    ip.user_ns["plan"] = "the user's old plan"
    cell = (
        "def double(v):\n    return 2 * v\n\n"
        "calls = [plan.call(double, i) for i in range(4)]\ncalls\n"
    )
    assert ip.run_cell_magic("uberjob", "--progress none", cell) == [0, 2, 4, 6]
    assert isinstance(ip.user_ns["plan"], uberjob.Plan)
    assert "double" in ip.user_ns  # the cell's definitions stay, as in any cell
    assert ip.run_cell_magic("uberjob", "--progress none", "z = plan.lit(5)\n") is None


def test_cell_magic_through_run_cell_returns_the_value_as_the_cells_result(ip):
    result = ip.run_cell("%%uberjob --progress none\nplan.call(len, 'abc')\n")
    assert result.success
    assert result.result == 3


def test_cell_magic_with_a_new_registry(ip, tmp_path):
    path = tmp_path / "v.json"
    cell = (
        "from uberjob.stores import JsonFileStore\n"
        "v = plan.call(sorted, [3, 1, 2])\n"
        f"registry.add(v, JsonFileStore({str(path)!r}))\n"
        "v\n"
    )
    assert ip.run_cell_magic("uberjob", "--registry new --progress none", cell) == [1, 2, 3]
    assert isinstance(ip.user_ns["registry"], uberjob.Registry)
    assert json.loads(path.read_text()) == [1, 2, 3]


def test_errors_in_the_cells_own_code_are_the_users_not_usage_errors(ip):
    with pytest.raises(ZeroDivisionError):
        ip.run_cell_magic("uberjob", "--progress none", "1 / 0\n")


def test_symbolic_tracebacks_of_cell_calls_show_the_cell_not_the_magic(ip):
    cell = "calls = [plan.call(fail_on_odd, i) for i in range(2)]\ncalls\n"
    ip.user_ns["fail_on_odd"] = fail_on_odd
    with pytest.raises(CallError) as info:
        ip.run_cell_magic("uberjob", "--progress none", cell)
    text = str(info.value)
    assert "plan.call(fail_on_odd, i)" in text
    assert "_magics" not in text


# -- background runs and stop ------------------------------------------------------------------


def test_background_returns_a_handle_and_stop_stops_it(ip):
    in_flight = threading.Event()
    release = threading.Event()
    started = []

    def first():
        started.append("first")
        in_flight.set()
        assert release.wait(timeout=10)

    def later(i):
        started.append(i)

    plan = uberjob.Plan()
    calls = [plan.call(first)] + [plan.call(later, i) for i in range(50)]
    ip.user_ns.update(plan=plan, calls=calls)
    handle = magic(ip, "plan calls --background --max-workers 1 --progress none")
    assert isinstance(handle, uberjob._handle.RunHandle)
    assert in_flight.wait(timeout=10)
    assert magic(ip, "last") is handle
    magic(ip, "stop")
    release.set()
    with pytest.raises(RunStopped):
        handle.result(timeout=10)
    assert handle.state == "stopped"
    assert started == ["first"]
    assert "no background run is running" in usage_error(ip, "stop")


def test_background_handle_result(ip, plan):
    handle = magic(ip, "plan y --background --progress none")
    assert handle.result(timeout=10) == 7
    assert handle.summary().startswith("uberjob: done, 1 / 1")


# -- failures and post-mortem ------------------------------------------------------------------


def check(i):
    helper_value = i * 10  # noqa: F841 - read in the debugger session below
    return parse(f"item {i}")


def parse(text):
    raise Boom(f"cannot parse {text!r}")


@pytest.fixture
def failed_run(ip):
    plan = uberjob.Plan()
    calls = [plan.call(check, i) for i in range(3)] + [plan.call(fail_on_odd, i) for i in range(4)]
    ip.user_ns.update(plan=plan, calls=calls)
    with pytest.raises(CallError):
        magic(ip, "plan calls --max-errors none --max-workers 1 --progress none")
    return last_run()


def test_failures_lists_the_last_runs_failures_grouped(ip, failed_run):
    failures = magic(ip, "failures")
    assert isinstance(failures, FailureList)
    assert len(failures) == failed_run.failure_count == 5
    text = repr(failures)
    # the views' grouping: type and message pattern, numbers as <n>, across scopes
    assert text.splitlines()[0] == "uberjob: 5 failed, in 2 groups:"
    assert "Boom: cannot parse 'item <n>'" in text
    section, scope, exception = failures[0]
    assert section == "run"
    assert scope[-1].endswith("test_magic.check")
    assert isinstance(exception, CallError)
    lines = traceback.format_exception(failures[0].cause)
    assert any("in parse" in line for line in lines)


def test_failures_group_identical_errors():
    def raise_same():
        raise Boom("same")

    plan = uberjob.Plan()
    calls = [plan.call(raise_same) for _ in range(4)]
    with pytest.raises(CallError):
        uberjob.run(plan, output=calls, max_errors=None, progress=False)
    failures = last_run().failures
    assert isinstance(failures, FailureList)
    assert len(failures.groups()) == 1
    assert "4 \u00d7 test_magic.Boom: same" in failures.text()  # the views' type name
    assert "[failures 0, 1, 2, 3]" in failures.text()


def test_failures_of_a_clean_run(ip, plan):
    magic(ip, "plan x --progress none")
    assert repr(magic(ip, "failures")) == "uberjob: no failures."
    assert "has no failures" in usage_error(ip, "debug")


def debug_session(ip, monkeypatch, commands: str) -> str:
    out = io.StringIO()
    monkeypatch.setattr(
        type(ip), "debugger_cls", functools.partial(Pdb, stdin=io.StringIO(commands), stdout=out)
    )
    return out


def test_debug_opens_post_mortem_at_the_users_function(ip, failed_run, monkeypatch, capsys):
    out = debug_session(ip, monkeypatch, "p helper_value\np i\nwhere\ndown\np text\nq\n")
    magic(ip, "debug")
    printed = capsys.readouterr().out + out.getvalue()
    assert "uberjob: failure 0 in " in printed
    assert "Boom: cannot parse 'item 0'" in printed
    # It starts in check() (the call's function), not in parse() where the error was raised.
    assert "ipdb> 0\nipdb> 0\n" in printed  # p helper_value, p i: locals of check()
    assert "ipdb> 'item 0'\n" in printed  # after `down`: p text, in parse()


def test_debug_k_picks_the_failure(ip, failed_run, monkeypatch, capsys):
    out = debug_session(ip, monkeypatch, "p i\nq\n")
    magic(ip, "debug 4")
    printed = capsys.readouterr().out + out.getvalue()
    assert "Boom: odd 3" in printed
    assert "ipdb> 3\n" in printed
    out = debug_session(ip, monkeypatch, "p i\nq\n")
    magic(ip, "debug -1")
    assert "ipdb> 3\n" in out.getvalue()


# -- mistakes: one-line UsageErrors ------------------------------------------------------------


def test_nothing_run_yet(ip):
    for command in ["last", "failures", "debug", "debug 1"]:
        assert usage_error(ip, command) == "nothing has run yet in this kernel"
    assert usage_error(ip, "stop") == "no background run is running"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "%uberjob needs a plan's name or a command"),
        ("nope x", "no plan named 'nope' in the namespace"),
        ("x x", "'x' is a Call, not an uberjob.Plan"),
        ("plan.x x", "the plan must be named by a variable; got 'plan.x'"),
        ("plan undefined_name", "cannot evaluate the output 'undefined_name': NameError"),
        ("plan x +", "cannot evaluate the output 'x +': SyntaxError"),
        ("plan x --bogus", "unrecognized arguments: --bogus"),
        ("plan x --max-workers 0", "argument --max-workers: invalid positive int value: '0'"),
        ("plan x --max-workers two", "invalid positive int value: 'two'"),
        ("plan x --max-errors -1", "invalid 'none' or non-negative int value: '-1'"),
        ("plan x --retry 0", "argument --retry: invalid positive int value: '0'"),
        ("plan x --progress fancy", "argument --progress: invalid choice: 'fancy'"),
        ("plan x --registry nope", "no registry named 'nope' in the namespace"),
        ("plan x --registry plan", "'plan' is a Plan, not an uberjob.Registry"),
        ("plan x --registry new", "--registry new is for the %%uberjob cell magic"),
        ("plan x --progress none extra", "unexpected words after the options: 'extra'"),
        ("last now", "%uberjob last takes no arguments; got 'now'"),
        ("failures 2", "%uberjob failures takes no arguments; got '2'"),
        ("stop all", "%uberjob stop takes no arguments; got 'all'"),
    ],
)
def test_line_mistakes(ip, plan, line, message):
    assert message in usage_error(ip, line)


def test_debug_mistakes(ip, failed_run):
    assert usage_error(ip, "debug x") == "%uberjob debug takes a failure number; got 'x'"
    assert usage_error(ip, "debug 5") == "no failure 5: the last run kept 5 (0 to 4)"
    assert usage_error(ip, "debug -6") == "no failure -6: the last run kept 5 (0 to 4)"


def test_cell_mistakes(ip, plan):
    assert "takes options only" in usage_error(ip, "plan", "x\n")
    assert "syntax error in the cell, line 1" in usage_error(ip, "", "x = (\n")
    assert "unrecognized arguments: --nope" in usage_error(ip, "--nope", "1\n")
    assert "no registry named 'nope'" in usage_error(ip, "--registry nope", "1\n")


def test_mistakes_show_one_line_without_a_traceback_in_the_shell(ip, plan, capsys):
    result = ip.run_cell("%uberjob nope x")
    assert isinstance(result.error_in_exec, UsageError)
    shown = capsys.readouterr()
    text = shown.out + shown.err
    assert "UsageError: no plan named 'nope' in the namespace" in text
    assert "Traceback" not in text


def test_a_failed_run_shows_no_uberjob_frame_in_ipython_s_traceback(ip):
    ip.run_cell(
        "import uberjob\n"
        "def explode(x):\n"
        "    raise ValueError(f'bad input {x}')\n"
        "plan = uberjob.Plan()\n"
        "node = plan.call(explode, 7)\n"
    )
    text = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdout", text)
        result = ip.run_cell("uberjob.run(plan, output=node, progress=False)")
    assert isinstance(result.error_in_exec, CallError)
    rendered = "\n".join(result.error_in_exec._render_traceback_())
    assert "_run.py" not in rendered
    assert "bad input 7" in rendered  # the cause, with the call's own frame
    assert "raise ValueError" in rendered
    assert "uberjob.run(plan, output=node, progress=False)" in rendered  # the cell's line
    assert "Symbolic traceback" in rendered
    assert "_run.py" not in text.getvalue()
    assert "Symbolic traceback" in text.getvalue()  # what IPython printed used the hook


def test_a_call_errors_symbolic_traceback_names_the_cell_as_ipython_does(ip):
    """Planned in a cell: ``Cell In[N], line M`` (not the kernel's temporary file), and a
    comprehension's own frame at the cell's line is not repeated."""
    result = ip.run_cell(
        "def fail(k):\n"
        "    raise ValueError(k)\n"
        "plan = uberjob.Plan()\n"
        "calls = [plan.call(fail, k) for k in range(2)]\n"
        "try:\n"
        "    uberjob.run(plan, output=calls, progress=False)\n"
        "except uberjob.CallError as error:\n"
        "    message = str(error)\n",
        store_history=True,
    )
    assert result.success
    message = ip.user_ns["message"]
    count = result.execution_count
    assert f"Cell In[{count}], line 4, in <module>" in message
    assert "<listcomp>" not in message  # same place as <module>: dropped
    assert '.py", line 4' not in message


def test_failures_show_hostile_text_inert(ip):
    """Escape sequences and lone surrogates from user code reach no terminal as they are."""
    hostile = "\x1b[2J\x1b]0;title\x07data-\udcff.csv"

    def fail():
        raise ValueError(hostile)

    ip.user_ns["fail"] = fail
    ip.run_cell(
        "plan = uberjob.Plan()\n"
        "try:\n"
        "    uberjob.run(plan, output=plan.call(fail), progress=False)\n"
        "except uberjob.CallError:\n"
        "    pass\n"
    )
    text = repr(magic(ip, "failures"))
    assert "\x1b" not in text
    assert "\\x1b[2J" in text
    text.encode("utf-8")  # no lone surrogate left


# -- fix and resume: %uberjob resume, %uberjob rerun K ---------------------------------------

BROKEN_CELL = """
calls_made = []

def work(i):
    calls_made.append(i)
    if i in (2, 5):
        raise ValueError(f"bad {i}")
    return i * 10
"""

FIXED_CELL = """
def work(i):
    calls_made.append(i)
    return i * 10
"""


@pytest.fixture
def broken_run(ip):
    """A failed run whose function the notebook then redefines (a cell's fix)."""
    ip.run_cell(BROKEN_CELL)
    plan = uberjob.Plan()
    ip.user_ns.update(plan=plan, calls=[plan.call(ip.user_ns["work"], i) for i in range(8)])
    with pytest.raises(CallError):
        magic(ip, "plan calls --max-errors none --max-workers 1 --progress none")
    return ip.user_ns["calls_made"]


def test_resume_uses_the_fix_by_default_and_runs_only_what_did_not_complete(ip, broken_run):
    ip.run_cell(FIXED_CELL)
    broken_run.clear()
    assert magic(ip, "resume") == [i * 10 for i in range(8)]
    assert sorted(broken_run) == [2, 5]
    assert last_run().refreshed == ["work"]
    assert usage_error(ip, "resume").startswith("the last run is done: nothing to resume")


def test_resume_no_refresh_and_options(ip, broken_run):
    ip.run_cell(FIXED_CELL)
    with pytest.raises(CallError):
        magic(ip, "resume --no-refresh --max-errors none --max-workers 2")
    assert last_run().failure_count == 2  # the plan's own (broken) function again
    handle = magic(ip, "resume --background --progress none --retry 2")
    assert isinstance(handle, uberjob.RunHandle)
    assert handle.result(timeout=10) == [i * 10 for i in range(8)]


def test_rerun_shows_the_value_or_the_new_traceback(ip, broken_run, capsys):
    with pytest.raises(ValueError, match="bad 2"):
        magic(ip, "rerun 0 --no-refresh")
    ip.run_cell(FIXED_CELL)
    assert magic(ip, "rerun 0") == 20
    assert magic(ip, "rerun -1") == 50
    assert "uberjob: rerunning failure 0 in work" in capsys.readouterr().out


def test_rerun_debug_starts_at_the_first_line(ip, broken_run, monkeypatch, capsys):
    ip.run_cell(FIXED_CELL)
    out = debug_session(ip, monkeypatch, "p i\nc\n")
    assert magic(ip, "rerun 1 --debug") == 50
    printed = capsys.readouterr().out + out.getvalue()
    assert "under the debugger" in printed
    assert "calls_made.append(i)" in printed  # the function's first line
    assert "ipdb> 5\n" in printed


def test_resume_and_rerun_mistakes(ip, broken_run):
    assert usage_error(ip, "resume --bogus").endswith("unrecognized arguments: --bogus")
    assert "invalid positive int value: '0'" in usage_error(ip, "resume --max-workers 0")
    assert "invalid choice: 'fancy'" in usage_error(ip, "resume --progress fancy")
    assert usage_error(ip, "rerun").startswith("the following arguments are required: K")
    assert "invalid int value: 'x'" in usage_error(ip, "rerun x")
    assert usage_error(ip, "rerun 2") == "no failure 2: the last run kept 2 (0 to 1)"
    last_run().discard()
    assert usage_error(ip, "resume") == (
        "the last run cannot be resumed: its kept values were discarded (handle.discard())"
    )


def test_resume_and_rerun_need_a_run_that_can(ip, monkeypatch):
    assert usage_error(ip, "resume") == "nothing has run yet in this kernel"
    assert usage_error(ip, "rerun 0") == "nothing has run yet in this kernel"
    plan = uberjob.Plan()
    ip.user_ns.update(plan=plan, calls=[plan.call(fail_on_odd, i) for i in range(6)])
    with pytest.raises(CallError):
        uberjob.run(plan, output=ip.user_ns["calls"], max_errors=None, progress=False, keep=False)
    assert usage_error(ip, "resume") == (
        "the last run cannot be resumed: it ran with keep=False, so it kept no values to "
        "resume from"
    )
    assert usage_error(ip, "rerun 0").startswith("failure 0 kept no arguments to rerun it with")
    release = threading.Event()
    plan2 = uberjob.Plan()
    handle = uberjob.run(
        plan2, output=plan2.call(release.wait, 10), background=True, progress=False
    )
    assert usage_error(ip, "resume").startswith("the last run is still going")
    release.set()
    assert handle.result(timeout=10) is True
