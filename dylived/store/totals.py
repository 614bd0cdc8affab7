"""Per-broadcaster totals for ``/metrics``: events by type, segments, bytes, reconnects.

Read from ``broadcaster_event_counts`` and ``broadcaster_totals`` (migration 0008): sums that
triggers keep in the transaction that stores what they sum, from ``session_event_counts`` (the
events stored, duplicates not counted), the ``segments`` rows in state ``closed`` or
``deleted`` (retention marks a row, it stays as history) and ``sessions.reconnect_count``.
Nothing deletes sessions, closed segment rows or event rows, so every total only grows: a
Prometheus ``_total`` counter over everything the database holds (it carries over daemon
restarts). Two reads of (broadcasters × types) rows, whatever the number of sessions or events
(bench/metrics_scrape.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import aiosqlite


@dataclass(slots=True)
class BroadcasterTotals:
    """What the database holds for one broadcaster, summed over all its sessions."""

    events_by_type: dict[str, int] = field(default_factory=dict)
    segments: int = 0  # closed segments (retention's ``deleted`` rows included)
    recorded_bytes: int = 0  # their bytes
    reconnects: int = 0  # push-connection reconnects (sessions.reconnect_count)


_EVENTS = "SELECT broadcaster_key, type, count FROM broadcaster_event_counts"
_TOTALS = "SELECT broadcaster_key, reconnects, segments, recorded_bytes FROM broadcaster_totals"


async def broadcaster_totals(conn: aiosqlite.Connection) -> Mapping[str, BroadcasterTotals]:
    """Every broadcaster with a session, by key (one read transaction: a consistent view)."""
    totals: dict[str, BroadcasterTotals] = {}
    await conn.execute("BEGIN")
    try:
        async with conn.execute(_EVENTS) as cursor:
            for key, kind, count in await cursor.fetchall():
                totals.setdefault(key, BroadcasterTotals()).events_by_type[kind] = int(count)
        async with conn.execute(_TOTALS) as cursor:
            for key, reconnects, segments, recorded in await cursor.fetchall():
                entry = totals.setdefault(key, BroadcasterTotals())
                entry.reconnects = int(reconnects)
                entry.segments, entry.recorded_bytes = int(segments), int(recorded)
    finally:
        await conn.rollback()
    return totals
