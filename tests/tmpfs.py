"""A real small file system for the full-disk tests: a tmpfs mounted for one test.

``mounted_tmpfs`` mounts a tmpfs of ``size`` bytes (``mount -t tmpfs -o size=N``) and unmounts
it when the test ends, also when it fails; the test is skipped when not run as root or when
the mount is refused (a container without CAP_SYS_ADMIN). ``fill_to`` grows a file until only
so many bytes are free: other data taking the disk.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def mounted_tmpfs(mountpoint: Path, size: int) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mountpoint.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        if subprocess.run(["umount", str(mountpoint)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mountpoint)], check=False)  # still busy


def free(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def fill_to(filler: Path, mountpoint: Path, left: int) -> None:
    """Grow ``filler`` until at most ``left`` bytes are free on the file system."""
    with filler.open("ab") as out:
        while (missing := free(mountpoint) - left) > 0:
            out.write(b"\0" * min(missing, 1 << 16))
            out.flush()
            os.fsync(out.fileno())
