"""Polling at scale: 1,000 broadcasters at a 30 s interval against the simulator.

The broadcasters are Douyin rooms (``web/enter``, ~585 KB real-size bodies) or, with
``--platform tiktok``, TikTok users (``@handle`` targets: ``api-live/user/room``, ~28 KB
real-size bodies); ``--body small`` serves the simulator's small bodies instead. Runs
``dylived-sim`` and ``dylived run`` as two subprocesses (so the daemon's CPU and RSS are
its own), makes a random subset of the rooms go live at random moments over ``/_sim/``, and
prints: the daemon's CPU (% of one core, after start-up) and RSS (peak), the most status
requests ever in flight (the daemon's request budget statistics) against the configured
``max_concurrent``, and the detection latency p50/p95 (go-live → session opened in the
database) against interval + jitter + 2 s. With ``--record`` the figures are appended to
bench/RESULTS.md under ``## poll_scale``.

    .venv/bin/python -m bench.poll_scale [--seconds 300] [--broadcasters 1000]
        [--interval 30] [--platform douyin|tiktok] [--body real|small] [--record]

The last line printed is ``poll_scale: platform=… broadcasters=N body=… cpu_percent=…
rss_mb=… max_in_flight=… p95_detection_s=…``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx


REPO = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")


def room_key(platform: str, index: int) -> str:
    """The simulator's key of broadcaster ``index`` (a Douyin web_rid or a TikTok handle)."""
    return f"bench.u{index:05d}" if platform == "tiktok" else str(300000000000 + index)


def target_of(platform: str, index: int) -> str:
    key = room_key(platform, index)
    return f"@{key}" if platform == "tiktok" else key


def scenario_text(count: int, body: str = "real", platform: str = "douyin") -> str:
    rooms = "\n".join(
        f'[[room]]\nweb_rid = "{room_key(platform, i)}"\nplatform = "{platform}"\n'
        'schedule = [{state = "offline"}]\n'
        for i in range(count)
    )
    head = f'time_scale = 1.0\nseed = 3\nstrict_ttwid = true\nstatus_body = "{body}"\n'
    return f"{head}\n{rooms}"


