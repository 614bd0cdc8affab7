"""The TikTok gift catalogue: gift id → name, diamond value and type, parsed, kept for a day,
and put on the gift rows whose message lacks them.

**Where it comes from** (tiktok.md §3.1, §4.3): TikTok's ``GET /webcast/gift/list/`` (signed
since 2026-06, so in practice through the signing server) or the Euler-compatible signing
server's gift route (:data:`SIGNER_GIFTS_PATH`, the 2026 path; ``/webcast/gift_info`` before).
The body is TikTok's JSON ``{"status_code": 0, "data": {"gifts": [{"id", "name",
"diamond_count", "type", ...}], ...}, "extra": {"now", ...}}``; :func:`parse_gift_list` reads
it and keeps the four fields a row needs.

**Kept and cached**: :class:`GiftCatalogueKeeper` answers :meth:`~GiftCatalogueKeeper.current`
with the catalogue in memory while it is under a day old, else the cache's (a JSON file in the
state directory: ``store.filecache.JsonFileCache``, which says why not the database) while
that is, else a fresh fetch (then saved); a failed fetch keeps the older catalogue (a stale
value beats none) and is not retried for :data:`RETRY_AFTER_MS` (every fetch may cost a
signing call). The fetch and the cache are the caller's (``fetch``: the signing-server
client's request; ``cache``: ``load``/``save``), so this module stays sans-I/O; failures are
counted and kept in ``last_error`` for the caller to log and show.

**On the rows**: :func:`enrich_gift_row` fills ``gift_name`` and ``gift_diamond_count`` of a
``gift`` row from the catalogue when the message left them empty (0 / ""), and the
``diamond_total`` of a final row with them; ``gift_value_source`` says whether the value came
from the ``message``, the ``catalogue`` or neither (``None``). The event path calls it on every
row (non-gift rows pass unchanged).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from dylived.errors import PlatformError, RemoteProtocolError, TransportError
from dylived.platforms.tiktok.common import Row


GIFT_LIST_PATH = "/webcast/gift/list/"  # TikTok's own (signed)
SIGNER_GIFTS_PATH = "/webcast/rooms/{room_id}/gifts"  # the signing server's
REFRESH_MS = 24 * 3600 * 1000  # a catalogue is refreshed daily
RETRY_AFTER_MS = 3600 * 1000  # after a failed fetch, the next attempt waits this long
CACHE_VERSION = 1


@dataclass(frozen=True, slots=True)
class CatalogueGift:
    """One gift of the catalogue: its id (decimal string), name, diamonds and type."""

    gift_id: str
    name: str
    diamond_count: int
    gift_type: int


@dataclass(frozen=True, slots=True)
class GiftCatalogue:
    """The gifts by id and when they were fetched (Unix ms)."""

    gifts: Mapping[str, CatalogueGift]
    fetched_at_ms: int

    def fresh(self, now_ms: int) -> bool:
        return 0 <= now_ms - self.fetched_at_ms < REFRESH_MS

    def to_json(self) -> dict[str, Any]:
        return {
            "version": CACHE_VERSION,
            "fetched_at_ms": self.fetched_at_ms,
            "gifts": [
                [g.gift_id, g.name, g.diamond_count, g.gift_type] for g in self.gifts.values()
            ],
        }

    @classmethod
    def from_json(cls, value: Any) -> GiftCatalogue | None:
        """A cached catalogue, or ``None`` when ``value`` is not one this version wrote."""
        if not isinstance(value, dict) or value.get("version") != CACHE_VERSION:
            return None
        try:
            gifts = {
                str(i): CatalogueGift(str(i), str(n), int(d), int(t))
                for i, n, d, t in value["gifts"]
            }
            return cls(gifts, int(value["fetched_at_ms"]))
        except (KeyError, TypeError, ValueError):
            return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


class GiftList(NamedTuple):
    """A parsed gift-list body: the gifts by id, and how many entries had no usable id."""

    gifts: dict[str, CatalogueGift]
    skipped: int


def parse_gift_list(body: Mapping[str, Any]) -> GiftList:
    """The gifts of a gift-list body (the JSON object), by id; entries without a positive id
    are skipped (counted), others keep what they have (name "", diamonds 0).

    Raises:
        RemoteProtocolError: the body is an error (``status_code`` not 0) or has no
            ``data.gifts`` list.
    """
    status = body.get("status_code", 0)
    if status != 0:
        data = body.get("data")
        detail = body.get("message") or (data.get("message") if isinstance(data, dict) else "")
        raise RemoteProtocolError(f"gift list: status_code {status} {detail or ''}".strip())
    data = body.get("data")
    gifts = data.get("gifts") if isinstance(data, dict) else None
    if not isinstance(gifts, list):
        raise RemoteProtocolError("gift list: no data.gifts list in the body")
    parsed: dict[str, CatalogueGift] = {}
    skipped = 0
    for entry in gifts:
        gift_id = _int(entry.get("id")) if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not gift_id:
            skipped += 1
            continue
        name = entry.get("name")
        parsed[str(gift_id)] = CatalogueGift(
            gift_id=str(gift_id),
            name=name if isinstance(name, str) else "",
            diamond_count=max(0, _int(entry.get("diamond_count")) or 0),
            gift_type=max(0, _int(entry.get("type")) or 0),
        )
    return GiftList(parsed, skipped)


def enrich_gift_row(row: Row, catalogue: GiftCatalogue | None) -> Row:
    """``row`` with the catalogue's name and diamonds where a gift row lacks them (a new dict
    when anything changed); rows of other types are returned as they are."""
    if row.get("type") != "gift":
        return row
    from_message = bool(row.get("gift_diamond_count"))
    known = catalogue.gifts.get(str(row.get("gift_id"))) if catalogue is not None else None
    if known is None or (from_message and row.get("gift_name")):
        return {**row, "gift_value_source": "message" if from_message else None}
    diamonds = row.get("gift_diamond_count") or known.diamond_count
    enriched = {
        **row,
        "gift_name": row.get("gift_name") or known.name,
        "gift_diamond_count": diamonds,
        "gift_value_source": "message" if from_message else "catalogue" if diamonds else None,
    }
    if row.get("diamond_total") is not None:  # a final row: its total with the value
        enriched["diamond_total"] = int(row.get("repeat_count") or 0) * diamonds
    return enriched


Fetch = Callable[[], Awaitable[Mapping[str, Any]]]


class DocumentCache(Protocol):
    """Where a catalogue outlives the process (``store.filecache.JsonFileCache``)."""

    async def load(self) -> Any | None: ...

    async def save(self, value: Any) -> None: ...


@dataclass
class GiftCatalogueKeeper:
    """The current catalogue of one platform instance (see the module docstring).

    ``fetch`` returns the gift-list body (JSON object) and raises ``PlatformError`` /
    ``TransportError`` / ``RemoteProtocolError`` when it cannot; ``cache`` keeps the catalogue
    across restarts (``None``: memory only). ``fetches``, ``failures``, ``skipped_entries``,
    ``last_error`` and ``cache_error`` are for the caller's log and status.
    """

    fetch: Fetch
    cache: DocumentCache | None = None
    catalogue: GiftCatalogue | None = None
    fetches: int = 0
    failures: int = 0
    skipped_entries: int = 0
    last_error: str | None = None
    cache_error: str | None = None
    _retry_at_ms: int = field(default=0, repr=False)
    _loaded: bool = field(default=False, repr=False)

    async def current(self, now_ms: int) -> GiftCatalogue | None:
        """The catalogue to use at ``now_ms`` (fetching when due), or ``None`` when none was
        ever had."""
        if self.catalogue is not None and self.catalogue.fresh(now_ms):
            return self.catalogue
        if not self._loaded and self.cache is not None:
            self._loaded = True
            cached = GiftCatalogue.from_json(await self.cache.load())
            held = self.catalogue.fetched_at_ms if self.catalogue is not None else -1
            if cached is not None and cached.fetched_at_ms > held:
                self.catalogue = cached
            if self.catalogue is not None and self.catalogue.fresh(now_ms):
                return self.catalogue
        if now_ms >= self._retry_at_ms:
            await self._refresh(now_ms)
        return self.catalogue

    async def _refresh(self, now_ms: int) -> None:
        self.fetches += 1
        try:
            parsed = parse_gift_list(await self.fetch())
        except (PlatformError, TransportError, RemoteProtocolError) as exc:
            self.failures += 1
            self.last_error = str(exc)
            self._retry_at_ms = now_ms + RETRY_AFTER_MS
            return
        self.catalogue = GiftCatalogue(parsed.gifts, now_ms)
        self.skipped_entries += parsed.skipped
        self.last_error = None
        if self.cache is not None:
            try:
                await self.cache.save(self.catalogue.to_json())
                self.cache_error = None
            except OSError as exc:
                self.cache_error = str(exc)
