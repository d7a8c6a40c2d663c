"""Symbolic stack frames: where ``plan.call`` (or ``registry.add``) was made.

Capturing must cost well under a microsecond because every planned call does it. Frames are
interned: the key is the (code object, line) of each captured frame, so the thousands of calls
planned from one loop share a single chain of :class:`StackFrame` objects.
"""

from __future__ import annotations

import linecache
import sys

__all__ = [
    "StackFrame",
    "TruncatedStackFrame",
    "get_stack_frame",
    "notebook_cells",
    "render_symbolic_traceback",
]

MAX_TRACEBACK_DEPTH = 3  # frames beyond the first; deeper stacks end in "... truncated"


class StackFrame:
    """A frame of a symbolic traceback."""

    __slots__ = ("line", "name", "outer", "path")

    def __init__(self, *, name: str, path: str, line: int, outer=None):
        self.name = name
        self.path = path
        self.line = line
        self.outer = outer

    def __repr__(self) -> str:
        outer = ", outer=..." if self.outer is not None else ""
        return f"StackFrame(name={self.name!r}, path={self.path!r}, line={self.line!r}{outer})"

    def __reduce__(self):
        return _rebuild_stack_frame, (self.name, self.path, self.line, self.outer)


def _rebuild_stack_frame(name, path, line, outer):
    return StackFrame(name=name, path=path, line=line, outer=outer)


class _TruncatedStackFrameType:
    __slots__ = ()

    def __repr__(self) -> str:
        return "TruncatedStackFrame"

    def __reduce__(self):
        return "TruncatedStackFrame"


TruncatedStackFrame = _TruncatedStackFrameType()

_interned: dict[tuple, tuple] = {}  # key -> (StackFrame, the code objects it names)
_MAX_INTERNED = 100_000


def _build(frame, depth: int):
    if frame is None:
        return None
    if depth < 0:
        return TruncatedStackFrame
    code = frame.f_code
    return StackFrame(
        name=code.co_name,
        path=code.co_filename,
        line=frame.f_lineno,
        outer=_build(frame.f_back, depth - 1),
    )


def get_stack_frame(initial_depth: int = 2):
    """The symbolic frame of the caller ``initial_depth`` frames up (2: the caller's caller)."""
    frame = sys._getframe(initial_depth)
    f1 = frame.f_back
    f2 = f1.f_back if f1 is not None else None
    f3 = f2.f_back if f2 is not None else None
    # The instruction offset (f_lasti) identifies the call site as well as the line number does,
    # and is ~5x cheaper to read; line numbers are computed only when a new site is interned.
    # Code objects are keyed by id(): hashing a code object hashes all its constants (for a
    # module's code, every function in it: microseconds). The cache entry keeps the code objects
    # alive, so their ids cannot be reused while the entry exists.
    c0 = frame.f_code
    c1 = f1 and f1.f_code
    c2 = f2 and f2.f_code
    c3 = f3 and f3.f_code
    key = (
        id(c0),
        frame.f_lasti,
        id(c1),
        f1 and f1.f_lasti,
        id(c2),
        f2 and f2.f_lasti,
        id(c3),
        f3 and f3.f_lasti,
        f3 is not None and f3.f_back is not None,
    )
    entry = _interned.get(key)
    if entry is None:
        if len(_interned) >= _MAX_INTERNED:
            _interned.clear()
        entry = _interned[key] = (_build(frame, MAX_TRACEBACK_DEPTH), (c0, c1, c2, c3))
    return entry[0]


def _is_notebook_machinery(path: str) -> bool:
    # Frames below the user's cell belong to IPython/ipykernel; 1.0 stops at IPython's core.
    return "/IPython/core/" in path or "/ipykernel/" in path


def notebook_cells() -> dict[str, int]:
    """IPython's {file name of a cell's code: its execution count}, or {} outside IPython."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    mapping = getattr(getattr(shell, "compile", None), "_filename_map", None)
    return mapping if isinstance(mapping, dict) else {}


def render_symbolic_traceback(stack_frame) -> str:
    """The 1.0 text: ``Symbolic traceback (most recent call last):`` then ``File`` lines."""
    frames = []
    while stack_frame is not None:
        if stack_frame is TruncatedStackFrame:
            frames.append(stack_frame)
            break
        if _is_notebook_machinery(stack_frame.path):
            break
        frames.append(stack_frame)
        stack_frame = stack_frame.outer
    lines = ["Symbolic traceback (most recent call last):"]
    cells = notebook_cells()
    previous = None
    for frame in reversed(frames):
        if frame is TruncatedStackFrame:
            lines.append("  ... truncated")
            continue
        place = (frame.path, frame.line)
        if place == previous:  # a comprehension's own frame, at its caller's line: nothing new
            continue
        previous = place
        number = cells.get(frame.path)
        if number is None:
            lines.append(f'  File "{frame.path}", line {frame.line}, in {frame.name}')
        else:  # a notebook cell, named as IPython names it (not the kernel's temporary file)
            lines.append(f"  Cell In[{number}], line {frame.line}, in {frame.name}")
        # The planning line itself, as Python's own tracebacks show it (IPython registers
        # notebook cells with linecache, so this works for cells too).
        source = linecache.getline(frame.path, frame.line).strip()
        if source:
            lines.append(f"    {source}")
    return "\n".join(lines)
