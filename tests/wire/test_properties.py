"""Property tests: generated events of all 13 types round-trip to their rows; garbage only ever
raises RemoteProtocolError and never inflates past the cap."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dylived.errors import RemoteProtocolError
from dylived.model import EVENT_TYPES
from dylived.platforms.douyin._pb import douyin_pb2 as pb
from dylived.platforms.douyin.messages import decode_message
from dylived.platforms.douyin.push import SCHEMA
from dylived.platforms.douyin.rows import build_row
from dylived.wire.frames import parse_frame
from dylived.wire.session import WebcastSession
from tests.wire.wirebuild import Case, framed_batches


# "Never hang": every fuzz test below also runs under this per-test timeout.
NO_HANG = pytest.mark.timeout(60)

FAST = settings(
    max_examples=60,
    deadline=None,
    # the fixtures used with @given are immutable bytes read from a capture
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@FAST
@given(framed_batches())
def test_any_framed_event_decodes_to_its_row(batch: tuple[bytes, list[Case], bool]) -> None:
    _check_batch(batch)


@pytest.mark.parametrize("row_type", EVENT_TYPES)
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_each_event_type_decodes_to_its_row(row_type: str, data: st.DataObject) -> None:
    # every one of the 13 types is exercised on every run, whatever the random draw above
    _check_batch(data.draw(framed_batches(first_type=row_type)))


def _check_batch(batch: tuple[bytes, list[Case], bool]) -> None:
    frame, cases, _ = batch
    session = WebcastSession(SCHEMA, decode_message)
    session.receive_data(frame)
    events = session.events_received()
    rows = [build_row(e, web_rid="wr", received_at_ms=5, stream_offset_s=1.5) for e in events]
    expected = [
        {**case.row, "web_rid": "wr", "received_at_ms": 5, "stream_offset_s": 1.5} for case in cases
    ]
    assert rows == expected
    assert session.statistics().messages_decoded == len(cases)


@NO_HANG
@FAST
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_remote_protocol_error(data: bytes) -> None:
    session = WebcastSession(SCHEMA, decode_message, max_payload_size=4096)
    try:
        session.receive_data(data)
    except RemoteProtocolError:
        assert session.statistics().failed_frames == 1
    for event in session.events_received():
        json.dumps(build_row(event), allow_nan=False)


@NO_HANG
@FAST
@given(st.binary(max_size=300), st.text(max_size=20))
def test_arbitrary_message_payloads_are_values_never_errors(payload: bytes, method: str) -> None:
    names = (
        method,
        "WebcastChatMessage",
        "WebcastGiftMessage",
        "WebcastRoomRankMessage",
        "WebcastRoomStreamAdaptationMessage",
    )
    for name in names:
        row = build_row(decode_message(name, 1, payload))
        assert row["msg_id"] == "1"
        json.dumps(row, allow_nan=False)


def _mutations() -> st.SearchStrategy[tuple[int, int, int]]:
    # (position fraction in 0..999, new byte, operation: 0 replace, 1 delete, 2 insert)
    return st.tuples(st.integers(0, 999), st.integers(0, 255), st.integers(0, 2))


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    buffer = bytearray(data)
    for where, value, operation in edits:
        index = where * len(buffer) // 1000 if buffer else 0
        if operation == 0 and buffer:
            buffer[index] = value
        elif operation == 1 and buffer:
            del buffer[index]
        else:
            buffer.insert(index, value)
    return bytes(buffer)


def _check_mutant(data: bytes) -> None:
    session = WebcastSession(SCHEMA, decode_message, max_payload_size=64 * 1024)
    try:
        session.receive_data(data)
    except RemoteProtocolError:
        return
    for event in session.events_received():
        json.dumps(build_row(event), allow_nan=False)
    for frame in session.data_to_send():
        assert parse_frame(frame, SCHEMA).payload_type == "ack"


@NO_HANG
@FAST
@given(st.lists(_mutations(), min_size=1, max_size=4))
def test_mutated_real_frame_never_raises_anything_else(
    chat_frame_bytes: bytes, edits: list[tuple[int, int, int]]
) -> None:
    _check_mutant(_mutate(chat_frame_bytes, edits))


@NO_HANG
@FAST
@given(st.lists(_mutations(), min_size=1, max_size=4), st.booleans())
def test_mutated_inner_response_never_raises_anything_else(
    chat_frame_bytes: bytes, edits: list[tuple[int, int, int]], compress: bool
) -> None:
    # Mutate the decompressed Response and re-frame it, so the mutations reach the messages.
    inner = _mutate(parse_frame(chat_frame_bytes, SCHEMA).payload, edits)
    _check_mutant(_raw_frame(gzip.compress(inner) if compress else inner))


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=64), st.integers(min_value=1024, max_value=8192))
def test_gzip_bomb_stops_at_the_cap(mebibytes: int, cap: int) -> None:
    bomb = gzip.compress(b"\x00" * (mebibytes * 1024 * 1024 // 64), compresslevel=9)
    frame = _raw_frame(bomb)
    with pytest.raises(RemoteProtocolError, match="cap"):
        parse_frame(frame, SCHEMA, max_payload_size=cap)


def _raw_frame(payload: bytes) -> bytes:
    return pb.PushFrame(payload_type="msg", payload=payload).SerializeToString()


def test_large_bomb_does_not_allocate_its_inflated_size() -> None:
    # 256 MiB of zeros is ~256 KiB of deflate; building it streams so the test itself stays small.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\x00" * (1 << 20)
    bomb = b"".join(compressor.compress(chunk) for _ in range(256)) + compressor.flush()
    with pytest.raises(RemoteProtocolError, match="cap"):
        parse_frame(_raw_frame(bomb), SCHEMA)
