"""Event ingest into the real daemon: one simulated room pushing N events/s for S seconds.

Run from the repository root: ``.venv/bin/python -m bench.ingest [--rate 5000] [--seconds 60]``.

The simulator runs in this process (one room, ``rates`` summing to ``--rate``: half chat, the
rest likes, members, gifts, viewer counts, room stats); the daemon runs as ``python -m dylived
run`` with ``record_video = false``. This process polls the daemon's SQLite file every 50 ms
(in a worker thread) and stamps each new row with the time it first saw it, so the latency is
"the simulator wrote the frame" → "the row is committed and visible", with ~50 ms resolution.

Prints: events sent and stored, sustained stored events/s over the window, the backlog (sent
minus stored) sampled every 5 s (it must not grow), p50/p99/max latency, and the daemon's CPU
(utime+stime from /proc over the window, in % of one core) and peak RSS.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

from dylived.sim import RoomSpec, Scenario, Simulator
from tests.daemon_rig import broadcaster_table, simulator_config


WEB_RID = "200000000001"
MIX = {"chat": 0.5, "like": 0.2, "member": 0.15, "gift": 0.05, "viewer_count": 0.05}
MIX_REST = "room_stats"


def rates_for(total: float) -> dict[str, float]:
    rates = {kind: total * share for kind, share in MIX.items()}
    rates[MIX_REST] = total - sum(rates.values())
    return rates


def write_config(path: Path, sim: Simulator, state: Path) -> None:
    text = simulator_config(
        sim,
        state,
        broadcasters=broadcaster_table(WEB_RID, "bench"),
        poll="interval = 1\njitter = 0.1\nlive_interval = 5\ngrace = 60\n",
        log_level="warning",
    )
    path.write_text(text, encoding="utf-8")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class DbWatcher:
    """Reads new event rows by seq; remembers when each msg_id was first seen."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.last_seq = 0
        self.seen_at: dict[int, float] = {}
        self._conn: sqlite3.Connection | None = None

    def poll(self) -> int:
        if self._conn is None:
            if not self.db.exists():
                return 0
            self._conn = sqlite3.connect(self.db, timeout=5, check_same_thread=False)
        try:
            rows = self._conn.execute(
                "SELECT seq, msg_id FROM events WHERE seq > ? ORDER BY seq", (self.last_seq,)
            ).fetchall()
        except sqlite3.OperationalError:
            return 0
        now = time.time()
        for seq, msg_id in rows:
            self.last_seq = seq
            if msg_id is not None:
                self.seen_at.setdefault(int(msg_id), now)
        return len(rows)


async def run(rate: float, seconds: float, workdir: Path) -> None:
    scenario = Scenario(
        rooms=(RoomSpec(WEB_RID, nickname="bench", rates=rates_for(rate)),),
        ping_interval=10.0,
    )
    state = workdir / "state"
    config = workdir / "dylived.toml"
    async with Simulator.running(scenario, record_frames=False) as sim:
        write_config(config, sim, state)
        room = sim.room(WEB_RID)
        room.go_live()
        watcher = DbWatcher(state / "dylived.db")
        log = (workdir / "daemon.log").open("wb")
        process = await anyio.open_process(
            [sys.executable, "-m", "dylived", "run", "--config", str(config)],
            stdout=log,
            stderr=log,
        )
        try:
            await sim.wait_until(lambda: sim.observed.push_for(WEB_RID), 30)
            await anyio.sleep(2)  # warm-up
            start_sent = len(sim.observed.sent_events)
            await anyio.to_thread.run_sync(watcher.poll)
            start_seen = len(watcher.seen_at)
            start = time.time()
            cpu0 = cpu_seconds(process.pid)
            backlog: list[tuple[float, int]] = []
            next_sample = start
            while time.time() - start < seconds:
                await anyio.to_thread.run_sync(watcher.poll)
                now = time.time()
                if now >= next_sample:
                    sent = len(sim.observed.sent_events) - start_sent
                    stored = len(watcher.seen_at) - start_seen
                    backlog.append((now - start, sent - stored))
                    next_sample += 5
                await anyio.sleep(0.05)
            elapsed = time.time() - start
            cpu = cpu_seconds(process.pid) - cpu0
            window_sent = sim.observed.sent_events[start_sent:]
            drain_until = time.time() + 10
            while time.time() < drain_until:
                await anyio.to_thread.run_sync(watcher.poll)
                if all(e.msg_id in watcher.seen_at for e in window_sent[-100:]):
                    break
                await anyio.sleep(0.05)
            peak_rss = rss_kib(process.pid)
            connections = len(sim.observed.push_for(WEB_RID))
            process.send_signal(signal.SIGTERM)
            with anyio.fail_after(20):
                await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                with anyio.move_on_after(5, shield=True):
                    await process.wait()
            log.close()

    in_window = [e for e in window_sent if e.sent_at <= start + elapsed]
    stored_in_window = [e for e in in_window if e.msg_id in watcher.seen_at]
    latencies = sorted(watcher.seen_at[e.msg_id] - e.sent_at for e in stored_in_window)
    missing = len(in_window) - len(stored_in_window)
    committed_in_window = sum(
        1 for e in in_window if watcher.seen_at.get(e.msg_id, float("inf")) <= start + elapsed
    )
    print(f"target rate            {rate:,.0f} events/s for {seconds:.0f} s")
    print(f"sent in window         {len(in_window):,} ({len(in_window) / elapsed:,.0f}/s)")
    print(
        f"stored in window       {committed_in_window:,} "
        f"({committed_in_window / elapsed:,.0f}/s sustained)"
    )
    print(f"never stored           {missing:,}")
    print(f"push connections       {connections} (1 = no reconnect)")
    print("backlog (sent - stored) every 5 s: " + ", ".join(f"{b:,}" for _, b in backlog))
    if latencies:
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(
            f"latency send→commit    p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
        )
    print(
        f"daemon CPU             {100 * cpu / elapsed:.0f}% of one core; peak RSS "
        f"{peak_rss / 1024:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=5000.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="measurement window")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dylived-ingest-") as tmp:
        anyio.run(run, args.rate, args.seconds, Path(tmp))


if __name__ == "__main__":
    main()
