"""HttpClient on httpcore: keep-alive, stale connections, bodies, cookies, redirects, TLS.

Every test talks to a real threaded HTTP server on loopback (127.0.0.1, and 127.0.0.2 as a
second host; plain, or TLS with a throw-away self-signed certificate made by ``openssl``).
"""

from __future__ import annotations

import contextlib
import gzip
import shutil
import ssl
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import anyio
import pytest

from dylived.errors import RoomNotFound, TransportError, UpstreamError
from dylived.net.http import HttpClient
from tests.platforms.conftest import QuietHandler


PAYLOAD = b'{"status_code": 0, "data": {"x": "' + b"y" * 2000 + b'"}}'


class _Handler(QuietHandler):
    server: _Server

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        with self.server.lock:
            self.server.in_flight += 1
            self.server.most_in_flight = max(self.server.most_in_flight, self.server.in_flight)
            self.server.targets.append(self.path)
            self.server.hosts.append(self.headers.get("Host") or "")
        try:
            self._answer(parts.path, query)
        finally:
            with self.server.lock:
                self.server.in_flight -= 1

    def _answer(self, path: str, query: dict[str, list[str]]) -> None:
        if path == "/json":
            self._send(200, PAYLOAD)
        elif path == "/close-after":  # keep-alive implied, but the server hangs up after it
            self._send(200, PAYLOAD)
            self.close_connection = True
        elif path == "/gzip":
            self._send(200, gzip.compress(PAYLOAD), {"Content-Encoding": "gzip"})
        elif path == "/deflate":
            self._send(200, zlib.compress(PAYLOAD), {"Content-Encoding": "deflate"})
        elif path == "/raw-deflate":
            packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
            body = packer.compress(PAYLOAD) + packer.flush()
            self._send(200, body, {"Content-Encoding": "deflate"})
        elif path == "/bomb":
            self._send(200, gzip.compress(b"0" * 10_000_000), {"Content-Encoding": "gzip"})
        elif path == "/brotli":
            self._send(200, b"\x0b\x02\x80", {"Content-Encoding": "br"})
        elif path == "/set":
            value = query["v"][0]
            self._send(200, b"ok", {"Set-Cookie": f"ttwid={value}; Path=/"})
        elif path == "/echo-cookie":
            self._send(200, (self.headers.get("Cookie") or "-").encode())
        elif path == "/to":  # a redirect to the URL given in ?u=
            self._send(int(query.get("code", ["302"])[0]), b"", {"Location": query["u"][0]})
        elif path == "/see-other":
            self._send(303, b"", {"Location": "/json"})
        elif path == "/loop":
            self._send(302, b"", {"Location": "/loop"})
        elif path == "/trickle":  # a byte every 0.1 s: never idle long enough for a read timeout
            self.send_response(200)
            self.send_header("Content-Length", "8")
            self.end_headers()
            for _ in range(8):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        elif path == "/slow":
            time.sleep(float(query.get("s", ["0.3"])[0]))
            self._send(200, PAYLOAD)
        else:
            self._send(404, b"not here")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__((host, 0), _Handler)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.targets: list[str] = []
        self.hosts: list[str] = []

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up is not an error here


def _serve(server: _Server) -> Iterator[_Server]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def server() -> Iterator[_Server]:
    yield from _serve(_Server())


def _base(server: _Server, scheme: str = "http") -> str:
    host, port = server.server_address[:2]
    return f"{scheme}://{host!s}:{port}"


# ---------------------------------------------------------------- URLs


@pytest.mark.anyio
async def test_the_request_line_and_host_header(server: _Server) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        await http.fetch(f"{_base(server)}/json?x=1&y=a%2Fb#fragment")
        with pytest.raises(RoomNotFound, match="HTTP 404"):  # no such path on this server
            await http.fetch(f"{_base(server)}/a b/名?q=é")
    assert server.targets == ["/json?x=1&y=a%2Fb", "/a%20b/%E5%90%8D?q=%C3%A9"]
    assert server.hosts == [f"127.0.0.1:{server.server_address[1]}"] * 2


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("ftp://h/x", "UnsupportedProtocol"),
        ("/relative/only", "UnsupportedProtocol"),
        ("http:///nohost", "UnsupportedProtocol|InvalidURL"),
        ("http://h:port/x", "InvalidURL"),
    ],
)
async def test_unusable_urls_are_transport_errors_without_the_query(url: str, needle: str) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        with pytest.raises(TransportError, match=needle) as info:
            await http.fetch(url + "?secret=1")
    assert "secret" not in str(info.value)


# ---------------------------------------------------------------- keep-alive and the pool


@pytest.mark.anyio
async def test_keep_alive_reuses_one_connection(server: _Server) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        for _ in range(20):
            response = await http.fetch(f"{_base(server)}/json")
            assert response.body == PAYLOAD
        assert http.connections_opened == 1
    assert server.hosts[0] == f"127.0.0.1:{server.server_address[1]}"


@pytest.mark.anyio
async def test_a_connection_the_server_closed_is_replaced_transparently(server: _Server) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        for _ in range(5):
            response = await http.fetch(f"{_base(server)}/close-after")
            assert response.body == PAYLOAD
            await anyio.sleep(0.05)  # let the close arrive while the connection is idle
        assert http.connections_opened == 5
    assert len(server.targets) == 5  # no request was sent twice to the server


@pytest.mark.anyio
async def test_at_most_max_connections_requests_are_on_the_wire(server: _Server) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5, max_connections=2) as http:
        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(http.fetch, f"{_base(server)}/slow?s=0.2")
        assert http.connections_opened == 2
    assert server.most_in_flight == 2


