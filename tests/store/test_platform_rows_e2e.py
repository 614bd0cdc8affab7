"""The platform of each broadcaster reaches the sessions it records: the simulator → the real
daemon → SQLite → ``dylivectl sessions``.

Two Douyin broadcasters, one with ``platform = "douyin"`` written out and one whose platform is
inferred from its live.douyin.com address. ``sessions.platform`` is also the column's default,
so the check that can fail is the ``handle`` beside it (written only by the new path) and the
platform dylivectl reports.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import anyio.to_thread
import pytest

from dylived.sim import RoomSpec, Scenario, Simulator
from tests.daemon.helpers import running_daemon
from tests.daemon_rig import broadcaster_table, ctl, query, simulator_config, wait_for


pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.slow]

RIDS = ("200000000001", "200000000002")


async def test_sessions_carry_their_broadcasters_platform_and_handle(tmp_path: Path) -> None:
    scenario = Scenario(rooms=tuple(RoomSpec(rid) for rid in RIDS), ping_interval=1.0)
    state = tmp_path / "s"
    db, sock = state / "dylived.db", state / "control.sock"
    config = tmp_path / "dylived.toml"
    broadcasters = broadcaster_table(RIDS[0], "alice", 'platform = "douyin"\n')
    broadcasters += broadcaster_table(f"https://live.douyin.com/{RIDS[1]}", "bob")
    async with Simulator.running(scenario) as sim:
        config.write_text(simulator_config(sim, state, broadcasters=broadcasters), encoding="utf-8")
        for rid in RIDS:
            sim.room(rid).go_live()
        with running_daemon(config, {"PYTHONUNBUFFERED": "1"}, tmp_path / "daemon.log") as daemon:
            sql = "SELECT count(*) FROM sessions"
            await wait_for(lambda: query(db, sql) == [(2,)], 30, "both sessions")
            listed = await anyio.to_thread.run_sync(lambda: ctl(sock, "--json", "sessions"))
            table = await anyio.to_thread.run_sync(lambda: ctl(sock, "sessions"))
            daemon.send_signal(signal.SIGTERM)
            returncode = await anyio.to_thread.run_sync(lambda: daemon.wait(timeout=20))
    assert returncode == 0
    rows = "SELECT broadcaster_key, platform, web_rid, handle FROM sessions ORDER BY 1"
    assert query(db, rows) == [
        ("alice", "douyin", RIDS[0], RIDS[0]),
        ("bob", "douyin", RIDS[1], RIDS[1]),
    ]
    assert query(db, "SELECT key, platform FROM broadcasters ORDER BY 1") == [
        ("alice", "douyin"),
        ("bob", "douyin"),
    ]
    assert listed.returncode == 0, listed.stderr
    sessions = json.loads(listed.stdout)["sessions"]
    assert sorted((s["broadcaster"], s["platform"], s["handle"]) for s in sessions) == [
        ("alice", "douyin", RIDS[0]),
        ("bob", "douyin", RIDS[1]),
    ]
    assert table.returncode == 0, table.stderr
    header, *lines = table.stdout.splitlines()
    assert "PLATFORM" in header.split()
    assert all(" douyin " in line for line in lines if "alice" in line or "bob" in line)
