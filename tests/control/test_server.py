"""The control server over a real Unix socket: limits, malformed input, socket ownership, audit.

The daemon side is ``tests/control/fake_daemon.FakeDaemon``, a minimal in-memory test double
of the *daemon* (acceptable only for these server-protocol tests); the server, the socket, h11
and the client bytes are all real.
"""

from __future__ import annotations

import grp
import json
import logging
import os
import random
import re
import socket
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from dylived.control.client import AsyncControlClient, DaemonReplyError, DaemonUnreachable
from dylived.control.server import BoundControl, ControlSettings, serve
from dylived.errors import ConfigError, ControlError, SocketInUse
from tests.control.fake_daemon import FakeDaemon


pytestmark = pytest.mark.anyio


@asynccontextmanager
async def running(
    sock_path: Path, daemon: FakeDaemon | None = None, **settings: Any
) -> AsyncIterator[BoundControl]:
    daemon = daemon or FakeDaemon()
    try:
        async with anyio.create_task_group() as tg:
            settings_ = ControlSettings(socket_path=sock_path, **settings)
            yield await tg.start(serve, daemon, settings_)
            tg.cancel_scope.cancel()
    except ExceptionGroup as group:  # one failure: raise it as itself, for pytest.raises
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise


async def raw_exchange(path: Path, data: bytes, *, half_close: bool = True) -> bytes:
    """Send raw bytes, optionally shut our write side, read until the server closes."""
    with anyio.fail_after(10):
        stream = await anyio.connect_unix(path)
        async with stream:
            try:
                await stream.send(data)
                if half_close:
                    await stream.send_eof()
            except (anyio.BrokenResourceError, ConnectionError):
                pass  # the server may answer and close before it read everything we sent
            received = bytearray()
            while True:
                try:
                    received += await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError):
                    return bytes(received)


def status_of(response: bytes) -> int:
    first_line = response.split(b"\r\n", 1)[0]
    assert first_line.startswith(b"HTTP/1.1 "), response[:200]
    return int(first_line.split()[1])


def body_of(response: bytes) -> Any:
    return json.loads(response.split(b"\r\n\r\n", 1)[1])


