"""The gift catalogue: the simulator's gift-list body parsed, cached in a real file for a day,
and its names and diamonds put on real gift rows whose message lacks them (issue 13)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from dylived.errors import RemoteProtocolError, UpstreamError
from dylived.platforms.tiktok import gifts
from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from dylived.platforms.tiktok.decode import decode_message
from dylived.platforms.tiktok.gifts import GiftCatalogue, GiftCatalogueKeeper, enrich_gift_row
from dylived.platforms.tiktok.streaks import GiftStreaks
from dylived.sim.tiktok import gifts as sim_gifts
from dylived.store.filecache import JsonFileCache
from tests.conftest import capture_path


DAY_MS = 24 * 3600 * 1000
T0 = 1_701_791_800_000


def _served(now_ms: int = T0) -> Mapping[str, Any]:
    """The simulator's reply body, as bytes on the wire and back."""
    reply = sim_gifts.answer(now_ms)
    assert (reply.status, reply.content_type) == (200, "application/json; charset=utf-8")
    body: Mapping[str, Any] = json.loads(reply.body)
    return body


def _catalogue() -> GiftCatalogue:
    parsed = gifts.parse_gift_list(_served())
    assert parsed.skipped == 0
    return GiftCatalogue(parsed.gifts, T0)


def _real_gift_payloads() -> list[bytes]:
    text = capture_path("tiktok-events-2023.jsonl").read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines() if line]
    return [
        base64.b64decode(line["payload_b64"])
        for line in lines
        if line["method"] == "WebcastGiftMessage"
    ]


def _without_value(payload: bytes) -> bytes:
    """The real message with the gift's name and diamonds left out, as TikTok sends some."""
    message = pb.GiftMessage.FromString(payload)
    message.gift.ClearField("name")
    message.gift.ClearField("diamond_count")
    return message.SerializeToString()


def test_the_simulators_gift_list_parses_to_names_values_and_types() -> None:
    catalogue = _catalogue()
    assert len(catalogue.gifts) == len(sim_gifts.GIFTS)
    corn, lion = catalogue.gifts["7096"], catalogue.gifts["6369"]
    assert (corn.name, corn.diamond_count, corn.gift_type) == ("It's corn", 1, 1)
    assert (lion.name, lion.diamond_count, lion.gift_type) == ("Lion", 29999, 2)
    for path in ("/webcast/gift/list/", "/webcast/rooms/7309128470994258694/gifts"):
        assert sim_gifts.endpoint_of(path) == sim_gifts.ENDPOINT
    assert sim_gifts.endpoint_of("/webcast/rooms/1/connect") is None


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"status_code": 4003110, "data": {"message": "restricted"}}, "status_code 4003110"),
        ({"status_code": 0, "data": {}}, "no data.gifts"),
        ({"status_code": 0, "data": "oops"}, "no data.gifts"),
    ],
)
def test_an_error_body_is_a_protocol_error(body: dict[str, Any], error: str) -> None:
    with pytest.raises(RemoteProtocolError, match=error):
        gifts.parse_gift_list(body)


def test_unusable_entries_are_skipped_and_string_ids_kept() -> None:
    body = {
        "status_code": 0,
        "data": {"gifts": [{"id": "5655", "name": "Rose", "diamond_count": 1}, {"name": "?"}, 7]},
    }
    parsed, skipped = gifts.parse_gift_list(body)
    assert (list(parsed), skipped) == (["5655"], 2)
    assert (parsed["5655"].diamond_count, parsed["5655"].gift_type) == (1, 0)


def test_a_real_gift_row_lacking_its_value_gets_the_catalogues() -> None:
    catalogue = _catalogue()
    mid, closer = _real_gift_payloads()  # Ice Cream Cone mid-streak, It's corn closing
    bare = decode_message("WebcastGiftMessage", _without_value(closer))
    assert (bare["gift_name"], bare["gift_diamond_count"], bare["diamond_total"]) == ("", 0, 0)
    row = enrich_gift_row(bare, catalogue)
    assert (row["gift_name"], row["gift_diamond_count"]) == ("It's corn", 1)
    assert (row["diamond_total"], row["gift_value_source"]) == (1, "catalogue")
    assert row == {
        **bare,
        "gift_name": "It's corn",
        "gift_diamond_count": 1,
        "diamond_total": 1,
        "gift_value_source": "catalogue",
    }
    held = enrich_gift_row(decode_message("WebcastGiftMessage", _without_value(mid)), catalogue)
    assert (held["gift_name"], held["diamond_total"]) == ("Ice Cream Cone", None)  # mid-streak


