"""The ``%uberjob`` line and cell magics (``%load_ext uberjob``).

Forms (``%uberjob?`` prints this list with examples)::

    %uberjob PLAN [OUTPUT] [options]   run the plan named PLAN; OUTPUT is an expression
    %%uberjob [options]                the cell builds a fresh ``plan``; its last expression
                                       is the output
    %uberjob last                      show the last run again (its widget, or its summary)
    %uberjob failures                  the last run's failures, grouped
    %uberjob debug [K]                 post-mortem debugger on failure K (default 0)
    %uberjob stop                      stop the running background run
    %uberjob resume [options]          resume the last run where it stopped (functions
                                       redefined in the notebook are used: --no-refresh not)
    %uberjob rerun K [--debug]         call failure K's function again on its arguments

Every user mistake (an unknown plan name, a bad option, nothing run yet...) raises
``IPython.core.error.UsageError`` with one line, never a traceback from inside the magic.
Errors of the user's own code (in the cell, in the plan's calls) are raised as they would be
without the magic.
"""

from __future__ import annotations

import ast
import datetime as dt

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from uberjob._failure_list import FailureList
from uberjob.progress._choose import in_jupyter_kernel
from uberjob.progress._text import terminal_text

__all__ = ["FailureList", "UberjobMagics"]

_COMMANDS = ("last", "failures", "debug", "stop", "resume", "rerun")
_PROGRESS = {"widget": "widget", "console": "console", "none": False}

_EXAMPLES = """
Examples::

    %load_ext uberjob

    %uberjob plan z                         # run `plan`, return the value of `z`
    %uberjob plan [x, y] --max-workers 4    # any expression is an output
    %uberjob plan calls --max-errors none --retry 3
    %uberjob plan --registry registry       # bring the registry's stores up to date
    %uberjob plan z --registry registry --fresh    # rebuild every stored value
    physical, node = %uberjob plan z --dry-run
    handle = %uberjob plan calls --background      # returns at once; Stop in the widget

    %%uberjob --max-errors none
    calls = [plan.call(work, i) for i in range(100)]   # `plan` is a fresh uberjob.Plan
    calls                                              # the last expression is the output

    %%uberjob --registry new                # `registry` is a fresh uberjob.Registry
    x = plan.call(make)
    registry.add(x, uberjob.stores.JsonFileStore("x.json"))

    %uberjob last          # show the last run's widget again
    %uberjob failures      # its failures, grouped; a list of (section, scope, exception)
    %uberjob debug 2       # pdb post-mortem at the user's function in failure 2
    %uberjob stop          # stop the running background run (calls in flight finish)

    %uberjob rerun 0               # failure 0's function again, on its arguments: the value,
    %uberjob rerun 0 --debug       # or the new traceback; --debug: pdb from its first line
    %uberjob resume                # the last run again, computing only what did not complete
    %uberjob resume --max-errors none --background --no-refresh

PLAN and the names used by OUTPUT and --registry are looked up in the notebook's namespace.
The words last, failures, debug, stop, resume and rerun are commands, not plan names.
`rerun` and `resume` use the functions as they are bound in the notebook now (a fix in a
re-executed def cell), unless --no-refresh.
"""


def _max_errors(text: str) -> int | None:
    if text.lower() == "none":
        return None
    return _non_negative(text)


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


_max_errors.__name__ = "'none' or non-negative int"
_positive.__name__ = "positive int"


