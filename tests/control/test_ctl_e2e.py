"""``dylivectl`` and curl against the real daemon (``python -m dylived run``) in a subprocess.

The platform endpoints point at a closed loopback port, so broadcasters stay offline with poll
errors. That still drives every command through the real ``Daemon`` façade, the real control
server and the real socket; what needs a live, recorded session (status rates, the current
segment, tail, export) is rendered from a real daemon on the simulator in ``test_ctl_real.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.daemon.helpers import running_daemon, wait_until, write_config


pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def ctl(sock: Path, *argv: str) -> tuple[int, str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "dylived.app.ctl", "--socket", str(sock), *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return result.returncode, result.stdout, result.stderr


def test_every_offline_command_against_the_real_daemon(sock_path: Path) -> None:
    state = sock_path.parent
    state.mkdir(parents=True)
    config = write_config(state / "dylived.toml", state)
    sock = state / "control.sock"
    with running_daemon(config) as daemon:
        wait_until(lambda: ctl(sock, "health")[0] == 0, 20, "the control socket")
        wait_until(
            lambda: json.loads(ctl(sock, "--json", "show", "alice")[1])["last_check_ms"],
            20,
            "the first poll",
        )
        code, out, err = ctl(sock, "status")
        assert code == 0, err
        assert out.splitlines()[0].startswith(f"dylived 0.1.0 (pid {daemon.pid})")
        assert "alice  offline" in out
        assert json.loads(ctl(sock, "--json", "status")[1])["broadcasters"][0]["id"] == "alice"

        steps: list[tuple[list[str], str]] = [
            (["list"], "alice"),
            (["show", "alice"], "last error:"),
            (["add", "200000000002", "--name", "bob"], "added bob"),
            (["pause", "bob"], "paused bob"),
            (["resume", "bob"], "resumed bob"),
            (["reload"], "reload applied"),
            (["sessions"], "BROADCASTER"),
            (["health"], "healthy"),
            (["remove", "bob"], "removed bob"),
        ]
        for argv, expected in steps:
            code, out, err = ctl(sock, *argv)
            assert code == 0, (argv, err)
            assert expected in out, (argv, out)
        for argv in (["list"], ["show", "alice"], ["sessions"], ["health"], ["reload"]):
            code, out, err = ctl(sock, "--json", *argv)
            assert code == 0, (argv, err)
            json.loads(out)
        # Removed broadcasters are gone from the daemon, and errors are the daemon's.
        assert [b["id"] for b in json.loads(ctl(sock, "--json", "list")[1])["broadcasters"]] == [
            "alice"
        ]
        code, _, err = ctl(sock, "record", "start", "alice")
        assert (code, "not live" in err) == (1, True)
        code, _, err = ctl(sock, "show", "nobody")
        assert code == 1
        assert err.startswith("dylivectl: ")

        curl = subprocess.run(
            ["/usr/bin/curl", "-sS", "--unix-socket", str(sock), "http://localhost/v1/status"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        assert curl.returncode == 0, curl.stderr
        assert json.loads(curl.stdout)["daemon"]["pid"] == daemon.pid
        metrics = subprocess.run(
            ["/usr/bin/curl", "-sS", "--unix-socket", str(sock), "http://localhost/metrics"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        ).stdout
        assert 'dylived_broadcaster_live{broadcaster="alice"} 0' in metrics
        daemon.terminate()
        assert daemon.wait(timeout=30) == 0
    code, _, err = ctl(sock, "status")
    assert code == 3
    assert str(sock) in err
