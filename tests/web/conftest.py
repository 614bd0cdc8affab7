"""The browser rig: the real daemon (``[web]`` on) against the demo's simulator, and a Playwright
page in Debian's Chromium.

``web_daemon(directory, token=...)`` starts ``dylived-sim`` with the demo scenario and
``dylived run`` with the config ``dylived demo`` writes (``app/demo.py``) plus ``[web]
listen = "127.0.0.1:0"``, waits for the web page's address in ``daemon.web_url`` of the status
(read on the Unix socket), and yields a ``WebDaemon``; both children are stopped (SIGTERM) and
reaped. The fixtures: ``demo_web`` (a daemon without a token, shared by a module's tests),
``browser`` (one headless Chromium per test process) and ``page`` (a fresh context and page per
test). Without Chromium
(``$DYLIVED_CHROMIUM``, else ``chromium`` on ``PATH``) or the ``playwright`` package the browser
fixtures skip; Playwright's own browser downloads are never used.

``bench``-like scripts use the same pieces (``tools/screenshot.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from dylived.app.demo import PACKAGED_DEMO, child, demo_rooms, read_sim_address, write_demo_config


if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
START_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class WebDaemon:
    """A running daemon with its web page: ``url`` is ``http://127.0.0.1:PORT/web/``."""

    url: str
    directory: Path
    socket: Path
    sim_base: str  # the simulator's address (its /_sim/ control routes drive the rooms)
    config: Path
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return self.url.removesuffix("/web/")

    def status(self) -> dict[str, Any]:
        """``GET /v1/status`` on the control socket."""
        return unix_get(self.socket, "/v1/status")

    def sim_post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        reply = httpx.post(self.sim_base + path, json=body or {}, timeout=10)
        reply.raise_for_status()
        data: dict[str, Any] = reply.json()
        return data


def unix_get(sock: Path, path: str) -> dict[str, Any]:
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), timeout=10) as client:
        reply = client.get("http://dylived" + path)
    reply.raise_for_status()
    data: dict[str, Any] = reply.json()
    return data


def chromium_path() -> str | None:
    """Debian's Chromium (or ``$DYLIVED_CHROMIUM``); None when there is none."""
    configured = os.environ.get("DYLIVED_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _wait_for_web_url(sock: Path, process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the daemon exited ({process.returncode}): {log.read_text()}")
        url = None
        if sock.exists():  # (httpcore leaks the socket of a refused connect)
            try:
                url = unix_get(sock, "/v1/status")["daemon"].get("web_url")
            except (httpx.HTTPError, OSError):
                url = None
        if url:
            return str(url)
        time.sleep(0.1)
    raise AssertionError(f"the daemon reported no web_url within {START_TIMEOUT_S} s")


@contextmanager
def web_daemon(
    directory: Path, *, token: str = "", scenario: Path = PACKAGED_DEMO
) -> Iterator[WebDaemon]:
    """The demo's simulator and the real daemon with ``[web]`` on 127.0.0.1 (any free port)."""
    directory.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        sim_log = stack.enter_context((directory / "sim.log").open("wb"))
        daemon_log = stack.enter_context((directory / "dylived.log").open("wb"))
        sim_argv = [sys.executable, "-m", "dylived.sim.cli", "--scenario", str(scenario)]
        sim = stack.enter_context(
            child([*sim_argv, "--listen", "127.0.0.1:0"], sim_log, stdout=subprocess.PIPE)
        )
        base_url, ws_base = read_sim_address(sim)
        web = 'listen = "127.0.0.1:0"\n' + (f'token = "{token}"\n' if token else "")
        config = write_demo_config(directory, base_url, ws_base, demo_rooms(scenario), web)
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        run_argv = [sys.executable, "-m", "dylived", "run", "--config", str(config)]
        daemon = stack.enter_context(child(run_argv, daemon_log, stdout=daemon_log, env=env))
        sock = directory / "control.sock"
        url = _wait_for_web_url(sock, daemon, directory / "dylived.log")
        yield WebDaemon(url, directory, sock, base_url, config, daemon)


HELD_ROOM = "200000000002"  # the demo's room that goes live after 20 s (room2)


def held_demo_scenario(directory: Path) -> Path:
    """The demo scenario with room2 offline for an hour instead of 20 s: a test makes it live
    when it wants (``sim_post(f"/_sim/rooms/{HELD_ROOM}/live")``), however slow the start."""
    text = PACKAGED_DEMO.read_text(encoding="utf-8")
    held = text.replace(
        'schedule = [{state = "offline", for = 20}',
        'schedule = [{state = "offline", for = 3600}',
        1,
    )
    assert held != text, "the demo scenario no longer starts room2 offline for 20 s"
    path = directory / "demo-held.toml"
    path.write_text(held, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def demo_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDaemon]:
    """The demo's daemon and simulator, ``[web]`` on without a token (one per test module);
    room2 stays offline until a test makes it live (``held_demo_scenario``)."""
    directory = tmp_path_factory.mktemp("demo")
    with web_daemon(directory, scenario=held_demo_scenario(directory)) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium (Debian's), one per test module; skips when there is none.

    Not one per test process: Playwright's sync API keeps its event loop set on the thread
    until it stops, and the anyio tests the same xdist worker runs next then fail with
    "Cannot run the event loop while another loop is running".
    """
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium (apt-get install chromium, or set DYLIVED_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page; page errors fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield opened
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
