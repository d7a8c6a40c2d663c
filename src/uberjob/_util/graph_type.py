"""networkx's ``MultiDiGraph``, imported on first use.

Importing networkx takes about a tenth of a second, most of ``import uberjob`` if done eagerly,
and a plan that never touches ``plan.graph``, graph mode or ``render`` does not need it. Every
module that needs the class asks here instead of importing networkx at the top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from networkx import MultiDiGraph

__all__ = ["graph_type"]


def graph_type() -> type[MultiDiGraph]:
    """``networkx.MultiDiGraph``, the type of a symbolic call graph (imports networkx)."""
    import networkx

    return networkx.MultiDiGraph
