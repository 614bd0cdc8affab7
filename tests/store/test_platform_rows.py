"""Sessions and broadcasters rows carry their platform and the neutral ``handle`` (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dylived.store import db
from dylived.store.db import Database
from dylived.store.ops import OpenSession
from tests.store.support import database_at, migrate_file, query, running_writer


pytestmark = pytest.mark.anyio

T0 = 1_700_000_000_000


async def test_a_session_stores_the_platform_and_handle_it_is_opened_with(db_path: Path) -> None:
    async with running_writer(db_path) as writer:
        douyin = await writer.request(
            OpenSession("alice", T0, platform="douyin", web_rid="123456", handle="123456")
        )
        other = await writer.request(
            OpenSession("carol", T0, platform="tiktok", handle="carol.live", target="@carol.live")
        )
    assert query(db_path, "SELECT id, platform, web_rid, handle FROM sessions ORDER BY id") == [
        (douyin, "douyin", "123456", "123456"),
        (other, "tiktok", None, "carol.live"),
    ]
    assert query(db_path, "SELECT key, platform FROM broadcasters ORDER BY key") == [
        ("alice", "douyin"),
        ("carol", "tiktok"),
    ]
    async with Database.open(db_path) as database:
        record = await database.get_session(other)
    assert record is not None
    assert (record.platform, record.handle) == ("tiktok", "carol.live")
    assert record.to_json()["platform"] == "tiktok"
    assert record.to_json()["handle"] == "carol.live"


async def test_migration_4_gives_existing_douyin_sessions_their_web_rid_as_handle(
    db_path: Path,
) -> None:
    database_at(
        db_path,
        3,
        "INSERT INTO broadcasters (key, target, added_at_ms) VALUES ('a', '1', 1)",
        "INSERT INTO sessions (broadcaster_key, web_rid, started_at_ms) "
        "VALUES ('a', '261378947940', 1), ('a', NULL, 2)",
    )
    assert await migrate_file(db_path) == len(db.load_migrations())
    assert query(db_path, "SELECT platform, web_rid, handle FROM sessions ORDER BY id") == [
        ("douyin", "261378947940", "261378947940"),
        ("douyin", None, None),
    ]
    assert query(db_path, "SELECT platform FROM broadcasters") == [("douyin",)]
