"""Does this ffmpeg carry a frame-size change inside an FLV stream into mpegts? Asked, not guessed.

An FLV source announces a new frame size with a new AVC sequence header mid-stream; ffmpeg's flv
demuxer hands it on as packet side data (new extradata). ffmpeg 9.0's ``h264_mp4toannexb``
(which the mpegts muxer inserts for ``-c copy``) writes the new SPS/PPS before the next
keyframe; ffmpeg 5.1's (Debian 12) ignores the side data and keeps writing the old SPS, so every
frame after the change decodes as garbage and nothing in the output shows where it changed.

:func:`follows_size_change` remuxes a tiny synthetic FLV (two sequence headers with different
SPS, fake slices: ``-c copy`` never decodes them) through the binary and looks for the second SPS
in the output: about 0.1 s, once per binary and process (cached). The recorder reads FLV only
with an ffmpeg that passes; with one that fails it prefers the HLS URL, whose mpegts segments
carry every SPS in-band, so the segment splitter (``record.mpegts``) sees the change.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile

import anyio
import anyio.to_thread


logger = logging.getLogger(__name__)

# Two real x264 SPS (426x240 and 240x426, Constrained Baseline) and a PPS.
SPS_BEFORE = bytes.fromhex("6742c015da06c7f93c0440000003004000000ca3c58ba8")
SPS_AFTER = bytes.fromhex("6742c015da0f0dfe4c0440000003004000000ca3c58ba8")
PPS = bytes.fromhex("68ce3c80")
_IDR = bytes.fromhex("65888400") + bytes(60)  # an IDR NAL header and filler: never decoded
_FLV_HEADER = b"FLV\x01\x01\x00\x00\x00\x09\x00\x00\x00\x00"  # version 1, video only

_cache: dict[str, bool] = {}


def _tag(kind: int, ts: int, body: bytes) -> bytes:
    size = len(body)
    header = bytes((kind,)) + size.to_bytes(3, "big") + (ts & 0xFFFFFF).to_bytes(3, "big")
    return header + bytes((ts >> 24 & 0xFF, 0, 0, 0)) + body + (11 + size).to_bytes(4, "big")


def _sequence_header(sps: bytes, ts: int) -> bytes:
    record = bytes((1, sps[1], sps[2], sps[3], 0xFF, 0xE1)) + len(sps).to_bytes(2, "big") + sps
    record += b"\x01" + len(PPS).to_bytes(2, "big") + PPS
    return _tag(9, ts, b"\x17\x00\x00\x00\x00" + record)


def _keyframe(ts: int) -> bytes:
    return _tag(9, ts, b"\x17\x01\x00\x00\x00" + len(_IDR).to_bytes(4, "big") + _IDR)


def sample_flv() -> bytes:
    """Two keyframes with SPS_BEFORE, a new sequence header with SPS_AFTER, two more keyframes."""
    return b"".join(
        (
            _FLV_HEADER,
            _sequence_header(SPS_BEFORE, 0),
            _keyframe(0),
            _keyframe(40),
            _sequence_header(SPS_AFTER, 80),
            _keyframe(80),
            _keyframe(120),
        )
    )


def carries_new_sps(mpegts: bytes) -> bool:
    """Pure: whether remuxed output holds the SPS of the second sequence header."""
    return SPS_AFTER in mpegts


async def follows_size_change(exe: str, *, limit_s: float = 10.0) -> bool:
    """True when ``exe -c copy`` writes a mid-stream FLV frame-size change into mpegts.

    False also when the check cannot run (then HLS is preferred: the safe side). Cached per path.
    """
    if exe in _cache:
        return _cache[exe]
    folder = anyio.Path(await anyio.to_thread.run_sync(tempfile.mkdtemp))
    sample = folder / "size-change.flv"
    argv = [exe, "-hide_banner", "-loglevel", "fatal", "-nostdin", "-f", "flv", "-i", str(sample)]
    argv += ["-c", "copy", "-f", "mpegts", "pipe:1"]
    try:
        await sample.write_bytes(sample_flv())
        with anyio.fail_after(limit_s):
            done = await anyio.run_process(argv, stdin=subprocess.DEVNULL, check=False)
        result = done.returncode == 0 and carries_new_sps(done.stdout)
    except (OSError, TimeoutError) as exc:
        logger.warning("could not check how %s remuxes a frame-size change: %s", exe, exc)
        result = False
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(shutil.rmtree, str(folder), True)
    _cache[exe] = result
    if not result:
        logger.info(
            "ffmpeg at %s loses a frame-size change inside FLV (Debian 12's 5.1 does): "
            "recording HLS where the stream offers it",
            exe,
        )
    return result