def test_a_real_row_with_its_value_keeps_it_and_other_rows_pass() -> None:
    catalogue = _catalogue()
    for payload in _real_gift_payloads():
        row = decode_message("WebcastGiftMessage", payload)
        assert enrich_gift_row(row, catalogue) == {**row, "gift_value_source": "message"}
    chat = {"type": "chat", "content": "hi"}
    assert enrich_gift_row(chat, catalogue) is chat


def test_a_gift_the_catalogue_lacks_stays_without_a_value() -> None:
    message = pb.GiftMessage(gift_id=999_999, repeat_count=3)
    message.gift.type = 2
    row = decode_message("WebcastGiftMessage", message.SerializeToString())
    assert enrich_gift_row(row, _catalogue())["gift_value_source"] is None
    assert enrich_gift_row(row, None)["gift_diamond_count"] == 0


def test_an_expensive_gift_without_a_value_is_counted_at_the_catalogues_price() -> None:
    message = pb.GiftMessage(gift_id=5660, repeat_count=3, repeat_end=0)
    message.gift.type = 2  # not streakable: one row, at once
    (row,) = GiftStreaks().feed(decode_message("WebcastGiftMessage", message.SerializeToString()))
    row = enrich_gift_row(row, _catalogue())
    assert (row["gift_name"], row["gift_diamond_count"], row["diamond_total"]) == (
        "Hand Hearts",
        100,
        300,
    )


class _Signer:
    """The fetch seam: answers with the simulator's body, or fails as told."""

    def __init__(self) -> None:
        self.calls = 0
        self.failing = False

    async def __call__(self) -> Mapping[str, Any]:
        self.calls += 1
        if self.failing:
            raise UpstreamError("signing server: HTTP 429")
        return _served()


@pytest.mark.anyio
async def test_the_catalogue_is_fetched_once_a_day_and_cached_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "tiktok-gifts.json"
    signer = _Signer()
    keeper = GiftCatalogueKeeper(signer, JsonFileCache(path))
    first = await keeper.current(T0)
    assert first is not None
    assert first.gifts["5827"].name == "Ice Cream Cone"
    assert await keeper.current(T0 + DAY_MS - 1) is first
    assert signer.calls == 1
    restarted = GiftCatalogueKeeper(
        signer, JsonFileCache(path)
    )  # a daemon restart: the file, no fetch
    cached = await restarted.current(T0 + 1000)
    assert cached is not None
    assert cached.gifts == first.gifts
    assert cached.fetched_at_ms == T0
    assert signer.calls == 1
    renewed = await restarted.current(T0 + DAY_MS)
    assert renewed is not None
    assert renewed.fetched_at_ms == T0 + DAY_MS
    assert signer.calls == 2
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    assert on_disk["fetched_at_ms"] == T0 + DAY_MS
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp left


@pytest.mark.anyio
async def test_a_failed_refresh_keeps_the_old_catalogue_and_waits_an_hour(tmp_path: Path) -> None:
    signer = _Signer()
    keeper = GiftCatalogueKeeper(signer, JsonFileCache(tmp_path / "gifts.json"))
    old = await keeper.current(T0)
    signer.failing = True
    later = T0 + DAY_MS + 5
    assert await keeper.current(later) is old
    assert await keeper.current(later + gifts.RETRY_AFTER_MS - 1) is old
    assert (signer.calls, keeper.failures, keeper.last_error) == (2, 1, "signing server: HTTP 429")
    signer.failing = False
    fresh = await keeper.current(later + gifts.RETRY_AFTER_MS)
    assert fresh is not None
    assert fresh is not old
    assert signer.calls == 3


@pytest.mark.anyio
async def test_a_corrupt_cache_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "gifts.json"
    path.write_bytes(b'{"version": 1, "gifts": [[')
    signer = _Signer()
    catalogue = await GiftCatalogueKeeper(signer, JsonFileCache(path)).current(T0)
    assert catalogue is not None
    assert signer.calls == 1
    assert GiftCatalogue.from_json(json.loads(path.read_text(encoding="utf-8"))) == catalogue
