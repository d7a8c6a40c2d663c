"""The engine: compiling a plan (compile.py), the owner loop (owner.py) and its dispatchers."""

from __future__ import annotations

import os

__all__ = ["default_max_workers"]


def default_max_workers() -> int:
    """``min(32, cores + 4)``, as ``concurrent.futures.ThreadPoolExecutor`` chooses."""
    return min(32, (os.cpu_count() or 1) + 4)
