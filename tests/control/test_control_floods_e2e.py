"""Client floods against the real daemon's control listeners (``python -m dylived run``).

Out of file descriptors: the daemon's RLIMIT_NOFILE is lowered from outside
(``resource.prlimit`` on the child, as ``prlimit --pid`` does) to a few above what it uses
while recording and capturing, then idle Unix-socket clients take the rest. Every further
``accept`` fails with EMFILE: the daemon must log it, keep recording and capturing, and answer
again once the clients have gone. TCP ``/metrics`` clients: they have their own small limit and
a short read timeout, so holding many of them never locks operators out of the Unix socket.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from dylived.sim import RoomSpec, Scenario, Simulator
from tests.daemon.helpers import running_daemon, wait_until, write_config
from tests.daemon_rig import broadcaster_table, ctl, query, simulator_config, wait_for


pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WEB_RID = "200000000001"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def events_stored(db: Path) -> int:
    rows = query(db, "SELECT count(*) FROM events")
    return int(rows[0][0]) if rows else 0


def part_bytes(recordings: Path) -> int:
    return sum(p.stat().st_size for p in recordings.rglob("*.part"))


@contextmanager
def held_unix_clients(path: Path, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connected clients that never send a byte; all closed at the end."""
    clients: list[socket.socket] = []
    try:
        for _ in range(count):
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.settimeout(2)
            try:
                client.connect(str(path))
            except OSError:  # the backlog is full too
                client.close()
                break
            clients.append(client)
        yield clients
    finally:
        for client in clients:
            client.close()


async def actl(sock: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return await anyio.to_thread.run_sync(lambda: ctl(sock, *argv))


@pytest.mark.anyio
async def test_out_of_descriptors_the_daemon_keeps_recording_and_serves_again(
    tmp_path: Path, sock_path: Path
) -> None:
    scenario = Scenario(rooms=(RoomSpec(WEB_RID, rates={"chat": 20}),), ping_interval=1.0)
    state = sock_path.parent
    db, sock, recordings = state / "dylived.db", state / "control.sock", state / "recordings"
    config = tmp_path / "dylived.toml"
    log = tmp_path / "daemon.log"
    async with Simulator.running(scenario) as sim:
        sim.room(WEB_RID).go_live()
        recording = 'record_video = true\nvideo_quality = "md"\nsegment_minutes = 5\n'
        text = simulator_config(
            sim, state, broadcasters=broadcaster_table(WEB_RID, "alice"), recording=recording
        )
        config.write_text(text, encoding="utf-8")
        with running_daemon(config, log=log) as daemon:
            await wait_for(lambda: events_stored(db) > 0, 30, "events")
            await wait_for(lambda: part_bytes(recordings) > 0, 30, "a segment")
            assert (await actl(sock, "status")).returncode == 0
            used = open_fds(daemon.pid)
            limit = used + 8
            _, hard = resource.prlimit(daemon.pid, resource.RLIMIT_NOFILE)
            resource.prlimit(daemon.pid, resource.RLIMIT_NOFILE, (limit, hard))
            with held_unix_clients(sock, 60) as clients:
                assert len(clients) > 8
                await wait_for(
                    lambda: (
                        "accepting a client failed (out of file descriptors"
                        in log.read_text(errors="replace")
                    ),
                    10,
                    "the EMFILE log line",
                )
                assert open_fds(daemon.pid) >= limit  # the limit is really reached
                events, media = events_stored(db), part_bytes(recordings)
                await anyio.sleep(3)
                assert daemon.poll() is None
                assert events_stored(db) > events  # capture goes on
                assert part_bytes(recordings) > media  # and so does ffmpeg
            # The clients are gone: the same daemon answers again, under the same low limit.
            deadline = time.monotonic() + 20
            while (await actl(sock, "status")).returncode != 0:
                assert time.monotonic() < deadline, "status never answered again"
                await anyio.sleep(0.5)
            assert resource.prlimit(daemon.pid, resource.RLIMIT_NOFILE)[0] == limit
            assert daemon.poll() is None
    lines = [line for line in log.read_text().splitlines() if "accepting a client failed" in line]
    assert 1 <= len(lines) <= 3, lines  # rate-limited: at most one report per 10 s


def test_holding_metrics_tcp_connections_never_locks_out_the_unix_socket(
    sock_path: Path,
) -> None:
    state = sock_path.parent
    state.mkdir(parents=True)
    port = free_port()
    config = write_config(state / "dylived.toml", state)
    text = config.read_text().replace(
        "[control]\n", f'[control]\nmetrics_listen = "127.0.0.1:{port}"\n', 1
    )
    config.write_text(text)
    sock = state / "control.sock"
    stop = threading.Event()
    held: list[socket.socket] = []
    reconnects = [0]

    def hold_connections() -> None:
        """Keep 100 idle TCP connections to /metrics open, reopening any the server closes."""
        while not stop.is_set():
            for client in list(held):
                try:
                    client.setblocking(False)
                    if client.recv(1) == b"":
                        raise ConnectionError
                except BlockingIOError:
                    continue
                except OSError:
                    pass
                held.remove(client)
                client.close()
            while len(held) < 100 and not stop.is_set():
                try:
                    held.append(socket.create_connection(("127.0.0.1", port), timeout=1))
                    reconnects[0] += 1
                except OSError:
                    break
            time.sleep(0.05)

    with running_daemon(config) as daemon:
        wait_until(lambda: ctl(sock, "health").returncode == 0, 20, "the control socket")
        first = socket.create_connection(("127.0.0.1", port), timeout=5)
        first.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := first.recv(65536):  # one response, then the server closes
            answer += chunk
        first.close()
        assert answer.startswith(b"HTTP/1.1 200")
        assert b"connection: close" in answer.lower()
        assert answer.count(b"HTTP/1.1 ") == 1
        holder = threading.Thread(target=hold_connections, daemon=True)
        holder.start()
        try:
            wait_until(lambda: len(held) >= 100, 10, "100 held connections")
            for _ in range(3):
                result = ctl(sock, "status")
                assert result.returncode == 0, result.stderr
                assert "alice" in result.stdout
            # Idle TCP clients are dropped after the short read timeout, and come back.
            wait_until(lambda: reconnects[0] > 150, 15, "idle TCP clients dropped")
            assert ctl(sock, "status").returncode == 0
        finally:
            stop.set()
            holder.join(timeout=10)
            for client in held:
                client.close()
        assert daemon.poll() is None
