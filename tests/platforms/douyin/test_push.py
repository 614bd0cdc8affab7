"""Douyin's push connection: the endpoint of a host, the user_unique_id policy, the handshake."""

from __future__ import annotations

import random
from urllib.parse import parse_qs, urlsplit

import anyio
import pytest

from dylived.errors import UpstreamError
from dylived.model import LiveStatus
from dylived.platforms.base import EventConnection
from dylived.platforms.douyin.push import (
    USER_UNIQUE_ID_RANGE,
    DouyinPush,
    choose_user_unique_id,
    push_endpoint,
)


@pytest.mark.parametrize(
    ("host", "endpoint"),
    [
        (
            "wss://webcast100-ws-web-lq.douyin.com",
            "wss://webcast100-ws-web-lq.douyin.com/webcast/im/push/v2/",
        ),
        ("ws://127.0.0.1:8080/", "ws://127.0.0.1:8080/webcast/im/push/v2/"),
        ("wss://proxy.example/custom/push/", "wss://proxy.example/custom/push/"),
    ],
)
def test_push_endpoint(host: str, endpoint: str) -> None:
    assert push_endpoint(host) == endpoint


def test_user_unique_id_is_the_configured_one_or_a_fresh_19_digit_id_in_range() -> None:
    rng = random.Random(3)
    assert choose_user_unique_id("7319483754668557238", rng) == "7319483754668557238"
    drawn = {choose_user_unique_id("", rng) for _ in range(200)}
    assert len(drawn) == 200
    low, high = USER_UNIQUE_ID_RANGE
    assert all(len(d) == 19 and low <= int(d) < high for d in drawn)


def test_connection_rotates_hosts_signs_the_url_and_sends_the_cookie_first() -> None:
    push = DouyinPush(
        ws_hosts=("wss://a.example", "ws://127.0.0.1:9/custom/"),
        user_agent="UA/1",
        origin="https://live.example",
        cookie_header=lambda: "ttwid=t",
    )
    status = LiveStatus(live=True, room_id="7300000000000000001")
    first = anyio.run(_connection, push, status, 0)
    second = anyio.run(_connection, push, status, 1)
    assert (first.host, second.host) == ("a.example", "127.0.0.1:9")
    assert first.url.startswith("wss://a.example/webcast/im/push/v2/?")
    assert second.url.startswith("ws://127.0.0.1:9/custom/?")
    query = parse_qs(urlsplit(first.url).query)
    assert query["room_id"] == ["7300000000000000001"]
    assert query["signature"][0]
    assert first.headers[0] == ("Cookie", "ttwid=t")
    assert ("Referer", "https://live.example/") in first.headers
    assert (first.origin, first.user_agent) == ("https://live.example", "UA/1")


def test_connection_needs_a_room_id() -> None:
    push = DouyinPush(ws_hosts=("wss://a.example",), user_agent="UA")
    with pytest.raises(UpstreamError, match="room_id"):
        anyio.run(_connection, push, LiveStatus(live=True), 0)


async def _connection(push: DouyinPush, status: LiveStatus, index: int) -> EventConnection:
    return await push.connection(status, host_index=index, number=1, rng=random.Random(1))
