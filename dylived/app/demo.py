"""``dylived demo [--seconds N] [--dir DIR]``: the simulator and the real daemon, on loopback.

Owns the demo only: it starts ``dylived-sim`` with ``etc/sim/demo.toml`` on ``127.0.0.1:0``,
writes a config into DIR that points each of its rooms' platforms at it (the section each
simulator personality gives; state, database and recordings in DIR too), runs ``dylived run``
as a subprocess (the real daemon, with its signals and control socket), shows a refreshing
status table read from the control socket (who is live and since when, events, segments) and
turns the web page on (``[web]``, a free 127.0.0.1 port, its address printed first), stops
both with SIGTERM, and prints where the database and recordings are with a short summary. Both
children are always reaped.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx


# Package data (in the checkout a symlink to etc/sim/demo.toml), so an installed dylived has it.
PACKAGED_DEMO = Path(__file__).parent.parent / "sim" / "demo.toml"
DAEMON_START_S = 60.0  # how long the daemon may take to answer on its socket


def demo_scenario(override: str | None = None) -> Path:
    return Path(override) if override else PACKAGED_DEMO


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free now (the web page's; bound again by the daemon)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def write_demo_config(
    directory: Path,
    base_url: str,
    ws_base: str,
    rooms: list[tuple[str, str, str]],
    web: str = "",
) -> Path:
    """The daemon config of the demo: endpoints at the simulator, everything kept in DIR.

    ``rooms``: (handle, name, platform); each platform's section is what its simulator
    personality says points the platform at the simulator. ``web``: the ``[web]`` table's
    lines (none: no web page).
    """
    from dylived.sim.personality import registered, resolve

    personalities = registered()
    platforms = dict.fromkeys(platform for _, _, platform in rooms)
    sections = "\n".join(
        resolve(platform, personalities).daemon_config(base_url, ws_base) for platform in platforms
    )
    entries = "\n".join(
        f'[[broadcaster]]\ntarget = "{handle}"\nname = "{name}"\nplatform = "{platform}"\n'
        for handle, name, platform in rooms
    )
    path = directory / "dylived.toml"
    path.write_text(
        f"""# Written by `dylived demo`: the daemon against the simulator at {base_url}.
[daemon]
state_dir = "{directory}"
database = "{directory}/dylived.db"
recordings_dir = "{directory}/recordings"
state_file = "{directory}/watchlist-overrides.json"
log_level = "info"

[control]
socket = "{directory}/control.sock"

[poll]
interval = 5
jitter = 1
live_interval = 5
grace = 10
min_spacing = 0.05

[recording]
segment_minutes = 0.5

