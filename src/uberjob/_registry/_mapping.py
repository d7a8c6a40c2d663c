"""``Registry``: a mapping from plan nodes to value stores."""

from __future__ import annotations

from collections.abc import Iterator, KeysView

from uberjob import _builtins
from uberjob._plan import Plan
from uberjob._util.stack import get_stack_frame
from uberjob._util.validation import assert_is_instance
from uberjob._value_store import ValueStore
from uberjob.graph import Call, Node

__all__ = ["Registry", "RegistryValue"]


class RegistryValue:
    """A node's entry: its store, whether the node is a *source*, and where it was registered."""

    __slots__ = ("is_source", "stack_frame", "value_store")

    def __init__(self, value_store: ValueStore, *, is_source: bool, stack_frame):
        self.value_store = value_store
        self.is_source = is_source
        self.stack_frame = stack_frame

    def __repr__(self) -> str:
        source = ", is_source=True" if self.is_source else ""
        return f"RegistryValue({self.value_store!r}{source})"


class Registry:
    """A mapping from :class:`~uberjob.graph.Node` to :class:`~uberjob.ValueStore`.

    Pass it to :func:`~uberjob.run`: a *stored* node's value is read from its store when the
    store is up to date, and computed and written otherwise; a *source* node's value only ever
    comes from its store.
    """

    __slots__ = ("mapping",)

    def __init__(self) -> None:
        self.mapping: dict[Node, RegistryValue] = {}

    def add(self, node: Node, value_store: ValueStore) -> None:
        """Keep the value of ``node`` in ``value_store``.

        :raises ValueError: when the node already has a store.
        """
        assert_is_instance(node, "node", Node)
        assert_is_instance(value_store, "value_store", ValueStore)
        if node in self.mapping:
            raise ValueError(
                f"The node already has a value store ({self.mapping[node].value_store!r})."
            )
        self.mapping[node] = RegistryValue(
            value_store, is_source=False, stack_frame=get_stack_frame()
        )

    def source(self, plan: Plan, value_store: ValueStore) -> Call:
        """Add a node to ``plan`` whose value is read from ``value_store``.

        The node is a call to a placeholder: if the registry is not passed to
        :func:`~uberjob.run`, the run fails with a :class:`~uberjob.CallError` whose
        ``__cause__`` is a :class:`~uberjob.NotTransformedError`.
        """
        assert_is_instance(plan, "plan", Plan)
        assert_is_instance(value_store, "value_store", ValueStore)
        stack_frame = get_stack_frame()
        node = plan._add_call(stack_frame, _builtins.source_placeholder, (), None)
        self.mapping[node] = RegistryValue(value_store, is_source=True, stack_frame=stack_frame)
        return node

    def __contains__(self, node) -> bool:
        return node in self.mapping

    def __getitem__(self, node: Node) -> ValueStore:
        return self.mapping[node].value_store

    def get(self, node: Node, default=None) -> ValueStore | None:
        """The store of ``node``, or ``default`` (None) when it has none."""
        value = self.mapping.get(node)
        return default if value is None else value.value_store

    def keys(self) -> KeysView[Node]:
        """The registered nodes."""
        return self.mapping.keys()

    def values(self) -> list[ValueStore]:
        """The stores, in registration order."""
        return [value.value_store for value in self.mapping.values()]

    def items(self) -> list[tuple[Node, ValueStore]]:
        """``(node, store)`` pairs, in registration order."""
        return [(node, value.value_store) for node, value in self.mapping.items()]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.mapping)

    def __len__(self) -> int:
        return len(self.mapping)

    def copy(self) -> Registry:
        """A copy (sharing the nodes and stores) that can be changed independently."""
        new = Registry()
        new.mapping = {
            node: RegistryValue(v.value_store, is_source=v.is_source, stack_frame=v.stack_frame)
            for node, v in self.mapping.items()
        }
        return new

    __copy__ = copy

    def __repr__(self) -> str:
        return f"Registry({len(self.mapping)} nodes)"
