"""Streamed export of one session in the dataset.md format, its encoders, and the manifest.

:func:`session_rows` yields ``room_info`` first, then one row per stored event in arrival
order (fetched in pages, never all at once), then ``summary`` last (every dataset.md summary
field plus dylived's ``gaps``; counts equal the stored rows). :func:`encode_jsonl` and
:func:`encode_csv` turn rows into bytes. CSV has fixed columns (:data:`CSV_COLUMNS`): the
common fields flattened for spreadsheets, ``user_id`` and ``nickname`` taken from the row's
``user`` object (``nickname`` from ``broadcaster`` for ``room_info``), ``content`` where the
type has one, and a last ``data`` column holding the full row as JSON, so nothing is lost.
A CSV cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed
with ``'`` (OWASP's defence against formula injection: a chat line reading ``=HYPERLINK(...)``
stays text in a spreadsheet); numbers dylived wrote itself are left as they are, and the JSONL
export is never altered.
:func:`recordings_manifest` builds ``{"results": ..., "recordings": [...], "remuxed": [...]}``
(``remuxed``, dylived's addition: the MP4s made from the session, see ``RemuxRecord``).
:func:`session_subtitles` gathers a session's (or one segment's) events into the ASS or SRT
file of ``dylived.replay.subtitles``, sized to the segment's video. Reads only.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from pathlib import PurePath
from typing import Any, Literal

from dylived.errors import StoreError
from dylived.replay import subtitles
from dylived.store.db import (
    Database,
    RemuxRecord,
    SegmentRecord,
    SessionNotFound,
    SessionRecord,
)


ExportFormat = Literal["jsonl", "csv"]

CSV_COLUMNS: tuple[str, ...] = (
    "type",
    "msg_id",
    "room_id",
    "web_rid",
    "server_time_ms",
    "received_at_ms",
    "stream_offset_s",
    "user_id",
    "nickname",
    "content",
    "data",
)

MEDIA_TYPES: Mapping[ExportFormat, str] = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
}


def room_info_row(session: SessionRecord) -> dict[str, Any]:
    """The ``room_info`` row: the stored status-API row, completed from the session columns."""
    stored = dict(session.room_info or {})
    stored.pop("type", None)
    row: dict[str, Any] = {"type": "room_info", **stored}
    row.setdefault("room_id", session.room_id)
    row.setdefault("web_rid", session.web_rid)
    row.setdefault("title", session.title)
    row.setdefault("broadcaster", {"nickname": session.nickname})
    return row


async def session_rows(
    database: Database, session_id: int, *, page_size: int = 1000
) -> AsyncIterator[dict[str, Any]]:
    """Every row of one session's export, streamed.

    Raises:
        SessionNotFound: there is no such session.
    """
    session = await database.get_session(session_id)
    if session is None:
        raise SessionNotFound(session_id)
    yield room_info_row(session)
    after = 0
    while True:
        page = await database.events_after(session_id, after, limit=page_size)
        for event in page:
            yield dict(event.row)
        if len(page) < page_size:
            break
        after = page[-1].seq
    summary = await database.summary(session_id)
    assert summary is not None  # the session exists
    yield summary


async def encode_jsonl(rows: AsyncIterable[Mapping[str, Any]]) -> AsyncIterator[bytes]:
    """One compact UTF-8 JSON object per line."""
    async for row in rows:
        yield (json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """``cell`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)  # a number of ours (a negative offset is no formula)
    return neutralise(str(value))


def csv_record(row: Mapping[str, Any]) -> list[str]:
    """The CSV columns of one row (see :data:`CSV_COLUMNS`)."""
    user = row.get("user")
    if not isinstance(user, Mapping):
        user = row.get("broadcaster") if row.get("type") == "room_info" else None
    user = user if isinstance(user, Mapping) else {}
    flat = {
        "type": row.get("type"),
        "msg_id": row.get("msg_id"),
        "room_id": row.get("room_id"),
        "web_rid": row.get("web_rid"),
        "server_time_ms": row.get("server_time_ms"),
        "received_at_ms": row.get("received_at_ms"),
        "stream_offset_s": row.get("stream_offset_s"),
        "user_id": user.get("user_id"),
        "nickname": user.get("nickname"),
        "content": row.get("content"),
        "data": json.dumps(row, ensure_ascii=False, separators=(",", ":")),
    }
    return [_text(flat[name]) for name in CSV_COLUMNS]


async def encode_csv(rows: AsyncIterable[Mapping[str, Any]]) -> AsyncIterator[bytes]:
    """RFC 4180 CSV (CRLF line ends, UTF-8), a header line first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    async for row in rows:
        writer.writerow(csv_record(row))
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no rows at all: the header alone
        yield buffer.getvalue().encode()


async def export_session(
    database: Database, session_id: int, fmt: ExportFormat = "jsonl", *, page_size: int = 1000
) -> AsyncIterator[bytes]:
    """The encoded export of one session (``jsonl`` or ``csv``), streamed."""
    rows = session_rows(database, session_id, page_size=page_size)
    encoder = encode_jsonl if fmt == "jsonl" else encode_csv
    async for chunk in encoder(rows):
        yield chunk


def recordings_manifest(
    results: str, segments: Sequence[SegmentRecord], remuxes: Sequence[RemuxRecord] = ()
) -> dict[str, Any]:
    """``{"results": <export file or session ref>, "recordings": [...], "remuxed": [...]}``.

    ``recordings`` (dataset.md) lists the finished (``closed``) segments, in ``seq`` order;
    ``remuxed`` the complete MP4s (``key``, ``path``, ``part``, ``segments``, ``duration_s``,
    ``bytes``), empty unless ``recording.remux_mp4`` made some.
    """
    recordings = [
        {
            "key": PurePath(seg.path).name,
            "path": seg.path,
            "seq": seg.seq,
            "started_at_ms": seg.started_at_ms,
            "ended_at_ms": seg.ended_at_ms,
            "start_offset_s": seg.start_offset_s,
            "duration_s": seg.media_duration_s,
            "bytes": seg.bytes,
            "quality": seg.quality,
            "width": seg.width,
            "height": seg.height,
            "codec": seg.codec,
        }
        for seg in sorted(segments, key=lambda s: s.seq)
        if seg.state == "closed"
    ]
    remuxed = [
        {
            "key": PurePath(r.path).name,
            "path": r.path,
            "part": r.part,
            "segments": r.segments,
            "duration_s": r.duration_s,
            "bytes": r.bytes,
        }
        for r in sorted(remuxes, key=lambda r: r.part)
        if r.state == "done"
    ]
    return {"results": results, "recordings": recordings, "remuxed": remuxed}


async def session_manifest(
    database: Database, session_id: int, results: str | None = None
) -> dict[str, Any]:
    """The manifest of one stored session; ``results`` defaults to ``session:<id>``."""
    if await database.get_session(session_id) is None:
        raise SessionNotFound(session_id)
    segments = await database.segments(session_id)
    remuxes = await database.remuxes(session_id)
    return recordings_manifest(results or f"session:{session_id}", segments, remuxes)


class SegmentNotFound(StoreError, LookupError):
    """The session has no segment with that seq, or it has no start offset (404)."""


def subtitle_window(
    segments: Sequence[SegmentRecord], seq: int | None
) -> tuple[float, float | None, SegmentRecord | None]:
    """``(origin_s, until_s, segment)``: the whole session from 0, or segment ``seq``'s span."""
    if seq is None:
        return 0.0, None, next((s for s in segments if s.width and s.height), None)
    ordered = sorted(segments, key=lambda s: s.seq)
    index = next((i for i, s in enumerate(ordered) if s.seq == seq), None)
    if index is None or ordered[index].start_offset_s is None:
        raise SegmentNotFound(f"no segment {seq} with a start offset in this session")
    seg = ordered[index]
    start = seg.start_offset_s or 0.0
    later = [s.start_offset_s for s in ordered[index + 1 :] if s.start_offset_s is not None]
    if seg.media_duration_s is not None:
        return start, start + seg.media_duration_s, seg
    return start, (later[0] if later else None), seg


async def session_subtitles(
    database: Database,
    session_id: int,
    fmt: Literal["ass", "srt"],
    options: subtitles.SubtitleOptions,
    *,
    page_size: int = 1000,
) -> subtitles.SubtitleFile:
    """The subtitles of one session or segment (``options.segment``), built in memory from
    compact cues (one short line per shown event)."""
    session = await database.get_session(session_id)
    if session is None:
        raise SessionNotFound(session_id)
    origin, until, seg = subtitle_window(await database.segments(session_id), options.segment)
    return await window_subtitles(
        database, session, fmt, options, origin, until, seg, page_size=page_size
    )


async def window_subtitles(
    database: Database,
    session: SessionRecord,
    fmt: Literal["ass", "srt"],
    options: subtitles.SubtitleOptions,
    origin: float,
    until: float | None,
    seg: SegmentRecord | None,
    *,
    page_size: int = 1000,
) -> subtitles.SubtitleFile:
    """The subtitles of the events offset in ``[origin, until)``, timed from ``origin``, drawn
    at ``seg``'s frame size (1920×1080 without one): a session, a segment or a remuxed MP4."""
    session_id = session.id
    cues: list[subtitles.Cue] = []
    no_offset, after = 0, 0
    while True:
        page = await database.events_after(session_id, after, limit=page_size)
        got = subtitles.collect(
            ((e.seq, e.row) for e in page), options.include, origin_s=origin, until_s=until
        )
        cues += got.cues
        no_offset += got.no_offset
        if len(page) < page_size:
            break
        after = page[-1].seq
    if fmt == "srt":
        text = subtitles.render_srt(cues, cue_s=options.cue_s)
        return subtitles.SubtitleFile(text, len(cues), 0, no_offset)
    width, height = subtitles.DEFAULT_SIZE
    if seg is not None and seg.width and seg.height:
        width, height = seg.width, seg.height
    lay = subtitles.layout(
        cues,
        width,
        height,
        font_size=options.font_size,
        scroll_s=options.scroll_s,
        area=options.area,
    )
    title = f"{session.nickname or session.web_rid} session {session_id}"
    text = subtitles.render_ass(lay, font=options.font, no_offset=no_offset, title=title)
    return subtitles.SubtitleFile(text, len(lay.placed), lay.dropped, no_offset)
