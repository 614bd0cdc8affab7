"""Event ingest into the real daemon: N simulated rooms, each pushing R events/s for S seconds.

Run from the repository root: ``.venv/bin/python -m bench.ingest [--rooms 10] [--rate 2000]
[--seconds 300] [--sample 10]`` (``--rate`` is per room).

Three processes: the simulator (``python -m dylived.sim.cli``, its own process, driven by its
scenario file and read over ``/_sim/observed``) with ``pump = "templates"`` (each room's events
pre-encoded once from its scripted mix: half chat, the rest likes, members, gifts, viewer
counts, room stats; each pushed event is a template with its msg_id and time patched, up to 200
per gzip'd PushFrame per 50 ms tick, the real wire format: ``sim/templates.py``) and
``status_body = "small"`` (the status checks are not what is measured here); the daemon (``python
-m dylived run``, ``record_video = false``) watching the N rooms; and this process, which polls
the daemon's SQLite file every 50 ms (in a worker thread) for new rows. A templated msg_id
carries its send time (``msg_id >> 20`` = Unix ms), so the latency is "the simulator built the
frame" → "this process saw the committed row", with ~50 ms resolution, and no per-event
bookkeeping crosses processes.

Prints: events sent (the simulator's counter, read at the window's ends, so ± the few ms of
sends an HTTP round trip takes) and stored (rows sent in the window, seen before
it ended), the backlog (sent minus stored) every ``--sample`` s and its trend (least-squares
slope; "growing" when it rises by more than 1% of the offered rate), p50/p99/max latency of
the window's events that were stored (the drain included; the never-stored ones are counted
apart), the daemon's CPU (utime+stime from /proc, % of one core) and CPU per stored event, its
peak RSS, the simulator's CPU per sent event, this process's CPU, the push connections (1 per
room = no reconnect) and the load average (the machine is shared); the last line sums it up.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Any

import anyio
import httpx

from dylived.sim import Simulator
from tests.daemon_rig import broadcaster_table, daemon_config, simulator_config


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


POLL = "interval = 1\njitter = 0.1\nlive_interval = 5\ngrace = 60\nrequest_timeout = 30\n"
MSG_ID_SHIFT = 20  # dylived.sim.templates: msg_id >> 20 = send time in ms


def write_daemon_config(path: Path, web_base: str, ws_base: str, state: Path, rooms: int) -> None:
    tables = (broadcaster_table(web_rid(i), f"bench{i:02d}") for i in range(rooms))
    text = daemon_config(
        state, web_base, ws_base, broadcasters="\n".join(tables), poll=POLL, log_level="warning"
    )
    path.write_text(text, encoding="utf-8")


def write_scenario(path: Path, rooms: int, rate: float) -> None:
    lines = ['pump = "templates"', 'status_body = "small"', "ping_interval = 10.0", ""]
    for i in range(rooms):
        rates = ", ".join(f"{kind} = {r!r}" for kind, r in rates_for(rate).items())
        lines += ["[[room]]", f'web_rid = "{web_rid(i)}"', f'nickname = "bench{i:02d}"']
        lines += ["live = true", f"rates = {{{rates}}}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class Tracker:
    """The window's stored rows and latencies, read from the daemon's SQLite file.

    ``poll`` (in a worker thread) reads the rows committed since the last seq; a row whose
    msg_id carries a send time (templated) inside the window counts for it, as stored in the
    window when it was seen before ``window_end``. Rows sent before the window (warm-up) or not
    templated (the personality's opening events) are skipped.
    """

    def __init__(self, db: Path) -> None:
        self.db = db
        self.last_seq = 0
        self.window_start_ms = float("inf")
        self.window_end_ms = float("inf")
        self.window_end = float("inf")
        self.stored_in_window = 0  # sent in the window, seen before it ended
        self.seen_in_window = 0  # sent in the window, seen at all (the drain included)
        self.latencies = array("d")  # of every window event seen (the drain included)
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
        if not rows:
            return 0
        now = time.time()
        now_ms = now * 1000
        start, end = self.window_start_ms, self.window_end_ms
        seen_before_end = now <= self.window_end
        latencies = self.latencies
        counted = 0
        for _seq, msg_id in rows:
            if msg_id is None:
                continue
            sent = int(msg_id) >> MSG_ID_SHIFT
            if start <= sent <= end:
                counted += 1
                latencies.append((now_ms - sent) / 1000)
        self.last_seq = rows[-1][0]
        self.seen_in_window += counted
        if seen_before_end:
            self.stored_in_window += counted
        return len(rows)


def percentile(values: array[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def slope(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of (t, backlog) samples, events per second."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mt = sum(t for t, _ in samples) / n
    mb = sum(b for _, b in samples) / n
    var = sum((t - mt) ** 2 for t, _ in samples)
    return sum((t - mt) * (b - mb) for t, b in samples) / var if var else 0.0


def sent_count(observed: dict[str, Any]) -> int:
    return int(observed["bulk_events"])


async def observe(client: httpx.AsyncClient, base: str) -> dict[str, Any]:
    reply = await client.get(f"{base}/_sim/observed", timeout=30)
    reply.raise_for_status()
    body: dict[str, Any] = reply.json()
    return body


async def run(
    rooms: int, rate: float, seconds: float, workdir: Path, sample_every: float
) -> dict[str, Any]:
    state = workdir / "state"
    config = workdir / "dylived.toml"
    scenario = workdir / "scenario.toml"
    write_scenario(scenario, rooms, rate)
    load_before = os.getloadavg()
    sim_log = (workdir / "sim.log").open("wb")
    sim = await anyio.open_process(
        [sys.executable, "-m", "dylived.sim.cli", "--scenario", str(scenario)],
        stdout=subprocess.PIPE,
        stderr=sim_log,
    )
    process = None
    log = (workdir / "daemon.log").open("wb")
    try:
        assert sim.stdout is not None
        with anyio.fail_after(30):
            line = b""
            while not line.endswith(b"\n"):
                line += await sim.stdout.receive(1)
        ready = json.loads(line)
        base = ready["web_base"]
        write_daemon_config(config, base, ready["ws_base"], state, rooms)
        tracker = Tracker(state / "dylived.db")
        process = await anyio.open_process(
            [sys.executable, "-m", "dylived", "run", "--config", str(config)],
            stdout=log,
            stderr=log,
        )
        async with httpx.AsyncClient() as client:

            def connected(o: dict[str, Any]) -> set[str]:
                return {c["web_rid"] for c in o["push_connections"] if c["closed_at"] is None}

            with anyio.fail_after(180):
                while True:
                    if len(connected(await observe(client, base))) >= rooms:
                        break
                    await anyio.sleep(0.5)
            warm_until = time.time() + 3
            while time.time() < warm_until:
                await anyio.to_thread.run_sync(tracker.poll)
                await anyio.sleep(0.05)
            observed = await observe(client, base)
            start = time.time()
            tracker.window_start_ms = start * 1000
            sent0 = sent_count(observed)
            cpu0, sim0, own0 = cpu_seconds(process.pid), cpu_seconds(sim.pid), time.process_time()
            backlog: list[tuple[float, int]] = []
            next_sample = start + sample_every
            while time.time() - start < seconds:
                await anyio.to_thread.run_sync(tracker.poll)
                now = time.time()
                if now >= next_sample:
                    sent = sent_count(await observe(client, base)) - sent0
                    backlog.append((time.time() - start, sent - tracker.stored_in_window))
                    print(
                        f"  t={backlog[-1][0]:5.0f} s  sent {sent:,}  stored "
                        f"{tracker.stored_in_window:,}  backlog {backlog[-1][1]:,}",
                        flush=True,
                    )
                    next_sample += sample_every
                await anyio.sleep(0.05)
            end = time.time()
            tracker.window_end_ms = end * 1000
            observed = await observe(client, base)
            await anyio.to_thread.run_sync(tracker.poll)
            tracker.window_end = time.time()
            sent_window = sent_count(observed) - sent0
            elapsed = end - start
            cpu = cpu_seconds(process.pid) - cpu0
            sim_cpu = cpu_seconds(sim.pid) - sim0
            own = time.process_time() - own0
            load_after = os.getloadavg()
            drain_until = time.time() + 10
            while time.time() < drain_until and tracker.seen_in_window < sent_window:
                await anyio.to_thread.run_sync(tracker.poll)
                await anyio.sleep(0.05)
            peak_rss = rss_kib(process.pid)
            observed = await observe(client, base)
            connections = [c for c in observed["push_connections"] if c["web_rid"] != ""]
        process.send_signal(signal.SIGTERM)
        with anyio.fail_after(30):
            await process.wait()
    finally:
        for child in (process, sim):
            if child is not None and child.returncode is None:
                child.send_signal(signal.SIGTERM)
                with anyio.move_on_after(10, shield=True):
                    await child.wait()
                if child.returncode is None:
                    child.kill()
                    with anyio.move_on_after(5, shield=True):
                        await child.wait()
        log.close()
        sim_log.close()
    stored = tracker.stored_in_window
    trend = slope(backlog)
    lat = tracker.latencies
    return {
        "rooms": rooms,
        "rate": rate,
        "seconds": seconds,
        "elapsed": elapsed,
        "sent": sent_window,
        "stored": stored,
        # the counter is read over HTTP at the window's ends: ± a few ms of sends
        "never_stored": max(0, sent_window - tracker.seen_in_window),
        "backlog": backlog,
        "slope": trend,
        "growing": trend > 0.01 * rooms * rate,
        "p50": percentile(lat, 0.5) if lat else float("nan"),
        "p99": percentile(lat, 0.99) if lat else float("nan"),
        "max": max(lat) if lat else float("nan"),
        "cpu": cpu,
        "sim_cpu": sim_cpu,
        "own": own,
        "rss_mib": peak_rss / 1024,
        "connections": len(connections),
        "close_reasons": sorted({c["close_reason"] for c in connections if c["close_reason"]}),
        "load": (load_before[0], load_after[0]),
    }


def report(r: dict[str, Any]) -> str:
    elapsed, sent, stored = r["elapsed"], r["sent"], r["stored"]
    backlog = ", ".join(f"{b:,}" for _, b in r["backlog"])
    verdict = "GROWING" if r["growing"] else "flat"
    return "\n".join(
        [
            f"rooms × rate           {r['rooms']} × {r['rate']:,.0f} events/s for "
            f"{r['seconds']:.0f} s (window {elapsed:.1f} s)",
            f"sent in window         {sent:,} ({sent / elapsed:,.0f}/s)",
            f"stored in window       {stored:,} ({stored / elapsed:,.0f}/s sustained)",
            f"never stored           {r['never_stored']:,} (after a 10 s drain)",
            f"push connections       {r['connections']} for {r['rooms']} rooms (1 each = no "
            f"reconnect); closes: {', '.join(r['close_reasons']) or 'none'}",
            f"backlog (sent - stored) every {r['backlog'][1][0] - r['backlog'][0][0]:.0f} s: "
            f"{backlog}"
            if len(r["backlog"]) > 1
            else f"backlog: {backlog}",
            f"backlog trend          {r['slope']:+,.1f} events/s ({verdict})",
            f"latency send→commit    p50 {r['p50'] * 1000:,.0f} ms, p99 {r['p99'] * 1000:,.0f} "
            f"ms, max {r['max'] * 1000:,.0f} ms (stored events)",
            f"daemon CPU             {100 * r['cpu'] / elapsed:.0f}% of one core, "
            f"{r['cpu'] / max(stored, 1) * 1e6:.1f} µs per stored event; peak RSS "
            f"{r['rss_mib']:.0f} MiB",
            f"simulator CPU          {100 * r['sim_cpu'] / elapsed:.0f}% of one core, "
            f"{r['sim_cpu'] / max(sent, 1) * 1e6:.1f} µs per sent event",
            f"bench process CPU      {100 * r['own'] / elapsed:.0f}% of one core (the watcher)",
            f"load average           {r['load'][0]:.1f} before, {r['load'][1]:.1f} after "
            f"({os.cpu_count()} cores, shared)",
        ]
    )


def summary(r: dict[str, Any]) -> str:
    """The one line printed last, for scripts."""
    return (
        f"ingest: rooms={r['rooms']} rate={r['rate']:.0f} seconds={r['seconds']:.0f} "
        f"sent_per_s={r['sent'] / r['elapsed']:.0f} stored_per_s={r['stored'] / r['elapsed']:.0f} "
        f"backlog={'growing' if r['growing'] else 'flat'} p99_ms={r['p99'] * 1000:.0f} "
        f"daemon_cpu_percent={100 * r['cpu'] / r['elapsed']:.0f} "
        f"daemon_us_per_event={r['cpu'] / max(r['stored'], 1) * 1e6:.1f} "
        f"sim_us_per_event={r['sim_cpu'] / max(r['sent'], 1) * 1e6:.1f} "
        f"rss_mb={r['rss_mib']:.0f} connections={r['connections']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=1, help="live rooms, one daemon")
    parser.add_argument("--rate", type=float, default=5000.0, help="events per second per room")
    parser.add_argument("--seconds", type=float, default=300.0, help="measurement window")
    parser.add_argument("--sample", type=float, default=10.0, help="backlog sample interval (s)")
    parser.add_argument("--keep", type=Path, help="keep the daemon's files and log here")
    args = parser.parse_args()
    go = (args.rooms, args.rate, args.seconds)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = anyio.run(run, *go, args.keep, args.sample)
    else:
        with tempfile.TemporaryDirectory(prefix="dylived-ingest-") as tmp:
            result = anyio.run(run, *go, Path(tmp), args.sample)
    print(report(result))
    print(summary(result))


if __name__ == "__main__":
    main()
