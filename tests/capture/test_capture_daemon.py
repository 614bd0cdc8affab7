"""The real daemon (a subprocess) capturing events from the simulator into its SQLite file."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import anyio
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


async def test_daemon_captures_every_type_and_control_3_closes_the_session_within_5_s(
    tmp_path: Path,
) -> None:
    scenario = Scenario(
        rooms=(RoomSpec(WEB_RID, nickname="测试主播", rates={"chat": 20, "like": 5}),),
        ping_interval=1.0,
    )
    state = tmp_path / "state"
    db = state / "dylived.db"
    config = tmp_path / "dylived.toml"
    async with Simulator.running(scenario) as sim:
        write_config(config, sim, state)
        room = sim.room(WEB_RID)
        room.go_live()
        log = (tmp_path / "daemon.log").open("wb")
        process = await anyio.open_process(
            [sys.executable, "-m", "dylived", "run", "--config", str(config)],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=log,
        )
        try:
            await wait_for(lambda: query(db, "SELECT 1 FROM events LIMIT 1"), 20, "events")
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
        finally:
            if process.returncode is None:
                process.kill()
                with anyio.move_on_after(5, shield=True):
                    await process.wait()
            log.close()

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
