"""An in-process watchlist against the simulator: real platform adapter, HTTP, SQLite writer.

``platforms`` gives the watchlist more platforms than one, each a name served by the real
(Douyin) adapter against a simulator of its own: a test seam for the per-platform gates, which
do not care what is behind a platform's status requests.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import anyio

from dylived.config.load import BroadcasterConfig, PollConfig, loads_config
from dylived.model import LiveStatus
from dylived.net.http import HttpClient
from dylived.platforms.douyin.client import DouyinPlatform
from dylived.sim import Simulator
from dylived.store.db import Database, SessionRecord
from dylived.store.writer import Writer
from dylived.watch.session import StatusSampler, WriterSessionStore
from dylived.watch.watchlist import BroadcasterOptions, StatusFetcher, StatusSource, Watchlist
from tests.daemon_rig import simulator_config


@dataclass
class Harness:
    watchlist: Watchlist
    writer: Writer
    database: Path
    poll: PollConfig
    broadcasters: Sequence[BroadcasterConfig]  # as the watchlist got them (their platforms)

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
    *,
    platforms: Mapping[str, tuple[Simulator, Collection[str]]] | None = None,
) -> AsyncIterator[Harness]:
    """The watchlist running; ``wrap_fetch`` may wrap the real status fetcher (e.g. slow it).

    ``platforms``: platform name → (its simulator, the keys of its broadcasters); the others
    are on ``douyin``, against ``sim``.
    """
    config = loads_config(config_text(sim, poll, broadcasters, tmp_path))
    others = {
        name: (loads_config(config_text(other, poll, "", tmp_path)).section("douyin"), keys)
        for name, (other, keys) in (platforms or {}).items()
    }
    chosen = [
        next((replace(b, platform=n) for n, (_, keys) in others.items() if b.key in keys), b)
        for b in config.broadcasters
    ]
    database = tmp_path / "dylived.db"
    async with (
        Writer.open(database) as writer,
        contextlib.AsyncExitStack() as stack,
        anyio.create_task_group() as tg,
    ):
        await tg.start(writer.run)
        sources: dict[str, StatusSource] = {}
        for name, douyin in [
            ("douyin", config.section("douyin")),
            *((n, d) for n, (d, _) in others.items()),
        ]:
            # a client each, as each platform has: cookies do not tell 127.0.0.1's ports apart
            http = await stack.enter_async_context(
                HttpClient(user_agent=douyin.user_agent, timeout=5)
            )
            sources[name] = StatusSource(DouyinPlatform(http, douyin))

        async def fetch(broadcaster: BroadcasterOptions) -> LiveStatus:
            return await sources[broadcaster.platform].fetch(broadcaster)

        watchlist = Watchlist(
            config.poll,
            chosen,  # type: ignore[arg-type]
            wrap_fetch(fetch) if wrap_fetch else fetch,
            WriterSessionStore(writer),
            [lambda ctx: StatusSampler()],
        )
        await tg.start(watchlist.run)
        try:
            yield Harness(watchlist, writer, database, config.poll, chosen)
        finally:
            tg.cancel_scope.cancel()
