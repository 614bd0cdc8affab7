"""The signing-server client's pure half: the request it builds, how each answer is classified
(429 = wait as asked, 401/402/403 = this plan cannot, empty = detection), the cookies, the push
URL, the daily budget; and the event source's wire: the first result's messages are rows, the
enter frame goes first, the cursor is where a reconnect resumes, no sign server = events off."""

from __future__ import annotations

import random
import urllib.parse
from datetime import UTC, datetime

import anyio
import pytest

from dylived.errors import EventsUnavailable, RateLimited, RiskControl, RoomNotFound, UpstreamError
from dylived.model import LiveStatus
from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from dylived.platforms.tiktok.options import TikTokConfig
from dylived.platforms.tiktok.push import TikTokPush, event_source
from dylived.platforms.tiktok.signer import (
    SignBudget,
    mask_key,
    parse_cookie_string,
    push_url,
    read_sign_response,
    sign_request,
    wait_of,
)


NOW = datetime(2026, 12, 2, 23, 59, 0, tzinfo=UTC)
ROOM = "7480000000000000001"
COOKIES = {"x-set-tt-cookie": "ttwid=abc; tt_chain_token=def", "x-room-id": ROOM}


def _result(cursor: str = "c-1", *messages: tuple[str, int, bytes]) -> bytes:
    response = pb.Response(
        cursor=cursor,
        internal_ext="ext-1",
        now=1_764_000_000_000,
        push_server="wss://webcast-ws.tiktok.com/webcast/im/ws_proxy/ws_reuse_supplement/",
        route_params={"wrss": "tok en/1", "empty": ""},
        need_ack=True,
        is_first=True,
    )
    for method, msg_id, payload in messages:
        response.messages.add(method=method, msg_id=msg_id, payload=payload)
    return response.SerializeToString()


def _chat(msg_id: int, text: str) -> tuple[str, int, bytes]:
    chat = pb.ChatMessage(
        common=pb.Common(method="WebcastChatMessage", msg_id=msg_id, room_id=int(ROOM)),
        user=pb.User(id=42, nickname="Ann", display_id="ann"),
        content=text,
    )
    return "WebcastChatMessage", msg_id, chat.SerializeToString()


def test_the_request_puts_the_key_in_a_header_never_in_the_url() -> None:
    request = sign_request(
        "https://sign.example/", ROOM, user_agent="Mozilla/5.0 X", api_key="k" * 20, cursor="c9"
    )
    split = urllib.parse.urlsplit(request.url)
    assert split.path == f"/webcast/rooms/{ROOM}/connect"
    query = dict(urllib.parse.parse_qsl(split.query))
    assert query == {
        "client": "ttlive-other",
        "user_agent": "Mozilla/5.0 X",
        "client_enter": "true",
        "cursor": "c9",
    }
    assert "k" * 20 not in request.url
    assert ("x-api-key", "k" * 20) in request.headers
    legacy = sign_request("https://sign.example", ROOM, user_agent="UA", legacy=True)
    assert urllib.parse.urlsplit(legacy.url).path == "/webcast/fetch/"
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(legacy.url).query))["room_id"] == ROOM
    assert all(name != "x-api-key" for name, _ in legacy.headers)  # anonymous: no key header


def test_a_good_answer_gives_the_result_the_cookies_and_the_room() -> None:
    signed = read_sign_response(200, COOKIES, _result("c-1", _chat(9, "hi")), now=NOW)
    assert signed.result.cursor == "c-1"
    assert signed.result.is_first is True
    assert [m.msg_id for m in signed.result.messages] == [9]
    assert signed.cookies == (("ttwid", "abc"), ("tt_chain_token", "def"))
    assert signed.cookie_header == "ttwid=abc; tt_chain_token=def"
    assert signed.room_id == ROOM


@pytest.mark.parametrize(
    ("headers", "body", "wait"),
    [
        ({"retry-after": "7"}, b'{"message":"Too many connections started"}', 7.0),
        ({}, b'{"message":"Sign server rate limit reached. Try again in 03:02."}', 182.0),
        ({}, b"", 60.0),
        ({"retry-after": "Thu, 03 Dec 2026 00:00:30 GMT"}, b"", 90.0),
    ],
)
def test_a_429_is_a_wait_of_what_it_asked(
    headers: dict[str, str], body: bytes, wait: float
) -> None:
    with pytest.raises(RateLimited) as caught:
        read_sign_response(429, headers, body, now=NOW)
    assert caught.value.retry_after == wait
    assert wait_of(headers, body, NOW) == wait


@pytest.mark.parametrize("status", [401, 402, 403])
def test_401_402_403_say_this_plan_cannot(status: int) -> None:
    with pytest.raises(EventsUnavailable, match=f"HTTP {status}: This is a premium feature"):
        read_sign_response(
            status, {}, b'{"code":402,"message":"This is a premium feature"}', now=NOW
        )


def test_a_body_code_403_on_200_is_a_refusal_too() -> None:
    with pytest.raises(EventsUnavailable):
        read_sign_response(200, {}, b'{"code":403,"message":"premium"}', now=NOW)


@pytest.mark.parametrize(
    "body",
    [b"", b"  ", b'{"message":"Empty response payload received! (Internal Code: 200)","code":500}'],
)
def test_an_empty_answer_is_tiktok_detecting_the_server(body: bytes) -> None:
    with pytest.raises(RiskControl, match="detected") as caught:
        read_sign_response(200, COOKIES, body, now=NOW)
    assert not isinstance(caught.value, RateLimited)


