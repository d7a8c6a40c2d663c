"""The exceptions a run raises.

Exception hierarchy::

    Exception
     ├── CallError            a call in the plan raised; __cause__ is what it raised
     └── NotTransformedError  a placeholder (e.g. registry.source) ran untransformed
    RunStopped (Exception)    a background run was stopped before it finished
"""

from __future__ import annotations

from uberjob._util import fully_qualified_name
from uberjob._util.stack import render_symbolic_traceback

__all__ = ["CallError", "NotTransformedError", "RunStopped"]


class CallError(Exception):
    """An exception was raised in a symbolic call.

    The message names the function and gives the symbolic traceback (where the call was
    planned); ``__cause__`` is the original exception and ``call`` the :class:`~uberjob.graph.Call`.
    """

    def __init__(self, call):
        super().__init__(
            f"An exception was raised in a symbolic call to {fully_qualified_name(call.fn)}.\n"
            + render_symbolic_traceback(call.stack_frame)
        )
        self.call = call

    def __reduce__(self):
        return CallError, (self.call,)


class NotTransformedError(Exception):
    """An expected transformation was not applied."""


class RunStopped(Exception):
    """The run was stopped (by its handle's ``stop()`` or the widget's Stop button)."""

    uberjob_stopped = True  # how progress views tell "stopped" from "failed"


def chained_call_error(call, exception: BaseException) -> CallError:
    error = CallError(call)
    error.__cause__ = exception  # as `raise error from exception` would set it
    error.__suppress_context__ = True
    return error


# Tracebacks and reprs name the public path (uberjob.CallError), where users import them from.
for _public in (CallError, NotTransformedError, RunStopped):
    _public.__module__ = "uberjob"
del _public
