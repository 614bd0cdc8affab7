"""What the replay page reads: a window of events by stream offset, and a per-minute chart (pure).

:func:`window` turns stored rows (chat, gifts, joins) into the page's compact lines: offset,
kind, who and a readable text (``control.render.event_text``; the page sets it as text, never
as HTML). :func:`chart` turns the store's per-bucket counts (``Database.offset_histogram``)
into one entry per bucket from the session's start to its recorded duration: the events of
each kind, all events, and the most viewers a viewer count reported then (None without one).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dylived.control.render import event_text
from dylived.replay.subtitles import KINDS, TYPE_KIND


BUCKET_S = 60.0
WINDOW_LIMIT = 2000  # lines one window answer holds at most (``truncated`` says so)
MAX_WINDOW_S = 3600.0


def types_of(include: Iterable[str]) -> tuple[str, ...]:
    """The stored event types of the page's kinds (``chat`` is chat and emoji chat)."""
    wanted = set(include)
    return tuple(sorted(t for t, kind in TYPE_KIND.items() if kind in wanted))


def _nick(row: Mapping[str, Any]) -> str:
    user = row.get("user")
    return str(user.get("nickname") or "") if isinstance(user, Mapping) else ""


def window(rows: Iterable[tuple[int, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """``[{seq, t, kind, nick, text}]`` in the rows' order (rows without an offset skipped)."""
    out = []
    for seq, row in rows:
        offset = row.get("stream_offset_s")
        kind = TYPE_KIND.get(str(row.get("type")))
        if kind is None or not isinstance(offset, int | float) or isinstance(offset, bool):
            continue
        out.append(
            {
                "seq": seq,
                "t": round(float(offset), 3),
                "kind": kind,
                "nick": _nick(row),
                "text": event_text(row),
            }
        )
    return out


def chart(
    histogram: Sequence[tuple[int, str, int, int | None]],
    duration_s: float,
    bucket_s: float = BUCKET_S,
) -> list[dict[str, Any]]:
    """One ``{from_s, chat, gift, join, events, viewers}`` per bucket over ``duration_s``
    (longer when events lie past it: a live session's recording is still growing)."""
    last = max((b for b, *_ in histogram), default=-1)
    count = max(last + 1, math.ceil(max(duration_s, 0.0) / bucket_s))
    buckets: list[dict[str, Any]] = [
        {"from_s": n * bucket_s, **dict.fromkeys(KINDS, 0), "events": 0, "viewers": None}
        for n in range(count)
    ]
    for bucket, kind_type, events, viewers in histogram:
        if bucket < 0:
            continue
        entry = buckets[bucket]
        entry["events"] += events
        kind = TYPE_KIND.get(kind_type)
        if kind is not None:
            entry[kind] += events
        if isinstance(viewers, int) and (entry["viewers"] is None or viewers > entry["viewers"]):
            entry["viewers"] = viewers
    return buckets
