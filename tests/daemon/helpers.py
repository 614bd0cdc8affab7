"""Helpers of the daemon tests: config files, a fake NOTIFY_SOCKET, the daemon as a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import REPO_ROOT
from tests.daemon_rig import broadcaster_table, daemon_config


def write_config(
    path: Path,
    state: Path,
    *,
    web_base: str = "http://127.0.0.1:9",
    broadcasters: str = broadcaster_table("200000000001", "alice"),
    poll: str = "interval = 2\njitter = 0.2\ngrace = 3\nlive_interval = 1\n",
    extra: str = "",
) -> Path:
    """A daemon config (``tests.daemon_rig.daemon_config``); the default web_base refuses."""
    text = daemon_config(
        state,
        web_base,
        web_base.replace("http", "ws"),
        broadcasters=broadcasters,
        poll=poll,
        extra=extra,
    )
    path.write_text(text, encoding="utf-8")
    return path


class FakeNotifySocket:
    """A SOCK_DGRAM listener standing in for systemd's notify socket; records every message."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []

    def collect(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), data.decode()))

    def wait_for(self, prefix: str, timeout: float, since: int = 0) -> int:
        """Collect until a message from index ``since`` on starts with ``prefix``; its index."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for index in range(since, len(self.messages)):
                if any(line.startswith(prefix) for line in self.messages[index][1].splitlines()):
                    return index
            self.collect(0.1)
        raise AssertionError(f"no {prefix!r} in {self.texts()}")

    def texts(self) -> list[str]:
        return [t for _, t in self.messages]

    def close(self) -> None:
        self.sock.close()


@contextmanager
def running_daemon(
    config: Path, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m dylived run --config`` as a child; always reaped (SIGKILL as a last resort)."""
    out = (log or config.with_suffix(".log")).open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dylived", "run", "--config", str(config)],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        out.close()


def control(state: Path) -> httpx.Client:
    return httpx.Client(
        transport=httpx.HTTPTransport(uds=str(state / "control.sock")),
        base_url="http://dylived",
        timeout=10,
    )


def wait_until(predicate: object, timeout: float, what: str) -> None:
    assert callable(predicate)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found
