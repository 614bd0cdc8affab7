"""TikTok status parsing: the three answers, their stream sets and the classified errors.

Literal bodies are tiktok.md §1.1's (SPEC probes, TLJ, TLR#130); shapes with streams come from
the simulator's TikTok personality (built from tiktok.md §2.2, not from the parser), and
property tests feed the parser arbitrary JSON and bytes: it answers a ``LiveStatus`` or one of
the platform errors, nothing else.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from dylived.errors import (
    PlatformError,
    RestrictedRoom,
    RiskControl,
    RoomNotFound,
    StatusUncertain,
    UpstreamError,
)
from dylived.model import QUALITIES, select_stream
from dylived.platforms.tiktok.status import (
    parse_live_page,
    parse_room_info,
    parse_stream_data,
    parse_stream_url,
    parse_user_room,
)
from dylived.sim.server import WAF_PAGE
from dylived.sim.tiktok.routes import live_page
from dylived.sim.tiktok.status import room_info_body, sigi_state, user_room_body
from dylived.sim.view import QUALITY_LADDER, RoomView, StreamLinks


def links() -> dict[str, StreamLinks]:
    return {
        q.sdk_key: StreamLinks(
            flv=f"https://pull-flv.example/stage/stream-1{q.suffix}.flv?expire=1&sign=a",
            hls=f"https://pull-hls.example/stage/stream-1{q.suffix}/index.m3u8?expire=1&sign=a",
            width=q.width,
            height=q.height,
        )
        for q in QUALITY_LADDER
    }


def view(*, live: bool = True, modes: frozenset[str] = frozenset()) -> RoomView:
    return RoomView(
        web_rid="some.creator",
        uid=7_000_000_000_000_000_123,
        sec_uid="MS4wLjABAAAAx",
        nickname="Some Creator",
        title="evening live",
        live=live,
        room_id="7300000000000000001",
        stream_id="111",
        viewers=42,
        total_users=420,
        now_ms=1_764_000_000_000,
        links=links() if live else {},
        session_id="s-1",
        create_time=1_764_000_000,
        modes=modes,
    )


def test_a_live_user_room_answer_is_live_with_every_video_quality() -> None:
    status = parse_user_room(json.dumps(user_room_body(view(), logged_in=False)))
    assert (status.live, status.paused, status.room_id) == (True, False, "7300000000000000001")
    assert (status.handle, status.user_id, status.nickname) == (
        "some.creator",
        "7000000000000000123",
        "Some Creator",
    )
    assert (status.title, status.viewers, status.extra["sec_uid"]) == (
        "evening live",
        42,
        "MS4wLjABAAAAx",
    )
    assert set(status.streams) == {"origin", "uhd", "hd", "sd", "ld"}  # ao is audio only
    hd = status.streams["hd"]
    assert (hd.codec, hd.bitrate, hd.width, hd.height) == ("h264", 800_000, 960, 540)
    assert "only_audio" not in (status.streams["ld"].flv_url or "")


def test_paused_is_live_and_paused_offline_keeps_the_identity() -> None:
    paused = parse_user_room(user_room_body(view(modes=frozenset({"paused"})), logged_in=False))
    assert (paused.live, paused.paused, bool(paused.streams)) == (True, True, True)
    offline = parse_user_room(user_room_body(view(live=False), logged_in=False))
    assert (offline.live, offline.paused, offline.streams) == (False, False, {})
    assert (offline.user_id, offline.handle) == ("7000000000000000123", "some.creator")


def test_the_live_page_and_room_info_say_the_same_as_the_api() -> None:
    api = parse_user_room(user_room_body(view(), logged_in=False))
    page = parse_live_page(live_page(sigi_state(view(), logged_in=False)))
    info = parse_room_info(room_info_body(view(), logged_in=False), "7300000000000000001")
    for other in (page, info):
        assert (other.live, other.room_id, other.handle, other.user_id) == (
            api.live,
            api.room_id,
            api.handle,
            api.user_id,
        )
    assert page.streams == api.streams
    assert set(info.streams) == {"origin", "uhd", "hd", "sd", "ld"}


@pytest.mark.parametrize(
    ("body", "error", "words"),
    [
        (b"", RiskControl, "empty"),
        (WAF_PAGE, RiskControl, "block page"),
        (b"<html>Please wait...</html>", RiskControl, "please wait"),
        (
            {"data": None, "message": "params_error", "statusCode": 19881005},
            RiskControl,
            "blocked",
        ),
        (
            {"data": None, "message": "user_not_found", "statusCode": 19881007},
            StatusUncertain,
            "not taken as the end",
        ),
        ({"data": None, "message": "", "statusCode": 404000}, StatusUncertain, "404000"),
        (
            {"data": {"prompts": ""}, "extra": {"now": 1}, "message": "", "statusCode": 4003110},
            RestrictedRoom,
            "[tiktok] sessionid",
        ),
        ({"data": {}, "message": "x", "statusCode": 10011}, UpstreamError, "10011"),
        (b"<html>upstream error</html>", UpstreamError, "not JSON"),
        (b"[1, 2]", UpstreamError, "list"),
    ],
)
def test_each_refusal_of_api_live_is_classified(
    body: bytes | dict[str, Any], error: type[Exception], words: str
) -> None:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    with pytest.raises(error) as info:
        parse_user_room(raw)
    assert words.lower() in str(info.value).lower()
    if isinstance(info.value, RestrictedRoom):
        assert info.value.needs == "sessionid"


def test_a_restricted_room_info_and_live_page_name_the_cookie() -> None:
    restricted = view(modes=frozenset({"restricted"}))
    with pytest.raises(RestrictedRoom, match="sessionid"):
        parse_room_info(room_info_body(restricted, logged_in=False), "1")
    with pytest.raises(RestrictedRoom, match="sessionid"):
        parse_live_page(live_page(sigi_state(restricted, logged_in=False)))
    assert parse_user_room(user_room_body(restricted, logged_in=True)).streams  # with the cookie


def test_live_page_failures_are_blocked_or_not_found() -> None:
    with pytest.raises(RiskControl, match="SIGI_STATE"):
        parse_live_page(b"<html><body>nothing here</body></html>")
    with pytest.raises(RiskControl, match="captcha"):
        parse_live_page(b'<script id="SIGI_STATE" type="application/json">{not json</script>')
    with pytest.raises(RoomNotFound, match="LiveRoom"):
        parse_live_page(live_page(sigi_state(None, logged_in=False)))


def _sdk(entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    data = {
        key: {"main": {"flv": f"https://x/{key}.flv", "hls": "", "sdk_params": json.dumps(p)}}
        for key, p in entries.items()
    }
    return {"pull_data": {"stream_data": json.dumps({"data": data})}}


def test_sixty_fps_wins_its_size_and_hevc_fills_only_what_h264_lacks() -> None:
    h264 = _sdk({"hd": {"vbitrate": 1}, "hd_60": {"vbitrate": 2}, "ao": {"vbitrate": 0}})
    hevc = _sdk({"hd": {"VCodec": "h265"}, "origin": {"VCodec": "h265", "vbitrate": 9}})
    streams = parse_stream_data(h264, hevc)
    assert set(streams) == {"hd", "origin"}
    assert (streams["hd"].flv_url, streams["hd"].bitrate) == ("https://x/hd_60.flv", 2)
    assert (streams["origin"].codec, streams["origin"].bitrate) == ("h265", 9)
    only_hevc = parse_stream_data({}, _sdk({"sd": {}}))
    assert only_hevc["sd"].codec == "h265"  # hevcStreamData says so even without VCodec


def test_room_info_legacy_keys_map_as_the_model_says_and_fill_the_gaps() -> None:
    block = {
        "flv_pull_url": {
            "FULL_HD1": "https://x/uhd.flv",
            "HD1": "https://x/hd.flv",
            "SD1": "https://x/ld.flv",
            "SD2": "https://x/sd.flv",
        },
        "hls_pull_url": "https://x/or4/index.m3u8",
        "rtmp_pull_url": "https://x/or4.flv",
    }
    streams = parse_stream_url(block)
    assert {k: v.flv_url for k, v in streams.items()} == {
        "uhd": "https://x/uhd.flv",
        "hd": "https://x/hd.flv",
        "ld": "https://x/ld.flv",
        "sd": "https://x/sd.flv",
        "origin": "https://x/or4.flv",
    }
    assert streams["origin"].hls_url == "https://x/or4/index.m3u8"
    status = parse_room_info(
        {
            "data": {"status": 2, "id_str": "9", "owner": {"display_id": "u"}, "stream_url": block},
            "status_code": 0,
        },
        "9",
    )
    assert select_stream(status, "md").variant.quality == "ld"  # the nearest one


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "data",
                    "user",
                    "liveRoom",
                    "status",
                    "statusCode",
                    "streamData",
                    "pull_data",
                    "stream_data",
                    "roomId",
                    "message",
                    "prompts",
                    "main",
                    "flv",
                    "hls",
                    "sdk_params",
                    "stream_url",
                    "LiveRoom",
                    "owner",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=100, deadline=None)
@given(JSON)
def test_any_json_is_a_status_or_a_platform_error(document: object) -> None:
    raw = json.dumps(document).encode()
    for parse in (parse_user_room, lambda b: parse_room_info(b, "1")):
        try:
            status = parse(raw)
        except PlatformError:
            continue
        assert set(status.streams) <= set(QUALITIES)
        assert status.paused <= status.live
        assert status.live or not status.streams


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_any_page_is_a_status_or_a_platform_error(page: bytes) -> None:
    wrapped = b'<script id="SIGI_STATE" type="application/json">' + page + b"</script>"
    for body in (page, wrapped):
        try:
            status = parse_live_page(body)
        except PlatformError:
            continue
        assert status.live or not status.streams
