"""Every distinct ffmpeg on this machine, so the recording tests run once per binary.

Candidates: Debian's ``/usr/bin/ffmpeg`` (the README's deployment: 5.1 on Debian 12), the one on
``PATH``, and the imageio-ffmpeg wheel's static build (9.0). Binaries that resolve to the same
file or print the same version are kept once. ``FFMPEGS`` is ordered oldest first; each has an
``id`` (``ffmpeg5.1``) that names the test runs. The tests hand the path to the recorder or the
daemon through their real settings (``RecorderSettings.ffmpeg``, ``daemon.ffmpeg``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

import pytest


@dataclass(frozen=True, slots=True)
class Ffmpeg:
    path: str
    version: str  # as printed: "5.1.9-0+deb12u1", "9.0.2-static"

    @property
    def id(self) -> str:
        short = re.match(r"n?(\d+\.\d+)", self.version)
        return f"ffmpeg{short[1] if short else self.version}"


def _candidates() -> list[str]:
    found = ["/usr/bin/ffmpeg", shutil.which("ffmpeg") or ""]
    try:
        import imageio_ffmpeg
    except ImportError:
        pass
    else:
        found.append(str(imageio_ffmpeg.get_ffmpeg_exe()))
    return [p for p in found if p and os.access(p, os.X_OK)]


def _version(path: str) -> str | None:
    try:
        done = subprocess.run(
            [path, "-version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"ffmpeg version (\S+)", done.stdout)
    return match[1] if match and done.returncode == 0 else None


def discover() -> list[Ffmpeg]:
    """The distinct, runnable ffmpeg binaries, oldest version first."""
    seen_files: set[str] = set()
    by_version: dict[str, Ffmpeg] = {}
    for path in _candidates():
        real = os.path.realpath(path)
        if real in seen_files:
            continue
        seen_files.add(real)
        version = _version(path)
        if version is not None and version not in by_version:
            by_version[version] = Ffmpeg(path, version)

    def key(f: Ffmpeg) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", f.version)[:3])

    return sorted(by_version.values(), key=key)


FFMPEGS = discover()


def every_ffmpeg() -> list[object]:
    """``pytest.param`` of each binary's path, with its version as the id."""
    return [pytest.param(f.path, id=f.id) for f in FFMPEGS]


@pytest.fixture(scope="session", params=every_ffmpeg())
def ffmpeg_bin(request: pytest.FixtureRequest) -> str:
    """Each distinct ffmpeg in turn (import this fixture into a conftest to use it)."""
    path: str = request.param
    return path
