"""Fixtures of the platform tests: the anyio backend and a tiny real HTTP server on 127.0.0.1.

``http_server`` answers by path, so a test can ask for exactly the response it needs:
``/status/<code>`` (with ``?retry_after=<value>``), ``/empty``, ``/json``, ``/big``, ``/slow``,
``/cookie`` (sets ``ttwid``), ``/echo-cookie`` (returns the Cookie header it got),
``/redirect`` (302 to ``/json``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1, no request log, and ``_send`` of a whole response (for the test servers)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Handler(QuietHandler):
    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        segments = [s for s in parts.path.split("/") if s]
        match segments:
            case ["status", code]:
                headers = {}
                if "retry_after" in query:
                    headers["Retry-After"] = query["retry_after"][0]
                self._send(int(code), b"{}", headers)
            case ["empty"]:
                self._send(200)
            case ["json"]:
                self._send(200, b'{"ok": true}', {"Content-Type": "application/json"})
            case ["big"]:
                self._send(200, b"x" * 4096)
            case ["slow"]:
                time.sleep(float(query.get("s", ["2"])[0]))
                self._send(200, b"late")
            case ["cookie"]:
                self._send(200, b"<html></html>", {"Set-Cookie": "ttwid=1%7Cabc; Path=/; HttpOnly"})
            case ["echo-cookie"]:
                self._send(200, (self.headers.get("Cookie") or "-").encode())
            case ["redirect"]:
                self._send(302, b"", {"Location": "/json"})
            case _:
                self._send(404, b"not here")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (the timeout test) is not an error here


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    """The base URL of a threaded HTTP server on 127.0.0.1 (stopped after the test)."""
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
