"""A real JSON webhook receiver on 127.0.0.1 for the notification tests.

Answers by path: ``/ok`` → 200, ``/fail`` → 500, ``/hang`` → no answer until the test ends
(``close``). Every request is kept (monotonic arrival time, path, parsed JSON body), so a test
can look at what arrived, when and how often.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: WebhookServer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsable": raw.decode(errors="replace")}
        self.server.record(self.path, body, self.headers.get("Content-Type", ""))
        if self.path == "/hang":
            self.server.released.wait(30)
        code = 500 if self.path == "/fail" else 200
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


class WebhookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.released = threading.Event()
        self._lock = threading.Lock()
        self.requests: list[tuple[float, str, dict[str, Any], str]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up on /hang: expected, not worth a traceback

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def record(self, path: str, body: dict[str, Any], content_type: str) -> None:
        with self._lock:
            self.requests.append((time.monotonic(), path, body, content_type))

    def bodies(self, path: str, event: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [b for _, p, b, _ in self.requests if p == path]
        return [b for b in found if event is None or b.get("event") == event]

    def close(self) -> None:
        self.released.set()
        self.shutdown()
        self.server_close()
