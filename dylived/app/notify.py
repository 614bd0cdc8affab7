"""sd_notify for the daemon: READY/RELOADING/STOPPING/STATUS/WATCHDOG datagrams to $NOTIFY_SOCKET.

Owns the notify protocol only (``man sd_notify``); *when* to send is the daemon's business.
Imports nothing of dylived but the standard library.

Why not the ``sdnotify`` package (dropped from the dependencies for this reason): 0.3.2 encodes
with latin-1, so a Chinese ``STATUS=`` (broadcaster names) is silently dropped; it swallows every
error with a bare ``except:``; its socket is created once, blocking and without ``SOCK_CLOEXEC``
(so ffmpeg children inherit it); and it has no ``MONOTONIC_USEC``/``WATCHDOG_USEC`` helpers
(research/ecosystem.md §1.2). This notifier follows systemd's own
``man/notify-selfcontained-example.py``: a fresh ``AF_UNIX``/``SOCK_DGRAM`` socket per message,
``SOCK_CLOEXEC | SOCK_NONBLOCK``, UTF-8, ``/path`` and ``@abstract`` addresses. A failed send is
logged once (at WARNING) and never raised: losing a status line must not stop an archiver.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping


logger = logging.getLogger(__name__)

# Variables systemd sets for the main process only; ffmpeg children must not see them.
CHILD_ENV_SCRUB: tuple[str, ...] = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


class Notifier:
    """Sends notify messages to one address; a Notifier without an address does nothing."""

    __slots__ = ("_address", "_failed")

    def __init__(self, address: str | None) -> None:
        if address and address[0] not in "/@":
            logger.warning(
                "NOTIFY_SOCKET %r is neither a path nor an abstract name; ignored", address
            )
            address = None
        self._address = ("\0" + address[1:]) if address and address[0] == "@" else address
        self._failed = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """A notifier for ``$NOTIFY_SOCKET`` (disabled when it is unset or empty)."""
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET") or None)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, message: str) -> bool:
        """Send one datagram (``KEY=value`` lines); True when it was delivered."""
        if self._address is None:
            return False
        try:
            kind = socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
            with socket.socket(socket.AF_UNIX, kind) as sock:
                sock.connect(self._address)
                sock.sendall(message.encode("utf-8"))
        except OSError as exc:
            if not self._failed:  # once: a missing socket would otherwise log every 30 s
                logger.warning("sd_notify to %r failed: %s", self._address, exc)
                self._failed = True
            return False
        return True

    def ready(self) -> bool:
        return self.notify("READY=1")

    def reloading(self) -> bool:
        """``RELOADING=1`` with ``MONOTONIC_USEC`` (required by Type=notify-reload, v253+)."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify(f"RELOADING=1\nMONOTONIC_USEC={usec}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def status(self, text: str) -> bool:
        """``STATUS=`` must be one line: newlines and other control characters become spaces."""
        line = "".join(" " if ch.isspace() or ord(ch) < 32 else ch for ch in text)
        return self.notify(f"STATUS={line.strip()}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between ``WATCHDOG=1`` pings (half of ``$WATCHDOG_USEC``), or None when off.

    None also when ``$WATCHDOG_PID`` names another process (``man sd_watchdog_enabled``).
    """
    env = os.environ if environ is None else environ
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    pid = env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None
    return usec / 2 / 1_000_000


def child_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of the environment for a child process (ffmpeg) without the notify variables."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items() if k not in CHILD_ENV_SCRUB}
