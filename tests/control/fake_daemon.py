"""A minimal in-memory stand-in for the daemon's side of ``DaemonFacade``, for server tests.

Used only by the control server's robustness tests (``test_server.py``: framing, limits,
timeouts, streaming, errors) and the ``bench/ctl.py`` control-path benchmark. Its payloads are
opaque placeholders, not the daemon's shapes: nothing that renders or checks a status,
broadcaster, session or segment shape may use it (``test_ctl_real.py`` renders the real
daemon's).

Run it standalone (for the ``bench/ctl.py`` benchmark and manual tries)::

    python -m tests.control.fake_daemon SOCKET [--broadcasters N]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Literal

import anyio

from dylived import __version__
from dylived.control.api import (
    BroadcasterMetrics,
    ConfigRejected,
    Conflict,
    ExportFormat,
    JsonObject,
    MetricsSnapshot,
    NotFound,
    SubtitleFormat,
)
from dylived.control.server import ControlSettings, serve
from dylived.replay import subtitles, timeline
from dylived.replay.subtitles import SubtitleFile, SubtitleOptions


NOW_MS = int(time.time() * 1000)


def make_broadcaster(name: str, *, live: bool) -> JsonObject:
    """An opaque stand-in: only what the server tests look at (id, state, paused)."""
    return {
        "id": name,
        "state": "live" if live else "offline",
        "paused": False,
        "session_id": 1 if live else None,
    }


class FakeDaemon:
    """In-memory broadcasters, one session per live broadcaster, events appended by tests."""

    def __init__(self, broadcaster_count: int = 2, *, reload_problems: list[str] | None = None):
        names = [
            "alice",
            "bob",
            *(f"streamer{i:04d}" for i in range(max(0, broadcaster_count - 2))),
        ]
        self.broadcasters: dict[str, JsonObject] = {
            n: make_broadcaster(n, live=(n == "alice")) for n in names[:broadcaster_count]
        }
        self.sessions: dict[int, JsonObject] = {}
        self.events_by_session: dict[int, list[JsonObject]] = {}
        self.reload_problems = reload_problems or []
        self._changed = anyio.Event()
        if "alice" in self.broadcasters:
            self.sessions[1] = {"id": 1, "broadcaster": "alice", "ended_at_ms": None, "last_seq": 0}
            self.events_by_session[1] = []
            self.add_event(1, {"type": "chat", "user": {"nickname": "小明"}, "content": "你好"})

    # -- what tests drive ------------------------------------------------------------------
    def add_event(self, session_id: int, row: Mapping[str, Any]) -> None:
        events = self.events_by_session[session_id]
        seq = len(events) + 1
        events.append({**row, "seq": seq, "session_id": session_id, "received_at_ms": NOW_MS})
        self.sessions[session_id]["last_seq"] = seq
        self._wake()

    def end_session(self, session_id: int) -> None:
        self.sessions[session_id]["ended_at_ms"] = int(time.time() * 1000)
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def _get(self, broadcaster: str) -> JsonObject:
        try:
            return self.broadcasters[broadcaster]
        except KeyError:
            raise NotFound(f"no broadcaster {broadcaster!r}") from None

    def _session(self, session_id: int) -> JsonObject:
        try:
            return self.sessions[session_id]
        except KeyError:
            raise NotFound(f"no session {session_id}") from None

    # -- DaemonFacade ----------------------------------------------------------------------
    async def status(self) -> JsonObject:
        bs = list(self.broadcasters.values())
        return {"daemon": {"counts": {"broadcasters": len(bs)}}, "broadcasters": bs}

    async def list_broadcasters(self) -> list[JsonObject]:
        return list(self.broadcasters.values())

    async def get_broadcaster(self, broadcaster: str) -> JsonObject:
        return self._get(broadcaster)

    async def add_broadcaster(
        self, target: str, name: str | None, overrides: Mapping[str, Any]
    ) -> JsonObject:
        name = name or target.rstrip("/").rsplit("/", 1)[-1]
        if name in self.broadcasters:
            raise Conflict(f"broadcaster {name!r} is already watched")
        b = make_broadcaster(name, live=False)
        b["target"] = target
        b["options"] = dict(overrides)
        self.broadcasters[name] = b
        return b

    async def remove_broadcaster(self, broadcaster: str) -> JsonObject:
        self._get(broadcaster)
        del self.broadcasters[broadcaster]
        return {"id": broadcaster, "removed": True}

    async def pause_broadcaster(self, broadcaster: str) -> JsonObject:
        b = self._get(broadcaster)
        b.update(paused=True, state="paused")
        return b

    async def resume_broadcaster(self, broadcaster: str) -> JsonObject:
        b = self._get(broadcaster)
        b.update(paused=False, state="offline")
        return b

    async def record(self, broadcaster: str, action: Literal["start", "stop"]) -> JsonObject:
        b = self._get(broadcaster)
        if b["state"] != "live":
            raise Conflict(f"{broadcaster} is not live")
        b["recording"] = action == "start"
        return b

    async def reload(self) -> JsonObject:
        if self.reload_problems:
            raise ConfigRejected(self.reload_problems)
        return {"applied": True, "added": [], "removed": [], "changed": ["alice"]}

    async def list_sessions(
        self, broadcaster: str | None, *, active_only: bool, limit: int
    ) -> list[JsonObject]:
        if broadcaster is not None:
            self._get(broadcaster)
        found = [
            s
            for s in self.sessions.values()
            if (broadcaster is None or s["broadcaster"] == broadcaster)
            and (not active_only or s["ended_at_ms"] is None)
        ]
        return sorted(found, key=lambda s: -int(s["id"]))[:limit]

    async def list_segments(self, session_id: int) -> list[JsonObject]:
        self._session(session_id)
        return [{"seq": 1}]

    async def events(
        self, session_id: int, *, after_seq: int, follow: bool
    ) -> AsyncIterator[JsonObject]:
        self._session(session_id)
        return self._events(session_id, after_seq, follow)

    async def _events(
        self, session_id: int, after_seq: int, follow: bool
    ) -> AsyncIterator[JsonObject]:
        position = after_seq
        while True:
            events = self.events_by_session[session_id]
            while position < len(events):
                position += 1
                yield events[position - 1]
            if not follow or self.sessions[session_id]["ended_at_ms"] is not None:
                return
            await self._changed.wait()

    async def export(self, session_id: int, fmt: ExportFormat) -> AsyncIterator[bytes]:
        session = self._session(session_id)
        return self._export(session, fmt)

    async def subtitles(
        self, session_id: int, fmt: SubtitleFormat, options: SubtitleOptions
    ) -> SubtitleFile:
        events = self.events_by_session[self._session(session_id)["id"]]
        got = subtitles.collect(((e["seq"], e) for e in events), options.include)
        text = subtitles.render_srt(got.cues)
        return SubtitleFile(text, len(got.cues), 0, got.no_offset)

    async def playlist(self, session_id: int) -> str:
        self._session(session_id)
        return "#EXTM3U\n"

    async def events_window(
        self, session_id: int, from_s: float, to_s: float, include: frozenset[str]
    ) -> JsonObject:
        events = self.events_by_session[self._session(session_id)["id"]]
        types = timeline.types_of(include)
        inside = [
            (e["seq"], e)
            for e in events
            if e["type"] in types and from_s <= (e.get("stream_offset_s") or -1) < to_s
        ]
        return {"from_s": from_s, "to_s": to_s, "events": timeline.window(inside)}

    async def chart(self, session_id: int) -> JsonObject:
        return {"session": self._session(session_id), "buckets": timeline.chart([], 0.0)}

    async def segment_file(self, session_id: int, seq: int) -> Path:
        raise NotFound(f"no segment {session_id}-{seq} (the fake daemon has no files)")

    async def _export(self, session: JsonObject, fmt: ExportFormat) -> AsyncIterator[bytes]:
        events = self.events_by_session[session["id"]]
        rows = [
            {"type": "room_info"},
            *events,
            {"type": "summary", "total_events": len(events)},
        ]
        for row in rows:
            if fmt == "csv":
                yield f"{row['type']},{row.get('room_id', '')}\n".encode()
            else:
                yield json.dumps(row, ensure_ascii=False).encode() + b"\n"

    async def health(self) -> JsonObject:
        return {
            "ok": True,
            "checks": [
                {"name": "store", "ok": True, "detail": "writer committed 0.3s ago"},
                {"name": "disk", "ok": True, "detail": "123 GiB free"},
            ],
        }

    async def metrics(self) -> MetricsSnapshot:
        return MetricsSnapshot(
            version=__version__,
            uptime_s=7200.5,
            free_disk_bytes=123 * 1024**3,
            database_bytes=42 * 1024**2,
            broadcasters=[
                BroadcasterMetrics(
                    broadcaster=b["id"],
                    live=b["state"] == "live",
                    recording=bool(b.get("recording")),
                    events_by_type={"chat": 10, "gift": 2} if b["state"] == "live" else {},
                    segments=3,
                    recorded_bytes=1000,
                    reconnects=1,
                    poll_errors=0,
                    breaker="closed",
                )
                for b in self.broadcasters.values()
            ],
        )

    async def notify_test(self, url: str | None) -> JsonObject:
        return {"results": []}


async def _main(socket_path: Path, broadcasters: int) -> None:
    settings = ControlSettings(socket_path=socket_path)
    await serve(FakeDaemon(broadcasters), settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("socket", type=Path)
    parser.add_argument("--broadcasters", type=int, default=2)
    args = parser.parse_args()
    anyio.run(_main, args.socket, args.broadcasters)


if __name__ == "__main__":
    main()
