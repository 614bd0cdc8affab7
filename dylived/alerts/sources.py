"""Where alerts come from: the daemon's happenings turned into :class:`Alert` on the bus.

Each source is one small call at the place it happens (the daemon wires them):

- ``live`` / ``ended`` / ``recording_failed``: :class:`SessionAlerts`, called by the watch's
  session store when a session opens (a session resumed after a restart is not "live" again)
  and once its close is committed, with the stored summary (``ended``'s details: ``reason``,
  ``duration_s``, ``events``, ``segments``, ``gaps``, ``recorded_bytes``…). A session closed
  because the daemon stops sends no ``ended`` (it may resume after the restart).
- ``capture_gave_up``: the capture component gave up on the event stream.
- ``blocked`` / ``unblocked``: a platform gate's circuit breaker opened / closed again.
- ``cookie_invalid``: :class:`CookieAlerts`, told by each status check whether the platform
  took its configured login cookie (``LiveStatus.cookie_accepted``, or a ``CookieRejected``
  answer): once per platform and episode (logged as a WARNING), again only after a check saw
  the cookie accepted (logged too); ``status()`` is ``daemon.cookies`` of the status.
- ``disk_low``: :class:`DiskWatch`, free space of the recordings directory under
  ``recording.min_free`` (once per episode: again only after it recovered).
- ``daemon_error``: :class:`ErrorLogAlerts`, a logging handler on the ``dylived`` logger: an
  ERROR record (once per logger and message per hour, the key says which; from any thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio

from dylived.alerts.events import Alert, AlertBus
from dylived.record.disk import DiskGuard
from dylived.store.space import FreeSpace, free_bytes


logger = logging.getLogger(__name__)

DISK_CHECK_INTERVAL = 15.0  # seconds between free-space looks of the disk_low source


def _platform(options: Any) -> str | None:
    platform = getattr(options, "platform", None)
    return None if platform is None else str(platform)


class SessionAlerts:
    """``live``, ``ended`` and ``recording_failed`` from the session store's open and close."""

    def __init__(self, bus: AlertBus) -> None:
        self._bus = bus
        self._open: dict[int, tuple[str | None, str | None]] = {}  # id → (title, platform)

    def opened(self, key: str, session_id: int, status: Any, options: Any) -> None:
        title = getattr(status, "title", None)
        platform = _platform(options)
        self._open[session_id] = (title, platform)
        details = {"room_id": getattr(status, "room_id", None)}
        self._bus.publish(
            Alert(
                "live",
                f"{key} is live: {title or '(no title)'}",
                f"live:{session_id}",
                key,
                platform,
                session_id,
                title,
                details,
            )
        )

    def closed(self, key: str, session_id: int, reason: str, summary: Mapping[str, Any]) -> None:
        title, platform = self._open.pop(session_id, (None, None))
        if reason == "daemon_stopped":
            return
        gaps = summary.get("gaps") or {}
        gap_count = sum(int(g.get("count", 0)) for g in gaps.values() if isinstance(g, dict))
        details = {
            "reason": reason,
            "duration_s": summary.get("duration_seconds"),
            "events": summary.get("total_events"),
            "segments": summary.get("recording_segments"),
            "gaps": gap_count,
            "recorded_bytes": summary.get("recording_total_bytes"),
            "recorded_s": summary.get("recording_total_duration_s"),
            "gap_detail": gaps,
        }
        if reason == "recorder_failed":
            self._bus.publish(
                Alert(
                    "recording_failed",
                    f"{key}: ffmpeg could not be kept running; the recording stopped",
                    f"recording_failed:{session_id}",
                    key,
                    platform,
                    session_id,
                    title,
                    {"reason": reason},
                )
            )
        duration = summary.get("duration_seconds") or 0
        self._bus.publish(
            Alert(
                "ended",
                f"{key} ended ({reason}) after {float(duration) / 60:.1f} min: "
                f"{details['events']} events, {details['segments']} segments, {gap_count} gaps",
                f"ended:{session_id}",
                key,
                platform,
                session_id,
                title,
                details,
            )
        )

    def capture_gave_up(self, key: str, session_id: int, title: str | None, detail: str) -> None:
        self._bus.publish(
            Alert(
                "capture_gave_up",
                f"{key}: event capture gave up ({detail}); the recording goes on",
                f"capture_gave_up:{session_id}",
                key,
                self._open.get(session_id, (None, None))[1],
                session_id,
                title,
                {"detail": detail},
            )
        )


