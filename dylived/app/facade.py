"""The control API façade of the running daemon (``control.api.DaemonFacade``).

Owns what ``dylivectl`` sees and asks: the status snapshot (daemon, broadcasters, their
capture and recording blocks), the ``STATUS=`` line, the watchlist commands persisted in the
runtime overlay (add, remove, pause, resume), ``record start|stop``, reload (validate the whole
file, apply it as a diff or reject it), sessions, segments, events, export, health and metrics.
The JSON shapes are documented in ``control/api.py``; the component blocks and the recording's
current segment and rate are built by ``status_shapes.py``. The daemon (``app/daemon.py``, the
composition root) creates one ``Facade`` from the services it has started (writer, watchlist,
ffmpeg, its command queue); nothing here starts or stops a service. Must not import ``daemon``.

One lock (``_lock``) serialises every change of the running config: each read-modify-write
of the runtime overlay (add, remove, pause, resume) and each reload, so two concurrent
commands never lose one another's change. API reloads go through the daemon's command queue
(``app.commands.Commands``), like SIGHUP.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import anyio

from dylived import __version__
from dylived.app.commands import Commands
from dylived.app.notify import Notifier
from dylived.app.status_shapes import (
    IDENTITY_FIELDS,
    component_block,
    free_disk,
    is_recording,
    jsonable,
    platform_block,
    platform_metrics,
    recording_block,
)
from dylived.config.load import Config
from dylived.config.overlay import apply_overrides, load_overrides, save_overrides
from dylived.control.api import (
    BroadcasterMetrics,
    ConfigRejected,
    Conflict,
    ExportFormat,
    Forbidden,
    Invalid,
    JsonObject,
    MetricsSnapshot,
    NotFound,
    SubtitleFormat,
    Unavailable,
)
from dylived.errors import ConfigError, DylivedError
from dylived.model import WatchState
from dylived.replay import playlist as hls, timeline
from dylived.replay.subtitles import SubtitleFile, SubtitleOptions
from dylived.store.db import Database, SessionNotFound
from dylived.store.export import (
    SegmentNotFound,
    export_session,
    session_manifest,
    session_subtitles,
)
from dylived.store.totals import BroadcasterTotals
from dylived.store.writer import Writer
from dylived.watch.broadcaster import WatchStatistics
from dylived.watch.session import wall_ms
from dylived.watch.watchlist import Watchlist


logger = logging.getLogger(__name__)

WRITER_STALL = 15.0  # the writer loop must have turned within this many seconds


def needs_ffmpeg(config: Config) -> bool:
    """True when some enabled broadcaster records video (ffmpeg is probed at start)."""
    return any(b.record_video for b in config.broadcasters if b.enabled)


class Facade:
    """The running daemon as the control server sees it (implements ``DaemonFacade``).

    ``config`` is the running config (replaced by a reload). Built from started services:
    ``writer`` (open and running), ``watchlist`` (running), ``ffmpeg`` (None: this daemon
    has no usable ffmpeg) and ``commands`` (where API reloads are queued).
    """

    def __init__(
        self,
        config: Config,
        config_path: str,
        notifier: Notifier,
        *,
        writer: Writer,
        watchlist: Watchlist,
        ffmpeg: str | None,
        commands: Commands,
        started_at_ms: int,
        started_monotonic: float,
        alerts: Any = None,  # alerts.service.Alerts ([[notify]])
        hooks: Any = None,  # alerts.hooks.HookRunner ([hooks])
    ) -> None:
        self.config = config
        self.alerts = alerts
        self.hooks = hooks
        self.config_path = config_path
        self.notifier = notifier
        self.writer = writer
        self.watchlist = watchlist
        self.ffmpeg = ffmpeg
        self.commands = commands
        self.started_at_ms = started_at_ms
        self._started = started_monotonic
        # the overlay the daemon started with ([daemon] changes take effect after a restart)
        self._state_file = config.daemon.state_file
        self._lock = anyio.Lock()  # over every change of the running config (see the docstring)
        self._stopping = False
        self._last_status_line = ""
        self.web_url: str | None = None  # the web pages' address once listening ([web])

    # ------------------------------------------------------------------ the STATUS= line

    def publish_status(self, force: bool = False) -> None:
        counts = self._counts()
        line = (
            f"watching {counts['broadcasters'] - counts['paused']}, live {counts['live']}, "
            f"recording {counts['recording']}"
        )
        for platform, gate in self.watchlist.gate_statistics().items():
            if gate.breaker.state.value != "closed":
                line += f", {platform} paused (risk control, {gate.breaker.state.value})"
        if force or line != self._last_status_line:
            self._last_status_line = line
            self.notifier.status(line)

    # ------------------------------------------------------------------ reload

    async def reload(self) -> JsonObject:
        """``POST /v1/reload``: queued to the daemon's commands like SIGHUP; waits for it."""
        return await self.commands.reload("api")

    async def quiesce(self) -> None:
        """The daemon stops: wait for the config change in progress; refuse new ones."""
        async with self._lock:
            self._stopping = True

    async def apply_reload(self) -> JsonObject:
        """Re-read the config file; apply it as a diff or reject it whole (every problem).

        Called by the command queue's consumer, one reload at a time."""
        async with self._lock:
            self._refuse_when_stopping()
            self.notifier.reloading()
            try:
                try:
                    new = await anyio.to_thread.run_sync(self._load_with_overlay)
                except ConfigError as exc:
                    logger.error(
                        "reload rejected, keeping the running config: %d problem(s)",
                        len(exc.problems),
                    )
                    for problem in exc.problems:
                        logger.error("  %s", problem)
                    raise ConfigRejected(exc.problems) from exc
                result = await self._apply(new)
                logger.info(
                    "reloaded: added %s, removed %s, changed %s",
                    list(result["added"]) or "none",
                    list(result["removed"]) or "none",
                    list(result["changed"]) or "none",
                )
                return result
            finally:
                self.notifier.ready()
                self.publish_status()

    def _load_with_overlay(self) -> Config:
        """The config file with the running daemon's overlay laid over it (in a thread)."""
        base = _load_file_only(self.config_path)
        return apply_overrides(base, load_overrides(self._state_file), str(self._state_file))

    def _refuse_when_stopping(self) -> None:
        if self._stopping:
            raise Unavailable("the daemon is stopping")

    async def _apply(self, new: Config) -> JsonObject:
        """Apply ``new`` as a diff (call with ``_lock`` held)."""
        with anyio.CancelScope(shield=True):
            result = await self.watchlist.apply(new.poll, new.broadcasters)  # type: ignore[arg-type]
            for b in new.broadcasters:
                watch = self.watchlist.watches.get(b.key)
                if watch is None:
                    continue
                if b.paused and watch.machine.state is not WatchState.PAUSED:
                    await watch.pause()
                elif not b.paused and watch.machine.state is WatchState.PAUSED:
                    await watch.resume()
        if (new.daemon, new.control, new.web) != (
            self.config.daemon,
            self.config.control,
            self.config.web,
        ):
            logger.warning("changes to [daemon], [control] and [web] take effect after a restart")
        self.config = new
        return {
            "applied": True,
            "added": list(result.added),
            "removed": list(result.removed),
            "changed": list(result.changed),
        }

    # ------------------------------------------------------------------ overlay commands

    def _overlay(self) -> dict[str, Any]:
        data = load_overrides(self._state_file)
        return {k: list(data.get(k, [])) for k in ("added", "removed", "paused")}

    async def _save_and_apply(self, overlay: dict[str, Any]) -> Config:
        """Validate the overlay against the file's config, persist it, apply the result
        (call with ``_lock`` held, having read ``overlay`` under it)."""
        try:
            base = await anyio.to_thread.run_sync(_load_file_only, self.config_path)
            new = apply_overrides(base, overlay, str(self._state_file))
        except ConfigError as exc:  # the overlay, or the file edited since into a broken one
            raise Invalid(str(exc), details={"problems": list(exc.problems)}) from exc
        await anyio.to_thread.run_sync(save_overrides, self._state_file, overlay)
        await self._apply(new)
        return new

    def _watch_or_404(self, key: str) -> None:
        if self.config.broadcaster(key) is None:
            raise NotFound(f"no broadcaster {key!r}")

    async def add_broadcaster(
        self, target: str, name: str | None, overrides: Mapping[str, Any]
    ) -> JsonObject:
        entry: dict[str, Any] = {"target": target, **dict(overrides)}
        if name:
            entry["name"] = name
        try:
            probe = apply_overrides(replace(self.config, broadcasters=()), {"added": [entry]})
        except ConfigError as exc:
            raise Invalid(str(exc), details={"problems": list(exc.problems)}) from exc
        if not probe.broadcasters:
            raise Invalid("the broadcaster could not be parsed")
        key = probe.broadcasters[0].key
        async with self._lock:
            self._refuse_when_stopping()
            if self.config.broadcaster(key) is not None:
                raise Conflict(f"broadcaster {key!r} is already watched")
            if any(b.target_text == target for b in self.config.broadcasters):
                raise Conflict(f"target {target!r} is already watched")
            overlay = self._overlay()
            overlay["added"] = [a for a in overlay["added"] if a.get("name") != key] + [
                {**entry, "name": key}
            ]
            overlay["removed"] = [k for k in overlay["removed"] if k != key]
            await self._save_and_apply(overlay)
            return self._broadcaster_json(key)

    async def remove_broadcaster(self, broadcaster: str) -> JsonObject:
        async with self._lock:
            self._refuse_when_stopping()
            self._watch_or_404(broadcaster)
            overlay = self._overlay()
            overlay["added"] = [a for a in overlay["added"] if a.get("name") != broadcaster]
            if broadcaster not in overlay["removed"]:
                overlay["removed"].append(broadcaster)
            overlay["paused"] = [k for k in overlay["paused"] if k != broadcaster]
            await self._save_and_apply(overlay)
            return {"id": broadcaster, "removed": True}

    async def _set_paused(self, broadcaster: str, paused: bool) -> JsonObject:
        async with self._lock:
            self._refuse_when_stopping()
            self._watch_or_404(broadcaster)
            overlay = self._overlay()
            keys = [k for k in overlay["paused"] if k != broadcaster]
            overlay["paused"] = [*keys, broadcaster] if paused else keys
            await self._save_and_apply(overlay)
            return self._broadcaster_json(broadcaster)

    async def pause_broadcaster(self, broadcaster: str) -> JsonObject:
        return await self._set_paused(broadcaster, True)

    async def resume_broadcaster(self, broadcaster: str) -> JsonObject:
        return await self._set_paused(broadcaster, False)

    async def record(self, broadcaster: str, action: Literal["start", "stop"]) -> JsonObject:
        self._watch_or_404(broadcaster)
        if action == "start" and self.ffmpeg is None:
            raise Unavailable("this daemon has no usable ffmpeg: it cannot record video")
        watch = self.watchlist.watches.get(broadcaster)
        if watch is None or not watch.set_record_override(action == "start"):
            raise Conflict(f"{broadcaster!r} is not live")
        return self._broadcaster_json(broadcaster)

    # ------------------------------------------------------------------ reading

    def _counts(self) -> dict[str, int]:
        states = self.watchlist.state_counts()
        return {
            "broadcasters": states.total(),
            "live": states[WatchState.LIVE] + states[WatchState.GRACE],
            "recording": self.watchlist.recording_count(),
            "paused": states[WatchState.PAUSED],
        }

    def _broadcaster_json(self, key: str) -> JsonObject:
        b = self.config.broadcaster(key)
        if b is None:
            raise NotFound(f"no broadcaster {key!r}")
        watch = self.watchlist.watches.get(key)
        s = watch.statistics() if watch is not None else None
        live = s.last_live if s is not None and s.session_id is not None else None
        return {
            "id": key,
            "target": b.target_text,
            "platform": b.platform,
            "paused": b.paused,
            "enabled": b.enabled,
            "state": (s.state.value if s else ("paused" if b.paused else "offline")),
            "state_since_ms": s.state_since_ms if s else self.started_at_ms,
            "last_check_ms": s.last_check_ms if s else None,
            "last_check_result": s.last_check_result if s else None,
            "last_error": (
                {"message": s.last_error[0], "at_ms": s.last_error[1]}
                if s and s.last_error
                else None
            ),
            "breaker": self.watchlist.breaker_state(b.platform),
            "session_id": s.session_id if s else None,
            "title": live.title if live else "",
            "viewers": live.viewers if live else None,
            "capture": component_block(s, "capture"),
            "recording": recording_block(component_block(s, "recorder"), wall_ms()),
            "next_check_ms": self.watchlist.next_poll_ms(key),
            "options": jsonable({k: v for k, v in b.flat().items() if k not in IDENTITY_FIELDS}),
        }

    async def status(self) -> JsonObject:
        counts = self._counts()
        db_counts: dict[str, int] = {}
        db_bytes = 0
        try:
            async with Database.open(self.config.daemon.database) as db:
                db_counts = await db.counts()
                db_bytes = await db.database_size()
        except DylivedError as exc:
            logger.warning("status: database not readable: %s", exc)
        return {
            "daemon": {
                "version": __version__,
                "pid": os.getpid(),
                "started_at_ms": self.started_at_ms,
                "uptime_s": round(time.monotonic() - self._started, 3),
                "config_path": self.config_path,
                "free_disk_bytes": free_disk(self.config.daemon.recordings_dir),
                "database_bytes": db_bytes,
                "status_line": self._last_status_line,
                "web_url": self.web_url,
                "hooks": self.hooks.status() if self.hooks else None,
                # platforms refusing their configured login cookie (alerts/sources.py)
                "cookies": self.alerts.cookies.status() if self.alerts else {},
                "platforms": {
                    platform: platform_block(gate)
                    for platform, gate in self.watchlist.gate_statistics().items()
                },
                "counts": {
                    **counts,
                    "sessions": db_counts.get("sessions", 0),
                    "events": db_counts.get("events", 0),
                    "segments": db_counts.get("segments", 0),
                },
            },
            "broadcasters": [self._broadcaster_json(b.key) for b in self.config.broadcasters],
        }

    async def list_broadcasters(self) -> list[JsonObject]:
        return [self._broadcaster_json(b.key) for b in self.config.broadcasters]

    async def get_broadcaster(self, broadcaster: str) -> JsonObject:
        return self._broadcaster_json(broadcaster)

    async def list_sessions(
        self, broadcaster: str | None, *, active_only: bool, limit: int
    ) -> list[JsonObject]:
        if broadcaster is not None:
            self._watch_or_404(broadcaster)
        async with Database.open(self.config.daemon.database) as db:
            sessions = await db.list_sessions(broadcaster, limit=limit)
            out = []
            for s in sessions:
                if active_only and not s.is_open:
                    continue
                segments = await db.segments(s.id)
                row = s.to_json()
                row["segments"] = len(segments)
                row["recording_total_bytes"] = sum(seg.bytes or 0 for seg in segments)
                row["last_seq"] = s.total_events  # seq counts a session's stored events
                out.append(row)
        return out

    async def list_segments(self, session_id: int) -> list[JsonObject]:
        async with Database.open(self.config.daemon.database) as db:
            if await db.get_session(session_id) is None:
                raise NotFound(f"no session {session_id}")
            return [seg.to_json() for seg in await db.segments(session_id)]

    async def _require_session(self, session_id: int) -> None:
        async with Database.open(self.config.daemon.database) as db:
            if await db.get_session(session_id) is None:
                raise NotFound(f"no session {session_id}")

    async def events(
        self, session_id: int, *, after_seq: int, follow: bool
    ) -> AsyncIterator[JsonObject]:
        await self._require_session(session_id)
        return self._event_stream(session_id, after_seq, follow)

    async def _event_stream(
        self, session_id: int, after_seq: int, follow: bool
    ) -> AsyncIterator[JsonObject]:
        async with Database.open(self.config.daemon.database) as db:
            seq = after_seq
            while True:
                batch = await db.events_after(session_id, seq)
                for event in batch:
                    seq = event.seq
                    yield {**event.row, "seq": event.seq, "session_id": session_id}
                if batch:
                    continue
                session = await db.get_session(session_id)
                if not follow or session is None or not session.is_open:
                    return
                await anyio.sleep(0.5)

    async def export(self, session_id: int, fmt: ExportFormat) -> AsyncIterator[bytes]:
        await self._require_session(session_id)
        return self._export_stream(session_id, fmt)

    async def _export_stream(self, session_id: int, fmt: ExportFormat) -> AsyncIterator[bytes]:
        async with Database.open(self.config.daemon.database) as db:
            if fmt == "manifest":
                manifest = await session_manifest(db, session_id)
                yield json.dumps(manifest, ensure_ascii=False).encode() + b"\n"
                return
            async for chunk in export_session(db, session_id, fmt):
                yield chunk

    async def subtitles(
        self, session_id: int, fmt: SubtitleFormat, options: SubtitleOptions
    ) -> SubtitleFile:
        async with Database.open(self.config.daemon.database) as db:
            try:
                return await session_subtitles(db, session_id, fmt, options)
            except (SessionNotFound, SegmentNotFound) as exc:
                raise NotFound(str(exc)) from exc

    async def playlist(self, session_id: int) -> str:
        async with Database.open(self.config.daemon.database) as db:
            session = await db.get_session(session_id)
            if session is None:
                raise NotFound(f"no session {session_id}")
            segments = [
                hls.PlaylistSegment(
                    s.session_id, s.seq, s.path, s.state, s.media_duration_s, s.started_at_ms
                )
                for s in await db.segments(session_id)
            ]
        return hls.render(segments, ended=not session.is_open)

    async def events_window(
        self, session_id: int, from_s: float, to_s: float, include: frozenset[str]
    ) -> JsonObject:
        async with Database.open(self.config.daemon.database) as db:
            if await db.get_session(session_id) is None:
                raise NotFound(f"no session {session_id}")
            types = timeline.types_of(include)
            limit = timeline.WINDOW_LIMIT
            rows = await db.events_between(session_id, from_s, to_s, types, limit=limit + 1)
        lines = timeline.window((e.seq, e.row) for e in rows[:limit])
        return {"from_s": from_s, "to_s": to_s, "events": lines, "truncated": len(rows) > limit}

    async def chart(self, session_id: int) -> JsonObject:
        async with Database.open(self.config.daemon.database) as db:
            session = await db.get_session(session_id)
            if session is None:
                raise NotFound(f"no session {session_id}")
            segments = await db.segments(session_id)
            histogram = await db.offset_histogram(session_id, timeline.BUCKET_S)
        duration = sum(s.media_duration_s or 0.0 for s in segments if s.state == "closed")
        return {
            "session": session.to_json(),
            "live": session.is_open,
            "duration_s": round(duration, 3),
            "bucket_s": timeline.BUCKET_S,
            "buckets": timeline.chart(histogram, duration),
        }

    async def segment_file(self, session_id: int, seq: int) -> Path:
        async with Database.open(self.config.daemon.database) as db:
            row = next((s for s in await db.segments(session_id) if s.seq == seq), None)
        if row is None or row.state == "deleted":
            raise NotFound(f"no segment {session_id}-{seq}")
        real = hls.confine(self.config.daemon.recordings_dir, row.path)
        if real is None:
            logger.warning(
                "control: refused segment %s-%s: its path %r is outside %s",
                session_id,
                seq,
                row.path,
                self.config.daemon.recordings_dir,
            )
            raise Forbidden(f"segment {session_id}-{seq} is outside the recordings directory")
        if not real.is_file():
            raise NotFound(f"segment {session_id}-{seq} is not on disk")
        return real

    async def health(self) -> JsonObject:
        checks = []
        w = self.writer.statistics()
        age = time.monotonic() - w.last_loop_monotonic
        ok = age < WRITER_STALL and not w.disk_full
        checks.append({"name": "store_writer", "ok": ok, "detail": f"loop {age:.1f} s ago"})
        checks.append(
            {
                "name": "scheduler",
                "ok": True,
                "detail": f"{len(self.watchlist.watches)} watches",
            }
        )
        free = free_disk(self.config.daemon.recordings_dir)
        checks.append(
            {
                "name": "free_disk",
                "ok": free >= self.config.recording.min_free,
                "detail": f"{free} bytes free",
            }
        )
        checks.append(
            {
                "name": "ffmpeg",
                "ok": self.ffmpeg is not None or not needs_ffmpeg(self.config),
                "detail": self.ffmpeg or "not needed",
            }
        )
        return {"ok": all(c["ok"] for c in checks), "checks": checks}

    async def metrics(self) -> MetricsSnapshot:
        db_bytes, totals = 0, dict[str, BroadcasterTotals]()
        try:
            async with Database.open(self.config.daemon.database) as db:
                db_bytes = await db.database_size()
                totals = dict(await db.broadcaster_totals())
        except DylivedError as exc:
            logger.warning("metrics: cannot read the database: %s", exc)
        store = self.writer.statistics() if self.writer is not None else None
        return MetricsSnapshot(
            version=__version__,
            uptime_s=time.monotonic() - self._started,
            free_disk_bytes=free_disk(self.config.daemon.recordings_dir),
            database_bytes=db_bytes,
            store_rows_rejected=store.rows_rejected if store else 0,
            store_values_out_of_range=store.values_out_of_range if store else 0,
            store_rows_truncated=store.rows_truncated if store else 0,
            notifications=dict(self.alerts.dispatcher.counts) if self.alerts else {},
            hook_runs=dict(self.hooks.counts) if self.hooks else {},
            hooks_running=self.hooks.running if self.hooks else 0,
            tasks=len(asyncio.all_tasks()),  # the daemon runs anyio on its asyncio backend
            threads=threading.active_count(),
            broadcasters=[
                self._broadcaster_metrics(
                    key, watch.options.platform, watch.statistics(), totals.get(key)
                )
                for key, watch in self.watchlist.watches.items()
            ],
            platforms=[platform_metrics(g) for g in self.watchlist.gate_statistics().values()],
        )

    def _broadcaster_metrics(
        self, key: str, platform: str, s: WatchStatistics, stored: BroadcasterTotals | None
    ) -> BroadcasterMetrics:
        stored = stored or BroadcasterTotals()
        return BroadcasterMetrics(
            broadcaster=key,
            platform=platform,
            live=s.state in (WatchState.LIVE, WatchState.GRACE),
            recording=is_recording(s),
            events_by_type=stored.events_by_type,
            segments=stored.segments,
            recorded_bytes=stored.recorded_bytes,
            reconnects=stored.reconnects,
            poll_errors=s.errors,
            breaker=self.watchlist.breaker_state(platform),  # type: ignore[arg-type]
        )

    async def notify_test(self, url: str | None) -> JsonObject:
        """``POST /v1/notify/test``: a test message to ``url`` or every [[notify]] target."""
        if self.alerts is None:
            raise Unavailable("notifications are not running")
        return {"results": await self.alerts.send_test(url)}


# ---------------------------------------------------------------------- helpers


def _load_file_only(path: str) -> Config:
    from dylived.config.load import load_config

    return load_config(path)
