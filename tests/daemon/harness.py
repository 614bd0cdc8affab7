"""An in-process watchlist against the simulator: real platform adapter, HTTP, SQLite writer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio

from dylived.config import loads_config
from dylived.net.http import HttpClient
from dylived.platforms.douyin.client import DouyinPlatform
from dylived.scheduler import StatusFetcher, StatusSource, Watchlist
from dylived.session import StatusSampler, WriterSessionStore
from dylived.sim import Simulator
from dylived.store.db import Database, SessionRecord
from dylived.store.writer import Writer
from tests.daemon_rig import simulator_config


@dataclass
class Harness:
    watchlist: Watchlist
    writer: Writer
    database: Path

    async def sessions(self, key: str | None = None) -> list[SessionRecord]:
        await self.writer.drain()
        async with Database.open(self.database) as db:
            return await db.list_sessions(key)


def config_text(sim: Simulator, poll: str, broadcasters: str, tmp_path: Path) -> str:
    return simulator_config(
        sim,
        tmp_path,
        poll=poll,
        broadcasters=broadcasters,
        log_level=None,
        control_socket=False,
    )


@asynccontextmanager
async def watching(
    sim: Simulator,
    tmp_path: Path,
    poll: str,
    broadcasters: str,
    wrap_fetch: Callable[[StatusFetcher], StatusFetcher] | None = None,
) -> AsyncIterator[Harness]:
    """The watchlist running; ``wrap_fetch`` may wrap the real status fetcher (e.g. slow it)."""
    config = loads_config(config_text(sim, poll, broadcasters, tmp_path))
    database = tmp_path / "dylived.db"
    async with (
        Writer.open(database) as writer,
        HttpClient(user_agent=config.douyin.user_agent, timeout=5) as http,
        anyio.create_task_group() as tg,
    ):
        await tg.start(writer.run)
        platform = DouyinPlatform(http, config.douyin)
        fetch: StatusFetcher = StatusSource(platform).fetch
        watchlist = Watchlist(
            config.poll,
            config.broadcasters,  # type: ignore[arg-type]
            wrap_fetch(fetch) if wrap_fetch else fetch,
            WriterSessionStore(writer),
            [lambda ctx: StatusSampler()],
        )
        await tg.start(watchlist.run)
        try:
            yield Harness(watchlist, writer, database)
        finally:
            tg.cancel_scope.cancel()