def _malformed_requests(count: int, seed: int = 7) -> list[tuple[str, bytes, bool]]:
    """(kind, bytes, half_close) for ``count`` malformed or oversized requests, reproducible."""
    rng = random.Random(seed)
    hdr = b"Host: x\r\n"

    def post(path: bytes, body: bytes, ctype: bytes = b"application/json") -> bytes:
        return (
            b"POST " + path + b" HTTP/1.1\r\n" + hdr + b"Content-Type: " + ctype + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )

    makers: list[tuple[str, Any, bool]] = [
        ("garbage", lambda: rng.randbytes(rng.randint(1, 2000)) + b"\r\n\r\n", True),
        ("garbage-line", lambda: b"HELLO WORLD\r\n\r\n", True),
        ("no-version", lambda: b"GET /v1/status\r\n\r\n", True),
        ("http2-preface", lambda: b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", True),
        ("bad-version", lambda: b"GET /v1/status HTTP/9.9\r\n" + hdr + b"\r\n", True),
        (
            "huge-header",
            lambda: b"GET /v1/status HTTP/1.1\r\nX-A: " + b"a" * 40_000 + b"\r\n\r\n",
            False,
        ),
        ("huge-target", lambda: b"GET /" + b"a" * 40_000 + b" HTTP/1.1\r\n\r\n", False),
        (
            "too-many-headers",
            lambda: (
                b"GET /v1/status HTTP/1.1\r\n"
                + hdr
                + b"".join(b"X-%d: 1\r\n" % i for i in range(200))
                + b"\r\n"
            ),
            True,
        ),
        (
            "bad-content-length",
            lambda: b"POST /v1/reload HTTP/1.1\r\n" + hdr + b"Content-Length: abc\r\n\r\n",
            True,
        ),
        (
            "negative-content-length",
            lambda: b"POST /v1/reload HTTP/1.1\r\n" + hdr + b"Content-Length: -1\r\n\r\n",
            True,
        ),
        (
            "conflicting-content-length",
            lambda: (
                b"POST /v1/reload HTTP/1.1\r\n"
                + hdr
                + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab"
            ),
            True,
        ),
        (
            "short-body",
            lambda: b"POST /v1/broadcasters HTTP/1.1\r\n" + hdr + b"Content-Length: 50\r\n\r\n{}",
            True,
        ),
        (
            "oversized-body",
            lambda: (
                b"POST /v1/broadcasters HTTP/1.1\r\n"
                + hdr
                + b"Content-Length: 10000000\r\n\r\n"
                + b"x" * 1000
            ),
            False,
        ),
        (
            "oversized-chunked",
            lambda: (
                b"POST /v1/broadcasters HTTP/1.1\r\n"
                + hdr
                + b"Transfer-Encoding: chunked\r\n\r\n"
                + b"".join(b"4000\r\n" + b"x" * 0x4000 + b"\r\n" for _ in range(6))
            ),
            False,
        ),
        (
            "bad-chunk",
            lambda: (
                b"POST /v1/reload HTTP/1.1\r\n" + hdr + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"
            ),
            True,
        ),
        ("bad-json", lambda: post(b"/v1/broadcasters", b'{"target": '), True),
        ("json-not-object", lambda: post(b"/v1/broadcasters", b"[1, 2, 3]"), True),
        ("deep-json", lambda: post(b"/v1/broadcasters", b"[" * 30_000 + b"]" * 30_000), True),
        ("missing-target", lambda: post(b"/v1/broadcasters", b'{"name": "x"}'), True),
        ("target-wrong-type", lambda: post(b"/v1/broadcasters", b'{"target": 42}'), True),
        (
            "bad-record-action",
            lambda: post(b"/v1/broadcasters/alice/record", b'{"action": "pause"}'),
            True,
        ),
        (
            "record-unknown",
            lambda: post(b"/v1/broadcasters/nobody/record", b'{"action": "start"}'),
            True,
        ),
        ("bad-utf8-json", lambda: post(b"/v1/broadcasters", b'{"target": "\xff\xfe"}'), True),
        (
            "unknown-route",
            lambda: (
                b"GET /v1/"
                + rng.choice([b"nope", b"status/x", b"sessions/1/x", b"../etc/passwd"])
                + b" HTTP/1.1\r\n"
                + hdr
                + b"\r\n"
            ),
            True,
        ),
        (
            "wrong-method",
            lambda: (
                rng.choice([b"PUT", b"DELETE", b"POST", b"PATCH"])
                + b" /v1/status HTTP/1.1\r\n"
                + hdr
                + b"Content-Length: 0\r\n\r\n"
            ),
            True,
        ),
        ("wrong-method-get-reload", lambda: b"GET /v1/reload HTTP/1.1\r\n" + hdr + b"\r\n", True),
        ("head", lambda: b"HEAD /v1/status HTTP/1.1\r\n" + hdr + b"\r\n", True),
        (
            "bad-session-id",
            lambda: b"GET /v1/sessions/abc/events HTTP/1.1\r\n" + hdr + b"\r\n",
            True,
        ),
        (
            "unknown-session",
            lambda: b"GET /v1/sessions/999/segments HTTP/1.1\r\n" + hdr + b"\r\n",
            True,
        ),
        (
            "bad-after",
            lambda: b"GET /v1/sessions/1/events?after=x HTTP/1.1\r\n" + hdr + b"\r\n",
            True,
        ),
        (
            "bad-format",
            lambda: b"GET /v1/sessions/1/export?format=xml HTTP/1.1\r\n" + hdr + b"\r\n",
            True,
        ),
        ("bad-limit", lambda: b"GET /v1/sessions?limit=-5 HTTP/1.1\r\n" + hdr + b"\r\n", True),
        ("bad-percent", lambda: b"GET /v1/broadcasters/%ff%fe HTTP/1.1\r\n" + hdr + b"\r\n", True),
        (
            "bad-patch",
            lambda: (
                b"PATCH /v1/broadcasters/alice HTTP/1.1\r\n"
                + hdr
                + b'Content-Length: 13\r\n\r\n{"paused": 1}'
            ),
            True,
        ),
        ("no-host-1.1", lambda: b"GET /v1/status HTTP/1.1\r\n\r\n", True),
        ("truncated-head", lambda: b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-", True),
    ]
    return [
        (kind, make(), half_close)
        for kind, make, half_close in (makers[i % len(makers)] for i in range(count))
    ]


async def test_1000_malformed_requests_get_only_4xx_and_the_server_stays_healthy(
    sock_path: Path,
) -> None:
    requests = _malformed_requests(1000)
    results: list[tuple[str, int]] = []

    async def one(kind: str, data: bytes, half_close: bool, limiter: anyio.CapacityLimiter) -> None:
        async with limiter:
            response = await raw_exchange(sock_path, data, half_close=half_close)
        status = status_of(response)
        assert response.count(b"HTTP/1.1 ") == 1, (kind, response[:300])
        if kind != "head":  # a response to HEAD has no body
            assert "error" in body_of(response), (kind, response[:300])
        results.append((kind, status))

    async with running(sock_path, max_clients=64):
        limiter = anyio.CapacityLimiter(16)
        async with anyio.create_task_group() as tg:
            for kind, data, half_close in requests:
                tg.start_soon(one, kind, data, half_close, limiter)
        not_4xx = [(k, s) for k, s in results if not 400 <= s < 500]
        assert len(results) == 1000
        assert not_4xx == []
        # Different kinds get different, specific statuses (not one catch-all).
        statuses = {s for _, s in results}
        assert {400, 404, 405, 413, 431} <= statuses
        async with AsyncControlClient(sock_path) as client:
            status = await client.request("GET", "/v1/status")
        assert status["daemon"]["counts"]["broadcasters"] == 2


async def test_socket_mode_is_0660_and_directory_is_created(sock_path: Path) -> None:
    assert not sock_path.parent.exists()
    async with running(sock_path):
        mode = (await anyio.Path(sock_path).stat()).st_mode
        assert stat.S_ISSOCK(mode)
        assert stat.S_IMODE(mode) == 0o660
    assert not await anyio.Path(sock_path).exists(), "the socket file is removed on shutdown"


def _another_group() -> grp.struct_group:
    """A group other than our primary one that we may chown to (any group when root)."""
    allowed = None if os.geteuid() == 0 else set(os.getgroups())
    for group in grp.getgrall():
        if group.gr_gid != os.getgid() and (allowed is None or group.gr_gid in allowed):
            return group
    pytest.skip("no second group to chown the socket to")


async def test_socket_group_is_applied_by_name(sock_path: Path) -> None:
    group = _another_group()
    async with running(sock_path, socket_group=group.gr_name, socket_mode=0o600):
        st = await anyio.Path(sock_path).stat()
        assert st.st_gid == group.gr_gid
        assert st.st_gid != os.getgid()
        assert stat.S_IMODE(st.st_mode) == 0o600


async def test_unknown_group_is_refused(sock_path: Path) -> None:
    # A config problem (the daemon exits 78 on it), found only when the socket is made.
    with pytest.raises(
        ConfigError, match=r"control\.group: group 'no-such-group-dylived' does not"
    ):
        async with running(sock_path, socket_group="no-such-group-dylived"):
            pass


async def test_refuses_to_start_when_another_server_answers(sock_path: Path) -> None:
    async with running(sock_path):
        inode = (await anyio.Path(sock_path).stat()).st_ino
        with pytest.raises(SocketInUse, match="already answers"):
            async with running(sock_path):
                pass
        assert (await anyio.Path(sock_path).stat()).st_ino == inode, (
            "the live socket was not replaced"
        )
        async with AsyncControlClient(sock_path) as client:
            assert (await client.request("GET", "/v1/health"))["ok"] is True


async def test_stale_socket_is_replaced(sock_path: Path) -> None:
    sock_path.parent.mkdir(parents=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(sock_path))
    stale.close()  # the file stays, nobody listens: a crashed daemon's leftover
    assert stat.S_ISSOCK((await anyio.Path(sock_path).stat()).st_mode)
    async with running(sock_path), AsyncControlClient(sock_path) as client:
        assert (await client.request("GET", "/v1/status"))["broadcasters"]


async def test_a_regular_file_at_the_socket_path_is_not_removed(sock_path: Path) -> None:
    sock_path.parent.mkdir(parents=True)
    await anyio.Path(sock_path).write_text("precious")
    with pytest.raises(ControlError, match="not a socket"):
        async with running(sock_path):
            pass
    assert await anyio.Path(sock_path).read_text() == "precious"


async def test_state_changing_request_logs_peer_credentials(
    sock_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dylived.control.server")
    async with running(sock_path), AsyncControlClient(sock_path) as client:
        await client.request("GET", "/v1/status")
        await client.request("PATCH", "/v1/broadcasters/bob", body={"paused": True})
    lines = [r.getMessage() for r in caplog.records if r.name == "dylived.control.server"]
    audit = [line for line in lines if re.match(r"control [A-Z]+ /", line)]
    peer = f"pid={os.getpid()} uid={os.getuid()} gid={os.getgid()}"
    assert audit == [f"control PATCH /v1/broadcasters/bob from {peer}"]


async def test_too_many_clients_get_503_busy_and_the_rest_are_served(sock_path: Path) -> None:
    async with running(sock_path, max_clients=2):
        idle = [await anyio.connect_unix(sock_path) for _ in range(2)]
        await anyio.sleep(0.05)
        response = await raw_exchange(sock_path, b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status_of(response) == 503
        assert body_of(response)["error"]["code"] == "busy"
        for stream in idle:
            await stream.aclose()
        await anyio.sleep(0.05)
        response = await raw_exchange(sock_path, b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status_of(response) == 200


async def test_slow_request_gets_408(sock_path: Path) -> None:
    async with running(sock_path, request_timeout_s=0.2):
        response = await raw_exchange(sock_path, b"GET /v1/status HTTP/1.1\r\n", half_close=False)
        assert status_of(response) == 408


async def test_keep_alive_serves_several_requests_on_one_connection(sock_path: Path) -> None:
    request = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
    async with running(sock_path):
        response = await raw_exchange(sock_path, request * 3)
    assert response.count(b"HTTP/1.1 200 ") == 3


async def test_follow_streams_stored_then_live_events_and_ends_with_the_session(
    sock_path: Path,
) -> None:
    daemon = FakeDaemon()
    send, receive = anyio.create_memory_object_stream[dict[str, Any]](10)
    async with running(sock_path, daemon), AsyncControlClient(sock_path) as client:

        async def follow() -> None:
            async with send:
                async for row in client.follow_events(1, after_seq=0):
                    await send.send(row)

        async with anyio.create_task_group() as tg, receive:
            tg.start_soon(follow)
            with anyio.fail_after(5):
                stored = await receive.receive()
                daemon.add_event(1, {"type": "chat", "content": "live one"})
                live = await receive.receive()
                daemon.end_session(1)
                rest = [row async for row in receive]  # ends when the stream ends
    assert (stored["seq"], live["seq"], rest) == (1, 2, [])
    assert live["content"] == "live one"


async def test_client_leaving_a_follow_stream_frees_its_slot(sock_path: Path) -> None:
    async with running(sock_path, max_clients=1):
        stream = await anyio.connect_unix(sock_path)
        await stream.send(b"GET /v1/sessions/1/events?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await stream.receive()
        assert head.startswith(b"HTTP/1.1 200 ")
        await stream.aclose()
        with anyio.fail_after(5):
            while True:
                response = await raw_exchange(
                    sock_path, b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
                )
                if status_of(response) == 200:
                    break
                await anyio.sleep(0.02)


async def test_client_errors_name_the_socket_and_carry_the_code(sock_path: Path) -> None:
    async with AsyncControlClient(sock_path) as client:
        with pytest.raises(DaemonUnreachable, match=str(sock_path)):
            await client.request("GET", "/v1/status")
    async with running(sock_path), AsyncControlClient(sock_path) as client:
        with pytest.raises(DaemonReplyError) as info:
            await client.request("POST", "/v1/broadcasters", body={"target": "x", "name": "alice"})
        assert (info.value.status, info.value.code) == (409, "conflict")


async def test_rejected_reload_lists_every_problem(sock_path: Path) -> None:
    problems = ["watch[0].target: empty", "segment_minutes: must be 1–60"]
    async with (
        running(sock_path, FakeDaemon(reload_problems=problems)),
        AsyncControlClient(sock_path) as client,
    ):
        with pytest.raises(DaemonReplyError) as info:
            await client.request("POST", "/v1/reload")
    assert info.value.status == 422
    assert info.value.code == "config_invalid"
    assert info.value.details["problems"] == problems


async def test_metrics_tcp_listener_serves_only_metrics_on_loopback(sock_path: Path) -> None:
    async with running(sock_path, metrics_port=0) as bound:
        assert bound.metrics_address is not None
        host, port = bound.metrics_address
        assert host == "127.0.0.1"
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
            metrics = await http.get("/metrics")
            status = await http.get("/v1/status")
            reload = await http.post("/v1/reload")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'dylived_broadcaster_live{broadcaster="alice"} 1' in metrics.text
    assert (status.status_code, reload.status_code) == (404, 404)


async def test_metrics_listener_refuses_non_loopback(sock_path: Path) -> None:
    with pytest.raises(ControlError, match="loopback"):
        async with running(sock_path, metrics_port=0, metrics_host="0.0.0.0"):
            pass


async def test_curl_over_the_unix_socket(sock_path: Path) -> None:
    async with running(sock_path):
        result = await anyio.run_process(
            ["/usr/bin/curl", "-sS", "--unix-socket", str(sock_path), "http://localhost/v1/status"],
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["broadcasters"][0]["id"] == "alice"
