"""A run's failures as ``handle.failures`` and ``%uberjob failures`` show them.

The grouping is every view's (the widget, the console, the HTML report): one group per section,
exception type and message *pattern* (numbers written ``<n>``), across scopes, with the count of
each scope inside the group. Every failure is counted into its group; the first
``max_failures`` also keep their exception (with its traceback) in the list itself.

For ``failure.rerun()`` the first :data:`ARGUMENTS_PER_GROUP` kept failures of each group also
keep the arguments they failed on (so at most ``3 x max_failures`` argument sets, held while the
handle lives; none for a run with ``keep=False``).
"""

from __future__ import annotations

from typing import NamedTuple

from uberjob.progress._failures import MAX_MESSAGE_CHARS, exception_type_name, message_pattern
from uberjob.progress._text import PATH_SEPARATOR, terminal_text

__all__ = ["ARGUMENTS_PER_GROUP", "Failure", "FailureGroup", "FailureList"]

#: Distinct groups kept; failures beyond them are counted in one "(other)" group per section.
MAX_GROUPS = 1000
#: Kept failures per group that also keep the arguments they failed on (Failure.rerun).
ARGUMENTS_PER_GROUP = 3
_OTHER = "(other)"


class _FailureFields(NamedTuple):
    section: str
    scope: tuple
    exception: BaseException


class Failure(_FailureFields):
    """A failed call: ``exception`` is the ``CallError``; its ``__cause__`` is what the call
    raised, with its traceback, so ``traceback.print_exception`` and ``pdb.post_mortem`` work.

    :ivar arguments: ``(args, kwargs)`` the call failed on, kept for :meth:`rerun` (the first
        3 failures of each group), else None.
    """

    arguments: tuple | None = None

    @property
    def cause(self) -> BaseException:
        return self.exception.__cause__ or self.exception

    def rerun(self, debug: bool = False, refresh: bool = True):
        """Call the failed call's function again, here, with the arguments it failed on;
        return its value or raise its exception (the traceback starts at the function).

        ``debug=True`` runs it under the debugger from its first line (IPython's in IPython,
        else pdb). ``refresh=True`` calls the function now bound to its name in ``__main__``
        when it was redefined there (see ``RunHandle.resume``). Dask runs: the arguments kept
        on the cluster are gathered here first. Raises ``RuntimeError`` when the failure kept
        no arguments (only the first 3 of each group do; none with ``keep=False``).
        """
        from uberjob._rerun import prepare_rerun, run_under_debugger

        __tracebackhide__ = True
        fn, args, kwargs = prepare_rerun(self, refresh=refresh)
        if debug:
            return run_under_debugger(fn, args, kwargs)
        try:
            return fn(*args, **kwargs)
        except BaseException as error:
            # From the function on: this frame says nothing (a re-raise adds none).
            error.__traceback__ = error.__traceback__.tb_next if error.__traceback__ else None
            raise


class FailureGroup:
    """Failures with one section, type and message pattern.

    :ivar message: the failures' message while they all say the same; the pattern once not.
    :ivar count: how many failed (kept or not).
    :ivar scopes: failures per scope (a dict, first seen first).
    :ivar numbers: the positions in the failure list of the group's kept failures.
    """

    __slots__ = ("count", "message", "numbers", "scopes", "section", "type", "with_arguments")

    def __init__(self, section: str, type: str, message: str):
        self.section = section
        self.type = type
        self.message = message
        self.count = 0
        self.scopes: dict[tuple, int] = {}
        self.numbers: list[int] = []
        self.with_arguments = 0  # kept failures that keep their arguments (Failure.rerun)

    @property
    def scope(self) -> tuple:
        """The longest scope prefix that every failure of the group shares."""
        scopes = iter(self.scopes)
        common = next(scopes, ())
        for scope in scopes:
            size = 0
            while size < min(len(common), len(scope)) and common[size] == scope[size]:
                size += 1
            common = common[:size]
        return common

    def __repr__(self) -> str:
        return f"<FailureGroup {self.count:,} \u00d7 {self.type}: {_shorten(self.message, 60)}>"