@magics_class
class UberjobMagics(Magics):
    """The ``%uberjob`` / ``%%uberjob`` magic."""

    @magic_arguments()
    @argument(
        "words",
        nargs="*",
        metavar="PLAN [OUTPUT] | last | failures | debug [K] | stop",
        help="The plan's name and the output expression, or a command.",
    )
    @argument("--max-workers", type=_positive, metavar="N", help="Threads running calls.")
    @argument(
        "--max-errors",
        type=_max_errors,
        default=0,
        metavar="N|none",
        help="Keep scheduling until more than N calls failed (none: no limit). Default 0.",
    )
    @argument("--retry", type=_positive, metavar="N", help="Attempts per call.")
    @argument(
        "--registry",
        metavar="R",
        help="The registry's name in the namespace; with %%%%uberjob, `new` binds a fresh "
        "`registry` for the cell.",
    )
    @argument("--fresh", action="store_true", help="Treat every stored value as stale.")
    @argument("--dry-run", action="store_true", help="Return (physical_plan, output_node) instead.")
    @argument(
        "--background",
        action="store_true",
        help="Return a run handle at once; the widget gets a Stop button.",
    )
    @argument(
        "--progress",
        choices=sorted(_PROGRESS),
        help="How progress is shown (default: the widget in a notebook).",
    )
    @line_cell_magic
    def uberjob(self, line: str, cell: str | None = None):
        """Run an uberjob plan, or inspect the last run."""
        __tracebackhide__ = True  # IPython hides this frame from the user's tracebacks
        line = line.strip()
        if cell is None:
            if not line:
                raise UsageError(
                    "%uberjob needs a plan's name or a command (last, failures, debug, stop); "
                    "see %uberjob?"
                )
            command, _, rest = line.partition(" ")
            if command in _COMMANDS:
                return self._command(command, rest.strip())
            positional, options = _split_options(line)
            args = self._parse(options)
            if args.words:
                raise UsageError(f"unexpected words after the options: {' '.join(args.words)!r}")
            name, _, output_expr = positional.partition(" ")
            plan = self._plan(name)
            output = self._evaluate(output_expr.strip()) if output_expr.strip() else None
            registry = self._registry(args.registry, cell=False)
            return self._run(plan, output, registry, args)

        args = self._parse(line)
        if args.words:
            raise UsageError(
                "%%uberjob takes options only (the cell builds `plan`); "
                f"got {' '.join(args.words)!r}"
            )
        return self._run_cell(cell, args)

    # -- running -----------------------------------------------------------------------------

    def _parse(self, options: str):
        try:
            return parse_argstring(UberjobMagics.uberjob, options)
        except ValueError as error:  # unbalanced quotes in the option string
            raise UsageError(f"cannot parse the options {options!r}: {error}") from None

    def _plan(self, name: str):
        from uberjob import Plan

        if not name.isidentifier():
            raise UsageError(f"the plan must be named by a variable; got {name!r}")
        if name not in self.shell.user_ns:
            raise UsageError(f"no plan named {name!r} in the namespace")
        plan = self.shell.user_ns[name]
        if not isinstance(plan, Plan):
            raise UsageError(f"{name!r} is a {type(plan).__name__}, not an uberjob.Plan")
        return plan

    def _evaluate(self, expression: str):
        try:
            return eval(expression, self.shell.user_ns)
        except Exception as error:
            raise UsageError(
                f"cannot evaluate the output {expression!r}: {type(error).__name__}: {error}"
            ) from None

    def _registry(self, name: str | None, *, cell: bool):
        from uberjob import Registry

        if name is None:
            return None
        if name == "new":
            if not cell:
                raise UsageError("--registry new is for the %%uberjob cell magic")
            registry = Registry()
            self.shell.user_ns["registry"] = registry
            return registry
        if not name.isidentifier() or name not in self.shell.user_ns:
            raise UsageError(f"no registry named {name!r} in the namespace")
        registry = self.shell.user_ns[name]
        if not isinstance(registry, Registry):
            raise UsageError(f"{name!r} is a {type(registry).__name__}, not an uberjob.Registry")
        return registry

    def _run_cell(self, cell: str, args):
        __tracebackhide__ = True
        from uberjob import Plan

        source = self.shell.transform_cell(cell)
        try:
            module = ast.parse(source)
        except SyntaxError as error:
            raise UsageError(
                f"syntax error in the cell, line {error.lineno}: {error.msg}"
            ) from None
        last = None
        if module.body and isinstance(module.body[-1], ast.Expr):
            last = ast.Expression(module.body.pop().value)
        filename = self.shell.compile.cache(source, self.shell.execution_count)
        plan = Plan()
        self.shell.user_ns["plan"] = plan
        registry = self._registry(args.registry, cell=True)
        # The user's own code, run by IPython's own ex/ev: its errors show as in a plain cell,
        # and symbolic tracebacks of the calls it plans stop at IPython's frames, as there.
        self.shell.ex(compile(module, filename, "exec"))
        output = self.shell.ev(compile(last, filename, "eval")) if last is not None else None
        return self._run(plan, output, registry, args)

    def _run(self, plan, output, registry, args):
        __tracebackhide__ = True
        import uberjob

        progress = True if args.progress is None else _PROGRESS[args.progress]
        widget = None
        if args.background and progress in (True, "widget") and in_jupyter_kernel(self.shell):
            # The widget is displayed once: as the returned handle when it is the cell's value,
            # or at the end of the cell when it is not (e.g. `handle = %uberjob ...`).
            from uberjob.progress import Progress
            from uberjob.progress._widget import WidgetProgressObserver

            def make_observer():
                nonlocal widget
                observer = WidgetProgressObserver(display=False)
                widget = observer.widget
                return observer

            progress = Progress(make_observer)
        result = uberjob.run(
            plan,
            output=output,
            registry=registry,
            dry_run=args.dry_run,
            max_workers=args.max_workers,
            max_errors=args.max_errors,
            retry=args.retry,
            fresh_time=dt.datetime.now() if args.fresh else None,
            progress=progress,
            background=args.background and not args.dry_run,
        )
        if widget is not None and isinstance(result, uberjob._handle.RunHandle):
            if result.widget is None:
                result.widget = widget
            self._display_unless_shown(result)
        return result

    def _display_unless_shown(self, handle) -> None:
        shell = self.shell

        def after_cell(execution_result) -> None:
            shell.events.unregister("post_run_cell", after_cell)
            if execution_result.result is not handle:
                from IPython.display import display

                display(handle)

        shell.events.register("post_run_cell", after_cell)

    # -- commands ----------------------------------------------------------------------------

    def _command(self, command: str, rest: str):
        __tracebackhide__ = True
        if command == "debug":
            return self._debug(rest)
        if command == "resume":
            return self._resume(rest)
        if command == "rerun":
            return self._rerun(rest)
        if rest:
            raise UsageError(f"%uberjob {command} takes no arguments; got {rest!r}")
        if command == "stop":
            return self._stop()
        handle = _last_run()
        if command == "last":
            return handle
        return handle.failures

    def _stop(self) -> None:
        from uberjob._handle import last_run

        handle = last_run()
        if handle is None or not handle.background or handle.done():
            raise UsageError("no background run is running")
        handle.stop()
        print("uberjob: stopping; calls in flight finish, nothing new starts.")

    def _resume(self, rest: str):
        __tracebackhide__ = True
        args = _parse_command(_resume_arguments, rest)
        handle = _last_run()
        if handle.state in ("pending", "running"):
            raise UsageError("the last run is still going: %uberjob stop it first, then resume")
        if handle.state == "done":
            raise UsageError(f"the last run is done: nothing to resume ({handle.summary()})")
        if not handle.resumable:
            raise UsageError(f"the last run cannot be resumed: {_why_not_resumable(handle)}")
        options = {
            name: value
            for name, value in (
                ("max_workers", args.max_workers),
                ("retry", args.retry),
                ("progress", None if args.progress is None else _PROGRESS[args.progress]),
            )
            if value is not None
        }
        if args.max_errors is not _NOT_GIVEN:
            options["max_errors"] = args.max_errors
        if args.background:
            options["background"] = True
        return handle.resume(refresh=not args.no_refresh, **options)

    def _rerun(self, rest: str):
        __tracebackhide__ = True
        args = _parse_command(_rerun_arguments, rest)
        handle = _last_run()
        failure = _failure(handle, args.number, "rerun")
        if failure.arguments is None:
            raise UsageError(
                f"failure {args.number} kept no arguments to rerun it with (only the first 3 of "
                "each group keep theirs; none with keep=False): %uberjob failures lists them"
            )
        print(
            terminal_text(
                f"uberjob: rerunning failure {args.number} in {_scope_text(failure.scope)}"
                + (" under the debugger" if args.debug else "")
            )
        )
        return failure.rerun(debug=args.debug, refresh=not args.no_refresh)

    def _debug(self, rest: str) -> None:
        handle = _last_run()
        if not handle.failures:
            raise UsageError(f"the last run has no failures ({handle.summary()})")
        try:
            index = int(rest) if rest else 0
        except ValueError:
            raise UsageError(f"%uberjob debug takes a failure number; got {rest!r}") from None
        count = len(handle.failures)
        if not -count <= index < count:
            raise UsageError(f"no failure {index}: the last run kept {count} (0 to {count - 1})")
        failure = handle.failures[index]
        cause = failure.cause
        tb = cause.__traceback__
        if tb is None:
            raise UsageError(f"failure {index} has no traceback to debug")
        frames = _frames(tb)
        start = _user_frame_index(frames, getattr(failure.exception, "call", None))
        print(
            terminal_text(
                f"uberjob: failure {index} in {_scope_text(failure.scope)}: {_one_line(cause)}"
            )
        )
        debugger = self.shell.debugger_cls()
        _post_mortem(debugger, tb, frames[start])


