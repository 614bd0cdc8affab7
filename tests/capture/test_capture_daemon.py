"""The real daemon (a subprocess) capturing events from the simulator into its SQLite file."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import httpx
import pytest

from dylived.model import EVENT_TYPES
from dylived.sim import RoomSpec, Scenario, Simulator
from tests.conftest import REPO_ROOT
from tests.daemon_rig import broadcaster_table, query, simulator_config, wait_for


pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.slow]

WEB_RID = "200000000001"


def write_config(path: Path, sim: Simulator, state: Path, capture: str = "") -> None:
    """One broadcaster, no video; ``capture``: more keys of its [[broadcaster]] table."""
    text = simulator_config(sim, state, broadcasters=broadcaster_table(WEB_RID, "alice", capture))
    path.write_text(text, encoding="utf-8")


async def status_json(state: Path) -> dict[str, Any]:
    transport = httpx.AsyncHTTPTransport(uds=str(state / "control.sock"))
    async with httpx.AsyncClient(transport=transport, base_url="http://dylived") as client:
        reply = await client.get("/v1/status")
        reply.raise_for_status()
        body: dict[str, Any] = reply.json()
        return body


CAP_100 = "store_max_pending_rows = 100\n"
LOCK_SCENARIO = Scenario(
    rooms=(RoomSpec(WEB_RID, nickname="alice", rates={"chat": 50, "like": 25}),),
    ping_interval=1.0,
)


@contextlib.asynccontextmanager
async def capturing_daemon(
    tmp_path: Path, sim: Simulator, daemon_keys: str = ""
) -> AsyncIterator[anyio.abc.Process]:
    """The daemon capturing the room, gone live, until its first row; killed if still up."""
    state, config = tmp_path / "state", tmp_path / "dylived.toml"
    write_config(config, sim, state)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[daemon]\n", f"[daemon]\n{daemon_keys}"))
    sim.room(WEB_RID).go_live()
    with (tmp_path / "daemon.log").open("wb") as log:
        process = await anyio.open_process(
            [sys.executable, "-m", "dylived", "run", "--config", str(config)],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=log,
        )
        try:
            await wait_for(lambda: query(state / "dylived.db", "SELECT 1 FROM events"), 20, "rows")
            yield process
        finally:
            if process.returncode is None:
                process.kill()
                with anyio.move_on_after(5, shield=True):
                    await process.wait()


async def capture_status(state: Path) -> dict[str, Any]:
    capture: dict[str, Any] = (await status_json(state))["broadcasters"][0]["capture"]
    return capture


async def test_daemon_captures_every_type_and_control_3_closes_the_session_within_5_s(
    tmp_path: Path,
) -> None:
    scenario = Scenario(
        rooms=(RoomSpec(WEB_RID, nickname="测试主播", rates={"chat": 20, "like": 5}),),
        ping_interval=1.0,
    )
    state = tmp_path / "state"
    db = state / "dylived.db"
    async with Simulator.running(scenario) as sim, capturing_daemon(tmp_path, sim) as process:
        room = sim.room(WEB_RID)
        await sim.wait_until(lambda: sim.observed.push_for(WEB_RID), 5)
        pushed = {
            kind: room.push(kind, **({"status": 1} if kind == "control" else {})).msg_id
            for kind in EVENT_TYPES
        }
        ids = [str(m) for m in pushed.values()]
        marks = ",".join("?" * len(ids))
        sql = f"SELECT msg_id, type FROM events WHERE msg_id IN ({marks})"
        await wait_for(lambda: len(query(db, sql, *ids)) == len(ids), 10, "13 types")
        await sim.wait_until(lambda: sim.observed.pongs(), 5)  # pings every 1 s
        status = await status_json(state)
        capture = status["broadcasters"][0]["capture"]
        offline_at = time.monotonic()
        room.go_offline()
        try:
            await wait_for(
                lambda: query(db, "SELECT 1 FROM sessions WHERE ended_at_ms IS NOT NULL"),
                10,
                "session closed",
            )
        except AssertionError as exc:  # say why: the daemon's own account of it
            tail = (tmp_path / "daemon.log").read_text(errors="replace")[-4000:]
            raise AssertionError(f"{exc}; daemon log ends:\n{tail}") from None
        closed_after = time.monotonic() - offline_at
        [(reason, summary_text)] = query(db, "SELECT reason_for_exit, summary FROM sessions")
        stored = dict(query(db, sql, *ids))
        process.send_signal(signal.SIGTERM)
        with anyio.fail_after(15):
            returncode = await process.wait()

    assert returncode == 0
    assert {stored[str(pushed[kind])] for kind in EVENT_TYPES} == set(EVENT_TYPES)
    assert capture["state"] == "running"
    assert capture["connected"] is True
    assert capture["events_per_minute"] > 0
    assert capture["reconnects"] == 0
    assert closed_after < 5
    assert reason == "stream_ended"
    summary = json.loads(summary_text)
    assert summary["reason_for_exit"] == "stream_ended"
    assert summary["connection_opened"] is True
    assert summary["reconnect_count"] == 0
    assert summary["total_events"] >= len(EVENT_TYPES)
    assert summary["event_counts"]["chat"] >= 1
    [conn] = sim.observed.push_for(WEB_RID)
    assert conn.acks
    assert conn.exact_heartbeats >= 1
    assert conn.pongs


async def test_a_database_locked_by_another_process_makes_the_capture_wait_and_loses_nothing(
    tmp_path: Path,
) -> None:
    """A second connection holds the SQLite write lock for 3 s (under the 5 s busy timeout):
    the writer's transaction waits, its cap (100 rows here) fills and the capture's reader
    waits on it (status says so); afterwards every event the simulator sent is stored, on one
    connection, with no events gap."""
    state = tmp_path / "state"
    db = state / "dylived.db"
    async with (
        Simulator.running(LOCK_SCENARIO) as sim,
        capturing_daemon(tmp_path, sim, CAP_100) as process,
    ):
        before = await capture_status(state)
        locker = sqlite3.connect(db, timeout=5, isolation_level=None)
        try:
            locker.execute("BEGIN IMMEDIATE")  # the write lock: the writer's BEGIN waits
            held_from, locked_at = time.monotonic(), time.time()
            stored_at_lock = locker.execute("SELECT count(*) FROM events").fetchone()[0]
            waited = before
            while time.monotonic() - held_from < 3:
                waited = await capture_status(state)
                await anyio.sleep(0.2)
            stored_while_locked = query(db, "SELECT count(*) FROM events")[0][0]
            unlocked_at = time.time()
        finally:
            locker.rollback()
            locker.close()
        await anyio.sleep(1)  # the capture catches up with what waited in the socket
        sim.room(WEB_RID).go_offline()
        try:
            await wait_for(
                lambda: query(db, "SELECT 1 FROM sessions WHERE ended_at_ms IS NOT NULL"),
                30,
                "session closed",
            )
        except AssertionError as exc:  # say why: the daemon's and the simulator's account
            tail = (tmp_path / "daemon.log").read_text(errors="replace")[-3000:]
            closes = [c.close_reason for c in sim.observed.push_for(WEB_RID)]
            raise AssertionError(f"{exc}; push closes {closes}; log ends:\n{tail}") from None
        stored = {str(m) for (m,) in query(db, "SELECT msg_id FROM events")}
        gaps = query(db, "SELECT kind, cause FROM gaps")
        process.send_signal(signal.SIGTERM)
        with anyio.fail_after(15):
            returncode = await process.wait()
        events = sim.observed.events_for(WEB_RID)
        sent = {str(e.msg_id) for e in events}
        sent_while_locked = [e for e in events if locked_at <= e.sent_at <= unlocked_at]
        connections = sim.observed.push_for(WEB_RID)

    assert returncode == 0
    assert before["store_waits"] == 0
    assert waited["store_waits"] >= 1  # the reader waited for the writer
    assert waited["connected"] is True
    assert len(connections) == 1  # never dropped as a slow consumer, never reconnected
    assert stored_while_locked == stored_at_lock  # the writer really could not commit
    assert len(sent_while_locked) > 100  # more was sent meanwhile than the writer may hold
    assert sent - stored == set()  # every event sent is stored
    assert [g for g in gaps if g[0] == "events"] == []


async def test_sigterm_while_the_capture_waits_on_a_locked_database_loses_no_acked_event(
    tmp_path: Path,
) -> None:
    """SIGTERM while the reader waits for the writer (the database locked by a second
    connection, released 1 s later): the daemon drains and exits 0, and every event of every
    frame it acknowledged to the simulator is stored."""
    state = tmp_path / "state"
    db = state / "dylived.db"
    async with (
        Simulator.running(LOCK_SCENARIO) as sim,
        capturing_daemon(tmp_path, sim, CAP_100) as process,
    ):
        locker = sqlite3.connect(db, timeout=5, isolation_level=None)
        try:
            locker.execute("BEGIN IMMEDIATE")
            deadline = time.monotonic() + 4
            waits = 0
            while waits == 0 and time.monotonic() < deadline:
                waits = (await capture_status(state))["store_waits"]
                await anyio.sleep(0.1)
            process.send_signal(signal.SIGTERM)
            await anyio.sleep(1)
        finally:
            locker.rollback()
            locker.close()
        with anyio.fail_after(15):
            returncode = await process.wait()
        acked = {a.log_id for a in sim.observed.acks()}
        acked_events = {
            str(e.msg_id) for e in sim.observed.events_for(WEB_RID) if e.log_id in acked
        }

    stored = {str(m) for (m,) in query(db, "SELECT msg_id FROM events")}
    assert waits >= 1  # SIGTERM came while the reader waited
    assert returncode == 0
    assert acked_events  # frames were acked before and after the lock
    assert acked_events - stored == set()  # nothing acknowledged was lost
    [(reason,)] = query(db, "SELECT reason_for_exit FROM sessions")
    assert reason == "daemon_stopped"