class BreakerAlerts:
    """``blocked`` when a platform's breaker opens, ``unblocked`` when it closes again."""

    def __init__(self, bus: AlertBus) -> None:
        self._bus = bus
        self._episodes: dict[str, int] = {}

    def changed(self, platform: str, opened: bool, detail: str) -> None:
        if opened:
            episode = self._episodes[platform] = self._episodes.get(platform, 0) + 1
            event, message = "blocked", f"{platform} is blocking the status polls: {detail}"
        else:
            episode = self._episodes.get(platform, 0)
            event, message = "unblocked", f"{platform} polling resumed"
        self._bus.publish(
            Alert(
                event,
                message,
                f"{event}:{platform}:{episode}",
                platform=platform,
                details={"detail": detail},
            )
        )


class CookieAlerts:
    """``cookie_invalid`` once a platform refuses its configured login cookie (per episode)."""

    def __init__(self, bus: AlertBus) -> None:
        self._bus = bus
        self._refused: dict[str, dict[str, Any]] = {}  # platform → what status shows
        self._episodes: dict[str, int] = {}

    def status(self) -> dict[str, dict[str, Any]]:
        """The platforms whose cookie is refused now: since when, seen by whom, why."""
        return {platform: dict(state) for platform, state in self._refused.items()}

    def seen(self, broadcaster: str, platform: str, accepted: bool | None, problem: str) -> None:
        """One status check's verdict on the cookie (None: no login cookie, or not said)."""
        if accepted is None:
            return
        if accepted:
            if self._refused.pop(platform, None) is not None:
                logger.info("%s accepts the configured login cookie again", platform)
            return
        if platform in self._refused:
            return
        episode = self._episodes[platform] = self._episodes.get(platform, 0) + 1
        since_ms = time.time_ns() // 1_000_000
        self._refused[platform] = {
            "since_ms": since_ms,
            "broadcaster": broadcaster,
            "detail": problem,
        }
        logger.warning(
            "%s no longer accepts the configured login cookie (seen polling %s): %s; "
            "sign in again and put the new Cookie header in [%s] cookies",
            platform,
            broadcaster,
            problem,
            platform,
        )
        self._bus.publish(
            Alert(
                "cookie_invalid",
                f"{platform} no longer accepts the configured cookie (expired or revoked): "
                f"sign in again and update [{platform}] cookies",
                f"cookie_invalid:{platform}:{episode}",
                broadcaster,
                platform,
                details={"detail": problem},
            )
        )


class DiskWatch:
    """``disk_low`` once free space under ``recordings_dir`` goes below ``min_free``."""

    def __init__(
        self,
        bus: AlertBus,
        settings: Callable[[], tuple[Path, int]],
        *,
        free: FreeSpace = free_bytes,
        interval: float = DISK_CHECK_INTERVAL,
    ) -> None:
        self._bus = bus
        self._settings = settings  # (recordings_dir, min_free) of the running config
        self._free = free
        self._interval = interval
        self.episodes = 0

    async def run(self) -> None:
        low = False
        while True:
            directory, min_free = self._settings()
            guard = DiskGuard(directory, min_free, free=self._free)
            if not low and guard.is_low():
                low = True
                self.episodes += 1
                free_now = guard.available()
                self._bus.publish(
                    Alert(
                        "disk_low",
                        f"free space under {directory}: {free_now / 2**30:.2f} GiB, "
                        f"below min_free {min_free / 2**30:.2f} GiB; recording pauses",
                        f"disk_low:{self.episodes}",
                        details={"free_bytes": free_now, "min_free": min_free},
                    )
                )
            elif low and not guard.is_low(guard.resume_free):
                low = False
            await anyio.sleep(self._interval)


class ErrorLogAlerts(logging.Handler):
    """``daemon_error`` for each ERROR the daemon logs (not this package's own: no loops)."""

    def __init__(self, bus: AlertBus) -> None:
        super().__init__(logging.ERROR)
        self._bus = bus
        self._loop = asyncio.get_running_loop()  # records may come from worker threads

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("dylived.alerts"):
            return
        try:
            text = record.getMessage().splitlines()[0][:300]
        except Exception:  # a record whose arguments do not format: not ours to fix here
            text = str(record.msg)[:300]
        hour = int(time.time() // 3600)
        alert = Alert(
            "daemon_error",
            f"dylived error ({record.name}): {text}",
            f"daemon_error:{record.name}:{record.msg!s:.80}:{hour}",
            getattr(record, "broadcaster", None),
            details={"logger": record.name, "message": text},
        )
        with contextlib.suppress(RuntimeError):  # a closed loop: the daemon is exiting
            self._loop.call_soon_threadsafe(self._bus.publish, alert)


__all__ = ["BreakerAlerts", "CookieAlerts", "DiskWatch", "ErrorLogAlerts", "SessionAlerts"]
