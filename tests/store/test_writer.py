"""The single writer against a real SQLite file: batching, replies, dedup, errors, recovery."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from dylived.errors import StoreError
from dylived.store.ops import (
    AddGap,
    CloseSession,
    Drain,
    EventRecord,
    InsertEvents,
    InsertUnknown,
    OpenSession,
    RecordStatusCheck,
    SetDatabaseLimit,
    UpdateSession,
    UpsertBroadcaster,
    UpsertSegment,
)
from dylived.store.statements import TEXT_CAP
from dylived.store.writer import Writer
from tests.conftest import REPO_ROOT
from tests.store.support import chat_row, chats, query, running_writer, wait_until


pytestmark = pytest.mark.anyio

T0 = 1_700_000_000_000


async def test_open_insert_close_gives_a_summary_matching_the_rows(db_path: Path) -> None:
    async with running_writer(db_path) as writer:
        await writer.submit(
            UpsertBroadcaster("alice", "live.douyin.com/123456", T0, "douyin", name="alice")
        )
        sid = await writer.request(
            OpenSession(
                "alice", T0, "douyin", room_id="7300", web_rid="123456", title="t", nickname="A"
            )
        )
        await writer.submit(InsertEvents(sid, chats(0, 30)))
        # a reconnect re-delivers 10 of them: ignored
        await writer.submit(InsertEvents(sid, chats(20, 20)))
        like = EventRecord.from_row({"type": "like", "msg_id": 99, "received_at_ms": T0 + 5})
        await writer.submit(InsertEvents(sid, [like]))
        await writer.submit(UpdateSession(sid, connection_opened=True, reconnect_count=1))
        await writer.submit(
            UpsertSegment(sid, 0, "/r/a_0000.ts", "closed", T0, T0 + 60_000, 59.9, 1000, "origin")
        )
        await writer.submit(UpsertSegment(sid, 1, "/r/a_0001.ts.part", "writing", T0 + 60_000))
        await writer.submit(AddGap(sid, "media", T0 + 60_000, T0 + 62_500, "restart"))
        await writer.submit(RecordStatusCheck("alice", T0, live=True, room_id="7300", viewers=5))
        summary = await writer.close_session(CloseSession(sid, T0 + 90_000, "stream_ended"))
        stats = writer.statistics()
    assert summary["type"] == "summary"
    assert summary["total_events"] == 41
    assert summary["event_counts"] == {"chat": 40, "like": 1}
    assert summary["reason_for_exit"] == "stream_ended"
    assert summary["duration_seconds"] == 90.0
    assert summary["connection_opened"] is True
    assert summary["reconnect_count"] == 1
    assert summary["recording_segments"] == 1  # only closed segments count
    assert summary["recording_total_bytes"] == 1000
    assert summary["gaps"] == {
        "media": {"count": 1, "seconds": 2.5},
        "events": {"count": 0, "seconds": 0.0},
    }
    assert summary["produced_output"] is True
    assert stats.rows_written == 41
    assert stats.rows_ignored == 10
    assert query(db_path, "SELECT count(*) FROM events") == [(41,)]
    assert query(db_path, "SELECT total_events, ended_at_ms FROM sessions") == [(41, T0 + 90_000)]
    assert query(db_path, "SELECT count(*) FROM status_checks") == [(1,)]


async def test_closing_twice_keeps_the_first_close(db_path: Path) -> None:
    async with running_writer(db_path) as writer:
        sid = await writer.request(OpenSession("bob", T0, "douyin"))
        first = await writer.close_session(CloseSession(sid, T0 + 1000, "stream_ended"))
        again = await writer.close_session(CloseSession(sid, T0 + 9000, "daemon_stopped"))
    assert again == first
    assert query(db_path, "SELECT reason_for_exit FROM sessions") == [("stream_ended",)]


async def test_a_full_batch_flushes_without_waiting_for_the_interval(db_path: Path) -> None:
    async with running_writer(db_path, batch_rows=500, flush_interval=60) as writer:
        sid = await writer.request(OpenSession("carol", T0, "douyin"))
        await writer.submit(InsertEvents(sid, chats(0, 499)))
        await anyio.sleep(0.3)
        assert writer.statistics().rows_written == 0  # below the batch size: still pending
        await writer.submit(InsertEvents(sid, chats(499, 1)))
        await wait_until(lambda: writer.statistics().rows_written == 500)
        assert writer.statistics().pending_rows == 0
    assert query(db_path, "SELECT count(*) FROM events") == [(500,)]


async def test_a_partial_batch_flushes_after_the_interval(db_path: Path) -> None:
    async with running_writer(db_path, flush_interval=0.05) as writer:
        sid = await writer.request(OpenSession("dan", T0, "douyin"))
        await writer.submit(InsertEvents(sid, chats(0, 3)))
        await wait_until(lambda: query(db_path, "SELECT count(*) FROM events") == [(3,)])
        stats = writer.statistics()
    assert stats.last_flush_monotonic is not None
    assert stats.backlog == 0


async def test_stop_commits_what_is_pending(db_path: Path) -> None:
    async with Writer.open(db_path, flush_interval=60) as writer:
        async with anyio.create_task_group() as tg:
            await tg.start(writer.run)
            sid = await writer.request(OpenSession("erin", T0, "douyin"))
            await writer.submit(InsertEvents(sid, chats(0, 7)))
            writer.stop()
        with pytest.raises(StoreError, match="stopped"):
            await writer.submit(InsertEvents(sid, chats(7, 1)))
    assert query(db_path, "SELECT count(*) FROM events") == [(7,)]


async def test_cancellation_commits_pending_rows_and_propagates(db_path: Path) -> None:
    async with Writer.open(db_path, flush_interval=60) as writer:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                await tg.start(writer.run)
                sid = await writer.request(OpenSession("fay", T0, "douyin"))
                await writer.submit(InsertEvents(sid, chats(0, 12)))
                await anyio.sleep(0.05)
                scope.cancel()
        assert scope.cancelled_caught
    assert query(db_path, "SELECT count(*) FROM events") == [(12,)]


async def test_drain_waits_for_the_commit(db_path: Path) -> None:
    async with running_writer(db_path, flush_interval=60) as writer:
        sid = await writer.request(OpenSession("gus", T0, "douyin"))
        await writer.submit(InsertEvents(sid, chats(0, 5)))
        await writer.drain()
        assert query(db_path, "SELECT count(*) FROM events") == [(5,)]


async def test_a_rejected_operation_is_isolated_and_the_rest_committed(db_path: Path) -> None:
    async with running_writer(db_path, flush_interval=60) as writer:
        sid = await writer.request(OpenSession("hal", T0, "douyin"))
        await writer.submit(InsertEvents(sid, chats(0, 3)))
        await writer.submit(InsertEvents(4242, chats(3, 2)))  # no such session: FK violation
        await writer.submit(InsertEvents(sid, chats(5, 3)))
        await writer.drain()
        bad_close = CloseSession(4242, T0, "stream_ended")
        await writer.submit(bad_close)
        with pytest.raises(StoreError, match="no session 4242"):
            await bad_close.reply.wait()
        stats = writer.statistics()
    assert query(db_path, "SELECT count(*) FROM events") == [(6,)]
    assert stats.errors == 3  # the two rows of the missing session, the bad close
    assert stats.rows_rejected == 2
    assert stats.last_error is not None


async def test_an_integer_beyond_64_bits_costs_no_row_of_its_batch(db_path: Path) -> None:
    huge, tiny = 2**63 + 5, -(2**63) - 1  # sqlite3 raises OverflowError binding either
    rows = [chat_row(i, T0 + i) for i in range(500)]
    rows[17]["server_time_ms"], rows[400]["server_time_ms"] = huge, tiny
    async with running_writer(db_path, flush_interval=60) as writer:
        sid = await writer.request(OpenSession("ivy", T0, "douyin"))
        await writer.submit(InsertEvents(sid, [EventRecord.from_row(r) for r in rows]))
        await writer.submit(RecordStatusCheck("ivy", T0, live=True, viewers=2**64))
        await writer.drain()
        stats = writer.statistics()
    assert query(db_path, "SELECT count(*) FROM events") == [(500,)]
    stored = query(db_path, "SELECT server_time_ms, payload FROM events WHERE msg_id = '17'")
    assert stored[0][0] is None
    assert f'"server_time_ms":{huge},' in stored[0][1]  # the exact value, in the payload
    assert query(db_path, "SELECT viewers FROM status_checks") == [(None,)]
    assert (stats.values_out_of_range, stats.rows_rejected, stats.errors) == (2, 0, 0)


async def test_one_row_sqlite_refuses_costs_only_itself_not_its_batch(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [chat_row(i, T0 + i) for i in range(500)]
    rows[250]["content"] = "lone surrogate \ud800"  # not UTF-8: SQLite cannot bind it
    async with running_writer(db_path, flush_interval=60) as writer:
        sid = await writer.request(OpenSession("jon", T0, "douyin"))
        await writer.submit(InsertEvents(sid, [EventRecord.from_row(r) for r in rows]))
        await writer.drain()
        summary = await writer.close_session(CloseSession(sid, T0 + 1000, "stream_ended"))
        stats = writer.statistics()
    assert query(db_path, "SELECT count(*) FROM events") == [(499,)]
    assert query(db_path, "SELECT count(*) FROM events WHERE msg_id = '250'") == [(0,)]
    assert summary["total_events"] == 499
    assert (stats.rows_rejected, stats.rows_written) == (1, 499)
    assert "dropped a chat event (msg_id 250) that SQLite refused" in caplog.text


async def test_unknown_messages_are_capped_per_session(db_path: Path) -> None:
    async with running_writer(db_path, unknown_cap=3) as writer:
        sid = await writer.request(OpenSession("ivy", T0, "douyin"))
        for i in range(5):
            await writer.submit(InsertUnknown(sid, "WebcastNewThing", T0 + i, b"\x08\x01"))
        await writer.drain()
        assert writer.statistics().unknown_dropped == 2
    assert query(db_path, "SELECT count(*), min(raw) FROM unknown_messages") == [(3, b"\x08\x01")]


async def test_a_full_database_is_retried_not_fatal_and_resumes(db_path: Path) -> None:
    big = "x" * 2000
    async with running_writer(db_path, flush_interval=0.02, retry_interval=0.05) as writer:
        sid = await writer.request(OpenSession("jo", T0, "douyin"))
        await writer.drain()
        (pages,) = query(db_path, "PRAGMA page_count")[0]
        await writer.submit(SetDatabaseLimit((pages + 16) * 4096))  # ~64 KiB of room left
        rows = [EventRecord.from_row(chat_row(i, T0 + i, content=big)) for i in range(200)]
        for start in range(0, 200, 20):
            await writer.submit(InsertEvents(sid, rows[start : start + 20]))
        await wait_until(lambda: writer.statistics().disk_full)
        full = writer.statistics()
        assert full.disk_full_count >= 1
        assert full.pending_rows > 0
        assert "disk is full" in (full.last_error or "")
        # the loop is alive and keeps accepting work while the disk is full
        await writer.submit(InsertEvents(sid, [EventRecord.from_row(chat_row(500, T0))]))
        await writer.submit(SetDatabaseLimit(None))  # space returns
        await writer.drain()
        after = writer.statistics()
        summary = await writer.close_session(CloseSession(sid, T0 + 1000, "stream_ended"))
    assert not after.disk_full
    assert after.rows_written == 201
    assert summary["total_events"] == 201
    assert query(db_path, "PRAGMA integrity_check") == [("ok",)]
    assert query(db_path, "SELECT count(*) FROM events") == [(201,)]


async def test_rows_beyond_the_pending_cap_are_dropped_while_full(db_path: Path) -> None:
    async with running_writer(
        db_path, flush_interval=0.02, retry_interval=10, max_pending_rows=50
    ) as writer:
        sid = await writer.request(OpenSession("kim", T0, "douyin"))
        await writer.drain()
        await writer.submit(SetDatabaseLimit(1))
        for start in range(0, 100, 10):
            await writer.submit(InsertEvents(sid, chats(start, 10)))
        await wait_until(
            lambda: writer.statistics().backlog == 0 and writer.statistics().rows_dropped > 0
        )
        stats = writer.statistics()
        assert stats.disk_full
        assert stats.pending_rows <= 50
        assert stats.rows_dropped + stats.pending_rows == 100
        await writer.submit(SetDatabaseLimit(None))
        await writer.drain()
    assert query(db_path, "SELECT count(*) FROM events") == [(100 - stats.rows_dropped,)]


async def test_open_sessions_of_a_crash_are_closed_as_daemon_stopped(db_path: Path) -> None:
    async with running_writer(db_path) as writer:
        sid = await writer.request(OpenSession("lee", T0, "douyin"))
        await writer.submit(InsertEvents(sid, chats(0, 4)))
        await writer.submit(UpsertSegment(sid, 0, "/r/lee_0000.ts.part", "writing", T0))
        await writer.drain()
        # the daemon "dies": the session is never closed
    async with Writer.open(db_path) as writer:
        assert writer.recovered_sessions == (sid,)
    (reason, ended, summary), *_ = query(
        db_path, "SELECT reason_for_exit, ended_at_ms, summary FROM sessions"
    )
    assert reason == "daemon_stopped"
    assert ended == T0 + 3  # the last event received
    assert '"total_events":4' in summary
    assert query(db_path, "SELECT state FROM segments") == [("orphaned",)]


CRASHING_PRODUCER = textwrap.dedent(
    """
    import sys, anyio
    from dylived.store.ops import InsertEvents, OpenSession
    from dylived.store.writer import Writer
    from tests.store.support import chats

    async def main(path):
        async with Writer.open(path, flush_interval=0.01) as writer:
            async with anyio.create_task_group() as tg:
                await tg.start(writer.run)
                sid = await writer.request(OpenSession("max", 1_700_000_000_000, "douyin"))
                n, told = 0, False
                while True:
                    await writer.submit(InsertEvents(sid, chats(n, 50)))
                    n += 50
                    if not told and writer.statistics().rows_written >= 1000:
                        print("ready", flush=True)
                        told = True
                    await anyio.sleep(0)

    anyio.run(main, sys.argv[1])
    """
)


@pytest.mark.slow
async def test_sigkill_mid_write_leaves_a_sound_database(db_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with subprocess.Popen(  # noqa: ASYNC220 - a plain child we kill and reap below
        [sys.executable, "-c", CRASHING_PRODUCER, str(db_path)],
        stdout=subprocess.PIPE,
        env=env,
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        await anyio.sleep(0.2)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert query(db_path, "PRAGMA integrity_check") == [("ok",)]
    async with Writer.open(db_path) as writer:
        assert len(writer.recovered_sessions) == 1
    stored = query(db_path, "SELECT count(*) FROM events")[0][0]
    assert stored >= 1000
    assert stored % 50 == 0  # whole batches only: every transaction all-or-nothing
    assert query(db_path, "SELECT total_events, reason_for_exit FROM sessions") == [
        (stored, "daemon_stopped")
    ]


async def test_submit_nowait_reports_a_full_buffer(db_path: Path) -> None:
    # run() not started: nothing drains; the cap counts a control operation as one
    async with Writer.open(db_path, max_pending_rows=2) as writer:
        check = RecordStatusCheck("nia", T0, live=False)
        assert writer.submit_nowait(check) is True
        assert writer.submit_nowait(check) is True
        assert writer.submit_nowait(check) is False
        assert writer.statistics().backlog == 2
        assert writer.statistics().held == 2
        writer.stop()
        with pytest.raises(StoreError, match="stopped"):
            writer.submit_nowait(check)


async def test_a_reply_is_set_once_and_can_be_awaited_again() -> None:
    done = Drain().reply
    done.set(None)
    done.fail(StoreError("late"))  # ignored: already answered
    await done.wait()
    assert done.done
    failed = OpenSession("x", T0, "douyin").reply
    failed.fail(StoreError("nope"))
    failed.set(3)  # ignored
    for _ in range(2):
        with pytest.raises(StoreError, match="nope"):
            await failed.wait()


async def test_long_texts_are_stored_cut_at_the_cap_marked_and_counted(db_path: Path) -> None:
    long_chat = chat_row(1, T0, content="长" * (7 * 1024 * 1024 // 3))  # a 7 MB chat line
    long_chat["user"]["nickname"] = "n" * (TEXT_CAP + 1)
    rank = {
        "type": "room_rank",
        "msg_id": "2",
        "received_at_ms": T0,
        "ranks": [{"rank": 1, "score_text": "9" * (TEXT_CAP + 5)}, {"rank": 2, "score_text": "8"}],
    }
    wide = chat_row(3, T0, content="x" * TEXT_CAP)  # at the cap: kept whole
    rows = [long_chat, rank, wide, chat_row(4, T0)]
    async with running_writer(db_path) as writer:
        sid = await writer.request(
            OpenSession("kim", T0, "douyin", room_info={"type": "room_info", "title": "t" * 10_000})
        )
        await writer.submit(InsertEvents(sid, [EventRecord.from_row(r) for r in rows]))
        summary = await writer.close_session(CloseSession(sid, T0 + 1000, "stream_ended"))
        stats = writer.statistics()
    assert stats.rows_truncated == 2
    stored = {r[0]: json.loads(r[1]) for r in query(db_path, "SELECT msg_id, payload FROM events")}
    assert stored["1"]["content"] == "长" * TEXT_CAP
    assert stored["1"]["user"]["nickname"] == "n" * TEXT_CAP
    assert stored["1"]["truncated"] == ["user.nickname", "content"]
    assert [r["score_text"] for r in stored["2"]["ranks"]] == ["9" * TEXT_CAP, "8"]
    assert stored["2"]["truncated"] == ["ranks[0].score_text"]
    assert stored["3"]["content"] == "x" * TEXT_CAP
    assert "truncated" not in stored["3"]
    assert "truncated" not in stored["4"]
    [(room_info,)] = query(db_path, "SELECT room_info FROM sessions")
    assert json.loads(room_info)["title"] == "t" * TEXT_CAP
    assert summary["truncated_events"] == 2


async def test_submit_waits_while_the_writer_holds_its_cap_and_goes_on_after_the_commit(
    db_path: Path,
) -> None:
    """The one back-pressure rule, against a real lock: while a second connection holds the
    write lock, the writer's transaction waits (busy timeout), what it holds stays at the cap
    and a submit that does not fit waits; once the lock goes, every row is committed."""
    async with running_writer(db_path, flush_interval=0.02, max_pending_rows=30) as writer:
        sid = await writer.request(OpenSession("pia", T0, "douyin"))
        locker = sqlite3.connect(db_path, timeout=5, isolation_level=None)
        try:
            locker.execute("BEGIN IMMEDIATE")
            for start in range(0, 30, 10):
                await writer.submit(InsertEvents(sid, chats(start, 10)))  # fits: 30 of 30
            waited = anyio.Event()

            async def one_more() -> None:
                await writer.submit(InsertEvents(sid, chats(30, 10)))
                waited.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(one_more)
                await anyio.sleep(1)
                held = writer.statistics()
                assert not waited.is_set()  # it waits: 30 held, 10 more do not fit
                locker.rollback()
                with anyio.fail_after(10):
                    await waited.wait()
        finally:
            locker.close()
        await writer.drain()
        stats = writer.statistics()
    assert held.held == 30
    assert held.waits == 1
    assert stats.rows_written == 40
    assert stats.rows_dropped == 0
    assert query(db_path, "SELECT count(*) FROM events") == [(40,)]
