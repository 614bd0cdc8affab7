"""The notification events, their JSON body (a stable, documented shape) and the event bus.

Every event is an :class:`Alert`; :meth:`Alert.body` is exactly what a JSON webhook receives
(one ``POST`` per event, ``Content-Type: application/json``)::

    {"event": "ended", "time": "2026-12-02T01:02:03.456Z", "broadcaster": "alice",
     "platform": "douyin", "session_id": 12, "title": "晚安", "message": "alice: ended ...",
     "key": "ended:12", "details": {"reason": "stream_ended", "duration_s": 3600.0,
     "events": 5123, "segments": 2, "gaps": 1, ...}}

``event`` is one of :data:`EVENTS`; ``time`` is UTC ISO 8601 with milliseconds; ``broadcaster``,
``session_id`` and ``title`` are null for events of the daemon (``disk_low``, ``blocked``…),
``platform`` for those of no platform (``disk_low``, ``daemon_error``, ``test``);
``message`` is one human-readable line (what Apprise targets get as the body); ``key`` is the
dedup key (the same key is delivered at most once per target); ``details`` holds the event's
own fields (for ``ended``: the session summary). New fields may be added, none renamed.

:class:`AlertBus` is the event source: anything that happens calls ``publish`` (synchronous,
never blocks); subscribers (the notification dispatcher now, hooks later) get every alert.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


logger = logging.getLogger(__name__)

EVENTS = (
    "live",
    "ended",
    "recording_failed",
    "disk_low",
    "blocked",
    "unblocked",
    "cookie_invalid",
    "capture_gave_up",
    "daemon_error",
    "test",
)
USER_EVENTS = EVENTS[:-1]  # what a [[notify]] table may list ("test" always goes through)


@dataclass(frozen=True, slots=True)
class Alert:
    """One thing worth telling the owner (see the module docstring for the body)."""

    event: str
    message: str
    key: str  # the dedup key, e.g. "live:12"
    broadcaster: str | None = None
    platform: str | None = None  # the broadcaster's or the gate's platform; None: the daemon's
    session_id: int | None = None
    title: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    at_ms: int = field(default_factory=lambda: time.time_ns() // 1_000_000)

    def body(self) -> dict[str, Any]:
        when = datetime.fromtimestamp(self.at_ms / 1000, tz=UTC)
        return {
            "event": self.event,
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "broadcaster": self.broadcaster,
            "platform": self.platform,
            "session_id": self.session_id,
            "title": self.title,
            "message": self.message,
            "key": self.key,
            "details": dict(self.details),
        }

    @property
    def headline(self) -> str:
        """A short title line (Apprise's notification title)."""
        who = f" {self.broadcaster}" if self.broadcaster else ""
        return f"dylived{who}: {self.event}"


Subscriber = Callable[[Alert], None]


class AlertBus:
    """Fan-out of alerts to subscribers; ``publish`` is sync and never raises."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self.published = 0

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def publish(self, alert: Alert) -> None:
        self.published += 1
        for subscriber in self._subscribers:
            try:
                subscriber(alert)
            except Exception:  # a subscriber's bug must not reach the code that published
                logger.exception("alert subscriber failed on %s", alert.event)
