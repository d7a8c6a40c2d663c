"""The registry's freshness rule, as a table (uberjob 1.0's lessons 2, 4 and 8)."""

from __future__ import annotations

import datetime as dt

import pytest

from uberjob._registry.stale import is_stale

T0 = dt.datetime(2026, 1, 1, 12, 0)
EARLIER, LATER = T0 - dt.timedelta(hours=1), T0 + dt.timedelta(hours=1)

# own (the store's time), latest input time, fresh_time, is a source -> stale?
TABLE = [
    # no stored value: always stale
    (None, None, None, False, True),
    (None, None, None, True, True),
    (None, EARLIER, LATER, False, True),
    # no dated input, no fresh_time: fresh
    (T0, None, None, False, False),
    (T0, None, None, True, False),
    # an input newer than the stored value: stale; older or as old: fresh
    (T0, LATER, None, False, True),
    (T0, EARLIER, None, False, False),
    (T0, T0, None, False, False),
    (T0, LATER, None, True, True),  # a source with a dated input (lesson 4) follows it
    # fresh_time newer than the stored value: stale (lesson 8) ...
    (T0, None, LATER, False, True),
    (T0, EARLIER, LATER, False, True),
    (T0, None, EARLIER, False, False),
    # ... except for a source without dated inputs: nothing can make it out of date
    (T0, None, LATER, True, False),
    (T0, EARLIER, LATER, True, True),
]


@pytest.mark.parametrize(("own", "latest", "fresh_time", "is_source", "stale"), TABLE)
def test_the_freshness_rule(own, latest, fresh_time, is_source, stale):
    assert is_stale(own, latest, fresh_time, is_source=is_source) is stale
