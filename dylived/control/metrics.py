"""Render a ``MetricsSnapshot`` in the Prometheus text exposition format, version 0.0.4.

Pure: a snapshot in, ``str`` out. The daemon supplies the numbers (``DaemonFacade.metrics``);
this module owns the metric names, types, help texts and label escaping. Imports nothing
that does I/O.

Format reference: https://prometheus.io/docs/instrumenting/exposition_formats/ (text 0.0.4:
``# HELP``/``# TYPE`` once per family, label values escape backslash, double quote and
newline; help texts escape backslash and newline).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from dylived.control.api import MetricsSnapshot


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BREAKER_STATES = ("closed", "open", "half_open")


def escape_label_value(value: str) -> str:
    """Escape a label value: ``\\`` → ``\\\\``, ``"`` → ``\\"``, newline → ``\\n``."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value as Prometheus writes it (integers without a fraction, +Inf, NaN)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels.items())
    return "{" + inner + "}"


class _Family:
    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.name = name
        self.kind = kind
        self.help_text = help_text
        self.samples: list[tuple[Mapping[str, str], float]] = []

    def add(self, value: float, **labels: str) -> None:
        self.samples.append((labels, value))

    def lines(self) -> Iterable[str]:
        help_text = self.help_text.replace("\\", "\\\\").replace("\n", "\\n")
        yield f"# HELP {self.name} {help_text}"
        yield f"# TYPE {self.name} {self.kind}"
        for labels, value in self.samples:
            yield f"{self.name}{_labels(labels)} {format_value(value)}"


def render(snapshot: MetricsSnapshot) -> str:
    """The whole ``/metrics`` body for one snapshot (ends with a newline)."""
    info = _Family("dylived_build_info", "gauge", "Always 1; the version is a label.")
    info.add(1, version=snapshot.version)
    uptime = _Family("dylived_uptime_seconds", "gauge", "Seconds since the daemon started.")
    uptime.add(snapshot.uptime_s)
    disk = _Family("dylived_free_disk_bytes", "gauge", "Free bytes on the recordings file system.")
    disk.add(snapshot.free_disk_bytes)
    db = _Family("dylived_database_bytes", "gauge", "Size of the SQLite database (with WAL).")
    db.add(snapshot.database_bytes)
    rejected = _Family(
        "dylived_store_rows_rejected_total",
        "counter",
        "Event rows SQLite refused on their own (the rest of their batch was stored).",
    )
    rejected.add(snapshot.store_rows_rejected)
    unfit = _Family(
        "dylived_store_values_out_of_range_total",
        "counter",
        "Integers beyond SQLite's 64 bits, stored as NULL (exact in the event's JSON).",
    )
    unfit.add(snapshot.store_values_out_of_range)
    truncated = _Family(
        "dylived_store_rows_truncated_total",
        "counter",
        "Event rows stored with a text field cut at the cap (4,096 characters).",
    )
    truncated.add(snapshot.store_rows_truncated)

    live = _Family("dylived_broadcaster_live", "gauge", "1 while the broadcaster is live.")
    recording = _Family("dylived_broadcaster_recording", "gauge", "1 while ffmpeg records.")
    events = _Family("dylived_events_total", "counter", "Live events stored, by type.")
    segments = _Family("dylived_segments_total", "counter", "Recording segments closed.")
    recorded = _Family(
        "dylived_recorded_bytes_total", "counter", "Bytes of closed recording segments."
    )
    reconnects = _Family(
        "dylived_reconnects_total", "counter", "Event-stream reconnects after a failure."
    )
    poll_errors = _Family("dylived_poll_errors_total", "counter", "Failed live-status polls.")
    breaker = _Family(
        "dylived_breaker_state",
        "gauge",
        "Circuit breaker of the broadcaster's platform: 1 for the current state.",
    )
    for b in sorted(snapshot.broadcasters, key=lambda m: m.broadcaster):
        name = b.broadcaster
        live.add(b.live, broadcaster=name)
        recording.add(b.recording, broadcaster=name)
        for event_type, count in sorted(b.events_by_type.items()):
            events.add(count, broadcaster=name, type=event_type)
        segments.add(b.segments, broadcaster=name)
        recorded.add(b.recorded_bytes, broadcaster=name)
        reconnects.add(b.reconnects, broadcaster=name)
        poll_errors.add(b.poll_errors, broadcaster=name)
        for state in BREAKER_STATES:
            breaker.add(b.breaker == state, broadcaster=name, platform=b.platform, state=state)

    notified = _Family(
        "dylived_notifications_total",
        "counter",
        "Notifications by event and result (sent, failed after its retries, dropped: queue full).",
    )
    for (event, result), count in sorted(snapshot.notifications.items()):
        notified.add(count, event=event, result=result)
    hook_runs = _Family(
        "dylived_hook_runs_total",
        "counter",
        "[hooks] runs by hook and result (done, failed, timeout: killed, skipped: none set).",
    )
    for (hook, result), count in sorted(snapshot.hook_runs.items()):
        hook_runs.add(count, hook=hook, result=result)
    hooks_running = _Family("dylived_hooks_running", "gauge", "[hooks] commands running now.")
    hooks_running.add(snapshot.hooks_running)
    tasks = _Family("dylived_tasks", "gauge", "Event-loop tasks alive in the daemon.")
    tasks.add(snapshot.tasks)
    threads = _Family("dylived_threads", "gauge", "Python threads alive in the daemon.")
    threads.add(snapshot.threads)

    families = (
        info,
        uptime,
        disk,
        db,
        rejected,
        unfit,
        truncated,
        live,
        recording,
        events,
        segments,
        recorded,
        reconnects,
        poll_errors,
        breaker,
        notified,
        hook_runs,
        hooks_running,
        tasks,
        threads,
        *_platform_families(snapshot),
    )
    return "".join(line + "\n" for family in families for line in family.lines())


def _platform_families(snapshot: MetricsSnapshot) -> tuple[_Family, ...]:
    """Each platform's gate: its breaker, the requests it let through, its risk signals."""
    state = _Family(
        "dylived_platform_breaker_state",
        "gauge",
        "Circuit breaker of the platform's status requests: 1 for the current state.",
    )
    opened = _Family(
        "dylived_breaker_opened_total", "counter", "Times the platform's breaker opened."
    )
    in_flight = _Family(
        "dylived_poll_requests_in_flight", "gauge", "Status requests to the platform in flight."
    )
    requests = _Family(
        "dylived_poll_requests_total", "counter", "Status requests made to the platform."
    )
    risk = _Family(
        "dylived_risk_signals_total",
        "counter",
        "Risk-control answers (empty 200, 403/412, 429) from the platform.",
    )
    for p in sorted(snapshot.platforms, key=lambda m: m.platform):
        for value in BREAKER_STATES:
            state.add(p.breaker == value, platform=p.platform, state=value)
        opened.add(p.breaker_opened, platform=p.platform)
        in_flight.add(p.in_flight, platform=p.platform)
        requests.add(p.requests, platform=p.platform)
        risk.add(p.risk_signals, platform=p.platform)
    return state, opened, in_flight, requests, risk
