"""Gift streaks collapsed to one row each, as the TikTok client libraries advise.

A streakable gift (``gift.type`` 1) arrives as one GiftMessage per tap, ``repeat_count``
growing, ``repeat_end`` 0, then a closing one with ``repeat_end`` 1 and the full count
(TikTokLive's ``streakable``/``streaking``, TikTok-Live-Connector's README: "even if sent once
you receive the event twice"; counting every message is the double counting users report,
tiktok.md §5.10). :class:`GiftStreaks` passes every row through (gift rows gain
``streak_interrupted``) except the open streaks' gift rows, which it holds (the latest per
streak); the closing row comes out once, with the largest ``repeat_count`` seen in the streak.
A non-streakable gift comes out at once. A streak is keyed by (sender ``user_id``,
``gift_id``, ``group_id``).

A streak whose closer never arrives (the connection dropped, the broadcast ended) is not lost:
:meth:`GiftStreaks.flush` emits its latest row with ``streak_interrupted`` true, and so does
:meth:`GiftStreaks.feed` for the oldest open streak when more than ``max_open`` are open.

Pure: no sockets, files, clocks, anyio or asyncio.
"""

from __future__ import annotations

from dylived.platforms.tiktok.common import Row


DEFAULT_MAX_OPEN = 10_000

_Key = tuple[str | None, str | None, str | None]


def _key(row: Row) -> _Key:
    user = row.get("user") or {}
    return (user.get("user_id"), row.get("gift_id"), row.get("group_id"))


class GiftStreaks:
    """Feed it rows in arrival order; it returns the rows to keep, in order."""

    def __init__(self, max_open: int = DEFAULT_MAX_OPEN) -> None:
        self._open: dict[_Key, Row] = {}  # insertion order = the order streaks opened
        self._max_open = max_open

    @property
    def open_streaks(self) -> int:
        return len(self._open)

    def feed(self, row: Row) -> list[Row]:
        """The rows to keep now that ``row`` has arrived (often none mid-streak)."""
        if row.get("type") != "gift":
            return [row]
        if not row.get("streakable"):
            return [{**row, "streak_interrupted": False}]
        key = _key(row)
        held = self._open.pop(key, None)
        count = max(row["repeat_count"], held["repeat_count"] if held else 0)
        row = {**row, "repeat_count": count}
        if row.get("repeat_end") == 1:
            diamonds = row["gift_diamond_count"]
            return [{**row, "diamond_total": count * diamonds, "streak_interrupted": False}]
        self._open[key] = row
        if len(self._open) > self._max_open:
            oldest = next(iter(self._open))
            return [self._interrupted(self._open.pop(oldest))]
        return []

    def flush(self) -> list[Row]:
        """Every open streak's latest row, marked ``streak_interrupted``; none stay open."""
        rows = [self._interrupted(row) for row in self._open.values()]
        self._open.clear()
        return rows

    @staticmethod
    def _interrupted(row: Row) -> Row:
        return {
            **row,
            "streak_final": True,
            "streak_interrupted": True,
            "diamond_total": row["repeat_count"] * row["gift_diamond_count"],
        }
