"""Soak: 20 simulated broadcasters going live and offline for hours, one real daemon recording.

    .venv/bin/python -m bench.soak --hours 2 --time-scale 4 --out /work/soak/run1

``dylived-sim`` and ``dylived run`` are two subprocesses. The scenario gives every room a
schedule (offline first, then live 15–45 and offline 5–20 *scenario* minutes, alternating) and
faults at random moments (about one per room every 10 scenario minutes: push drops, media
stalls of 5–40 wall seconds, stream URL expiry, media cuts, resolution changes, 5xx statuses).
``--time-scale K`` runs the schedule K times faster than the wall clock (media and event rates
stay real time); ``--hours`` is wall time. The daemon records with real ffmpeg
(``segment_minutes`` 2) and captures events; ``retention_max_bytes`` keeps the finished
sessions' files bounded (default 2 GiB) and ``min_free`` stops recording before the disk fills.

Every ``--sample-seconds`` (60) one CSV line is appended and flushed to ``OUT/soak.csv``: the
daemon's RSS, open fds and OS threads (``/proc/PID``), its CPU over the interval, its event-loop
tasks and Python threads (``dylived_tasks``/``dylived_threads`` of ``/metrics`` on the control
socket), broadcasters live/recording, ffmpeg children, events and segments stored, recordings
on disk and free space. A run cut short keeps its curve. At the end (or on SIGTERM/SIGINT) the
daemon and the simulator are stopped and ``OUT/summary.json`` is written and printed: RSS growth
after ``--warmup`` (600 s), fd/task/thread min/max after it, the drift of each at the same load
(same rooms live and ffmpeg count, first sample to last), what the database holds.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from bench.poll_scale import proc_cpu_seconds
from dylived.record.probe import find_ffmpeg
from tests.daemon_rig import broadcaster_table, daemon_config


REPO = Path(__file__).resolve().parent.parent
FIELDS = (
    "at",
    "elapsed_s",
    "rss_mb",
    "fds",
    "os_threads",
    "cpu_percent",
    "tasks",
    "py_threads",
    "live",
    "recording",
    "ffmpeg",
    "events",
    "segments",
    "recordings_mb",
    "free_gb",
    "db_mb",
)
RATES = "{chat = 3.0, like = 2.0, member = 1.0, gift = 0.3, viewer_count = 0.2, room_stats = 0.1}"


def web_rid(i: int) -> str:
    return f"2100000000{i:02d}"


def room_text(i: int, rng: random.Random, scenario_seconds: float, scale: float) -> str:
    steps = [f'{{state = "offline", for = {rng.uniform(30, 600):.0f}}}']
    total = 0.0
    live = True
    while total < scenario_seconds:
        length = rng.uniform(900, 2700) if live else rng.uniform(300, 1200)
        steps.append(f'{{state = "{"live" if live else "offline"}", for = {length:.0f}}}')
        total += length
        live = not live
    steps.append('{state = "offline"}')
    faults = []
    at = rng.expovariate(1 / 600)
    while at < scenario_seconds:
        kind = rng.choice(
            ("ws_drop", "stream_stall", "url_expire", "stream_cut", "resolution_change", "http_5xx")
        )
        extra = ""
        if kind == "stream_stall":  # 5–40 s of wall time: short ones and the stall timeout's
            extra = f", duration = {rng.uniform(5, 40) * scale:.0f}"
        elif kind == "http_5xx":
            extra = ", count = 2"
        faults.append(f'{{kind = "{kind}", at = {at:.0f}{extra}}}')
        at += rng.expovariate(1 / 600)
    return (
        f'[[room]]\nweb_rid = "{web_rid(i)}"\nnickname = "soak{i:02d}"\n'
        f"schedule = [{', '.join(steps)}]\nrates = {RATES}\nfaults = [{', '.join(faults)}]\n"
    )


def scenario_text(rooms: int, hours: float, scale: float, seed: int) -> str:
    rng = random.Random(seed)
    scenario_seconds = hours * 3600 * scale + 600
    body = "\n".join(room_text(i, rng, scenario_seconds, scale) for i in range(rooms))
    return f"time_scale = {scale}\nseed = {seed}\nstrict_ttwid = false\n\n{body}"


def config_text(state: Path, info: dict[str, Any], args: argparse.Namespace) -> str:
    broadcasters = "\n".join(
        broadcaster_table(web_rid(i), f"soak{i:02d}") for i in range(args.rooms)
    )
    recording = (
        f'record_video = true\nvideo_quality = "{args.quality}"\nsegment_minutes = 2\n'
        f'retention_max_bytes = "{args.retention}"\nmin_free = "{args.min_free}"\n'
    )
    return daemon_config(
        state,
        info["web_base"],
        info["ws_base"],
        broadcasters=broadcasters,
        poll="interval = 5\njitter = 1\nlive_interval = 5\ngrace = 30\n",
        recording=recording,
        log_level="info",
        ffmpeg=find_ffmpeg(),
    )


def proc_status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "Threads"):
            out[key] = int(value.split()[0])
    return out


def ffmpeg_children(pid: int) -> int:
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm, _, rest = (entry / "stat").read_text().rpartition(")")
        except OSError:
            continue
        if rest.split()[1] == str(pid) and comm.endswith("(ffmpeg"):
            count += 1
    return count


def tree_bytes(root: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(folder, name)).st_size
    return total


def metrics(api: httpx.Client) -> dict[str, float]:
    """Sums of the /metrics samples by family name (labels dropped)."""
    sums: dict[str, float] = {}
    for line in api.get("/metrics").text.splitlines():
        if line and not line.startswith("#"):
            name = line.split("{")[0].split(" ")[0]
            sums[name] = sums.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return sums


def sample(
    pid: int, api: httpx.Client, state: Path, started: float, cpu: tuple[float, float]
) -> dict[str, Any]:
    status = proc_status(pid)
    row: dict[str, Any] = {
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "elapsed_s": round(time.monotonic() - started),
        "rss_mb": round(status.get("VmRSS", 0) / 1024, 1),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "os_threads": status.get("Threads", 0),
        "cpu_percent": round(
            100 * (proc_cpu_seconds(pid) - cpu[0]) / max(1e-6, time.monotonic() - cpu[1]), 1
        ),
        "ffmpeg": ffmpeg_children(pid),
        "recordings_mb": round(tree_bytes(state / "recordings") / 2**20),
        "free_gb": round(shutil.disk_usage(state).free / 2**30, 1),
        "db_mb": round(sum(p.stat().st_size for p in state.glob("dylived.db*")) / 2**20, 1),
    }
    try:
        m = metrics(api)
    except httpx.HTTPError:  # a busy daemon: this minute's loop figures stay empty
        m = {}
    for key, family in (
        ("tasks", "dylived_tasks"),
        ("py_threads", "dylived_threads"),
        ("live", "dylived_broadcaster_live"),
        ("recording", "dylived_broadcaster_recording"),
    ):
        row[key] = int(m[family]) if family in m else ""
    row["events"], row["segments"] = stored_so_far(state / "dylived.db")
    return row


def stored_so_far(db: Path) -> tuple[int | str, int | str]:
    """(events stored: the last seq, segments closed) read from the database; "" when busy."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
            events = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
            segments = conn.execute("SELECT count(*) FROM segments").fetchone()[0]
            return int(events), int(segments)
    except sqlite3.Error:
        return "", ""


