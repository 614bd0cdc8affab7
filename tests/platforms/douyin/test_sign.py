"""wire/sign: the two published signature vectors, the stub, and the push URL."""

from __future__ import annotations

import hashlib
import random
import urllib.parse

import pytest

from dylived.platforms.douyin.sign import (
    DEFAULT_USER_AGENT,
    SignatureRandomness,
    build_push_url,
    fake_cursor,
    fake_internal_ext,
    sign_stub,
    signature_stub_input,
    x_ms_stub,
)


VECTOR_STUB = "704f436b2558b0d7a1c7e758527dd8f1"


def test_published_vector_with_flag() -> None:
    randomness = SignatureRandomness(counter=1, flag=True, r=63, k=63)
    assert sign_stub(VECTOR_STUB, randomness) == "6pt0VC0aRZDP7n07"


def test_published_vector_without_flag() -> None:
    randomness = SignatureRandomness(counter=0, flag=False, r=0, k=6)
    assert sign_stub(VECTOR_STUB, randomness) == "fD+evFuzasjOC8Uu"


def test_stub_input_has_the_13_keys_in_order() -> None:
    text = signature_stub_input("7181823408362015540", "7319483754668557238", "1.0.15")
    assert text == (
        "live_id=1,aid=6383,version_code=180800,webcast_sdk_version=1.0.15,"
        "room_id=7181823408362015540,sub_room_id=,sub_channel_id=,did_rule=3,"
        "user_unique_id=7319483754668557238,device_platform=web,device_type=,ac=,"
        "identity=audience"
    )
    assert x_ms_stub("7181823408362015540", "7319483754668557238", "1.0.15") == (
        hashlib.md5(text.encode()).hexdigest()
    )


def test_draw_is_deterministic_and_in_range() -> None:
    draws = [SignatureRandomness.draw(random.Random(seed), counter=5) for seed in range(200)]
    assert draws[0] == SignatureRandomness.draw(random.Random(0), counter=5)
    assert all(0 <= d.r <= 254 and 0 <= d.k <= 254 and d.counter == 5 for d in draws)
    assert {d.flag for d in draws} == {True, False}
    assert all(len(sign_stub(VECTOR_STUB, d)) == 16 for d in draws)


def test_bad_stub_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="hex"):
        sign_stub("not hex", SignatureRandomness(1, False, 0, 0))


def _query(url: str) -> list[tuple[str, str]]:
    return urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True)


def test_push_url_has_every_param_in_order_and_a_valid_signature() -> None:
    randomness = SignatureRandomness(counter=1, flag=True, r=63, k=63)
    url = build_push_url(
        "wss://webcast100-ws-web-lf.douyin.com/webcast/im/push/v2/",
        room_id="7181823408362015540",
        user_unique_id="7319483754668557238",
        now_ms=1721106114633,
        randomness=randomness,
    )
    assert url.startswith("wss://webcast100-ws-web-lf.douyin.com/webcast/im/push/v2/?app_name=")
    query = _query(url)
    keys = [key for key, _ in query]
    assert keys == [
        "app_name", "version_code", "webcast_sdk_version", "update_version_code", "compress",
        "device_platform", "cookie_enabled", "screen_width", "screen_height",
        "browser_language", "browser_platform", "browser_name", "browser_version",
        "browser_online", "tz_name", "cursor", "internal_ext", "host", "aid", "live_id",
        "did_rule", "endpoint", "support_wrds", "user_unique_id", "im_path", "identity",
        "need_persist_msg_count", "insert_task_id", "live_reason", "room_id",
        "heartbeatDuration", "signature",
    ]  # fmt: skip
    values = dict(query)
    assert values["browser_version"] == DEFAULT_USER_AGENT.removeprefix("Mozilla/")
    assert "%20" in url  # spaces as %20, not +
    assert values["cursor"] == "d-1_u-1_fh-7392091211001140287_t-1721106114633_r-1"
    assert values["internal_ext"] == fake_internal_ext(
        "7181823408362015540", "7319483754668557238", 1721106114633
    )
    assert "first_req_ms:1721106114533" in values["internal_ext"]
    stub = x_ms_stub("7181823408362015540", "7319483754668557238")
    assert values["signature"] == sign_stub(stub, randomness)


def test_push_url_keeps_a_base_query_and_given_cursor() -> None:
    url = build_push_url(
        "ws://127.0.0.1:8123/webcast/im/push/v2/?sim=1",
        room_id="1",
        user_unique_id="2",
        now_ms=0,
        randomness=SignatureRandomness(1, False, 1, 1),
        user_agent="curl",
        cursor="t-9_r-1",
        internal_ext="internal_src:pushserver|a:b&c",
    )
    query = _query(url)
    assert query[0] == ("sim", "1")
    values = dict(query)
    assert values["browser_version"] == "curl"
    assert values["cursor"] == "t-9_r-1"
    assert values["internal_ext"] == "internal_src:pushserver|a:b&c"
    assert urllib.parse.urlsplit(url).netloc == "127.0.0.1:8123"


def test_fake_cursor() -> None:
    assert fake_cursor(5) == "d-1_u-1_fh-7392091211001140287_t-5_r-1"
