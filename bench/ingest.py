"""Event ingest into the real daemon: N simulated rooms, each pushing R events/s for S seconds.

Run from the repository root: ``.venv/bin/python -m bench.ingest [--rooms 10] [--rate 2000]
[--seconds 300]`` (``--rate`` is per room).

The simulator runs in this process (N live rooms, ``rates`` summing to ``--rate``: half chat,
the rest likes, members, gifts, viewer counts, room stats); the daemon runs as ``python -m
dylived run`` with ``record_video = false``, watching the N rooms. This process polls the
daemon's SQLite file every 50 ms (in a worker thread) and stamps each new row with the time it
first saw it, so the latency is "the simulator wrote the frame" → "the row is committed and
visible", with ~50 ms resolution. The simulator's lists of sent events are consumed as they
grow (send times kept only until the row is seen), so a long run holds no per-event history.

Prints: events sent and stored, sustained stored events/s over the window, the backlog (sent
minus stored) sampled every 5 s (it must not grow), p50/p99/max latency, the daemon's CPU
(utime+stime from /proc over the window, in % of one core) and peak RSS, this process's CPU
(the simulator and the watcher) and the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
import tempfile
import time
from array import array
from pathlib import Path

import anyio

from dylived.sim import RoomSpec, Scenario, Simulator
from tests.daemon_rig import broadcaster_table, simulator_config


MIX = {"chat": 0.5, "like": 0.2, "member": 0.15, "gift": 0.05, "viewer_count": 0.05}
MIX_REST = "room_stats"


def web_rid(i: int) -> str:
    return str(200000000001 + i)


WEB_RID = web_rid(0)  # the one room of bench.ws_drop


def rates_for(total: float) -> dict[str, float]:
    rates = {kind: total * share for kind, share in MIX.items()}
    rates[MIX_REST] = total - sum(rates.values())
    return rates


def write_config(path: Path, sim: Simulator, state: Path, rooms: int = 1) -> None:
    tables = (broadcaster_table(web_rid(i), f"bench{i:02d}") for i in range(rooms))
    text = simulator_config(
        sim,
        state,
        broadcasters="\n".join(tables),
        poll="interval = 1\njitter = 0.1\nlive_interval = 5\ngrace = 60\nrequest_timeout = 30\n",
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


class Tracker:
    """Send times of events not stored yet; the window's latencies and counts.

    ``consume`` takes the simulator's newly sent events (and empties its lists, so a long run
    keeps no history); ``poll`` (in a worker thread) reads rows committed since the last seq.
    An event counts for the window when it was sent between ``window_start`` and
    ``window_end``; it is stored in the window when its row was seen before ``window_end``.
    """

    def __init__(self, db: Path) -> None:
        self.db = db
        self.last_seq = 0
        self.pending: dict[int, float] = {}  # msg_id → sent_at, until its row is seen
        self.seen_first: dict[int, float] = {}  # row seen before its send was consumed
        self.window_start = float("inf")
        self.window_end = float("inf")
        self.sent_in_window = 0
        self.stored_in_window = 0  # sent in the window, seen before it ended
        self.latencies = array("d")  # of every window event seen (the drain included)
        self._conn: sqlite3.Connection | None = None

    def consume(self, sim: Simulator) -> None:
        sent = sim.observed.sent_events
        events = sent[:]
        sent.clear()
        for connection in sim.observed.push_connections:
            connection.events.clear()
        for event in events:
            at = event.sent_at
            if self.window_start <= at <= self.window_end:
                self.sent_in_window += 1
            seen = self.seen_first.pop(event.msg_id, None)
            if seen is None:
                self.pending[event.msg_id] = at
            else:
                self._stored(at, seen)

    def _stored(self, sent_at: float, seen: float) -> None:
        if self.window_start <= sent_at <= self.window_end:
            self.latencies.append(seen - sent_at)
            if seen <= self.window_end:
                self.stored_in_window += 1

    def window_pending(self) -> int:
        return sum(1 for at in self.pending.values() if self.window_start <= at <= self.window_end)

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
            if msg_id is None:
                continue
            key = int(msg_id)
            sent_at = self.pending.pop(key, None)
            if sent_at is None:
                self.seen_first[key] = now
            else:
                self._stored(sent_at, now)
        return len(rows)


def percentile(values: array[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def run(rooms: int, rate: float, seconds: float, workdir: Path) -> None:
    scenario = Scenario(
        rooms=tuple(
            RoomSpec(web_rid(i), nickname=f"bench{i:02d}", rates=rates_for(rate))
            for i in range(rooms)
        ),
        ping_interval=10.0,
    )
    state = workdir / "state"
    config = workdir / "dylived.toml"
    load_before = os.getloadavg()
    async with Simulator.running(scenario, record_frames=False) as sim:
        write_config(config, sim, state, rooms)
        for i in range(rooms):
            sim.room(web_rid(i)).go_live()
        tracker = Tracker(state / "dylived.db")
        log = (workdir / "daemon.log").open("wb")
        process = await anyio.open_process(
            [sys.executable, "-m", "dylived", "run", "--config", str(config)],
            stdout=log,
            stderr=log,
        )
        try:
            await sim.wait_until(
                lambda: all(sim.observed.push_for(web_rid(i)) for i in range(rooms)), 180
            )
            warm_until = time.time() + 2
            while time.time() < warm_until:
                tracker.consume(sim)
                await anyio.sleep(0.05)
            start = tracker.window_start = time.time()
            cpu0, own0 = cpu_seconds(process.pid), time.process_time()
            backlog: list[int] = []
            next_sample = start + 5
            while time.time() - start < seconds:
                tracker.consume(sim)
                await anyio.to_thread.run_sync(tracker.poll)
                now = time.time()
                if now >= next_sample:
                    backlog.append(tracker.sent_in_window - tracker.stored_in_window)
                    next_sample += 5
                await anyio.sleep(0.05)
            tracker.window_end = end = time.time()
            tracker.consume(sim)
            elapsed = end - start
            cpu, own = cpu_seconds(process.pid) - cpu0, time.process_time() - own0
            load_after = os.getloadavg()
            drain_until = time.time() + 10
            while time.time() < drain_until and tracker.window_pending():
                await anyio.to_thread.run_sync(tracker.poll)
                tracker.consume(sim)
                await anyio.sleep(0.05)
            peak_rss = rss_kib(process.pid)
            connections = [len(sim.observed.push_for(web_rid(i))) for i in range(rooms)]
            process.send_signal(signal.SIGTERM)
            with anyio.fail_after(30):
                await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                with anyio.move_on_after(5, shield=True):
                    await process.wait()
            log.close()

    sent = tracker.sent_in_window
    stored = tracker.stored_in_window
    print(f"rooms × rate           {rooms} × {rate:,.0f} events/s for {seconds:.0f} s")
    print(f"sent in window         {sent:,} ({sent / elapsed:,.0f}/s)")
    print(f"stored in window       {stored:,} ({stored / elapsed:,.0f}/s sustained)")
    print(f"never stored           {tracker.window_pending():,} (after a 10 s drain)")
    print(f"push connections       {sum(connections)} for {rooms} rooms (1 each = no reconnect)")
    print("backlog (sent - stored) every 5 s: " + ", ".join(f"{b:,}" for b in backlog))
    if tracker.latencies:
        print(
            f"latency send→commit    p50 {percentile(tracker.latencies, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(tracker.latencies, 0.99) * 1000:.0f} ms, "
            f"max {max(tracker.latencies) * 1000:.0f} ms"
        )
    print(
        f"daemon CPU             {100 * cpu / elapsed:.0f}% of one core; peak RSS "
        f"{peak_rss / 1024:.0f} MiB"
    )
    print(f"bench process CPU      {100 * own / elapsed:.0f}% of one core (simulator + watcher)")
    print(
        f"load average           {load_before[0]:.1f} before, {load_after[0]:.1f} after "
        f"({os.cpu_count()} cores, shared)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=1, help="live rooms, one daemon")
    parser.add_argument("--rate", type=float, default=5000.0, help="events per second per room")
    parser.add_argument("--seconds", type=float, default=300.0, help="measurement window")
    parser.add_argument("--keep", type=Path, help="keep the daemon's files and log here")
    args = parser.parse_args()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        anyio.run(run, args.rooms, args.rate, args.seconds, args.keep)
        return
    with tempfile.TemporaryDirectory(prefix="dylived-ingest-") as tmp:
        anyio.run(run, args.rooms, args.rate, args.seconds, Path(tmp))


if __name__ == "__main__":
    main()
