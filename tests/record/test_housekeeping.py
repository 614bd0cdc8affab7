"""Retention and the MP4 remux of finished sessions: real SQLite, real files, real ffmpeg, and
the whole path (recorder → session close → remux → retention) against the simulator.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from dylived.config.load import Config, loads_config
from dylived.net.http import HttpClient
from dylived.platforms.douyin.client import DouyinPlatform
from dylived.record.component import RecorderComponent, RecordingEnvironment
from dylived.record.housekeeping import (
    Housekeeper,
    RetentionPolicy,
    remux_finished,
    remux_stem,
    retention_plan,
    run_retention,
)
from dylived.sim import RoomSpec, Scenario, Simulator
from dylived.store import ops
from dylived.store.db import Database, RecordedFile
from dylived.store.export import session_manifest
from dylived.store.writer import Writer
from dylived.watch.session import StatusSampler, WriterSessionStore
from dylived.watch.watchlist import StatusSource, Watchlist
from tests.daemon_rig import broadcaster_table, simulator_config
from tests.record.livesource import FFMPEG, measure
from tests.record.test_segments import encode_ts


pytestmark = pytest.mark.anyio

DAY_MS = 86_400_000
T0 = 1_767_225_600_000


def query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


@asynccontextmanager
async def running_writer(database: Path) -> AsyncIterator[Writer]:
    async with Writer.open(database) as writer, anyio.create_task_group() as tg:
        await tg.start(writer.run)
        yield writer
        await writer.drain()
        tg.cancel_scope.cancel()


async def add_session(
    writer: Writer, directory: Path, name: str, sizes: list[int], ended_ms: int | None
) -> int:
    session_id = await writer.request(ops.OpenSession(name, T0, "douyin"))
    for seq, size in enumerate(sizes, start=1):
        path = directory / name / f"{name}_{seq:04d}.ts"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)
        op = ops.UpsertSegment(session_id, seq, str(path), "closed", T0, T0 + 1, 1.0, size, "md")
        await writer.submit(op)
    if ended_ms is not None:
        await writer.close_session(ops.CloseSession(session_id, ended_ms, "stream_ended"))
    return session_id


def test_the_plan_never_takes_open_or_busy_sessions() -> None:
    files = [
        RecordedFile(1, 1 * DAY_MS, "/r/a1.ts", 100),
        RecordedFile(1, 1 * DAY_MS, "/r/a2.mp4", 100),
        RecordedFile(2, 2 * DAY_MS, "/r/b.ts", 100),
        RecordedFile(3, None, "/r/c.ts", 100),  # still recording
    ]
    everything = RetentionPolicy(max_total_bytes=0)
    plan = retention_plan(files, everything, now_ms=10 * DAY_MS)
    assert [(s.key, s.bytes, len(s.files)) for s in plan] == [("1", 200, 2), ("2", 100, 1)]
    assert [s.key for s in retention_plan(files, everything, now_ms=0, protected={1})] == ["2"]
    by_age = RetentionPolicy(max_age_days=8.5)
    assert [s.key for s in retention_plan(files, by_age, now_ms=10 * DAY_MS)] == ["1"]
    assert retention_plan(files, RetentionPolicy(), now_ms=10 * DAY_MS) == []
    # the open session's bytes count towards the total
    assert [s.key for s in retention_plan(files, RetentionPolicy(300), now_ms=0)] == ["1"]
    assert remux_stem(Path("/r/b_20260101-000000_0007.ts")) == "b_20260101-000000"
    assert remux_stem(Path("/r/plain.ts")) == "plain"


async def test_retention_deletes_the_oldest_finished_sessions(tmp_path: Path) -> None:
    database, rec = tmp_path / "dylived.db", tmp_path / "rec"
    async with running_writer(database) as writer:
        old = await add_session(writer, rec, "a", [1000, 1000], T0 + DAY_MS)
        newer = await add_session(writer, rec, "b", [1000], T0 + 2 * DAY_MS)
        live = await add_session(writer, rec, "c", [1000], None)
        result = await run_retention(
            RetentionPolicy(max_total_bytes=2500), database, writer.submit, now_ms=T0 + 3 * DAY_MS
        )
        assert result.sessions == (old,)
        assert result.bytes_freed == 2000
        await writer.drain()
        protected = await run_retention(
            RetentionPolicy(max_total_bytes=0),
            database,
            writer.submit,
            now_ms=T0 + 3 * DAY_MS,
            protected={newer},
        )
        assert protected.sessions == ()  # newer is busy, live is recording
    assert not (rec / "a").exists()  # files and the directory left empty
    assert (rec / "b" / "b_0001.ts").exists()
    assert (rec / "c" / "c_0001.ts").exists()
    states = query(database, "SELECT session_id, state FROM segments ORDER BY session_id, seq")
    assert states == [(old, "deleted"), (old, "deleted"), (newer, "closed"), (live, "closed")]
    async with Database.open(database) as db:
        summary = await db.summary(old)
        manifest = await session_manifest(db, old)
    assert summary is not None
    assert summary["recording_segments"] == 2  # history: what was recorded
    assert summary["recording_total_bytes"] == 2000
    assert manifest["recordings"] == []  # nothing left to play


async def test_remux_records_its_mp4_and_can_drop_the_originals(tmp_path: Path) -> None:
    database, rec = tmp_path / "dylived.db", tmp_path / "rec"
    rec.mkdir()
    paths = [encode_ts(rec / f"s_20260101-000000_{i:04d}.ts", seconds=2) for i in (1, 2)]
    async with running_writer(database) as writer:
        session_id = await writer.request(ops.OpenSession("s", T0, "douyin"))
        for seq, path in enumerate(paths, start=1):
            size = path.stat().st_size
            await writer.submit(
                ops.UpsertSegment(
                    session_id, seq, str(path), "closed", T0, T0, 2.0, size, "md", 160, 90, "h264"
                )
            )
        await writer.close_session(ops.CloseSession(session_id, T0 + 4000, "stream_ended"))
        [mp4] = await remux_finished(
            FFMPEG, database, session_id, writer.submit, keep_originals=False
        )
    assert mp4 == rec / "s_20260101-000000.mp4"
    seconds, errors = measure(mp4)
    assert errors == ""
    assert abs(seconds - 4.0) < 0.2
    assert not any(p.exists() for p in paths)
    assert sorted(p.name for p in rec.iterdir()) == [mp4.name]  # no .part, no concat list
    assert query(database, "SELECT state FROM segments") == [("deleted",), ("deleted",)]
    rows = query(database, "SELECT part, path, state, segments, duration_s, bytes FROM remuxes")
    assert rows == [(1, str(mp4), "done", 2, 4.0, mp4.stat().st_size)]
    async with Database.open(database) as db:
        manifest = await session_manifest(db, session_id)
    assert [r["key"] for r in manifest["remuxed"]] == [mp4.name]


def dialogue(ass: str) -> list[tuple[float, str]]:
    """(start in seconds, text after the move tag) of each Dialogue line."""
    found = re.findall(r"^Dialogue: 0,(\d+):(\d\d):(\d\d\.\d\d),[^\n]*?\}(.*)$", ass, re.M)
    return [(int(h) * 3600 + int(m) * 60 + float(s), text) for h, m, s, text in found]


async def test_each_mp4_gets_its_chat_as_ass_timed_from_its_own_start(tmp_path: Path) -> None:
    database, rec = tmp_path / "dylived.db", tmp_path / "rec"
    rec.mkdir()
    sizes = ["160x90", "160x90", "320x180"]  # a frame-size change: two MP4s
    paths = [encode_ts(rec / f"s_{i:04d}.ts", size) for i, size in enumerate(sizes, 1)]
    async with running_writer(database) as writer:
        session_id = await writer.request(ops.OpenSession("s", T0, "douyin"))
        for seq, (path, size) in enumerate(zip(paths, sizes, strict=True), start=1):
            w, h = (int(n) for n in size.split("x"))
            op = ops.UpsertSegment(
                session_id, seq, str(path), "closed", T0, T0, 4.0, 1, "md", w, h, "h264",
                start_offset_s=4.0 * (seq - 1),
            )  # fmt: skip
            await writer.submit(op)
        chats = [(1.5, "early"), (7.25, "second"), (9.0, "after the change"), (None, "none")]
        events = [
            ops.EventRecord(
                "chat",
                f"m{n}",
                T0,
                {"type": "chat", "content": text, "stream_offset_s": at},
                stream_offset_s=at,
            )
            for n, (at, text) in enumerate(chats)
        ]
        await writer.submit(ops.InsertEvents(session_id, events))
        await writer.close_session(ops.CloseSession(session_id, T0 + 12_000, "stream_ended"))
        mp4s = await remux_finished(FFMPEG, database, session_id, writer.submit, subtitles=True)
    assert [p.name for p in mp4s] == ["s.mp4", "s-2.mp4"]
    first, second = (p.with_suffix(".ass").read_text(encoding="utf-8") for p in mp4s)
    assert dialogue(first) == [(1.5, "early"), (7.25, "second")]
    assert dialogue(second) == [(1.0, "after the change")]  # 9.0 s into the session, 8 s in
    assert "PlayResX: 160" in first
    assert "PlayResX: 320" in second
    for mp4 in mp4s:  # real libass reads each over its own video
        argv = [
            FFMPEG,
            "-v",
            "error",
            "-i",
            str(mp4),
            "-vf",
            f"subtitles={mp4.with_suffix('.ass')}",
        ]
        done = await anyio.run_process([*argv, "-f", "null", "-"], check=False)
        assert done.returncode == 0, done.stderr
        assert done.stderr == b""
    assert not list(rec.glob("*.part"))
    # retention takes the subtitles with their MP4
    async with running_writer(database) as writer:
        result = await run_retention(
            RetentionPolicy(max_total_bytes=0), database, writer.submit, now_ms=T0 + DAY_MS
        )
    assert result.sessions == (session_id,)
    assert not list(rec.glob("*.ass"))


async def test_a_cancelled_remux_leaves_no_half_file(tmp_path: Path) -> None:
    database, rec = tmp_path / "dylived.db", tmp_path / "rec"
    rec.mkdir()
    paths = [encode_ts(rec / f"s_{i:04d}.ts", seconds=4) for i in (1, 2, 3)]
    async with running_writer(database) as writer:
        session_id = await writer.request(ops.OpenSession("s", T0, "douyin"))
        for seq, path in enumerate(paths, start=1):
            op = ops.UpsertSegment(session_id, seq, str(path), "closed", T0, T0, 4.0, 1, "md")
            await writer.submit(op)
        await writer.drain()
        async with anyio.create_task_group() as tg:

            async def cancel_once_ffmpeg_writes() -> None:
                while not list(rec.glob("*.mp4.part")):  # noqa: ASYNC110 (ffmpeg's output)
                    await anyio.sleep(0.001)
                tg.cancel_scope.cancel()

            tg.start_soon(cancel_once_ffmpeg_writes)
            await remux_finished(FFMPEG, database, session_id, writer.submit)
            raise AssertionError("the remux finished before ffmpeg's output appeared")
    assert sorted(p.name for p in rec.iterdir()) == [p.name for p in paths]
    assert query(database, "SELECT count(*) FROM remuxes") == [(0,)]


def config_text(sim: Simulator, tmp_path: Path, retention: str) -> str:
    recording = (
        'record_video = true\nvideo_quality = "md"\nsegment_minutes = 0.05\n'
        f"remux_mp4 = true\nkeep_originals = false\n{retention}\n"
    )
    return simulator_config(
        sim,
        tmp_path,
        broadcasters=broadcaster_table("200000000001", "alice"),
        poll="interval = 1\njitter = 0.1\nlive_interval = 1\ngrace = 1\n",
        recording=recording,
        log_level=None,
        control_socket=False,
    )


async def wait_until(predicate: Callable[[], object], within: float) -> None:
    with anyio.fail_after(within):
        while not predicate():  # noqa: ASYNC110 (polling the database another task writes)
            await anyio.sleep(0.1)


@pytest.mark.slow
async def test_a_closed_session_is_remuxed_then_retention_removes_it(tmp_path: Path) -> None:
    """Against the simulator: record, the stream ends, the session is remuxed into an MP4
    (originals dropped), then retention (turned on by a reload) deletes the finished session."""
    scenario = Scenario(rooms=(RoomSpec("200000000001", nickname="主播"),))
    database = tmp_path / "dylived.db"
    async with Simulator.running(scenario) as sim:
        sim.room("200000000001").go_live()
        config: list[Config] = [loads_config(config_text(sim, tmp_path, ""))]
        async with (
            Writer.open(database) as writer,
            HttpClient(user_agent=config[0].section("douyin").user_agent, timeout=5) as http,
            anyio.create_task_group() as tg,
        ):
            await tg.start(writer.run)
            platform = DouyinPlatform(http, config[0].section("douyin"))
            env = RecordingEnvironment(
                FFMPEG, config[0].daemon.recordings_dir, config[0].daemon.tzinfo, writer.submit
            )
            housekeeper = Housekeeper(
                lambda: config[0],
                database,
                writer.submit,
                FFMPEG,
                retention_interval=0.5,
                disk_interval=0.5,
            )
            await tg.start(housekeeper.run)
            watchlist = Watchlist(
                config[0].poll,
                config[0].broadcasters,  # type: ignore[arg-type]
                StatusSource(platform).fetch,
                WriterSessionStore(writer, on_closed=housekeeper.session_closed),
                [lambda ctx: StatusSampler(), lambda ctx: RecorderComponent(env)],
            )
            await tg.start(watchlist.run)
            closed = "SELECT count(*) FROM segments WHERE state = 'closed'"
            await wait_until(lambda: query(database, closed)[0][0] >= 2, 30)
            sim.room("200000000001").go_offline()
            done = "SELECT path FROM remuxes WHERE state = 'done'"
            await wait_until(lambda: query(database, done), 30)
            [(mp4_path,)] = query(database, done)
            mp4 = Path(mp4_path)
            seconds, errors = measure(mp4)
            assert errors == ""
            [(recorded,)] = query(database, "SELECT sum(media_duration_s) FROM segments")
            assert abs(seconds - recorded) < 0.5
            assert {s for (s,) in query(database, "SELECT state FROM segments")} == {"deleted"}
            assert not list(config[0].daemon.recordings_dir.rglob("*.ts"))
            # retention on (as a reload would): the finished session goes, MP4 included
            config[0] = loads_config(config_text(sim, tmp_path, 'retention_max_bytes = "1"'))
            gone = "SELECT state FROM remuxes"
            await wait_until(lambda: query(database, gone) == [("deleted",)], 10)
            tg.cancel_scope.cancel()
    assert not await anyio.Path(mp4).exists()
    assert not [p for p in config[0].daemon.recordings_dir.rglob("*") if p.is_file()]
    [(reason, segments)] = query(
        database, "SELECT reason_for_exit, recording_segments FROM sessions"
    )
    assert reason == "stream_ended"
    assert segments >= 2


async def test_a_version_1_database_keeps_its_segments_through_migration_2(tmp_path: Path) -> None:
    from dylived.store import db as store_db

    path = tmp_path / "v1.db"
    [first, *_] = store_db.load_migrations()
    with sqlite3.connect(path) as conn:
        conn.executescript(f"{first.sql}\nPRAGMA user_version = 1;")
        conn.execute("INSERT INTO sessions (broadcaster_key, started_at_ms) VALUES ('a', 1)")
        conn.execute(
            "INSERT INTO segments (session_id, seq, path, state, started_at_ms, bytes) "
            "VALUES (1, 1, '/r/a.ts', 'closed', 1, 10)"
        )
    async with running_writer(path) as writer:
        await writer.submit(ops.MarkDeleted(1, ("/r/a.ts",)))
    assert query(path, "PRAGMA user_version") == [(len(store_db.load_migrations()),)]
    assert query(path, "SELECT seq, path, state, bytes FROM segments") == [
        (1, "/r/a.ts", "deleted", 10)
    ]
    with pytest.raises(sqlite3.IntegrityError), sqlite3.connect(path) as conn:
        conn.execute("UPDATE segments SET state = 'bogus'")


async def test_retention_runs_as_soon_as_free_space_nears_min_free(tmp_path: Path) -> None:
    """Between two hourly passes, free space falling under min_free + 25 % runs one pass at
    once (files the policy lets go are gone before recording must stop), and only one."""
    database, rec = tmp_path / "dylived.db", tmp_path / "rec"
    config = loads_config(
        f'[daemon]\nstate_dir = "{tmp_path}"\nrecordings_dir = "{rec}"\n'
        '[recording]\nmin_free = "1GiB"\nretention_max_bytes = 1500\n'
    )
    space = {"free": 100 << 30}
    async with running_writer(database) as writer, anyio.create_task_group() as tg:
        housekeeper = Housekeeper(
            lambda: config,
            database,
            writer.submit,
            None,
            disk_interval=0.05,
            free=lambda _p: space["free"],
        )
        await tg.start(housekeeper.run)
        await wait_until(lambda: housekeeper.passes == 1, 5)  # at start: nothing to delete
        await add_session(writer, rec, "a", [1000], T0 + DAY_MS)
        await add_session(writer, rec, "b", [1000], T0 + 2 * DAY_MS)  # 2000 bytes > 1500
        await anyio.sleep(0.3)
        assert (rec / "a" / "a_0001.ts").exists()  # the next hourly pass is far away
        space["free"] = (1 << 30) + (1 << 28) - 1  # above min_free, under its resume level
        await wait_until(lambda: not (rec / "a").exists(), 5)
        await anyio.sleep(0.3)
        assert housekeeper.passes == 2  # not one at every check while it stays low
        assert (rec / "b" / "b_0001.ts").exists()
        tg.cancel_scope.cancel()