def _scope_text(scope: tuple) -> str:
    return " \u203a ".join(str(part) for part in scope) or "(no scope)"


def _shorten(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {_shorten(str(error))}"


# -- the debugger ------------------------------------------------------------------------------


def _frames(tb) -> list:
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    return frames


def _user_frame_index(frames: list, call) -> int:
    """The innermost frame running the call's function; else the innermost frame."""
    fn = getattr(call, "fn", None)
    codes = set()
    while fn is not None:
        code = getattr(fn, "__code__", None)
        if code is not None:
            codes.add(code)
        fn = getattr(fn, "__wrapped__", None) or getattr(fn, "func", None)  # wraps, partial
    for index in range(len(frames) - 1, -1, -1):
        if frames[index].f_code in codes:
            return index
    return len(frames) - 1


def _post_mortem(debugger, tb, frame) -> None:
    """``pdb.post_mortem(tb)``, but starting at ``frame`` (a frame of the traceback)."""
    debugger.reset()
    setup = debugger.setup

    def setup_at_frame(f, t):
        result = setup(f, t)
        for index, (stack_frame, _) in enumerate(debugger.stack):
            if stack_frame is frame:
                debugger.curindex = index
                debugger.curframe = frame
                # Python 3.13+ caches locals per frame; older versions read f_locals directly.
                debugger.curframe_locals = frame.f_locals
        return result

    debugger.setup = setup_at_frame
    try:
        debugger.interaction(None, tb)
    finally:
        del debugger.setup


# -- helpers -----------------------------------------------------------------------------------


_NOT_GIVEN = object()


@magic_arguments()
@argument("--max-workers", type=_positive, metavar="N", help="Threads running calls.")
@argument(
    "--max-errors",
    type=_max_errors,
    default=_NOT_GIVEN,
    metavar="N|none",
    help="Keep scheduling until more than N calls failed (none: no limit). Default: the run's.",
)
@argument("--retry", type=_positive, metavar="N", help="Attempts per call.")
@argument("--background", action="store_true", help="Return a run handle at once.")
@argument("--no-refresh", action="store_true", help="Keep the plan's functions as they are.")
@argument("--progress", choices=sorted(_PROGRESS), help="How progress is shown.")
def _resume_arguments(line):
    """%uberjob resume [options]: resume the last run."""


@magic_arguments()
@argument("number", type=int, metavar="K", help="The failure's number (%%%%uberjob failures).")
@argument("--debug", action="store_true", help="Run it under the debugger from its first line.")
@argument("--no-refresh", action="store_true", help="Call the function the plan holds.")
def _rerun_arguments(line):
    """%uberjob rerun K [--debug] [--no-refresh]: call failure K's function again."""


def _parse_command(function, rest: str):
    try:
        return parse_argstring(function, rest)
    except ValueError as error:  # unbalanced quotes
        raise UsageError(f"cannot parse {rest!r}: {error}") from None


def _why_not_resumable(handle) -> str:
    spec = handle._spec
    if spec is None:
        return "it was not started by uberjob.run() (a dry run?)"
    if not spec.options["keep"]:
        return "it ran with keep=False, so it kept no values to resume from"
    if handle._resumed_by is not None:
        return "it was resumed already (the resumed run is the last run once it starts)"
    return "its kept values were discarded (handle.discard())"


def _failure(handle, number: int, command: str):
    count = len(handle.failures)
    if not count:
        raise UsageError(f"the last run has no failures ({handle.summary()})")
    if not -count <= number < count:
        raise UsageError(f"no failure {number}: the last run kept {count} (0 to {count - 1})")
    return handle.failures[number]


def _last_run():
    from uberjob._handle import last_run

    handle = last_run()
    if handle is None:
        raise UsageError("nothing has run yet in this kernel")
    return handle


def _split_options(line: str) -> tuple[str, str]:
    """``PLAN OUTPUT --opts`` → (``PLAN OUTPUT``, ``--opts``): options start at the first
    `` --x`` outside brackets and quotes, so an OUTPUT like ``[x, y]`` or ``f(a, b='--')`` stays
    whole."""
    depth = 0
    quote = None
    index = 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif (
            depth == 0
            and char == "-"
            and line.startswith("--", index)
            and (index == 0 or line[index - 1].isspace())
            and line[index + 2 : index + 3].isalpha()
        ):
            return line[:index].strip(), line[index:]
        index += 1
    return line.strip(), ""


UberjobMagics.uberjob.__doc__ = (UberjobMagics.uberjob.__doc__ or "") + _EXAMPLES
