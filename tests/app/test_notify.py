"""dylived.app.notify against a real fake NOTIFY_SOCKET: a SOCK_DGRAM socket bound by the test."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dylived.app.notify import Notifier, child_environment, watchdog_interval
from tests.conftest import REPO_ROOT


class Listener:
    """A bound datagram socket standing in for systemd's notify socket."""

    def __init__(self, address: str) -> None:
        self.address = address  # as it would appear in $NOTIFY_SOCKET
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.settimeout(5)

    def receive(self) -> str:
        return self.sock.recv(4096).decode("utf-8")

    def receive_with_pid(self) -> tuple[str, int]:
        space = socket.CMSG_SPACE(12)  # struct ucred: pid, uid, gid
        data, ancdata, _, _ = self.sock.recvmsg(4096, space)
        pid = next(
            int.from_bytes(cdata[:4], sys.byteorder)
            for level, kind, cdata in ancdata
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS
        )
        return data.decode("utf-8"), pid

    def nothing_pending(self) -> bool:
        self.sock.setblocking(False)
        try:
            self.sock.recv(4096)
        except BlockingIOError:
            return True
        finally:
            self.sock.settimeout(5)
        return False


@pytest.fixture
def short_dir(tmp_path: Path) -> Iterator[Path]:
    """tmp_path, or a shorter directory when tmp_path would overflow sun_path (108 bytes)."""
    if len(str(tmp_path)) < 80:
        yield tmp_path
        return
    with tempfile.TemporaryDirectory(dir="/tmp") as short:
        yield Path(short)


@pytest.fixture
def path_listener(short_dir: Path) -> Iterator[Listener]:
    listener = Listener(str(short_dir / "notify.sock"))
    yield listener
    listener.sock.close()


@pytest.fixture
def abstract_listener() -> Iterator[Listener]:
    listener = Listener(f"@dylived-test-{uuid.uuid4().hex}")
    yield listener
    listener.sock.close()


def test_every_message_reaches_a_path_socket(path_listener: Listener) -> None:
    notifier = Notifier.from_env({"NOTIFY_SOCKET": path_listener.address})
    assert notifier.enabled
    assert notifier.ready()
    assert path_listener.receive() == "READY=1"
    assert notifier.stopping()
    assert path_listener.receive() == "STOPPING=1"
    assert notifier.watchdog()
    assert path_listener.receive() == "WATCHDOG=1"


def test_reloading_carries_monotonic_usec(path_listener: Listener) -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert Notifier(path_listener.address).reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    first, second = path_listener.receive().split("\n")
    assert first == "RELOADING=1"
    key, _, value = second.partition("=")
    assert key == "MONOTONIC_USEC"
    assert before <= int(value) <= after


def test_chinese_status_arrives_as_utf8_on_an_abstract_socket(
    abstract_listener: Listener,
) -> None:
    notifier = Notifier.from_env({"NOTIFY_SOCKET": abstract_listener.address})
    assert notifier.status("录制中: 3 个直播间")
    assert abstract_listener.receive() == "STATUS=录制中: 3 个直播间"


def test_status_is_folded_to_one_line(path_listener: Listener) -> None:
    assert Notifier(path_listener.address).status("watching 2\nlive 1\r\trecording\x001 ")
    assert path_listener.receive() == "STATUS=watching 2 live 1  recording 1"


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = Notifier.from_env({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert not Notifier.from_env({"NOTIFY_SOCKET": ""}).enabled


def test_an_unusable_address_is_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="dylived.app.notify"):
        notifier = Notifier("relative/notify.sock")
    assert not notifier.enabled
    assert "neither a path nor an abstract name" in caplog.text


def test_a_failed_send_is_logged_once_and_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier(str(tmp_path / "nobody-listens.sock"))
    with caplog.at_level(logging.WARNING, logger="dylived.app.notify"):
        assert not notifier.ready()
        assert not notifier.watchdog()
        assert not notifier.status("still here")
    failures = [r for r in caplog.records if "sd_notify" in r.getMessage()]
    assert len(failures) == 1
    assert "nobody-listens.sock" in failures[0].getMessage()


def test_a_full_socket_does_not_block(path_listener: Listener) -> None:
    # Nobody reads: the datagram queue fills up, and sends then fail fast instead of blocking.
    notifier = Notifier(path_listener.address)
    results = [notifier.status("x" * 2000) for _ in range(2000)]
    assert results[0]
    assert not all(results)


def test_a_child_process_notifies_with_its_own_pid(path_listener: Listener) -> None:
    code = "from dylived.app.notify import Notifier; Notifier.from_env().status('子进程 ready')"
    env = {**os.environ, "NOTIFY_SOCKET": path_listener.address}
    with subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO_ROOT) as child:
        assert child.wait(timeout=30) == 0
    message, pid = path_listener.receive_with_pid()
    assert message == "STATUS=子进程 ready"
    assert pid == child.pid
    assert path_listener.nothing_pending()


def test_the_notify_socket_is_not_left_open(path_listener: Listener) -> None:
    before = set(os.listdir("/proc/self/fd"))
    notifier = Notifier(path_listener.address)
    for _ in range(20):
        notifier.watchdog()
    assert set(os.listdir("/proc/self/fd")) - before == set()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"WATCHDOG_USEC": "60000000"}, 30.0),
        ({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}, 1.0),
        ({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid() + 1)}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_usec(
    environ: dict[str, str], expected: float | None
) -> None:
    assert watchdog_interval(environ) == expected


def test_child_environment_drops_the_notify_variables() -> None:
    parent = {
        "PATH": "/usr/bin",
        "NOTIFY_SOCKET": "/run/systemd/notify",
        "WATCHDOG_USEC": "60000000",
        "WATCHDOG_PID": "1",
        "LANG": "C.UTF-8",
    }
    assert child_environment(parent) == {"PATH": "/usr/bin", "LANG": "C.UTF-8"}
    assert "NOTIFY_SOCKET" not in child_environment()
