"""Find ffmpeg: the configured path, then PATH, then the pip-installed imageio-ffmpeg fallback.

Version and capability checks (5.1 or newer; the demuxers, muxers and protocols dylived uses)
are done once at start by the daemon.
"""

from __future__ import annotations

import os
import shutil

from dylived.errors import FfmpegUnusable


def find_ffmpeg(configured: str | None = None) -> str:
    """The ffmpeg executable to use, or FfmpegUnusable saying where we looked."""
    if configured:
        path = shutil.which(configured)
        if path is None:
            raise FfmpegUnusable(f"configured ffmpeg {configured!r} is not an executable")
        return path
    on_path = shutil.which("ffmpeg")
    if on_path is not None:
        return on_path
    try:
        import imageio_ffmpeg
    except ImportError:
        pass
    else:
        exe = str(imageio_ffmpeg.get_ffmpeg_exe())
        if os.access(exe, os.X_OK):
            return exe
    raise FfmpegUnusable(
        "no ffmpeg found: not on PATH and the imageio-ffmpeg fallback is not installed "
        "(install Debian's ffmpeg, or pip install 'dylived[ffmpeg]')"
    )
