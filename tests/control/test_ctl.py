"""``dylivectl`` without a daemon behind it: usage errors, an unreachable socket, its choice.

Everything ``dylivectl`` renders from a daemon is tested against the real daemon in
``test_ctl_real.py`` (recording, capture, sessions, tail, export) and ``test_ctl_e2e.py``
(the offline commands); the pure formatting helpers in ``test_render.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest


pytestmark = pytest.mark.anyio


async def ctl(sock_path: Path | str, *argv: str) -> tuple[int, str, str]:
    result = await anyio.run_process(
        [sys.executable, "-m", "dylived.app.ctl", "--socket", str(sock_path), *argv], check=False
    )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


async def test_not_reachable_exits_3_naming_the_socket(sock_path: Path) -> None:
    code, out, err = await ctl(sock_path, "status")
    assert code == 3
    assert out == ""
    assert f"daemon not reachable at {sock_path}" in err


async def test_socket_defaults_to_the_environment(sock_path: Path) -> None:
    result = await anyio.run_process(
        [sys.executable, "-m", "dylived.app.ctl", "status"],
        check=False,
        env={"DYLIVED_SOCKET": str(sock_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 3
    assert str(sock_path) in result.stderr.decode()


async def test_usage_errors_exit_2(sock_path: Path) -> None:
    for argv in (["bogus"], ["record", "pause", "alice"], ["export"], []):
        code, _, err = await ctl(sock_path, *argv)
        assert code == 2, argv
        assert "usage: dylivectl" in err