{sections}
{entries}
{"[web]" if web else ""}
{web}""",
        encoding="utf-8",
    )
    return path


def demo_rooms(scenario: Path) -> list[tuple[str, str, str]]:
    """(handle, name, platform) of every room of the scenario; names safe for file names."""
    from dylived.sim.personality import default_platform, registered
    from dylived.sim.scenario import load_scenario

    default = default_platform(registered())
    rooms = []
    for index, room in enumerate(load_scenario(scenario).rooms, start=1):
        rooms.append((room.web_rid, f"room{index}", room.platform or default))
    return rooms


@contextmanager
def child(argv: list[str], log: IO[bytes], **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A child process that is always stopped (SIGTERM, then SIGKILL) and reaped."""
    proc = subprocess.Popen(argv, stderr=log, **kwargs)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=12)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def read_sim_address(proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    """(web_base, ws_base) from the JSON line ``dylived-sim`` prints first once bound."""
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.decode(errors="replace").strip()
        if line.startswith("{"):
            info = json.loads(line)
            return str(info["web_base"]), str(info["ws_base"])
    raise RuntimeError(f"the simulator exited ({proc.wait()}) before reporting its address")


def fetch_status(socket_path: Path) -> dict[str, Any] | None:
    try:
        with httpx.Client(
            transport=httpx.HTTPTransport(uds=str(socket_path)), base_url="http://dylived"
        ) as client:
            reply = client.get("/v1/status", timeout=5)
    except httpx.HTTPError:
        return None
    data: dict[str, Any] = reply.json()
    return data


def wait_for_daemon(daemon: subprocess.Popen[bytes], socket_path: Path, seconds: float) -> bool:
    """True once the daemon answers on its socket; False when it exits or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while daemon.poll() is None and time.monotonic() < deadline:
        if socket_path.exists() and fetch_status(socket_path) is not None:
            return True
        time.sleep(0.2)
    return False


def _since(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone().strftime("%H:%M:%S")


def render_table(status: dict[str, Any], elapsed: float) -> str:
    daemon = status["daemon"]
    counts = daemon["counts"]
    lines = [
        f"dylived demo · {elapsed:5.0f} s · {daemon.get('status_line', '')} · "
        f"sessions {counts['sessions']} · events {counts['events']} · "
        f"segments {counts['segments']}",
        f"{'broadcaster':<12} {'state':<8} {'since':<9} {'session':>7} {'viewers':>8}  title",
    ]
    for b in status["broadcasters"]:
        lines.append(
            f"{b['id']:<12} {b['state']:<8} {_since(b['state_since_ms']):<9} "
            f"{b['session_id'] or '-':>7} {b['viewers'] if b['viewers'] is not None else '-':>8}"
            f"  {b['title']}"
        )
    return "\n".join(lines)


def summarize(database: Path) -> list[str]:
    if not database.exists():
        return ["no database was written"]
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT broadcaster_key, count(*), sum(total_events), "
            "group_concat(coalesce(reason_for_exit, 'open')) FROM sessions GROUP BY 1 ORDER BY 1"
        ).fetchall()
        segments = conn.execute("SELECT count(*), coalesce(sum(bytes), 0) FROM segments").fetchone()
    out = [
        f"  {key}: {n} session(s), {events or 0} events, ended: {reasons}"
        for key, n, events, reasons in rows
    ]
    out.append(f"  segments: {segments[0]} file(s), {segments[1]} bytes")
    return out or ["  no broadcast was seen"]


def demo_command(args: argparse.Namespace) -> int:
    directory = Path(args.dir or "demo-output").resolve()
    directory.mkdir(parents=True, exist_ok=True)
    seconds = float(args.seconds)
    scenario = demo_scenario(os.environ.get("DYLIVED_DEMO_SCENARIO"))
    if not scenario.is_file():
        print(f"demo scenario not found: {scenario}", file=sys.stderr)
        return 1
    sim_log = (directory / "sim.log").open("wb")
    daemon_log = (directory / "dylived.log").open("wb")
    interactive = sys.stdout.isatty()
    web_url = f"http://127.0.0.1:{free_port()}/web/"
    print(f"web page:  {web_url}  (open it in a browser while the demo runs)", flush=True)
    try:
        sim_argv = [sys.executable, "-m", "dylived.sim.cli", "--scenario", str(scenario)]
        sim_argv += ["--listen", "127.0.0.1:0"]
        with child(sim_argv, sim_log, stdout=subprocess.PIPE) as sim:
            base_url, ws_base = read_sim_address(sim)
            web = f'listen = "{web_url.removeprefix("http://").removesuffix("/web/")}"'
            config = write_demo_config(directory, base_url, ws_base, demo_rooms(scenario), web)
            print(f"simulator at {base_url}; daemon config {config}")
            run_argv = [sys.executable, "-m", "dylived", "run", "--config", str(config)]
            env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET",)}
            with child(run_argv, daemon_log, stdout=daemon_log, env=env) as daemon:
                if not wait_for_daemon(daemon, directory / "control.sock", DAEMON_START_S):
                    print(f"the daemon did not start; see {daemon_log.name}")
                    return 1
                started = time.monotonic()  # --seconds count from when the daemon answers
                last_print = 0.0
                while (elapsed := time.monotonic() - started) < seconds:
                    if daemon.poll() is not None:
                        print(f"the daemon exited ({daemon.returncode}); see {daemon_log.name}")
                        return 1
                    status = fetch_status(directory / "control.sock")
                    if status is not None and (interactive or elapsed - last_print >= 5):
                        table = f"web page: {web_url}\n" + render_table(status, elapsed)
                        print("\033[2J\033[H" + table if interactive else table + "\n", flush=True)
                        last_print = elapsed
                    time.sleep(1.0)
                daemon.send_signal(signal.SIGTERM)
                code = daemon.wait(timeout=15)
            print(f"\ndaemon stopped (exit {code}).")
    finally:
        sim_log.close()
        daemon_log.close()
    database = directory / "dylived.db"
    print(f"database:   {database}")
    print(f"recordings: {directory / 'recordings'}")
    print(f"logs:       {directory / 'dylived.log'}, {directory / 'sim.log'}")
    print("summary:")
    for line in summarize(database):
        print(line)
    with suppress(OSError):
        (directory / "summary.json").write_text(
            json.dumps({"database": str(database), "seconds": seconds}), encoding="utf-8"
        )
    return 0 if code == 0 else 1
