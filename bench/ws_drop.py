"""Reconnects under repeated drops: a ``ws_drop`` every N seconds against the real daemon.

Run from the repository root: ``.venv/bin/python -m bench.ws_drop [--seconds 300]
[--every 30] [--rate 50]`` (the full form is the default: a drop every 30 s for 5 minutes).

The simulator runs in this process (one room at ``--rate`` events/s); the daemon runs as a
subprocess with its real reconnect policy (2, 4, 8, 16, 30 s, reset after 60 s healthy). Every
``--every`` seconds the room's push connections are dropped abruptly (no close frame). When the
window is over the broadcast ends (ControlMessage status 3) and the session's rows are read.

Prints: drops injected and how many hit an open connection, push connections, the session's
``reconnect_count`` and its ``events`` gaps (count, total and longest seconds), events sent
and stored, duplicated msg_ids in the table, and events the simulator sent that were not
stored (expected 0: the simulator sends only to open connections).
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import anyio

from bench.ingest import WEB_RID, write_config
from dylived.sim import RoomSpec, Scenario, Simulator


async def run(seconds: float, every: float, rate: float, workdir: Path) -> None:
    scenario = Scenario(
        rooms=(
            RoomSpec(WEB_RID, nickname="bench", rates={"chat": rate * 0.8, "like": rate * 0.2}),
        ),
        ping_interval=10.0,
    )
    state = workdir / "state"
    config = workdir / "dylived.toml"
    db = state / "dylived.db"
    async with Simulator.running(scenario, record_frames=False) as sim:
        write_config(config, sim, state)
        room = sim.room(WEB_RID)
        room.go_live()
        log = (workdir / "daemon.log").open("wb")
        process = await anyio.open_process(
            [sys.executable, "-m", "dylived", "run", "--config", str(config)],
            stdout=log,
            stderr=log,
        )
        drops = hits = 0
        try:
            await sim.wait_until(lambda: sim.observed.push_for(WEB_RID), 30)
            start = time.monotonic()
            while time.monotonic() - start < seconds:
                await anyio.sleep(min(every, seconds - (time.monotonic() - start)))
                if time.monotonic() - start >= seconds:
                    break
                drops += 1
                hits += bool(room.sessions)
                room.inject("ws_drop")
                print(
                    f"  {time.monotonic() - start:6.1f} s  drop {drops} "
                    f"({'connected' if room.sessions else 'not connected'})",
                    flush=True,
                )
            room.go_offline()
            await sim.wait_until(lambda: _closed(db), 20, interval=0.1)
            process.send_signal(signal.SIGTERM)
            with anyio.fail_after(20):
                await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                with anyio.move_on_after(5, shield=True):
                    await process.wait()
            log.close()

    with sqlite3.connect(db) as conn:
        msg_ids = [m for (m,) in conn.execute("SELECT msg_id FROM events")]
        gaps = conn.execute(
            "SELECT from_ms, to_ms, cause FROM gaps WHERE kind = 'events'"
        ).fetchall()
        [(summary_text,)] = conn.execute("SELECT summary FROM sessions").fetchall()
    summary = json.loads(summary_text)
    sent = {str(e.msg_id) for e in sim.observed.events_for(WEB_RID)}
    stored = set(msg_ids)
    lengths = [(to - frm) / 1000 for frm, to, _ in gaps]
    print(f"window                 {seconds:.0f} s, a ws_drop every {every:.0f} s")
    print(f"drops                  {drops} injected, {hits} hit an open connection")
    print(f"push connections       {len(sim.observed.push_for(WEB_RID))}")
    print(f"reconnect_count        {summary['reconnect_count']} (expected {hits})")
    print(
        f"events gaps            {len(gaps)}, total {sum(lengths):.1f} s, "
        f"longest {max(lengths, default=0):.1f} s, causes {sorted({c for *_, c in gaps})}"
    )
    print(f"events sent / stored   {len(sent):,} / {len(stored):,}")
    print(f"duplicated msg_ids     {len(msg_ids) - len(stored)}")
    print(f"sent but not stored    {len(sent - stored)}")
    print(f"reason_for_exit        {summary['reason_for_exit']}")


def _closed(db: Path) -> bool:
    if not db.exists():
        return False
    with sqlite3.connect(db, timeout=5) as conn:
        return bool(conn.execute("SELECT 1 FROM sessions WHERE ended_at_ms IS NOT NULL").fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="how long to keep dropping")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between drops")
    parser.add_argument("--rate", type=float, default=50.0, help="events per second")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dylived-ws-drop-") as tmp:
        anyio.run(run, args.seconds, args.every, args.rate, Path(tmp))


if __name__ == "__main__":
    main()
