"""Live media that costs almost nothing: one short clip per frame size, served in a loop.

Each frame size is encoded once with ffmpeg (lavfi ``testsrc2`` moving pattern + a 440 Hz beep,
H.264 + AAC, 25 fps, a keyframe every 2 s, ``CLIP_MS`` long) into FLV, then remuxed (``-c copy``)
into mpegts segments of 2 s. Clips are cached on disk by their parameters, so only the first
run pays. Serving is pure byte surgery, no encoder per viewer:

- FLV: the clip's tags are re-timed on the fly (``loop * CLIP_MS + ts``) so timestamps keep
  increasing across loops; a new viewer starts at the latest keyframe (a GOP burst, like a CDN).
- HLS: segment ``n`` is clip segment ``n % K`` with its PTS/DTS/PCR moved by ``n // K`` loops and
  its continuity counters continued, so ``ffmpeg -c copy`` reads a clean continuous stream; the
  live playlist slides with wall time and marks ``#EXT-X-DISCONTINUITY`` only where the frame size
  changes.

The audio is trimmed a little shorter than the video so a loop never overlaps the next one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread


CLIP_MS = 4000
SEGMENT_MS = 2000
SEGMENTS_PER_CLIP = CLIP_MS // SEGMENT_MS
TS_PACKET = 188
PTS_WRAP = 1 << 33
ENCODER_VERSION = "1"  # bump to invalidate cached clips


@dataclass(frozen=True, slots=True)
class FlvTag:
    ts: int  # milliseconds, as in the clip
    kind: int  # 8 audio, 9 video, 18 script
    keyframe: bool
    raw: bytes  # 11-byte header + data + 4-byte PreviousTagSize

    def retimed(self, ts: int) -> bytes:
        ts &= 0xFFFFFFFF
        return b"".join(
            (
                self.raw[:4],
                (ts & 0xFFFFFF).to_bytes(3, "big"),
                bytes((ts >> 24,)),
                self.raw[8:],
            )
        )


@dataclass(frozen=True, slots=True)
class Clip:
    """One frame size, ready to serve."""

    width: int
    height: int
    flv_prelude: tuple[FlvTag, ...]  # onMetaData + AVC and AAC sequence headers
    flv_tags: tuple[FlvTag, ...]  # media tags in order
    ts_segments: tuple[bytes, ...]
    ts_cc_counts: tuple[dict[int, int], ...]  # per segment: pid -> packets carrying payload

    def keyframe_index_at(self, clip_ms: int) -> int:
        """Index of the last video keyframe at or before ``clip_ms`` (0 if none)."""
        best = 0
        for index, tag in enumerate(self.flv_tags):
            if tag.ts > clip_ms:
                break
            if tag.kind == 9 and tag.keyframe:
                best = index
        return best


FLV_FILE_HEADER = b"FLV\x01\x05\x00\x00\x00\x09" + b"\x00\x00\x00\x00"


def parse_flv(data: bytes) -> tuple[tuple[FlvTag, ...], tuple[FlvTag, ...]]:
    """Split an FLV file into (prelude, media tags)."""
    if data[:3] != b"FLV":
        raise ValueError("not an FLV file")
    offset = int.from_bytes(data[5:9], "big") + 4
    prelude: list[FlvTag] = []
    tags: list[FlvTag] = []
    while offset + 11 <= len(data):
        kind = data[offset] & 0x1F
        size = int.from_bytes(data[offset + 1 : offset + 4], "big")
        ts = int.from_bytes(data[offset + 4 : offset + 7], "big") | (data[offset + 7] << 24)
        end = offset + 11 + size + 4
        raw = data[offset:end]
        body = data[offset + 11 : offset + 11 + size]
        is_header = (kind == 9 and len(body) > 1 and body[1] == 0) or (
            kind == 8 and len(body) > 1 and (body[0] >> 4) == 10 and body[1] == 0
        )
        keyframe = kind == 9 and bool(body) and (body[0] >> 4) == 1
        tag = FlvTag(ts, kind, keyframe, raw)
        if kind == 18 or is_header:
            prelude.append(tag)
        else:
            tags.append(tag)
        offset = end
    return tuple(prelude), tuple(tags)


# ---------------------------------------------------------------- mpegts


def _read_timestamp(b: bytes | bytearray, i: int) -> int:
    return (
        ((b[i] >> 1) & 0x07) << 30
        | b[i + 1] << 22
        | (b[i + 2] >> 1) << 15
        | b[i + 3] << 7
        | b[i + 4] >> 1
    )


def _write_timestamp(b: bytearray, i: int, value: int) -> None:
    value %= PTS_WRAP
    prefix = b[i] & 0xF0
    b[i] = prefix | ((value >> 29) & 0x0E) | 1
    b[i + 1] = (value >> 22) & 0xFF
    b[i + 2] = ((value >> 14) & 0xFE) | 1
    b[i + 3] = (value >> 7) & 0xFF
    b[i + 4] = ((value << 1) & 0xFE) | 1


def count_ts_payloads(segment: bytes) -> dict[int, int]:
    counts: dict[int, int] = {}
    for offset in range(0, len(segment) - TS_PACKET + 1, TS_PACKET):
        pid = ((segment[offset + 1] & 0x1F) << 8) | segment[offset + 2]
        if segment[offset + 3] & 0x10:
            counts[pid] = counts.get(pid, 0) + 1
    return counts


def rewrite_ts(segment: bytes, offset_90k: int, cc_start: dict[int, int]) -> bytes:
    """``segment`` with every PTS/DTS/PCR moved by ``offset_90k`` and CCs continued."""
    out = bytearray(segment)
    counters = dict(cc_start)
    for base in range(0, len(out) - TS_PACKET + 1, TS_PACKET):
        if out[base] != 0x47:
            raise ValueError("lost mpegts sync")
        pid = ((out[base + 1] & 0x1F) << 8) | out[base + 2]
        afc = (out[base + 3] >> 4) & 0x03
        if afc & 0x01:
            cc = counters.get(pid, 0)
            out[base + 3] = (out[base + 3] & 0xF0) | (cc & 0x0F)
            counters[pid] = (cc + 1) & 0x0F
        payload = base + 4
        if afc & 0x02:
            length = out[base + 4]
            if length and out[base + 5] & 0x10:  # PCR
                pcr = base + 6
                pcr_base = (
                    out[pcr] << 25
                    | out[pcr + 1] << 17
                    | out[pcr + 2] << 9
                    | out[pcr + 3] << 1
                    | out[pcr + 4] >> 7
                )
                pcr_base = (pcr_base + offset_90k) % PTS_WRAP
                out[pcr] = (pcr_base >> 25) & 0xFF
                out[pcr + 1] = (pcr_base >> 17) & 0xFF
                out[pcr + 2] = (pcr_base >> 9) & 0xFF
                out[pcr + 3] = (pcr_base >> 1) & 0xFF
                out[pcr + 4] = ((pcr_base & 1) << 7) | (out[pcr + 4] & 0x7F)
            payload = base + 5 + length
        pusi = out[base + 1] & 0x40
        if (
            pusi
            and afc & 0x01
            and payload + 14 <= base + TS_PACKET
            and out[payload : payload + 3] == b"\x00\x00\x01"
        ):
            flags = out[payload + 7] >> 6
            if flags & 0x02:
                pts = _read_timestamp(out, payload + 9)
                _write_timestamp(out, payload + 9, pts + offset_90k)
                if flags == 0x03 and payload + 19 <= base + TS_PACKET:
                    dts = _read_timestamp(out, payload + 14)
                    _write_timestamp(out, payload + 14, dts + offset_90k)
    return bytes(out)


def clip_payloads(clip: Clip) -> dict[int, int]:
    """Per pid, the TS packets carrying payload in one whole loop of ``clip``."""
    totals: dict[int, int] = {}
    for counts in clip.ts_cc_counts:
        for pid, n in counts.items():
            totals[pid] = totals.get(pid, 0) + n
    return totals


def segment_bytes(clip: Clip, sequence: int, sent: dict[int, int] | None = None) -> bytes:
    """Live segment number ``sequence`` (continuous timestamps and CCs).

    ``sent``: per pid, the payload packets of every loop before this one (when earlier loops
    were other clips: a frame-size change); None: every earlier loop was ``clip``.
    """
    loop, index = divmod(sequence, SEGMENTS_PER_CLIP)
    if sent is None:
        sent = {pid: loop * total for pid, total in clip_payloads(clip).items()}
    cc_start: dict[int, int] = {}
    for pid in set(sent) | set(clip_payloads(clip)):
        before = sum(counts.get(pid, 0) for counts in clip.ts_cc_counts[:index])
        cc_start[pid] = (sent.get(pid, 0) + before) & 0x0F
    return rewrite_ts(clip.ts_segments[index], loop * CLIP_MS * 90, cc_start)


def hls_playlist(
    *, latest: int, window: int, segment_url: str, discontinuities: set[int], ended: bool = False
) -> str:
    """A live media playlist ending at segment ``latest``; ``segment_url`` has a ``{seq}``."""
    first = max(0, latest - window + 1)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{SEGMENT_MS // 1000}",
        f"#EXT-X-MEDIA-SEQUENCE:{first}",
    ]
    for seq in range(first, latest + 1):
        if seq in discontinuities and seq != first:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXTINF:{SEGMENT_MS / 1000:.3f},")
        lines.append(segment_url.format(seq=seq))
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the library


def default_cache_dir() -> Path:
    configured = os.environ.get("DYLIVED_SIM_CACHE")
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / f"dylived-sim-media-{os.getuid()}"


class MediaLibrary:
    """Clips by frame size, encoded on first use (once per process, cached on disk)."""

    def __init__(self, ffmpeg: str | None = None, cache_dir: Path | None = None) -> None:
        self._ffmpeg = ffmpeg
        self.cache_dir = cache_dir or default_cache_dir()
        self._clips: dict[tuple[int, int], Clip] = {}
        self._locks: dict[tuple[int, int], anyio.Lock] = {}
        self.encodes = 0  # how many clips this library had to encode (not cached)

    def _ffmpeg_path(self) -> str:
        if self._ffmpeg is None:
            from dylived.record.probe import find_ffmpeg

            self._ffmpeg = find_ffmpeg()
        return self._ffmpeg

    async def clip(self, width: int, height: int) -> Clip:
        key = (width, height)
        if key in self._clips:
            return self._clips[key]
        lock = self._locks.setdefault(key, anyio.Lock())
        async with lock:
            if key not in self._clips:
                self._clips[key] = await self._load(width, height)
        return self._clips[key]

    async def _load(self, width: int, height: int) -> Clip:
        tag = hashlib.sha256(f"{ENCODER_VERSION}:{width}x{height}".encode()).hexdigest()[:12]
        folder = self.cache_dir / f"{width}x{height}-{tag}"
        flv_path = folder / "clip.flv"
        segment_paths = [folder / f"seg{i}.ts" for i in range(SEGMENTS_PER_CLIP)]
        paths = [flv_path, *segment_paths]
        if not all([await anyio.Path(p).is_file() for p in paths]):
            await self._encode(width, height, folder)
        flv = await anyio.Path(flv_path).read_bytes()
        prelude, tags = parse_flv(flv)
        segments = tuple([await anyio.Path(p).read_bytes() for p in segment_paths])
        return Clip(
            width,
            height,
            prelude,
            tags,
            segments,
            tuple(count_ts_payloads(s) for s in segments),
        )

    async def _encode(self, width: int, height: int, folder: Path) -> None:
        ffmpeg = self._ffmpeg_path()
        work = await anyio.to_thread.run_sync(_make_workdir, self.cache_dir)
        seconds = CLIP_MS / 1000
        encode = [
            ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:beep_factor=4",
            "-t", f"{seconds}", "-af", f"atrim=0:{seconds - 0.1}",
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
            "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
            "-b:v", f"{max(150, width * height // 2000)}k",
            "-c:a", "aac", "-b:a", "48k", "-ac", "1",
            "-f", "flv", str(work / "clip.flv"),
        ]  # fmt: skip
        segment = [
            ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-i", str(work / "clip.flv"), "-c", "copy", "-f", "segment",
            "-segment_time", f"{SEGMENT_MS / 1000}", "-segment_format", "mpegts",
            str(work / "seg%d.ts"),
        ]  # fmt: skip
        for argv in (encode, segment):
            result = await anyio.run_process(argv, check=False)
            if result.returncode != 0:
                raise RuntimeError(f"ffmpeg failed: {result.stderr.decode(errors='replace')}")
        await anyio.to_thread.run_sync(_publish, work, folder)
        self.encodes += 1


def _make_workdir(cache_dir: Path) -> Path:
    cache_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="enc-", dir=cache_dir))


def _publish(work: Path, folder: Path) -> None:
    produced = sorted(work.glob("seg*.ts"))
    if len(produced) != SEGMENTS_PER_CLIP:
        raise RuntimeError(f"expected {SEGMENTS_PER_CLIP} segments, ffmpeg made {produced}")
    try:
        work.rename(folder)
    except OSError:  # another process won the race; theirs is as good as ours
        for path in work.iterdir():
            path.unlink()
        work.rmdir()


def flv_script_prelude(clip: Clip, ts: int, metadata: Mapping[str, str] | None = None) -> bytes:
    """FLV file header + the clip's prelude tags at ``ts``; ``metadata``: an onMetaData tag of
    these strings first (what a broadcaster's encoder sends, e.g. a ``title``)."""
    extra = metadata_tag(metadata, ts) if metadata else b""
    return FLV_FILE_HEADER + extra + b"".join(tag.retimed(ts) for tag in clip.flv_prelude)


def _amf_string(text: str) -> bytes:
    raw = text.encode("utf-8")[:0xFFFF]
    return len(raw).to_bytes(2, "big") + raw


def metadata_tag(metadata: Mapping[str, str], ts: int) -> bytes:
    """An FLV script tag ``onMetaData`` (AMF0 ECMA array) holding ``metadata`` as strings."""
    body = b"\x02" + _amf_string("onMetaData") + b"\x08" + len(metadata).to_bytes(4, "big")
    for key, value in metadata.items():
        body += _amf_string(key) + b"\x02" + _amf_string(value)
    body += b"\x00\x00\x09"
    ts &= 0xFFFFFFFF
    header = (
        bytes((18,))
        + len(body).to_bytes(3, "big")
        + (ts & 0xFFFFFF).to_bytes(3, "big")
        + bytes((ts >> 24,))
        + b"\x00\x00\x00"
    )
    return header + body + (11 + len(body)).to_bytes(4, "big")


def sequence_headers(clip: Clip, ts: int) -> bytes:
    """Just the AVC/AAC sequence headers (for a frame-size change mid-connection)."""
    return b"".join(tag.retimed(ts) for tag in clip.flv_prelude if tag.kind != 18)
