"""The registry: which plan nodes keep their values in which :class:`~uberjob.ValueStore`.

- ``_mapping.py``: :class:`Registry` itself (``add``, ``source``, the mapping methods).
- ``stale.py``: the stale check (which stored values must be rebuilt), parallel, with progress.
- ``physical.py``: the physical plan, as an overlay on the plan's structure (reads, writes).
- ``run.py``: ``run(..., registry=...)`` from the stale check to the owner loop.
"""

from uberjob._registry._mapping import Registry, RegistryValue

__all__ = ["Registry", "RegistryValue"]
