"""RecorderComponent in a real watchlist (simulator, HTTP adapter, SQLite writer).

``record stop`` then ``record start`` in one session: the recorder stops cleanly, restarts,
and continues the session's numbering (no row or file overwritten).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from dylived.config.load import loads_config
from dylived.net.http import HttpClient
from dylived.platforms.douyin.client import DouyinPlatform
from dylived.record.component import RecorderComponent, RecordingEnvironment
from dylived.sim import RoomSpec, Scenario, Simulator
from dylived.store.writer import Writer
from dylived.watch.session import StatusSampler, WriterSessionStore
from dylived.watch.watchlist import StatusSource, Watchlist
from tests.daemon_rig import broadcaster_table, simulator_config
from tests.record.livesource import FFMPEG, measure


pytestmark = [pytest.mark.anyio, pytest.mark.slow]

WEB_RID = "200000000001"


def config_text(sim: Simulator, tmp_path: Path) -> str:
    return simulator_config(
        sim,
        tmp_path,
        broadcasters=broadcaster_table(WEB_RID, "alice"),
        recording='record_video = true\nvideo_quality = "md"\nsegment_minutes = 0.05\n',
        log_level=None,
        control_socket=False,
    )


def rows(db: Path) -> list[tuple[int, str, str]]:
    with sqlite3.connect(db) as conn:
        # the segment being written has a 'writing' row (its .part path) until it closes
        return conn.execute(
            "SELECT seq, path, state FROM segments WHERE state != 'writing' ORDER BY seq"
        ).fetchall()


async def wait_until(predicate: Callable[[], object], within: float) -> None:
    with anyio.fail_after(within):
        while not predicate():  # noqa: ASYNC110 (polling another component's state)
            await anyio.sleep(0.1)


async def test_record_stop_and_start_continue_the_numbering(tmp_path: Path) -> None:
    scenario = Scenario(rooms=(RoomSpec(WEB_RID, nickname="主播"),))
    database = tmp_path / "dylived.db"
    components: list[RecorderComponent] = []
    async with Simulator.running(scenario) as sim:
        sim.room(WEB_RID).go_live()
        config = loads_config(config_text(sim, tmp_path))
        async with (
            Writer.open(database) as writer,
            HttpClient(user_agent=config.section("douyin").user_agent, timeout=5) as http,
            anyio.create_task_group() as tg,
        ):
            await tg.start(writer.run)
            platform = DouyinPlatform(http, config.section("douyin"))
            env = RecordingEnvironment(
                FFMPEG, tmp_path / "rec", config.daemon.tzinfo, writer.submit, disk_interval=1
            )

            def recorder(ctx: object) -> RecorderComponent:
                components.append(RecorderComponent(env))
                return components[-1]

            watchlist = Watchlist(
                config.poll,
                config.broadcasters,  # type: ignore[arg-type]
                StatusSource(platform).fetch,
                WriterSessionStore(writer),
                [lambda ctx: StatusSampler(), recorder],
            )
            await tg.start(watchlist.run)
            await wait_until(lambda: components and components[0].health().state == "running", 20)
            await wait_until(lambda: components[0].recorder.statistics().segments >= 2, 20)  # type: ignore[union-attr]
            watch = watchlist.watches["alice"]
            assert watch.set_record_override(False)
            await wait_until(lambda: components[0].health().state == "idle", 15)
            assert components[0].recorder is not None
            assert components[0].recorder.pid is None
            first = components[0].recorder
            before = first.statistics().segments
            assert watch.set_record_override(True)
            await wait_until(lambda: components[0].recorder is not first, 10)
            await wait_until(
                lambda: components[0].recorder.statistics().segments >= 2,  # type: ignore[union-attr]
                20,
            )
            await writer.drain()
            stored = rows(database)
            tg.cancel_scope.cancel()
    assert len(components) == 1
    seqs = [seq for seq, _, _ in stored]
    paths = [path for _, path, _ in stored]
    assert len(stored) >= before + 2
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(set(paths)) == len(paths)  # nothing overwritten
    for _, path, state in stored:
        assert state == "closed"
        assert measure(Path(path))[1] == ""
