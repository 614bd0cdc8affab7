"""The notification service the daemon composes: one bus, its sources and the dispatcher.

``async with Alerts.open(config) as alerts`` (``config`` returns the running config) gives the
daemon: ``alerts.bus`` (subscribe hooks here later), ``alerts.sessions`` (the session store's
observer), ``alerts.breaker_changed`` (a platform gate's ``on_breaker``),
``alerts.capture_observer(ctx, component)``, ``alerts.cookie_checked(fetch)`` (the status
fetcher, telling ``cookie_invalid``), ``alerts.run`` (a task of the daemon's service
group: the dispatcher's sender and the disk watch); ERRORs logged under ``dylived`` become
``daemon_error`` while it is open. Its own HTTP client (``net/http.py``), so a
hanging webhook never holds a connection the platform polls need.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import anyio.abc

from dylived import __version__
from dylived.alerts.delivery import Dispatcher
from dylived.alerts.events import Alert, AlertBus
from dylived.alerts.sources import (
    BreakerAlerts,
    CookieAlerts,
    DiskWatch,
    ErrorLogAlerts,
    SessionAlerts,
)
from dylived.errors import CookieRejected
from dylived.model import LiveStatus
from dylived.net.http import HttpClient


NOTIFY_TIMEOUT = 10.0  # the HTTP client's per-phase timeout (each target has its own cap too)


class Alerts:
    def __init__(self, config: Callable[[], Any], http: HttpClient) -> None:
        self.bus = AlertBus()
        self.dispatcher = Dispatcher(lambda: config().notify, http)
        self.bus.subscribe(self.dispatcher.offer)
        self.sessions = SessionAlerts(self.bus)
        self._breaker = BreakerAlerts(self.bus)
        self.cookies = CookieAlerts(self.bus)
        self.disk = DiskWatch(
            self.bus,
            lambda: (config().daemon.recordings_dir, config().recording.min_free),
        )

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, config: Callable[[], Any]) -> AsyncIterator[Alerts]:
        async with HttpClient(
            user_agent=f"dylived/{__version__} (notifications)", timeout=NOTIFY_TIMEOUT
        ) as http:
            alerts = cls(config, http)
            errors = ErrorLogAlerts(alerts.bus)
            logging.getLogger("dylived").addHandler(errors)
            try:
                yield alerts
            finally:
                logging.getLogger("dylived").removeHandler(errors)

    def breaker_changed(self, platform: str, opened: bool, detail: str) -> None:
        self._breaker.changed(platform, opened, detail)

    def cookie_checked(
        self, fetch: Callable[[Any], Awaitable[LiveStatus]]
    ) -> Callable[[Any], Awaitable[LiveStatus]]:
        """``fetch`` (a broadcaster's status check), telling :class:`CookieAlerts` its verdict."""

        async def fetched(broadcaster: Any) -> LiveStatus:
            key, platform = str(broadcaster.key), str(broadcaster.platform)
            try:
                status = await fetch(broadcaster)
            except CookieRejected as exc:
                self.cookies.seen(key, platform, False, str(exc))
                raise
            self.cookies.seen(key, platform, status.cookie_accepted, status.cookie_problem)
            return status

        return fetched

    def capture_observer(self, ctx: Any, component: Any) -> Any:
        """Have an EventCapture component tell ``capture_gave_up``; returns the component."""
        if component is not None:
            component.on_gave_up = lambda detail: self.sessions.capture_gave_up(
                ctx.key, ctx.session_id, ctx.latest_status.title, detail
            )
        return component

    async def run(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        async with anyio.create_task_group() as tg:
            await tg.start(self.dispatcher.run)
            tg.start_soon(self.disk.run)
            task_status.started()

    async def send_test(self, url: str | None) -> list[dict[str, object]]:
        alert = Alert("test", "a test notification from dylived", "test")
        return await self.dispatcher.send_test(alert, url)


__all__ = ["Alerts"]