def summarize(rows: list[dict[str, Any]], warmup: float) -> dict[str, Any]:
    after = [r for r in rows if r["elapsed_s"] >= warmup] or rows[-1:]
    out: dict[str, Any] = {"samples": len(rows), "warmup_s": warmup}
    if not after:
        return out
    base = after[0]
    out["rss_mb_at_warmup"] = base["rss_mb"]
    out["rss_mb_last"] = after[-1]["rss_mb"]
    out["rss_growth_mb_after_warmup"] = round(after[-1]["rss_mb"] - base["rss_mb"], 1)
    out["rss_mb_max_after_warmup"] = max(r["rss_mb"] for r in after)
    for key in ("fds", "os_threads", "tasks", "py_threads", "ffmpeg", "live"):
        values = [r[key] for r in after if r[key] != ""]
        everything = [r[key] for r in rows if r[key] != ""]
        if values:
            out[f"{key}_min_max_after_warmup"] = [min(values), max(values)]
            out[f"{key}_min_max_all"] = [min(everything), max(everything)]
    # At the same load (rooms live, ffmpeg running), how far a figure moved from its first
    # sample to its last: a leak grows here, the ups and downs of the schedule do not.
    by_load: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for r in after:
        by_load.setdefault((r["live"], r["ffmpeg"]), []).append(r)
    for key in ("rss_mb", "fds", "tasks", "os_threads"):
        drifts = [
            float(g[-1][key]) - float(g[0][key])
            for g in by_load.values()
            if len(g) > 1 and g[0][key] != "" and g[-1][key] != ""
        ]
        if drifts:
            out[f"{key}_drift_at_same_load_min_max"] = [min(drifts), max(drifts)]
    cpu = [r["cpu_percent"] for r in after]
    out["cpu_percent_mean_after_warmup"] = round(sum(cpu) / len(cpu), 1)
    return out


