"""``failure.rerun()`` and ``%uberjob rerun K``: try a fix on the exact input that failed.

The failed call's function is called again in the calling thread (the notebook's own) with the
arguments it failed on, kept by the failure list (``_failure_list.py``: the first 3 failures of
each group). With ``refresh`` the function now bound to its name in ``__main__`` is called (a
redefined function, ``_refresh.py``); the plan is left as it is (``resume(refresh=True)`` puts
the fix in the plan). Arguments kept from a Dask run are futures: they are gathered here first.
"""

from __future__ import annotations

import signal
import threading

__all__ = ["prepare_rerun", "run_under_debugger"]


def prepare_rerun(failure, *, refresh: bool) -> tuple:
    """``(function, args, kwargs)`` to call again for ``failure``."""
    if not isinstance(refresh, bool):
        raise TypeError(f"refresh must be bool; got {type(refresh).__name__} ({refresh!r:.80}).")
    call = getattr(failure.exception, "call", None)
    fn = getattr(call, "fn", None)
    if fn is None:
        raise RuntimeError(
            "This failure is not a failed call (a store's check?): nothing to rerun."
        )
    if failure.arguments is None:
        raise RuntimeError(
            "This failure kept no arguments to rerun it with: only the first 3 kept failures "
            "of each failure group keep theirs (none in a run with keep=False, or after a "
            "failure in the stale check). Rerun one of those (handle.failures.groups() lists "
            "each group's failures)."
        )
    if refresh:
        from uberjob._refresh import refreshed_function

        fn = refreshed_function(fn) or fn
    args, kwargs = failure.arguments
    kwargs = dict(kwargs) if kwargs else {}
    from uberjob._engine.dask import gathered

    args = tuple(gathered(list(args)))
    if kwargs:
        names = list(kwargs)
        kwargs = dict(zip(names, gathered([kwargs[k] for k in names]), strict=True))
    return fn, args, kwargs


def run_under_debugger(fn, args: tuple, kwargs: dict):
    """``fn(*args, **kwargs)`` under the debugger, stopped at the function's first line:
    IPython's debugger in IPython, pdb elsewhere."""
    __tracebackhide__ = True
    debugger = None
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            debugger = shell.debugger_cls()
    except ImportError:
        pass
    if debugger is None:
        import pdb

        debugger = pdb.Pdb()
    # pdb's `continue` installs its own Ctrl-C handler and leaves it after the call returns:
    # a later Ctrl-C (a run's interrupt) would then enter the debugger. Put ours back.
    main_thread = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGINT) if main_thread else None
    try:
        return debugger.runcall(fn, *args, **kwargs)
    finally:
        if main_thread and handler is not None:
            signal.signal(signal.SIGINT, handler)