def config_text(state: Path, web_base: str, ws_base: str, count: int, args: Any) -> str:
    entries = "\n".join(
        f'[[broadcaster]]\ntarget = "{target_of(args.platform, i)}"\nname = "b{i:04d}"\n'
        for i in range(count)
    )
    return f"""
[daemon]
state_dir = "{state}"
log_level = "warning"

[control]
socket = "{state}/control.sock"

[poll]
interval = {args.interval}
jitter = {args.jitter}
live_interval = 120
grace = 90
max_concurrent = {args.max_concurrent}
min_spacing = {args.min_spacing}

[recording]
record_video = false

[capture]
capture_events = false

[douyin]
web_base = "{web_base}"
app_base = "{web_base}"
share_base = "{web_base}"
ws_hosts = ["{ws_base}"]

[tiktok]
web_base = "{web_base}"
webcast_base = "{web_base}"

{entries}
"""


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def proc_wakeups(pid: int) -> int:
    """Voluntary context switches of the main thread: how often the event loop slept."""
    for line in Path(f"/proc/{pid}/task/{pid}/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    return 0


def proc_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(11)
    work = Path(tempfile.mkdtemp(prefix="dylived-bench-"))
    scenario = work / "scenario.toml"
    scenario.write_text(scenario_text(args.broadcasters, args.body, args.platform))
    sim = subprocess.Popen(
        [sys.executable, "-m", "dylived.sim.cli", "--scenario", str(scenario)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=(work / "sim.log").open("wb"),
    )
    daemon: subprocess.Popen[bytes] | None = None
    try:
        assert sim.stdout is not None
        info = json.loads(sim.stdout.readline())
        web_base, ws_base = info["web_base"], info["ws_base"]
        state = work / "state"
        config = work / "dylived.toml"
        config.write_text(config_text(state, web_base, ws_base, args.broadcasters, args))
        daemon = subprocess.Popen(
            [sys.executable, "-m", "dylived", "run", "--config", str(config)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=(work / "dylived.log").open("wb"),
        )
        sock = state / "control.sock"
        deadline = time.monotonic() + 60
        while not sock.exists():
            if time.monotonic() > deadline or daemon.poll() is not None:
                raise RuntimeError(f"the daemon did not start; see {work / 'dylived.log'}")
            time.sleep(0.2)
        started = time.monotonic()
        # Go-live moments: spread over the run, leaving time to detect the last ones.
        detect_window = args.interval + args.jitter + 2
        last_start = max(10.0, args.seconds - detect_window - 3)
        golive_count = max(5, args.broadcasters // 20)
        plan = sorted(
            (rng.uniform(10.0, last_start), rng.randrange(args.broadcasters))
            for _ in range(golive_count)
        )
        plan = list({room: (at, room) for at, room in plan}.values())
        plan.sort()
        went_live: dict[str, float] = {}
        cpu_start: float | None = None
        cpu_start_at = 0.0
        sim_cpu_start = 0.0
        wakeups_start = 0
        rss_peak = 0
        sim_http = httpx.Client(base_url=web_base, timeout=10)
        while (elapsed := time.monotonic() - started) < args.seconds:
            while plan and plan[0][0] <= elapsed:
                _, room = plan.pop(0)
                web_rid = room_key(args.platform, room)
                went_live[f"b{room:04d}"] = time.time()
                sim_http.post(f"/_sim/rooms/{web_rid}/live", json={}).raise_for_status()
            if cpu_start is None and elapsed >= 5:  # leave start-up out of the CPU figure
                cpu_start, cpu_start_at = proc_cpu_seconds(daemon.pid), time.monotonic()
                sim_cpu_start = proc_cpu_seconds(sim.pid)
                wakeups_start = proc_wakeups(daemon.pid)
            rss_peak = max(rss_peak, proc_rss_bytes(daemon.pid))
            time.sleep(0.5)
        cpu_end, cpu_end_at = proc_cpu_seconds(daemon.pid), time.monotonic()
        sim_cpu = proc_cpu_seconds(sim.pid) - sim_cpu_start
        load = os.getloadavg()[0]
        wakeups = proc_wakeups(daemon.pid) - wakeups_start
        with httpx.Client(
            transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://d", timeout=30
        ) as api:
            status = api.get("/v1/status").json()
        sim_http.close()
        budget = status["daemon"]["platforms"][args.platform]  # the polled platform's gate
        code = stop(daemon)
        with sqlite3.connect(f"file:{state / 'dylived.db'}?mode=ro", uri=True) as conn:
            opened = dict(
                conn.execute(
                    "SELECT broadcaster_key, min(started_at_ms) FROM sessions GROUP BY 1"
                ).fetchall()
            )
        latencies = [opened[key] / 1000 - at for key, at in went_live.items() if key in opened]
        assert cpu_start is not None
        return {
            "platform": args.platform,
            "broadcasters": args.broadcasters,
            "body": args.body,
            "seconds": args.seconds,
            "interval": args.interval,
            "jitter": args.jitter,
            "max_concurrent": args.max_concurrent,
            "min_spacing": args.min_spacing,
            "cpu_percent": 100 * (cpu_end - cpu_start) / (cpu_end_at - cpu_start_at),
            "rss_peak_mb": rss_peak / 2**20,
            "sim_cpu_percent": 100 * sim_cpu / (cpu_end_at - cpu_start_at),
            "load_average": load,
            "wakeups_per_s": wakeups / (cpu_end_at - cpu_start_at),
            "max_in_flight": budget["max_in_flight_seen"],
            "requests": budget["requests"],
            "went_live": len(went_live),
            "detected": len(latencies),
            "latency_p50": percentile(latencies, 0.50),
            "latency_p95": percentile(latencies, 0.95),
            "latency_max": max(latencies, default=float("nan")),
            "target_latency": detect_window,
            "exit_code": code,
        }
    finally:
        if daemon is not None:
            stop(daemon)
        stop(sim)


def report(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"{r['broadcasters']} broadcasters, interval {r['interval']} s + jitter "
            f"{r['jitter']} s, max_concurrent {r['max_concurrent']}, min_spacing "
            f"{r['min_spacing']} s, {r['seconds']:.0f} s run, {r['platform']} broadcasters, "
            f"{r['body']} status bodies",
            f"- daemon CPU: {r['cpu_percent']:.1f}% of one core (target < 6%)",
            f"- daemon RSS peak: {r['rss_peak_mb']:.1f} MB (target < 150 MB)",
            f"- simulator CPU: {r['sim_cpu_percent']:.1f}% of one core; load average at the "
            f"end {r['load_average']:.1f} (2 cores, shared)",
            f"- event-loop wake-ups (main thread sleeps): {r['wakeups_per_s']:.0f}/s",
            f"- status requests per second: {r['requests'] / r['seconds']:.1f}",
            f"- status requests: {r['requests']}; most in flight: {r['max_in_flight']} "
            f"(configured {r['max_concurrent']})",
            f"- detection latency over {r['detected']}/{r['went_live']} go-lives: p50 "
            f"{r['latency_p50']:.1f} s, p95 {r['latency_p95']:.1f} s, max "
            f"{r['latency_max']:.1f} s (target p95 <= {r['target_latency']:.0f} s)",
            f"- daemon exit code after SIGTERM: {r['exit_code']}",
        ]
    )


def summary(r: dict[str, Any]) -> str:
    """The one line printed last, for scripts."""
    return (
        f"poll_scale: platform={r['platform']} broadcasters={r['broadcasters']} body={r['body']} "
        f"cpu_percent={r['cpu_percent']:.1f} rss_mb={r['rss_peak_mb']:.1f} "
        f"max_in_flight={r['max_in_flight']} p95_detection_s={r['latency_p95']:.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--broadcasters", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--jitter", type=float, default=5.0)
    parser.add_argument("--max-concurrent", type=int, default=4)
    parser.add_argument("--min-spacing", type=float, default=0.02)
    parser.add_argument(
        "--platform", choices=("douyin", "tiktok"), default="douyin", help="whose broadcasters"
    )
    parser.add_argument(
        "--body", choices=("real", "small"), default="real", help="the simulator's status bodies"
    )
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    result = run(args)
    text = report(result)
    print(text)
    print(summary(result))
    if args.record:
        results = REPO / "bench" / "RESULTS.md"
        existing = results.read_text() if results.exists() else "# Benchmark results\n"
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        section = f"\n## poll_scale\n\n{stamp}, `python -m bench.poll_scale`\n\n{text}\n"
        results.write_text(existing.rstrip("\n") + "\n" + section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
