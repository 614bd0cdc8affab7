"""Read queries and the streamed export (JSONL, CSV, manifest) of a real stored session."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from dylived.store.db import Database, SessionNotFound
from dylived.store.export import (
    CSV_COLUMNS,
    csv_record,
    export_session,
    session_manifest,
    session_rows,
)
from dylived.store.ops import (
    AddGap,
    CloseSession,
    EventRecord,
    InsertEvents,
    OpenSession,
    UpsertSegment,
)
from tests.store.support import chats, running_writer


pytestmark = pytest.mark.anyio

T0 = 1_700_000_000_000
ROOM_INFO = {
    "type": "room_info",
    "room_id": "7300",
    "web_rid": "123456",
    "broadcaster": {"nickname": "主播A"},
    "title": "晚间直播",
    "user_count_text": "1.2万",
    "raw_url": "https://live.douyin.com/123456",
}


async def _stored_session(path: Path, events: int = 25) -> int:
    async with running_writer(path) as writer:
        sid = await writer.request(
            OpenSession(
                "alice",
                T0,
                platform="douyin",
                room_id="7300",
                web_rid="123456",
                handle="123456",
                room_info=ROOM_INFO,
            )
        )
        other = await writer.request(OpenSession("bob", T0, "douyin"))
        await writer.submit(InsertEvents(other, chats(1000, 3)))
        await writer.submit(InsertEvents(sid, chats(0, events)))
        gift = {"type": "gift", "msg_id": 77, "received_at_ms": T0 + 99, "gift_name": "玫瑰"}
        await writer.submit(InsertEvents(sid, [EventRecord.from_row(gift)]))
        for seq in (1, 0):
            await writer.submit(
                UpsertSegment(
                    sid,
                    seq,
                    f"/rec/alice/alice_{seq:04d}.ts",
                    "closed",
                    T0 + seq * 60_000,
                    T0 + (seq + 1) * 60_000,
                    60.0,
                    2_000_000,
                    "origin",
                    1280,
                    720,
                    "h264",
                    start_offset_s=seq * 60.0,
                )
            )
        await writer.submit(UpsertSegment(sid, 2, "/rec/alice/alice_0002.ts", "failed", T0))
        await writer.submit(AddGap(sid, "events", T0 + 10_000, T0 + 14_000, "reconnect"))
        await writer.close_session(CloseSession(sid, T0 + 120_000, "stream_ended", "stream_ended"))
    return sid


async def _collect(db: Database, sid: int, **kw: Any) -> list[dict[str, Any]]:
    return [row async for row in session_rows(db, sid, **kw)]


async def test_queries(db_path: Path) -> None:
    sid = await _stored_session(db_path)
    async with Database.open(db_path) as db:
        everyone = await db.list_sessions()
        assert [s.broadcaster_key for s in everyone] == ["bob", "alice"]  # newest first
        mine = await db.list_sessions("alice")
        assert [s.id for s in mine] == [sid]
        assert mine[0].reason_for_exit == "stream_ended"
        assert mine[0].to_json()["total_events"] == 26
        assert await db.list_sessions(before_id=sid) == []
        assert (await db.get_session(sid)) == mine[0]
        assert await db.get_session(999) is None
        assert [s.broadcaster_key for s in await db.open_sessions()] == ["bob"]
        assert [s.seq for s in await db.segments(sid)] == [0, 1, 2]
        assert [g.cause for g in await db.gaps(sid)] == ["reconnect"]
        page = await db.events_after(sid, 0, limit=10)
        assert len(page) == 10
        rest = await db.events_after(sid, page[-1].seq, limit=100)
        assert len(rest) == 16
        # last_seq is the session's highest stored seq (seq is global, not per session)
        assert mine[0].last_seq == rest[-1].seq
        assert everyone[0].last_seq == 3  # bob's three events came first: seqs 1-3
        assert rest[-1].row["gift_name"] == "玫瑰"
        counts = await db.counts()
        assert counts["events"] == 29
        assert counts["open_sessions"] == 1
        assert await db.database_size() > 0
        assert await db.orphaned_segments() == []


async def test_rows_are_room_info_events_in_order_then_summary(db_path: Path) -> None:
    sid = await _stored_session(db_path)
    async with Database.open(db_path) as db:
        rows = await _collect(db, sid, page_size=7)  # several pages
    assert rows[0] == ROOM_INFO
    events = rows[1:-1]
    assert [r["msg_id"] for r in events] == [*range(25), 77]  # arrival order, payload kept
    summary = rows[-1]
    assert summary["type"] == "summary"
    assert summary["total_events"] == len(events) == 26
    assert summary["event_counts"] == {"chat": 25, "gift": 1}
    assert summary["recording_segments"] == 2
    assert summary["recording_total_bytes"] == 4_000_000
    assert summary["recording_total_duration_s"] == 120.0
    assert summary["recording_stop_reason"] == "stream_ended"
    assert summary["gaps"]["events"] == {"count": 1, "seconds": 4.0}
    dataset_fields = {
        "room_id", "web_rid", "capture_events", "duration_seconds", "produced_output",
        "connection_opened", "reconnect_count", "total_events", "event_counts",
        "recording_segments", "recording_total_bytes", "recording_total_duration_s",
        "recording_stop_reason", "reason_for_exit", "record_video_requested",
        "record_video_effective", "video_quality", "gaps",
    }  # fmt: skip
    assert dataset_fields <= summary.keys()


async def test_room_info_is_completed_from_the_session_when_absent(db_path: Path) -> None:
    async with running_writer(db_path) as writer:
        sid = await writer.request(
            OpenSession("eve", T0, "douyin", room_id="9", title="hi", nickname="E")
        )
    async with Database.open(db_path) as db:
        rows = await _collect(db, sid)
    assert rows[0] == {
        "type": "room_info",
        "room_id": "9",
        "web_rid": None,
        "title": "hi",
        "broadcaster": {"nickname": "E"},
    }
    assert rows[1]["type"] == "summary"
    assert rows[1]["produced_output"] is False


async def test_jsonl_and_csv_encode_every_row(db_path: Path) -> None:
    sid = await _stored_session(db_path, events=3)
    async with Database.open(db_path) as db:
        jsonl = b"".join([c async for c in export_session(db, sid, "jsonl")])
        csv_bytes = b"".join([c async for c in export_session(db, sid, "csv")])
        expected = await _collect(db, sid)
    assert [json.loads(line) for line in jsonl.decode().splitlines()] == expected
    records = list(csv.reader(io.StringIO(csv_bytes.decode())))
    assert tuple(records[0]) == CSV_COLUMNS
    assert [json.loads(r[-1]) for r in records[1:]] == expected  # the data column is lossless
    first_chat = dict(zip(CSV_COLUMNS, records[2], strict=True))
    assert first_chat["type"] == "chat"
    assert first_chat["user_id"] == "u0"
    assert first_chat["nickname"] == "观众0"
    assert first_chat["content"] == "你好 0"
    assert dict(zip(CSV_COLUMNS, records[1], strict=True))["nickname"] == "主播A"


# sha256 of the export of _stored_session, as main 881f6d5 (before sessions had platform and
# handle columns) produced it: the Douyin export stays byte for byte the same.
EXPORT_SHA256 = {
    "jsonl": "169abc01fb525c8ab808d1f280bad040d8d24c6ab4ba0a1d890fdee62e2f1a82",
    "csv": "bc8ec5b907e92190d62c6faa31930691e6945d77169f79e2be4b56a97e4fff73",
    "manifest": "711dc6c98ceb3ff9feadea12b7a463a78edebe73e4d078e4bfb30559028ba655",
}


async def test_the_douyin_export_is_byte_identical_to_the_one_before_platforms(
    db_path: Path,
) -> None:
    sid = await _stored_session(db_path)
    async with Database.open(db_path) as db:
        assert (await db.get_session(sid)).handle == "123456"  # type: ignore[union-attr]
        got = {
            fmt: hashlib.sha256(b"".join([c async for c in export_session(db, sid, fmt)]))
            for fmt in ("jsonl", "csv")
        }
        manifest = await session_manifest(db, sid)
    text = json.dumps(manifest, ensure_ascii=False, sort_keys=True).encode()
    got["manifest"] = hashlib.sha256(text)
    assert {k: h.hexdigest() for k, h in got.items()} == EXPORT_SHA256


async def test_manifest_lists_closed_segments_in_order(db_path: Path) -> None:
    sid = await _stored_session(db_path)
    async with Database.open(db_path) as db:
        manifest = await session_manifest(db, sid, "alice-session.jsonl")
        with pytest.raises(SessionNotFound):
            await session_manifest(db, 4040)
        with pytest.raises(SessionNotFound):
            await _collect(db, 4040)
    assert manifest["results"] == "alice-session.jsonl"
    assert [r["seq"] for r in manifest["recordings"]] == [0, 1]
    assert manifest["recordings"][1]["start_offset_s"] == 60.0
    assert manifest["recordings"][0] == {
        "key": "alice_0000.ts",
        "path": "/rec/alice/alice_0000.ts",
        "seq": 0,
        "started_at_ms": T0,
        "ended_at_ms": T0 + 60_000,
        "start_offset_s": 0.0,
        "duration_s": 60.0,
        "bytes": 2_000_000,
        "quality": "origin",
        "width": 1280,
        "height": 720,
        "codec": "h264",
    }


def test_csv_cells_that_a_spreadsheet_would_run_get_a_quote_and_numbers_do_not() -> None:
    row = {
        "type": "chat",
        "msg_id": "-1",
        "stream_offset_s": -0.25,
        "server_time_ms": -5,
        "user": {"user_id": "1", "nickname": "@SUM(A1)"},
        "content": "=1+1",
    }
    cells = dict(zip(CSV_COLUMNS, csv_record(row), strict=True))
    assert (cells["content"], cells["nickname"], cells["msg_id"]) == ("'=1+1", "'@SUM(A1)", "'-1")
    assert (cells["stream_offset_s"], cells["server_time_ms"]) == ("-0.25", "-5")
    assert json.loads(cells["data"])["content"] == "=1+1"
    for text in ("+x", "-x", "\tx", "\rx"):
        assert csv_record({"type": "chat", "content": text})[CSV_COLUMNS.index("content")] == (
            "'" + text
        )
    assert csv_record({"type": "chat", "content": "a=b"})[CSV_COLUMNS.index("content")] == "a=b"
