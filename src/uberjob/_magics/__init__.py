"""The IPython extension: ``%load_ext uberjob`` registers the ``%uberjob`` magic.

This module stays light (``import uberjob`` must not import IPython); the magic lives in
``_uberjob.py`` and is imported only when the extension is loaded.
"""

from __future__ import annotations

__all__ = ["load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython) -> None:
    """``%load_ext uberjob``: register the ``%uberjob`` line and cell magic."""
    from uberjob._magics._uberjob import UberjobMagics

    ipython.register_magics(UberjobMagics)


def unload_ipython_extension(ipython) -> None:
    """``%unload_ext uberjob``: remove the ``%uberjob`` magic again."""
    from uberjob._magics._uberjob import UberjobMagics

    manager = ipython.magics_manager
    for kind in ("line", "cell"):
        manager.magics[kind].pop("uberjob", None)
    manager.registry.pop(UberjobMagics.__name__, None)
