"""Stream URLs and the media endpoints: signed expiring URLs, FLV in real time, live HLS.

URLs look like the CDN's: ``{base}/thirdgame/stream-<stream_id><suffix>.flv?expire=<hex unix
time>&sign=<hmac>&…`` and ``….m3u8``; HLS segments are ``stream-<id><suffix>/<seq>.ts`` with the
same query. ``sign`` covers the stream, the room's URL epoch and ``expire``: an expired URL, a
forged one, one issued before a ``url_expire`` fault, or an unknown stream answers 403; a stream
that has ended answers 404.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import hmac
import re
import time
import urllib.parse
from collections.abc import Mapping

import anyio

from dylived.sim.http import BodyWriter, HttpRequest, Reply, StreamingReply
from dylived.sim.media import (
    CLIP_MS,
    SEGMENT_MS,
    SEGMENTS_PER_CLIP,
    MediaLibrary,
    clip_payloads,
    flv_script_prelude,
    hls_playlist,
    segment_bytes,
    sequence_headers,
)
from dylived.sim.observe import MediaConnectionRecord, Observations
from dylived.sim.room import SimRoom
from dylived.sim.view import QUALITY_BY_SUFFIX, QUALITY_LADDER, StreamLinks


STREAM_PATH = re.compile(
    r"^/thirdgame/stream-(?P<stream>\d+)(?P<suffix>_[a-z0-9]+)"
    r"(?:\.(?P<ext>flv|m3u8)|/(?P<seq>\d+)\.ts)$"
)
HLS_WINDOW = 5
SEND_AHEAD = 0.05  # seconds of media sent before its time, to batch writes


class StreamService:
    """Issues stream URLs and serves them."""

    def __init__(
        self,
        *,
        base: str,
        secret: bytes,
        url_lifetime: float,
        media: MediaLibrary,
        observed: Observations,
        rooms_by_stream: Mapping[str, SimRoom],
    ) -> None:
        self.base = base
        self._secret = secret
        self.url_lifetime = url_lifetime
        self.media = media
        self.observed = observed
        self._rooms_by_stream = rooms_by_stream
        self._conn_ids = 0

    # ------------------------------------------------------------ URLs

    def _sign(self, stream: str, suffix: str, epoch: int, expire: str) -> str:
        message = f"{stream}{suffix}|{epoch}|{expire}".encode()
        return hmac.new(self._secret, message, hashlib.md5).hexdigest()

    def _query(self, room: SimRoom, suffix: str, expire: str) -> str:
        sign = self._sign(room.stream_id, suffix, room.url_epoch, expire)
        return urllib.parse.urlencode(
            {
                "arch_hrchy": "h1",
                "exp_hrchy": "h1",
                "expire": expire,
                "major_anchor_level": "common",
                "sign": sign,
                "t_id": room.session_id,
            }
        )

    def links(self, room: SimRoom) -> dict[str, StreamLinks]:
        expire = f"{int(time.time() + self.url_lifetime):x}"
        loop = room.media_ms() // CLIP_MS
        out = {}
        for quality in QUALITY_LADDER:
            name = f"stream-{room.stream_id}{quality.suffix}"
            query = self._query(room, quality.suffix, expire)
            width, height = room.size_for(quality.sdk_key, loop)
            out[quality.sdk_key] = StreamLinks(
                flv=f"{self.base}/thirdgame/{name}.flv?{query}",
                hls=f"{self.base}/thirdgame/{name}.m3u8?{query}",
                width=width,
                height=height,
            )
        if room.stream_url_override is not None:  # what a hostile or broken status could say
            url = room.stream_url_override
            out = {k: dataclasses.replace(v, flv=url, hls=url) for k, v in out.items()}
        return out

    def authorize(self, request: HttpRequest) -> tuple[SimRoom | None, str, int]:
        """(room, quality, status): status 0 when the URL is valid and the stream is on air."""
        match = STREAM_PATH.match(request.path)
        if match is None:
            return None, "", 404
        room = self._rooms_by_stream.get(match["stream"])
        quality = QUALITY_BY_SUFFIX.get(match["suffix"])
        if room is None or quality is None:
            return None, "", 403
        expire = request.query.get("expire", "")
        sign = request.query.get("sign", "")
        try:
            expired = int(expire, 16) <= time.time()
        except ValueError:
            return room, quality.sdk_key, 403
        good = self._sign(match["stream"], match["suffix"], room.url_epoch, expire)
        if expired or not hmac.compare_digest(good, sign):
            return room, quality.sdk_key, 403
        if not room.live or room.stream_id != match["stream"]:
            return room, quality.sdk_key, 404
        return room, quality.sdk_key, 0

    # ------------------------------------------------------------ serving

    def _record(self, room: SimRoom, kind: str, quality: str) -> MediaConnectionRecord:
        self._conn_ids += 1
        record = MediaConnectionRecord(self._conn_ids, room.web_rid, kind, quality, time.time())
        self.observed.media_connections.append(record)
        return record

    async def answer(self, request: HttpRequest) -> Reply | StreamingReply:
        room, quality, status = self.authorize(request)
        if status or room is None:
            return Reply(status or 404, b"", content_type="text/plain")
        match = STREAM_PATH.match(request.path)
        assert match is not None
        if match["ext"] == "flv":
            record = self._record(room, "flv", quality)
            return StreamingReply(
                200,
                lambda writer: self._flv(room, quality, writer, record),
                headers=(("Cache-Control", "no-cache"), ("Access-Control-Allow-Origin", "*")),
                content_type="video/x-flv",
            )
        await self._wait_stall(room)
        if match["ext"] == "m3u8":
            return self._playlist(room, quality, match["stream"] + match["suffix"], request)
        return await self._segment(room, quality, int(match["seq"]))

    async def _wait_stall(self, room: SimRoom) -> None:
        await anyio.sleep(room.stall_remaining())

    def _playlist(self, room: SimRoom, quality: str, name: str, request: HttpRequest) -> Reply:
        record = self._record(room, "hls_playlist", quality)
        latest = room.media_ms() // SEGMENT_MS - 1
        first = max(0, latest - HLS_WINDOW + 1)
        discontinuities = {
            seq
            for seq in range(first + 1, latest + 1)
            if room.size_for(quality, seq // SEGMENTS_PER_CLIP)
            != room.size_for(quality, (seq - 1) // SEGMENTS_PER_CLIP)
        }
        query = urllib.parse.urlencode(request.query)
        body = hls_playlist(
            latest=latest,
            window=HLS_WINDOW,
            segment_url=room.hls_segment_url or f"stream-{name}/{{seq}}.ts?{query}",
            discontinuities=discontinuities,
        ).encode()
        record.bytes_sent = len(body)
        record.closed_at = time.time()
        return Reply(200, body, content_type="application/vnd.apple.mpegurl")

    async def _segment(self, room: SimRoom, quality: str, seq: int) -> Reply:
        latest = room.media_ms() // SEGMENT_MS - 1
        if seq > latest or seq < latest - 4 * HLS_WINDOW:
            return Reply(404, b"", content_type="text/plain")
        record = self._record(room, "hls_segment", quality)
        loop = seq // SEGMENTS_PER_CLIP
        size = room.size_for(quality, loop)
        clip = await self.media.clip(*size)
        # continuity counters go on across a frame-size change (another clip, other counts)
        loops_of = collections.Counter(room.size_for(quality, n) for n in range(loop))
        sent: dict[int, int] = {}
        for earlier, loops in loops_of.items():
            for pid, total in clip_payloads(await self.media.clip(*earlier)).items():
                sent[pid] = sent.get(pid, 0) + loops * total
        body = segment_bytes(clip, seq, sent)
        record.frame_sizes.append(size)
        record.bytes_sent = len(body)
        record.closed_at = time.time()
        return Reply(200, body, content_type="video/mp2t")

    async def _flv(
        self, room: SimRoom, quality: str, writer: BodyWriter, record: MediaConnectionRecord
    ) -> None:
        stream_id = room.stream_id
        scope = anyio.CancelScope()
        room.media_scopes.add(scope)
        try:
            with scope:
                await self._play_flv(room, stream_id, quality, writer, record)
                record.close_reason = "stream_ended"
            if scope.cancelled_caught:
                record.close_reason = "stream_ended" if not room.live else "cut"
                if room.live:
                    writer.abort()
        finally:
            room.media_scopes.discard(scope)
            record.closed_at = time.time()
            record.bytes_sent = writer.bytes_sent

    async def _play_flv(
        self,
        room: SimRoom,
        stream_id: str,
        quality: str,
        writer: BodyWriter,
        record: MediaConnectionRecord,
    ) -> None:
        loop, clip_ms = divmod(room.media_ms(), CLIP_MS)
        size = room.size_for(quality, loop)
        clip = await self.media.clip(*size)
        record.frame_sizes.append(size)
        index = clip.keyframe_index_at(clip_ms)
        start_ts = loop * CLIP_MS + clip.flv_tags[index].ts
        await writer.write(flv_script_prelude(clip, start_ts, room.media_metadata))
        origin = room.media_origin()
        batch: list[bytes] = []
        while room.live and room.stream_id == stream_id:
            if index >= len(clip.flv_tags):
                loop, index = loop + 1, 0
                new_size = room.size_for(quality, loop)
                if new_size != size:
                    size = new_size
                    clip = await self.media.clip(*size)
                    record.frame_sizes.append(size)
                    batch.append(sequence_headers(clip, loop * CLIP_MS + clip.flv_tags[0].ts))
            tag = clip.flv_tags[index]
            ts = loop * CLIP_MS + tag.ts
            wait = origin + ts / 1000 - time.monotonic()
            if wait > SEND_AHEAD or room.stalled():
                if batch:
                    await writer.write(b"".join(batch))
                    batch.clear()
                await anyio.sleep(room.stall_remaining())
                await anyio.sleep(max(0.0, origin + ts / 1000 - time.monotonic()))
                continue
            batch.append(tag.retimed(ts))
            index += 1
        if batch:
            await writer.write(b"".join(batch))