class FailureList(list):
    """The failures of a run (``Failure(section, scope, exception)``), shown grouped.

    A ``list`` of the kept failures (the first ``max_failures``); :attr:`total` counts them all
    and :meth:`groups` groups them all. The first :data:`ARGUMENTS_PER_GROUP` (3) kept failures
    of each group also keep the arguments they failed on, for ``failure.rerun()``: at most
    ``3 x max_failures`` argument sets, held as long as the run's handle (on Dask, futures that
    hold their keys on the cluster); a run with ``keep=False`` keeps none.
    """

    def __init__(self, failures=(), *, max_failures: int | None = None):
        super().__init__(failures)
        self.max_failures = max_failures
        #: Whether kept failures keep their arguments (``run(keep=False)``: none).
        self.keep_arguments = True
        self.total = 0
        self._groups: dict[tuple, FailureGroup] = {}
        for failure in self:  # failures given up front (a copy, a test) are counted too
            self._count(failure, None)
            self.total += 1

    def record(self, section: str, scope: tuple, exception: BaseException, arguments=None) -> None:
        """Count a failure into its group, and keep it while fewer than max_failures are; a
        kept one among the first ARGUMENTS_PER_GROUP of its group also keeps ``arguments()``."""
        failure = Failure(section, scope, exception)
        number = None
        if self.max_failures is None or len(self) < self.max_failures:
            number = len(self)
            self.append(failure)
        group = self._count(failure, number)
        self.total += 1
        if (
            number is not None
            and arguments is not None
            and self.keep_arguments
            and group.with_arguments < ARGUMENTS_PER_GROUP
        ):
            try:
                failure.arguments = arguments()
            except Exception:  # (a Dask future that cannot be held): no rerun for this one
                return
            group.with_arguments += 1

    def _count(self, failure: Failure, number: int | None) -> FailureGroup:
        cause = failure.cause
        type_name = exception_type_name(cause)
        message = _safe_str(cause)[:MAX_MESSAGE_CHARS]
        key = (failure.section, type_name, message_pattern(message))
        group = self._groups.get(key)
        if group is None:
            if len(self._groups) < MAX_GROUPS:
                group = self._groups[key] = FailureGroup(failure.section, type_name, message)
            else:
                key = (failure.section, _OTHER, None)
                group = self._groups.get(key)
                if group is None:
                    message = f"failures beyond the first {MAX_GROUPS} distinct groups"
                    group = self._groups[key] = FailureGroup(failure.section, _OTHER, message)
        elif group.message != message and group.type != _OTHER:
            group.message = key[2]
        group.count += 1
        group.scopes[failure.scope] = group.scopes.get(failure.scope, 0) + 1
        if number is not None:
            group.numbers.append(number)
        return group

    def groups(self) -> list[FailureGroup]:
        """Every group, largest first (ties: first seen first)."""
        groups = list(self._groups.values())
        order = {id(group): index for index, group in enumerate(groups)}
        return sorted(groups, key=lambda group: (-group.count, order[id(group)]))

    def text(self) -> str:
        if not self.total:
            return "uberjob: no failures."
        groups = self.groups()
        head = f"uberjob: {self.total:,} failed"
        if self.total > len(self):
            head += f" (the first {len(self):,} kept with tracebacks)"
        lines = [f"{head}, in {len(groups):,} group{'s' if len(groups) != 1 else ''}:"]
        for group in groups:
            lines.append(f"  {group.count:>5,} \u00d7 {group.type}: {_shorten(group.message)}")
            where = _scope_text(group.scope) if group.scope else "(any scope)"
            if len(group.scopes) > 1:
                lines.append(f"          in {len(group.scopes):,} scopes in {where}:")
                for scope, count in list(group.scopes.items())[:10]:
                    lines.append(f"            {count:>5,} \u00d7 {_scope_text(scope)}")
                if len(group.scopes) > 10:
                    lines.append(f"            \u2026 {len(group.scopes) - 10:,} more scopes")
            else:
                lines.append(f"          in {where}")
            if group.numbers:
                shown = ", ".join(str(n) for n in group.numbers[:8])
                shown += ", \u2026" if len(group.numbers) > 8 else ""
                lines.append(f"          [failures {shown}]")
        lines.append(
            "Debug one with %uberjob debug K, try a fix on its arguments with %uberjob rerun K; "
            "each item's .cause has the traceback."
        )
        # Inert: messages and scopes come from user code (escape sequences, lone surrogates).
        return terminal_text("\n".join(lines))

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.text())


def _scope_text(scope: tuple) -> str:
    return PATH_SEPARATOR.join(str(part) for part in scope) or "(no scope)"


def _shorten(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception as error:  # a hostile __str__ must not break the run
        return f"(str() raised {type(error).__name__})"
