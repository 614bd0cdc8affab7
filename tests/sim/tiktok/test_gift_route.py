"""The gift list over real HTTP on 127.0.0.1 from the TikTok personality (``sim/tiktok/gifts.py``
wired into routes.py), fetched by the real keeper, cached in a real file and put on a gift row
that lacks its value."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from dylived.model import LiveStatus
from dylived.net.http import HttpClient
from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from dylived.platforms.tiktok.decode import decode_message
from dylived.platforms.tiktok.gifts import GiftCatalogueKeeper, enrich_gift_row
from dylived.platforms.tiktok.options import TikTokConfig
from dylived.platforms.tiktok.push import event_source
from dylived.sim import RoomSpec, Scenario, Simulator
from dylived.sim.tiktok import TikTokPersonality, gifts
from dylived.store.filecache import JsonFileCache


pytestmark = pytest.mark.anyio

SCENARIO = Scenario(rooms=(RoomSpec("sim.creator", platform="tiktok", nickname="Sim"),))


async def test_the_keeper_fetches_the_simulators_gift_list_once_and_enriches(
    tmp_path: Path,
) -> None:
    async with (
        Simulator.running(SCENARIO, personalities=[TikTokPersonality()]) as sim,
        httpx.AsyncClient(base_url=sim.web_base) as client,
    ):
        room = sim.room("sim.creator")
        room.go_live()
        room_id = room.room_id

        async def fetch() -> Mapping[str, Any]:
            reply = await client.get(f"/webcast/rooms/{room_id}/gifts")
            reply.raise_for_status()
            body: Mapping[str, Any] = reply.json()
            return body

        keeper = GiftCatalogueKeeper(fetch, JsonFileCache(tmp_path / "tiktok-gifts.json"))
        now_ms = time.time_ns() // 1_000_000
        catalogue = await keeper.current(now_ms)
        assert await keeper.current(now_ms + 60_000) is catalogue
        tiktok_own = await client.get("/webcast/gift/list/", params={"room_id": room_id})
    assert [r.endpoint for r in sim.observed.requests] == [gifts.ENDPOINT] * 2
    assert tiktok_own.json()["data"]["gifts"][0]["name"] == "Rose"
    assert catalogue is not None
    assert keeper.fetches == 1
    assert (tmp_path / "tiktok-gifts.json").is_file()
    message = pb.GiftMessage(gift_id=6369, repeat_count=2)
    message.gift.type = 2
    row = enrich_gift_row(
        decode_message("WebcastGiftMessage", message.SerializeToString()), catalogue
    )
    assert (row["gift_name"], row["gift_diamond_count"], row["diamond_total"]) == (
        "Lion",
        29999,
        59998,
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_gift_list_that_cannot_be_had_is_logged_shown_and_the_connection_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A day's budget of one call: the connection takes it, the gift list cannot (no request
    is sent); the push connection is still made, the failure is logged and in the statistics."""
    async with (
        Simulator.running(SCENARIO) as sim,
        HttpClient(user_agent="UA", timeout=5) as http,
    ):
        sim.room("sim.creator").go_live()
        section = TikTokConfig(sign_server=sim.web_base, sign_budget_per_day=1)
        source = event_source(http, section, tmp_path)
        status = LiveStatus(live=True, room_id=sim.room("sim.creator").room_id, handle="sim")
        with caplog.at_level(logging.WARNING, "dylived.platforms.tiktok.push"):
            connection = await source.connection(
                status, host_index=0, number=1, rng=random.Random(1)
            )
        shown = source.statistics()
        gift_requests = sim.observed.requests_to(gifts.ENDPOINT)
    assert connection.url.startswith(sim.ws_base)
    assert gift_requests == []
    assert shown["gift_catalogue_gifts"] == 0
    assert "budget" in str(shown["gift_catalogue_error"])
    assert any("gift catalogue not fetched" in r.getMessage() for r in caplog.records)
    assert not (tmp_path / "tiktok-gifts.json").exists()
