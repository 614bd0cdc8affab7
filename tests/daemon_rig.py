"""Shared pieces of the tests and benchmarks that run a watchlist or the daemon on the simulator.

``daemon_config`` writes the TOML every such test starts from: ``[daemon]`` (the state folder),
``[control]`` (its socket, for a daemon run as a subprocess), ``[poll]``, ``[recording]``,
``[douyin]`` pointed at the simulator, then any extra tables and the ``[[broadcaster]]`` list.
Each test passes what it means to vary (poll timing, recording, capture, broadcasters); the
rest stays as every test had it. ``query`` and ``wait_for`` read the daemon's SQLite file
from outside while the daemon (or a writer task) fills it; ``ctl`` runs ``dylivectl``.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from dylived.sim import Simulator


__all__ = [
    "QUICK_POLL",
    "broadcaster_table",
    "ctl",
    "daemon_config",
    "query",
    "simulator_config",
    "wait_for",
]

# Checks every second, a broadcast counted as ended only 30 s after it drops.
QUICK_POLL = "interval = 1\njitter = 0.1\nlive_interval = 1\ngrace = 30\n"


def broadcaster_table(target: str, name: str, extra: str = "") -> str:
    """One ``[[broadcaster]]`` table (``extra``: more keys of it, one per line)."""
    return f'[[broadcaster]]\ntarget = "{target}"\nname = "{name}"\n{extra}'


def daemon_config(
    state: Path,
    web_base: str,
    ws_base: str,
    *,
    broadcasters: str,
    poll: str = QUICK_POLL,
    recording: str = "record_video = false\n",
    extra: str = "",
    log_level: str | None = "info",
    control_socket: bool = True,
    ffmpeg: str | None = None,
) -> str:
    """The config text (see the module docstring); ``log_level=None`` and
    ``control_socket=False`` leave those keys out (a watchlist run in-process); ``ffmpeg``
    sets ``daemon.ffmpeg``."""
    daemon = f'state_dir = "{state}"\n'
    if ffmpeg is not None:
        daemon += f'ffmpeg = "{ffmpeg}"\n'
    if log_level is not None:
        daemon += f'log_level = "{log_level}"\n'
    control = f'[control]\nsocket = "{state}/control.sock"\n' if control_socket else ""
    return f"""
[daemon]
{daemon}
{control}
[poll]
{poll}
[recording]
{recording}
[douyin]
web_base = "{web_base}"
app_base = "{web_base}"
share_base = "{web_base}"
ws_hosts = ["{ws_base}"]

{extra}

{broadcasters}
"""


def simulator_config(sim: Simulator, state: Path, **options: Any) -> str:
    """``daemon_config`` pointed at a running simulator's web and push addresses."""
    return daemon_config(state, sim.web_base, sim.ws_base, **options)


def ctl(sock: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """``dylivectl --socket SOCK ARGV…`` as a child process, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "dylived.app.ctl", "--socket", str(sock), *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of ``sql``; none while the file does not exist or is not migrated yet."""
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=5) as conn:
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # not migrated yet
            return []


async def wait_for(
    predicate: Callable[[], object], seconds: float, what: str, *, interval: float = 0.05
) -> None:
    """Poll ``predicate`` every ``interval`` s until true; AssertionError after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await anyio.sleep(interval)
