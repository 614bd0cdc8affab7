"""A moderator's ImDelete marks the stored rows it names and deletes nothing (issue 13).

Rows are what the TikTok decoder makes of real bytes (the real ImDelete and chat payloads of
tiktok-events-2023.jsonl where a test needs them, skipped when absent; otherwise messages
serialised with the generated schema), written through the real writer into a real SQLite
file, read back through the export.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from dylived.platforms.tiktok.common import RowContext
from dylived.platforms.tiktok.decode import decode_message
from dylived.store.db import Database
from dylived.store.export import export_session
from dylived.store.ops import EventRecord, InsertEvents, OpenSession
from tests.conftest import capture_path
from tests.store.support import query, running_writer


pytestmark = pytest.mark.anyio

T0 = 1_696_447_100_000
VIEWER, OTHER = 6970465249951400965, 7117754109814883333


def _capture() -> list[dict[str, Any]]:
    text = capture_path("tiktok-events-2023.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line]


def _row(method: str, message: Any, at_ms: int) -> dict[str, Any]:
    return _decoded(method, message.SerializeToString(), at_ms)


def _decoded(method: str, payload: bytes, at_ms: int) -> dict[str, Any]:
    return decode_message(method, payload, context=RowContext(received_at_ms=at_ms))


def _chat(msg_id: int, user_id: int, content: str, at_ms: int) -> dict[str, Any]:
    message = pb.ChatMessage(content=content)
    message.common.msg_id, message.user.id = msg_id, user_id
    return _row("WebcastChatMessage", message, at_ms)


def _emote(msg_id: int, user_id: int, at_ms: int) -> dict[str, Any]:
    message = pb.EmoteChatMessage()
    message.common.msg_id, message.user.id = msg_id, user_id
    message.emote_list.add(emote_id="7281238501054696197")
    return _row("WebcastEmoteChatMessage", message, at_ms)


def _gift(msg_id: int, user_id: int, at_ms: int) -> dict[str, Any]:
    message = pb.GiftMessage(gift_id=5655, repeat_count=1)
    message.common.msg_id, message.user.id = msg_id, user_id
    message.gift.type = 2
    return _row("WebcastGiftMessage", message, at_ms)


def _im_delete(
    msg_id: int, at_ms: int, *, msgs: tuple[int, ...] = (), users: tuple[int, ...] = ()
) -> dict[str, Any]:
    message = pb.ImDeleteMessage(delete_msg_ids=msgs, delete_user_ids=users)
    message.common.msg_id = msg_id
    return _row("WebcastImDeleteMessage", message, at_ms)


async def _store(db_path: Path, sessions: list[list[dict[str, Any]]]) -> list[int]:
    """Each list of rows in a session of its own, in order, through the writer."""
    ids = []
    async with running_writer(db_path) as writer:
        for number, rows in enumerate(sessions):
            session = await writer.request(OpenSession(f"b{number}", T0, platform="tiktok"))
            records = tuple(EventRecord.from_row(row) for row in rows)
            await writer.submit(InsertEvents(session, records))
            ids.append(session)
        await writer.drain()
    return ids


async def _exported(db_path: Path, session_id: int) -> list[dict[str, Any]]:
    async with Database.open(db_path) as database:
        text = b"".join([chunk async for chunk in export_session(database, session_id)])
    return [json.loads(line) for line in text.decode().splitlines()][1:-1]  # no info/summary


def _marked(db_path: Path) -> list[tuple[str, str, int]]:
    return query(db_path, "SELECT type, msg_id, deleted FROM events ORDER BY seq")


async def test_a_user_deletion_marks_that_users_earlier_chat_rows_of_its_session_only(
    db_path: Path,
) -> None:
    first = [
        _chat(1, VIEWER, "spam", T0 + 1),
        _chat(2, OTHER, "hello", T0 + 2),
        _emote(3, VIEWER, T0 + 3),
        _gift(4, VIEWER, T0 + 4),
        _im_delete(5, T0 + 5, users=(VIEWER,)),
        _chat(6, VIEWER, "after the ban", T0 + 6),
    ]
    second = [_chat(11, VIEWER, "elsewhere", T0 + 1), _im_delete(12, T0 + 2, users=(OTHER,))]
    session, _ = await _store(db_path, [first, second])
    assert _marked(db_path) == [
        ("chat", "1", 1),
        ("chat", "2", 0),
        ("emote_chat", "3", 1),
        ("gift", "4", 0),  # a deletion removes comments, not gifts
        ("im_delete", "5", 0),
        ("chat", "6", 0),  # stored after the deletion
        ("chat", "11", 0),  # the same viewer in another session
        ("im_delete", "12", 0),
    ]
    rows = await _exported(db_path, session)
    assert [row.get("deleted") for row in rows] == [True, None, True, None, None, None]
    assert rows[0]["content"] == "spam"  # marked, nothing removed
    assert query(db_path, "SELECT total_events FROM sessions ORDER BY id") == [(6,), (2,)]


async def test_a_message_deletion_marks_the_real_chat_row_it_names(db_path: Path) -> None:
    lines = _capture()
    chats = [
        _decoded(line["method"], base64.b64decode(line["payload_b64"]), T0 + n)
        for n, line in enumerate(lines)
        if line["method"] == "WebcastChatMessage"
    ]
    target, kept = chats
    removal = _im_delete(9, T0 + 99, msgs=(int(target["msg_id"]), 123))
    (session,) = await _store(db_path, [[target, kept, removal]])
    rows = await _exported(db_path, session)
    assert [(row["msg_id"], row.get("deleted")) for row in rows] == [
        (target["msg_id"], True),
        (kept["msg_id"], None),
        ("9", None),
    ]
    assert rows[0] == {**target, "deleted": True}
    assert rows[1] == kept  # an unmarked row is exported exactly as decoded


async def test_the_real_im_delete_payload_marks_the_viewer_it_names(db_path: Path) -> None:
    lines = _capture()
    real = next(line for line in lines if line["method"] == "WebcastImDeleteMessage")
    removal = _decoded(real["method"], base64.b64decode(real["payload_b64"]), T0 + 9)
    (named,) = removal["delete_user_ids"]
    (session,) = await _store(
        db_path, [[_chat(1, int(named), "x", T0), _chat(2, OTHER, "y", T0 + 1), removal]]
    )
    assert _marked(db_path) == [
        ("chat", "1", 1),
        ("chat", "2", 0),
        ("im_delete", removal["msg_id"], 0),
    ]
    assert [row.get("deleted") for row in await _exported(db_path, session)] == [True, None, None]


async def test_a_replayed_deletion_is_ignored_and_marks_nothing_new(db_path: Path) -> None:
    rows = [_im_delete(5, T0, users=(VIEWER,)), _chat(6, VIEWER, "later", T0 + 1)]
    replay = _im_delete(5, T0 + 2, users=(VIEWER,))  # the push server's replay, same msg_id
    await _store(db_path, [[*rows, replay]])
    assert _marked(db_path) == [("im_delete", "5", 0), ("chat", "6", 0)]


async def test_a_user_deletion_reaches_back_20000_rows_a_message_deletion_any_distance(
    db_path: Path,
) -> None:
    filler = [
        {"type": "like", "msg_id": str(100 + n), "received_at_ms": T0 + 2, "count": 1}
        for n in range(19_998)
    ]
    rows = [
        _chat(1, OTHER, "old, named by id", T0),
        _chat(2, VIEWER, "20,001 rows back", T0 + 1),
        _chat(3, VIEWER, "20,000 rows back", T0 + 1),
        *filler,
        _chat(4, VIEWER, "on screen", T0 + 3),
        _im_delete(5, T0 + 4, msgs=(1,), users=(VIEWER,)),
    ]
    await _store(db_path, [rows])
    marked = query(db_path, "SELECT msg_id FROM events WHERE deleted = 1 ORDER BY seq")
    assert marked == [("1",), ("3",), ("4",)]
    assert query(db_path, "SELECT count(*) FROM events") == [(len(rows),)]