@pytest.mark.anyio
async def test_waiting_for_a_free_connection_times_out(server: _Server) -> None:
    async with (
        HttpClient(user_agent="UA/1", timeout=0.3, max_connections=1) as http,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(http.fetch, f"{_base(server)}/trickle")  # holds the one slot ~0.8 s
        await anyio.sleep(0.05)
        with pytest.raises(TransportError, match=r"PoolTimeout"):
            await http.fetch(f"{_base(server)}/json")
    assert server.targets == ["/trickle"]


@pytest.mark.anyio
async def test_a_cancelled_request_leaves_the_pool_usable(server: _Server) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        with anyio.move_on_after(0.1):
            await http.fetch(f"{_base(server)}/slow?s=0.5")
        response = await http.fetch(f"{_base(server)}/json")
        assert response.body == PAYLOAD
        assert http.connections_opened == 2  # the abandoned connection was not reused


# ---------------------------------------------------------------- bodies


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/gzip", "/deflate", "/raw-deflate"])
async def test_compressed_bodies_are_decoded(server: _Server, path: str) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        response = await http.fetch(f"{_base(server)}{path}")
    assert response.body == PAYLOAD


@pytest.mark.anyio
async def test_a_compressed_body_is_capped_after_decoding(server: _Server) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5, max_body=100_000) as http:
        with pytest.raises(UpstreamError, match="larger than 100000"):
            await http.fetch(f"{_base(server)}/bomb")
        assert (await http.fetch(f"{_base(server)}/json")).body == PAYLOAD


@pytest.mark.anyio
async def test_an_unsupported_encoding_is_an_upstream_error(server: _Server) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        with pytest.raises(UpstreamError, match="content-encoding 'br'"):
            await http.fetch(f"{_base(server)}/brotli")


# ---------------------------------------------------------------- cookies and redirects


@pytest.mark.anyio
async def test_cookie_header_follows_every_change_of_the_jar(server: _Server) -> None:
    base = _base(server)
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        assert (await http.fetch(f"{base}/echo-cookie")).body == b"-"
        await http.fetch(f"{base}/set?v=first")
        assert (await http.fetch(f"{base}/echo-cookie")).body == b"ttwid=first"
        await http.fetch(f"{base}/set?v=second")
        assert http.cookie("ttwid") == "second"
        assert (await http.fetch(f"{base}/echo-cookie")).body == b"ttwid=second"
        http.drop_cookie("ttwid")
        assert (await http.fetch(f"{base}/echo-cookie")).body == b"-"


@pytest.mark.anyio
async def test_see_other_is_followed_and_loops_are_refused(server: _Server) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        followed = await http.fetch(f"{_base(server)}/see-other", follow_redirects=True)
        assert (followed.status_code, followed.body) == (200, PAYLOAD)
        with pytest.raises(UpstreamError, match="too many redirects"):
            await http.fetch(f"{_base(server)}/loop", follow_redirects=True)


# ---------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[_Server]:
    server = _Server()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield from _serve(server)


@pytest.mark.anyio
async def test_https_with_keep_alive(tls_server: _Server, certificate: tuple[Path, Path]) -> None:
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    async with HttpClient(user_agent="UA/1", timeout=5, ssl_context=trusting) as http:
        for _ in range(3):
            assert (await http.fetch(f"{_base(tls_server, 'https')}/gzip")).body == PAYLOAD
        assert http.connections_opened == 1


@pytest.mark.anyio
async def test_https_with_an_untrusted_certificate_is_a_transport_error(
    tls_server: _Server,
) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        with pytest.raises(TransportError, match="ConnectError"):
            await http.fetch(f"{_base(tls_server, 'https')}/json")


@pytest.mark.anyio
async def test_ssl_cert_file_is_trusted(
    tls_server: _Server, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    async with HttpClient(user_agent="UA/1", timeout=5) as http:  # no ssl_context given
        assert (await http.fetch(f"{_base(tls_server, 'https')}/json")).body == PAYLOAD


# ---------------------------------------------------------------- redirects to another origin


@pytest.fixture
def other_host() -> Iterator[_Server]:
    """A second server on another loopback address: another host for the cookie rules."""
    yield from _serve(_Server("127.0.0.2"))


@pytest.mark.anyio
async def test_a_redirect_to_another_host_carries_no_cookies(
    server: _Server, other_host: _Server
) -> None:
    base, elsewhere = _base(server), f"{_base(other_host)}/echo-cookie"
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        await http.fetch(f"{base}/set?v=jar")  # a jar cookie of 127.0.0.1
        for code in ("301", "302", "303", "307", "308"):
            moved = await http.fetch(
                f"{base}/to?code={code}&u={elsewhere}",
                headers={"Cookie": "sessionid=secret"},
                follow_redirects=True,
            )
            assert (moved.status_code, moved.body) == (200, b"-")
        # the same origin: the explicit header is kept, and the jar still applies without it
        same = await http.fetch(
            f"{base}/to?u=/echo-cookie", headers={"Cookie": "sessionid=x"}, follow_redirects=True
        )
        assert same.body == b"sessionid=x"
        assert (await http.fetch(f"{base}/to?u=/echo-cookie", follow_redirects=True)).body == (
            b"ttwid=jar"
        )
    assert other_host.targets == ["/echo-cookie"] * 5


@pytest.mark.anyio
async def test_a_redirect_to_another_port_drops_the_explicit_cookie(server: _Server) -> None:
    with contextlib.ExitStack() as stack:
        second = stack.enter_context(contextlib.contextmanager(_serve)(_Server()))
        async with HttpClient(user_agent="UA/1", timeout=5) as http:
            moved = await http.fetch(
                f"{_base(server)}/to?u={_base(second)}/echo-cookie",
                headers={"Cookie": "sessionid=secret"},
                follow_redirects=True,
            )
        assert moved.body == b"-"
        assert second.targets == ["/echo-cookie"]
