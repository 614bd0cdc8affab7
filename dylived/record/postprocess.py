"""Optional post-processing of a finished session: remux its segments into MP4 files.

Owns: grouping a session's segments into runs that can be joined (same frame size and codec,
so an MP4 never changes resolution mid-file), the concat-demuxer list file (paths quoted as
the demuxer wants), and running ``ffmpeg -f concat -c copy -movflags +faststart`` into a
``.part`` file renamed when complete. No re-encoding. The originals are kept unless the caller
says otherwise, and are only deleted after the MP4 is complete.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio

from dylived.errors import RecorderError


logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RemuxInput:
    """One finished segment: where it is, and what decides whether it joins its neighbour."""

    path: Path
    width: int | None = None
    height: int | None = None
    codec: str | None = None


def group_segments(segments: Sequence[RemuxInput]) -> list[list[Path]]:
    """Consecutive segments with the same frame size and codec, in order; pure."""
    groups: list[list[Path]] = []
    previous: tuple[int | None, int | None, str | None] | None = None
    for segment in segments:
        key = (segment.width, segment.height, segment.codec)
        if not groups or key != previous:
            groups.append([])
        groups[-1].append(segment.path)
        previous = key
    return groups


def concat_list(paths: Sequence[Path]) -> str:
    """The concat demuxer's list: ``file '<path>'`` lines, a quote written as ``'\\''``."""
    lines = []
    for path in paths:
        quoted = str(path.resolve()).replace("'", "'\\''")
        lines.append(f"file '{quoted}'\n")
    return "".join(lines)


def remux_argv(ffmpeg: str, list_file: Path, output: Path) -> list[str]:
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "concat", "-safe", "0", "-i", str(list_file),
        "-map", "0:v?", "-map", "0:a?", "-c", "copy",
        "-movflags", "+faststart", "-f", "mp4", str(output),
    ]  # fmt: skip


async def remux(ffmpeg: str, segments: Sequence[Path], output: Path) -> Path:
    """Join ``segments`` into ``output`` (MP4, faststart, no re-encode); returns ``output``.

    Raises:
        RecorderError: ffmpeg failed; nothing is left at ``output``.

    Cancel safety: cancelled, ffmpeg is killed and reaped (by anyio) and the partial file
    is removed.
    """
    part = output.with_name(output.name + ".part")
    list_file = output.with_name(f".{output.name}.concat.txt")
    list_file.write_text(concat_list(segments), encoding="utf-8")
    try:
        done = await anyio.run_process(
            remux_argv(ffmpeg, list_file, part), check=False, stdin=subprocess.DEVNULL
        )
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip()[-2000:]
            raise RecorderError(f"remux into {output} failed (exit {done.returncode}): {tail}")
        part.replace(output)
    finally:
        list_file.unlink(missing_ok=True)
        part.unlink(missing_ok=True)
    return output


async def remux_session(
    ffmpeg: str,
    segments: Sequence[RemuxInput],
    directory: Path,
    stem: str,
    *,
    keep_originals: bool = True,
) -> list[Path]:
    """Remux a finished session into ``<stem>.mp4`` (``<stem>-2.mp4``… per size change).

    Originals are deleted only when ``keep_originals`` is False and every MP4 was written.
    """
    outputs = []
    for n, group in enumerate(group_segments(segments), start=1):
        name = f"{stem}.mp4" if n == 1 else f"{stem}-{n}.mp4"
        outputs.append(await remux(ffmpeg, group, directory / name))
        logger.info("remuxed %d segment(s) into %s", len(group), outputs[-1])
    if not keep_originals:
        for segment in segments:
            segment.path.unlink(missing_ok=True)
    return outputs
