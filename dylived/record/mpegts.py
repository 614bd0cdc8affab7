"""What an mpegts segment holds, read from its bytes (there is no ffprobe), and splitting one.

Owns: walking the 188-byte TS packets of a file; the PTS span of its video stream (media
duration, also of a file cut mid-packet by a SIGKILL); the H.264 sequence parameter sets
(SPS) at its keyframes, decoded to width × height; and splitting a segment where the SPS
changes, so that no file mixes two resolutions (an FLV source can switch frame size in-band,
and ``ffmpeg -c copy`` would otherwise write both into one segment).

Pure functions over bytes plus two small synchronous file operations; no anyio, no processes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


TS_PACKET = 188
PTS_HZ = 90_000
_WRAP = 1 << 33
# How far into a keyframe's bytes to look for its SPS: after the AUD, x264 puts a ~600-byte
# SEI (its version string) before the SPS at the first keyframe of an encode.
SPS_WINDOW = 2048


@dataclass(frozen=True, slots=True)
class VideoStart:
    """A video PES that begins with an SPS (a keyframe), where it is in the file."""

    offset: int  # byte offset of its first TS packet
    pts: int | None
    sps: bytes  # the raw SPS NAL unit (header byte included)


@dataclass(frozen=True, slots=True)
class TsInfo:
    """The video facts of one mpegts file."""

    first_pts: int | None
    last_pts: int | None
    frames: int
    keyframes: tuple[VideoStart, ...]
    header_end: int  # bytes before the first PES (PAT, PMT, SDT): a valid start of any piece

    @property
    def duration_s(self) -> float | None:
        if self.first_pts is None or self.last_pts is None:
            return None
        span = (self.last_pts - self.first_pts) / PTS_HZ
        frame = span / (self.frames - 1) if self.frames > 1 else 0.0
        return span + frame

    def changes(self) -> list[VideoStart]:
        """The keyframes whose SPS differs from the one before (where a new piece starts)."""
        out: list[VideoStart] = []
        previous: object = None
        for start in self.keyframes:
            key = sps_size(start.sps) or start.sps  # the size; raw bytes when undecodable
            if previous is not None and key != previous:
                out.append(start)
            previous = key
        return out


def _packets(data: bytes) -> Iterator[tuple[int, bytes]]:
    start = data.find(b"\x47")
    for offset in range(max(start, 0), len(data) - TS_PACKET + 1, TS_PACKET):
        yield offset, data[offset : offset + TS_PACKET]


CHUNK = TS_PACKET * 4096  # ~770 kB: a 30-minute segment is never read into memory at once


def _file_packets(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as fh:
        head = fh.read(CHUNK)
        skip = max(head.find(b"\x47"), 0)
        base, data = skip, head[skip:]
        while True:
            whole = len(data) - len(data) % TS_PACKET
            for offset in range(0, whole, TS_PACKET):
                yield base + offset, data[offset : offset + TS_PACKET]
            base += whole
            more = fh.read(CHUNK)
            if not more:
                return
            data = data[whole:] + more


def _payload(packet: bytes) -> bytes | None:
    control = (packet[3] >> 4) & 0x3
    if not control & 0x1:
        return None
    offset = 4 + (1 + packet[4] if control & 0x2 else 0)
    return packet[offset:] if offset < TS_PACKET else None


def _pts(pes: bytes) -> int | None:
    if len(pes) < 14 or not pes[7] & 0x80:
        return None
    p = pes[9:14]
    return ((p[0] >> 1) & 0x07) << 30 | p[1] << 22 | (p[2] >> 1) << 15 | p[3] << 7 | p[4] >> 1


def _find_sps(es: bytes) -> bytes | None:
    """The first H.264 SPS NAL unit in Annex B bytes (up to the next start code)."""
    i = es.find(b"\x00\x00\x01")
    while i != -1 and i + 3 < len(es):
        nal_start = i + 3
        nxt = es.find(b"\x00\x00\x01", nal_start)
        if es[nal_start] & 0x1F == 7:
            end = len(es) if nxt == -1 else nxt
            return es[nal_start:end].rstrip(b"\x00")
        i = nxt
    return None


def scan(data: bytes) -> TsInfo:
    """Read the video facts of mpegts bytes (a truncated last packet is ignored)."""
    return _scan(_packets(data))


def scan_file(path: Path) -> TsInfo:
    """``scan`` of a file, read in chunks."""
    return _scan(_file_packets(path))


def _scan(packets: Iterator[tuple[int, bytes]]) -> TsInfo:
    video_pid: int | None = None
    first = last = None
    frames = 0
    keyframes: list[VideoStart] = []
    header_end: int | None = None
    pending: tuple[int, int | None, bytearray] | None = None  # PES start being gathered

    def finish(entry: tuple[int, int | None, bytearray] | None) -> None:
        if entry is not None:
            sps = _find_sps(bytes(entry[2]))
            if sps is not None:
                keyframes.append(VideoStart(entry[0], entry[1], sps))

    for offset, packet in packets:
        if packet[0] != 0x47:
            continue
        pid = ((packet[1] & 0x1F) << 8) | packet[2]
        payload = _payload(packet)
        if payload is None:
            continue
        starts_pes = bool(packet[1] & 0x40) and payload[:3] == b"\x00\x00\x01"
        if starts_pes and header_end is None:
            header_end = offset
        if starts_pes and 0xE0 <= payload[3] <= 0xEF and video_pid in (None, pid):
            video_pid = pid
            finish(pending)
            pts = _pts(payload)
            if pts is not None:
                if first is not None and pts < first - (1 << 32):
                    pts += _WRAP
                first = pts if first is None else first
                last = pts if last is None else max(last, pts)
                frames += 1
            header = 9 + payload[8] if len(payload) > 8 else len(payload)
            pending = (offset, pts, bytearray(payload[header:]))
        elif pid == video_pid and pending is not None and len(pending[2]) < SPS_WINDOW:
            pending[2].extend(payload)
    finish(pending)
    return TsInfo(first, last, frames, tuple(keyframes), header_end or 0)


# ---------------------------------------------------------------- SPS → width × height


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def bit(self) -> int:
        byte = self.data[self.pos >> 3]
        value = (byte >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return value

    def bits(self, n: int) -> int:
        value = 0
        for _ in range(n):
            value = value << 1 | self.bit()
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad exp-Golomb code")
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


def sps_size(sps: bytes) -> tuple[int, int] | None:
    """Width and height an H.264 SPS NAL unit declares (ITU-T H.264 §7.3.2.1.1); None if bad."""
    rbsp = sps.replace(b"\x00\x00\x03", b"\x00\x00")  # emulation prevention
    if len(rbsp) < 5 or rbsp[0] & 0x1F != 7:
        return None
    try:
        r = _Bits(rbsp[4:])
        profile = rbsp[1]
        r.ue()  # seq_parameter_set_id
        chroma = 1
        if profile in _HIGH_PROFILES:
            chroma = r.ue()
            if chroma == 3:
                r.bit()
            r.ue()
            r.ue()
            r.bit()
            if r.bit():  # seq_scaling_matrix_present_flag
                for i in range(12 if chroma == 3 else 8):
                    if r.bit():
                        last = nxt = 8
                        for _ in range(16 if i < 6 else 64):
                            if nxt:
                                nxt = (last + r.se() + 256) % 256
                            last = nxt or last
        r.ue()  # log2_max_frame_num_minus4
        poc_type = r.ue()
        if poc_type == 0:
            r.ue()
        elif poc_type == 1:
            r.bit()
            r.se()
            r.se()
            for _ in range(r.ue()):
                r.se()
        r.ue()  # max_num_ref_frames
        r.bit()
        width_mbs = r.ue() + 1
        height_units = r.ue() + 1
        frame_mbs_only = r.bit()
        if not frame_mbs_only:
            r.bit()
        r.bit()
        crop = (r.ue(), r.ue(), r.ue(), r.ue()) if r.bit() else (0, 0, 0, 0)
    except (IndexError, ValueError):
        return None
    unit_x = 1 if chroma in (0, 3) else 2
    unit_y = (2 if chroma == 1 else 1) * (2 - frame_mbs_only)
    width = width_mbs * 16 - (crop[0] + crop[1]) * unit_x
    height = (2 - frame_mbs_only) * height_units * 16 - (crop[2] + crop[3]) * unit_y
    return width, height


# ---------------------------------------------------------------- splitting


def split_at(path: Path, offsets: list[int], header_end: int, names: list[Path]) -> None:
    """Cut ``path`` at ``offsets``: bytes from each offset on go to the matching new file.

    Each new file starts with the original's header packets (PAT, PMT) so it plays on its
    own; ``path`` keeps the bytes before the first offset. New files are written completely
    (``.part`` then renamed) before ``path`` is truncated, so a crash loses nothing.
    """
    size = path.stat().st_size
    bounds = [*offsets, size]
    with path.open("rb") as source:
        header = source.read(header_end)
        for name, start, end in zip(names, bounds, bounds[1:], strict=False):
            temporary = name.with_name(name.name + ".part")
            with temporary.open("wb") as out:
                out.write(header)
                source.seek(start)
                left = end - start
                while left > 0:
                    chunk = source.read(min(CHUNK, left))
                    if not chunk:
                        break
                    out.write(chunk)
                    left -= len(chunk)
            os.replace(temporary, name)
    os.truncate(path, offsets[0])