def test_a_result_without_cursor_is_detection_and_other_faults_are_upstream() -> None:
    with pytest.raises(RiskControl, match="no cursor"):
        read_sign_response(200, COOKIES, _result(""), now=NOW)
    with pytest.raises(UpstreamError, match="X-Set-TT-Cookie"):
        read_sign_response(200, {}, _result(), now=NOW)
    with pytest.raises(UpstreamError, match="not a fetch result"):
        read_sign_response(200, COOKIES, b"\xff\xff\xff", now=NOW)
    with pytest.raises(UpstreamError, match="HTTP 500"):
        read_sign_response(500, {}, b"oops", now=NOW)
    with pytest.raises(RoomNotFound):
        read_sign_response(404, {}, b"", now=NOW)


def test_cookie_strings_and_the_masked_key() -> None:
    assert parse_cookie_string(" a=1; b = 2 ;; =x; c=") == (("a", "1"), ("b", "2"), ("c", ""))
    assert mask_key("euler_0123456789abcdef") == "****cdef"
    assert mask_key("short") == "****"
    assert mask_key("") == ""


def test_the_push_url_has_the_route_params_encoded_and_where_to_resume() -> None:
    signed = read_sign_response(200, COOKIES, _result(), now=NOW)
    url = push_url(
        signed.result, room_id=ROOM, user_agent="Mozilla/5.0 (X)", cursor="c-7", internal_ext=""
    )
    split = urllib.parse.urlsplit(url)
    assert split.netloc == "webcast-ws.tiktok.com"
    assert "wrss=tok%20en%2F1" in split.query
    query = dict(urllib.parse.parse_qsl(split.query))
    assert query["room_id"] == ROOM
    assert query["cursor"] == "c-7"
    assert query["internal_ext"] == "ext-1"
    assert query["live_id"] == "12"
    assert "empty" not in query


def test_the_budget_is_per_utc_day() -> None:
    budget = SignBudget(2)
    assert budget.take(NOW)
    assert budget.take(NOW)
    assert not budget.take(NOW)
    assert budget.left(NOW) == 0
    assert SignBudget.seconds_to_reset(NOW) == 60.0
    tomorrow = datetime(2026, 12, 3, 0, 0, 1, tzinfo=UTC)
    assert budget.left(tomorrow) == 2


def _no_server_source() -> TikTokPush:
    return event_source(None, TikTokConfig())  # type: ignore[arg-type]  # no call is made


def test_without_a_sign_server_events_are_off_and_nothing_is_asked() -> None:
    source = _no_server_source()
    status = LiveStatus(live=True, room_id=ROOM, handle="alice")

    async def connect() -> None:
        await source.connection(status, host_index=0, number=1, rng=random.Random(1))

    with pytest.raises(EventsUnavailable, match="no \\[tiktok\\] sign_server"):
        anyio.run(connect)
    assert source.statistics() == {
        "sign_server": None,
        "broadcast_paused": False,
        "gift_catalogue_gifts": 0,  # no signing server: no gift list was asked for either
        "gift_catalogue_error": None,
    }


def test_the_first_result_becomes_rows_before_any_frame_and_the_cursor_resumes() -> None:
    source = _no_server_source()
    signed = read_sign_response(
        200, COOKIES, _result("c-1", _chat(9, "hi"), _chat(10, "yo")), now=NOW
    )
    source._signed, source._room_id, source._enter_id = signed, int(ROOM), 5  # as connection() sets
    wire = source.new_session()
    first = wire.data_to_send()
    assert len(first) == 1
    assert pb.PushFrame.FromString(first[0]).payload_type == "im_enter_room"
    opening = wire.events_received()
    assert [row["content"] for row in opening] == ["hi", "yo"]
    assert pb.PushFrame.FromString(wire.opening_frame).payload_type == "msg"
    row = source.event_row(
        opening[0],
        LiveStatus(live=True, room_id=ROOM, handle="alice"),
        received_at_ms=5,
        stream_offset_s=1.5,
    )
    assert (row["handle"], row["unique_id"], row["msg_id"], row["stream_offset_s"]) == (
        "alice",
        "alice",
        "9",
        1.5,
    )
    assert row["user"]["unique_id"] == "ann"
    assert source.resume_cursor == "c-1"
    # a replay of the same messages on the WebSocket is dropped by the shared window
    frame = pb.PushFrame(
        payload_encoding="pb", payload_type="msg", payload=_result("c-2", _chat(9, "hi"))
    )
    wire.receive_data(frame.SerializeToString())
    assert wire.events_received() == []
    assert source.resume_cursor == "c-2"


def _control(msg_id: int, action: int) -> tuple[str, int, bytes]:
    control = pb.ControlMessage(common=pb.Common(msg_id=msg_id), action=action)
    return "WebcastControlMessage", msg_id, control.SerializeToString()


def test_control_1_and_2_pause_and_resume_and_3_and_4_end_the_stream() -> None:
    source = _no_server_source()
    signed = read_sign_response(200, COOKIES, _result("c-1"), now=NOW)
    source._signed, source._room_id = signed, int(ROOM)  # as connection() sets them
    wire = source.new_session()
    ends = []
    for msg_id, action in ((1, 1), (2, 2), (3, 1), (4, 4), (5, 3)):
        payload = _result("c", _control(msg_id, action))
        frame = pb.PushFrame(payload_encoding="pb", payload_type="msg", payload=payload)
        wire.receive_data(frame.SerializeToString())
        [event] = wire.events_received()
        ends.append(source.ends_stream(event))
        if msg_id < 4:
            assert source.statistics()["broadcast_paused"] is (action == 1)
    assert ends == [False, False, False, True, True]
