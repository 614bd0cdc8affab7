"""TikTok decoder: every method's message round-trips to its row; unknown methods are rows;
random or mutated bytes only ever raise RemoteProtocolError; a Response's bad message becomes
an ``undecodable`` row without stopping the others."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dylived.errors import RemoteProtocolError
from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from dylived.platforms.tiktok.common import RowContext
from dylived.platforms.tiktok.decode import KNOWN_METHODS, decode_message, rows_of_response
from dylived.platforms.tiktok.envelope import parse_fetch_result
from tests.conftest import CAPTURES_DIR
from tests.platforms.tiktok.tiktokbuild import CASES


NO_HANG = pytest.mark.timeout(90)
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_every_known_method_has_a_round_trip_case() -> None:
    assert set(CASES) == KNOWN_METHODS
    assert len(KNOWN_METHODS) == 31


@pytest.mark.parametrize("method", sorted(CASES))
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_encoded_message_decodes_to_its_row(method: str, data: st.DataObject) -> None:
    case = CASES[method](data)
    row = decode_message(case.method, case.payload)
    assert row == case.row
    json.dumps(row, allow_nan=False)  # strict JSON, ids as strings


@settings(max_examples=40, deadline=None)
@given(data=st.data(), method=st.sampled_from(sorted(CASES)))
def test_context_and_fallbacks_fill_the_head(data: st.DataObject, method: str) -> None:
    case = CASES[method](data)
    context = RowContext(handle="hostname", room_id="77", received_at_ms=5, stream_offset_s=1.5)
    row = decode_message(case.method, case.payload, msg_id=99, server_now_ms=1234, context=context)
    assert row["handle"] == "hostname"
    assert (row["received_at_ms"], row["stream_offset_s"]) == (5, 1.5)
    assert row["msg_id"] == (case.row["msg_id"] or "99")
    assert row["room_id"] == (case.row["room_id"] or "77")
    assert row["server_time_ms"] == (case.row["server_time_ms"] or 1234)


def test_unknown_method_is_a_row_with_the_raw_payload() -> None:
    row = decode_message(
        "WebcastHashtagMessage", b"\x0a\x00\xff", msg_id=5, context=RowContext(handle="h")
    )
    assert row["type"] == "unknown"
    assert (row["platform"], row["method"], row["msg_id"], row["handle"]) == (
        "tiktok",
        "WebcastHashtagMessage",
        "5",
        "h",
    )
    assert base64.b64decode(row["payload_base64"]) == b"\x0a\x00\xff"


def test_truncated_known_message_raises_the_protocol_error() -> None:
    payload = pb.ChatMessage(content="hello world").SerializeToString()
    with pytest.raises(RemoteProtocolError, match="WebcastChatMessage"):
        decode_message("WebcastChatMessage", payload[:-3])


@NO_HANG
@FUZZ
@given(method=st.sampled_from(sorted(KNOWN_METHODS)), payload=st.binary(max_size=300))
def test_random_bytes_only_raise_the_protocol_error(method: str, payload: bytes) -> None:
    try:
        row = decode_message(method, payload)
    except RemoteProtocolError:
        return
    json.dumps(row, allow_nan=False)


def _real_payloads() -> list[tuple[str, bytes]]:
    path = CAPTURES_DIR / "tiktok-events-2023.jsonl"
    if not path.exists():
        return []
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
    return [(x["method"], base64.b64decode(x["payload_b64"])) for x in lines]


REAL = _real_payloads()


@NO_HANG
@pytest.mark.skipif(not REAL, reason="tiktok-events-2023.jsonl absent")
@FUZZ
@given(data=st.data())
def test_mutated_real_payloads_only_raise_the_protocol_error(data: st.DataObject) -> None:
    method, payload = data.draw(st.sampled_from(REAL))
    mutated = bytearray(payload)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(mutated) - 1))
        mutated[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(mutated)))
    try:
        row = decode_message(method, bytes(mutated[:cut]))
    except RemoteProtocolError:
        return
    json.dumps(row, allow_nan=False)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), methods=st.lists(st.sampled_from(sorted(CASES)), min_size=1, max_size=5))
def test_response_rows_keep_order_and_survive_a_bad_message(
    data: st.DataObject, methods: list[str]
) -> None:
    response = pb.Response(now=1_700_000_000_000)
    expected = []
    for index, method in enumerate(methods):
        case = CASES[method](data)
        response.messages.add(method=case.method, payload=case.payload, msg_id=index + 1)
        row = dict(case.row)
        row["msg_id"] = row["msg_id"] or str(index + 1)
        row["server_time_ms"] = row["server_time_ms"] or 1_700_000_000_000
        expected.append(row)
    bad = pb.ChatMessage(content="cut").SerializeToString()[:-1]
    response.messages.add(method="WebcastChatMessage", payload=bad, msg_id=42)
    response.messages.add(method="WebcastNewThing", payload=b"\x01", msg_id=43)
    rows = rows_of_response(parse_fetch_result(response.SerializeToString()))
    assert rows[: len(expected)] == expected
    undecodable, unknown = rows[len(expected) :]
    assert (undecodable["type"], undecodable["msg_id"]) == ("undecodable", "42")
    assert "WebcastChatMessage" in undecodable["error"]
    assert base64.b64decode(undecodable["payload_base64"]) == bad
    assert (unknown["type"], unknown["method"]) == ("unknown", "WebcastNewThing")
