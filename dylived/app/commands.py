"""The daemon's commands: SIGHUP, SIGTERM/SIGINT and ``POST /v1/reload``, queued to one place.

Every signal and every API reload becomes a ``Command`` sent to ``Commands``; its ``run`` task
is the one consumer of that queue. A stop is acted on at once (the stop callback, the reload in
progress cancelled, the reloads still queued answered "stopping"), never behind a reload.
Reloads wait until the daemon says it is ready (``ready(apply)``): a SIGHUP during start-up is
applied once the daemon runs, not refused. Reloads queued while one is applied are served by
one more reload (every one of them sees the file at least as new as when it asked).

``Commands.take_early`` queues the SIGHUPs ``early_signals`` remembered before the event loop
handled signals.
"""

from __future__ import annotations

import logging
import math
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import anyio.abc

from dylived.app import early_signals
from dylived.control.api import ApiError, Unavailable


__all__ = ["Command", "Commands", "DaemonStopping"]

logger = logging.getLogger(__name__)


class DaemonStopping(Unavailable):
    """A reload asked for while (or just before) the daemon stops; it was not applied."""


@dataclass(eq=False, slots=True)
class Command:
    """One request: ``reload`` (answered with the reload's result or error) or ``stop``."""

    kind: Literal["reload", "stop"]
    via: str  # "SIGHUP", "SIGTERM", "SIGINT", "api"
    done: anyio.Event = field(default_factory=anyio.Event)
    result: dict[str, Any] | None = None
    error: Exception | None = None

    def finish(self, result: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self.result, self.error = result, error
        self.done.set()


Apply = Callable[[], Awaitable[dict[str, Any]]]


class Commands:
    """The queue and its consumer (see the module docstring)."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        self._send, self._receive = anyio.create_memory_object_stream[Command](math.inf)
        self._apply: Apply | None = None
        self._ready = anyio.Event()
        self._wake = anyio.Event()
        self._pending: list[Command] = []
        self._current: anyio.CancelScope | None = None
        self.stopping = False
        self.reloads_applied = 0

    # -- producers

    def submit(self, command: Command) -> None:
        """Queue ``command`` (never blocks: callable from the signal task). Once the consumer
        has ended, a command is answered "stopping" at once."""
        try:
            self._send.send_nowait(command)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            command.finish(error=DaemonStopping("the daemon is stopping"))

    def signal_received(self, signum: int) -> None:
        name = signal.Signals(signum).name
        self.submit(Command("reload" if signum == signal.SIGHUP else "stop", name))

    def take_early(self) -> None:
        """Queue the signals ``early_signals`` kept (call once signals are handled)."""
        for signum in early_signals.take():
            self.signal_received(signum)

    async def reload(self, via: str = "api") -> dict[str, Any]:
        """Queue a reload and wait for its outcome. Raises what the reload raised, or
        ``DaemonStopping``. Cancel safety: cancelling the wait does not withdraw the reload."""
        command = Command("reload", via)
        self.submit(command)
        await command.done.wait()
        if command.error is not None:
            raise command.error
        assert command.result is not None
        return command.result

    def ready(self, apply: Apply) -> None:
        """The daemon runs: queued and future reloads call ``apply``."""
        self._apply = apply
        self._ready.set()

    # -- the consumer

    async def run(self) -> None:
        """Consume commands until cancelled. Cancel safety: safe; waiting callers are told."""
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._reloader)
                async for command in self._receive:
                    if command.kind == "stop":
                        self._on_stop(command)
                    elif self.stopping:
                        command.finish(error=DaemonStopping("the daemon is stopping"))
                    else:
                        if command.via != "api":
                            logger.info("received %s: reloading", command.via)
                        self._pending.append(command)
                        self._wake.set()
        finally:
            self._send.close()
            self._receive.close()
            self._fail_pending()

    def _on_stop(self, command: Command) -> None:
        logger.info("received %s", command.via)
        self.stopping = True
        self._stop()
        if self._current is not None:
            self._current.cancel()
        self._fail_pending()
        command.finish()

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, []
        for command in pending:
            command.finish(error=DaemonStopping("the daemon is stopping"))

    async def _reloader(self) -> None:
        await self._ready.wait()
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            batch, self._pending = self._pending, []
            if not batch or self.stopping or self._apply is None:
                for command in batch:
                    command.finish(error=DaemonStopping("the daemon is stopping"))
                continue
            result: dict[str, Any] | None = None
            error: Exception | None = None
            with anyio.CancelScope() as scope:
                self._current = scope
                try:
                    result = await self._apply()
                    self.reloads_applied += 1
                except Exception as exc:  # ConfigRejected (logged by apply) or a bug: told
                    if not isinstance(exc, ApiError):
                        logger.exception("reload failed")
                    error = exc
                finally:
                    self._current = None
            if scope.cancelled_caught:
                error = DaemonStopping("the daemon is stopping")
            for command in batch:
                command.finish(result, error)