def stored(db: Path) -> dict[str, Any]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:

            def one(sql: str) -> int:
                return int(conn.execute(sql).fetchone()[0])

            return {
                "sessions": one("SELECT count(*) FROM sessions"),
                "segments": one("SELECT count(*) FROM segments"),
                "segments_deleted_by_retention": one(
                    "SELECT count(*) FROM segments WHERE state = 'deleted'"
                ),
                "gaps": one("SELECT count(*) FROM gaps"),
                "events": one("SELECT count(*) FROM events"),
            }
    except sqlite3.Error as exc:
        return {"error": str(exc)}


def stop(proc: subprocess.Popen[bytes], seconds: float = 60) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


class Stop:
    """Set by SIGTERM/SIGINT: the sampling loop ends and the summary is still written."""

    requested = False

    @classmethod
    def handler(cls, _signum: int, _frame: FrameType | None) -> None:
        cls.requested = True


def wait(seconds: float, daemon: subprocess.Popen[bytes]) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not Stop.requested and daemon.poll() is None:
        time.sleep(min(1.0, end - time.monotonic()))


def run(args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work)
    state = work / "state"
    state.mkdir(parents=True, exist_ok=True)
    (out / "scenario.toml").write_text(
        scenario_text(args.rooms, args.hours, args.time_scale, args.seed)
    )
    sim = subprocess.Popen(
        [sys.executable, "-m", "dylived.sim.cli", "--scenario", str(out / "scenario.toml")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=(out / "sim.log").open("wb"),
    )
    daemon: subprocess.Popen[bytes] | None = None
    rows: list[dict[str, Any]] = []
    try:
        assert sim.stdout is not None
        info = json.loads(sim.stdout.readline())
        config = out / "dylived.toml"
        config.write_text(config_text(state, info, args))
        daemon = subprocess.Popen(
            [sys.executable, "-m", "dylived", "run", "--config", str(config)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=(out / "dylived.log").open("wb"),
        )
        (out / "pids.json").write_text(json.dumps({"soak": os.getpid(), "daemon": daemon.pid}))
        sock = state / "control.sock"
        deadline = time.monotonic() + 60
        while not sock.exists():
            if time.monotonic() > deadline or daemon.poll() is not None:
                raise RuntimeError(f"the daemon did not start; see {out / 'dylived.log'}")
            time.sleep(0.2)
        started = time.monotonic()
        end = started + args.hours * 3600
        api = httpx.Client(
            transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://d", timeout=20
        )
        with (out / "soak.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, FIELDS)
            writer.writeheader()
            cpu = (proc_cpu_seconds(daemon.pid), time.monotonic())
            while not Stop.requested and time.monotonic() < end:
                wait(min(args.sample_seconds, end - time.monotonic()), daemon)
                if daemon.poll() is not None:
                    break
                row = sample(daemon.pid, api, state, started, cpu)
                cpu = (proc_cpu_seconds(daemon.pid), time.monotonic())
                rows.append(row)
                writer.writerow(row)
                f.flush()
        api.close()
        crashed = daemon.poll()
        code = stop(daemon)
        summary: dict[str, Any] = summarize(rows, args.warmup) if rows else {"samples": 0}
        summary.update(
            hours=args.hours,
            time_scale=args.time_scale,
            rooms=args.rooms,
            cut_short=Stop.requested,
            daemon_died_during_run=crashed,
            daemon_exit_code=code,
            stored=stored(state / "dylived.db"),
            recordings_mb_at_end=round(tree_bytes(state / "recordings") / 2**20),
        )
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary
    finally:
        if daemon is not None:
            stop(daemon)
        stop(sim, 15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=2.0, help="wall hours")
    parser.add_argument("--time-scale", type=float, default=4.0, help="scenario s per wall s")
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--sample-seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=600.0, help="s left out of the growth")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--quality", default="sd")
    parser.add_argument("--retention", default="2GiB", help="recording.retention_max_bytes")
    parser.add_argument("--min-free", default="4GiB", help="recording.min_free")
    parser.add_argument("--out", default="/work/soak/latest", help="CSV, logs, summary")
    parser.add_argument("--work", default="/tmp/soak", help="the daemon's state and recordings")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, Stop.handler)
    signal.signal(signal.SIGINT, Stop.handler)
    summary = run(args)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
