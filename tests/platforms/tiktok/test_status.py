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


# ---------------------------------------------------------------- typed decoding of bytes


def test_bytes_text_and_decoded_bodies_parse_alike() -> None:
    for v in (view(), view(live=False), view(modes=frozenset({"paused"}))):
        for body in (user_room_body(v, logged_in=False), room_info_body(v, logged_in=False)):
            raw = json.dumps(body)
            parse = parse_user_room if "statusCode" in body else lambda b: parse_room_info(b, "1")
            assert parse(raw.encode()) == parse(raw) == parse(body)


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"statusCode": 0, "data": {"user": 5}}, "$.data.user"),
        ({"statusCode": 0, "data": ["user"]}, "$.data"),
        ({"statusCode": 0, "data": {"user": {"id": "1"}, "liveRoom": "live"}}, "$.data.liveRoom"),
        (
            {"statusCode": 0, "data": {"user": {"id": "1"}, "liveRoom": {"streamData": []}}},
            "$.data.liveRoom.streamData",
        ),
        (
            {"statusCode": 0, "data": {"user": {}, "liveRoom": {"liveRoomStats": 1}}},
            "$.data.liveRoom.liveRoomStats",
        ),
    ],
)
def test_api_live_bytes_that_do_not_fit_the_shape_are_refused_with_the_path(
    body: dict[str, Any], path: str
) -> None:
    with pytest.raises(UpstreamError, match="does not fit the expected shape") as info:
        parse_user_room(json.dumps(body).encode())
    assert f"at `{path}`" in str(info.value)
    assert str(info.value).startswith("api-live/user/room: ")


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"owner": "me"}, "$.data.owner"),
        ({"status": 2, "stream_url": "rtmp://x"}, "$.data.stream_url"),
        ({"status": 2, "stream_url": {"flv_pull_url": ["x"]}}, "$.data.stream_url.flv_pull_url"),
        ({"status": 2, "stream_url": {"live_core_sdk_data": {"pull_data": 3}}}, "pull_data"),
        ({"stats": []}, "$.data.stats"),
    ],
)
def test_room_info_bytes_that_do_not_fit_the_shape_are_refused_with_the_path(
    data: dict[str, Any], path: str
) -> None:
    body = json.dumps({"status_code": 0, "data": data}).encode()
    with pytest.raises(UpstreamError, match="room/info: the body does not fit") as info:
        parse_room_info(body, "1")
    assert path in str(info.value)


def test_a_sigi_state_that_does_not_fit_is_refused_with_the_path() -> None:
    for state, path in (
        ({"LiveRoom": []}, "$.LiveRoom"),
        ({"LiveRoom": {"liveRoomUserInfo": {"user": "x"}}}, "$.LiveRoom.liveRoomUserInfo.user"),
    ):
        page = live_page(state)
        with pytest.raises(UpstreamError, match="SIGI_STATE does not fit") as info:
            parse_live_page(page)
        assert f"at `{path}`" in str(info.value)
        assert not isinstance(info.value, RiskControl)  # a page that parsed: not a block


def test_an_error_code_wins_over_the_shape() -> None:
    restricted = {"statusCode": 4003110, "message": "", "data": {"prompts": "", "user": 1}}
    with pytest.raises(RestrictedRoom):
        parse_user_room(json.dumps(restricted).encode())
    refused = {"statusCode": 19881005, "message": "params_error", "data": "x"}
    with pytest.raises(RiskControl, match="blocked"):
        parse_user_room(json.dumps(refused).encode())
    with pytest.raises(UpstreamError, match="30003"):
        parse_room_info(json.dumps({"status_code": 30003, "data": {"owner": 5}}).encode(), "1")
    with pytest.raises(UpstreamError, match="list, not an object"):
        parse_room_info(b"[]", "1")


def test_a_sigi_state_with_invalid_utf8_or_html_quotes_still_parses() -> None:
    state = sigi_state(view(), logged_in=False)
    page = live_page(state)
    assert parse_live_page(page.replace(b"evening live", b"evening \xff live")).title == (
        "evening \ufffd live"
    )
    text = json.dumps(state).replace('"', "&quot;")
    quoted = f'<script id="SIGI_STATE" type="application/json">{text}</script>'
    assert parse_live_page(quoted.encode()) == parse_live_page(page) == parse_live_page(quoted)


def test_the_sigi_state_script_is_found_among_decoys() -> None:
    page = live_page(sigi_state(view(), logged_in=False))
    for decoy in (
        b'<p>id="SIGI_STATE"</p><script id="other">{}</script>',
        b"<script>var s = 'id=\"SIGI_STATE\"';</script>",
    ):
        assert parse_live_page(decoy + page) == parse_live_page(page)
        assert parse_live_page((decoy + page).decode()) == parse_live_page(page)
    with pytest.raises(RiskControl, match="SIGI_STATE"):
        parse_live_page(b'<script id="SIGI_STATE">{"LiveRoom": {}}')  # never closed
