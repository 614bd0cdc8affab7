"""`dylived-sim` as a subprocess: the first stdout line names the port; SIGTERM ends it cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import httpx
import pytest

from tests.conftest import REPO_ROOT


def test_subprocess_prints_its_port_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "dylived.sim.cli", "--scenario",
         str(REPO_ROOT / "etc" / "sim" / "demo.toml"), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["web_base"] == f"http://127.0.0.1:{info['port']}"
        assert info["ws_base"] == f"ws://127.0.0.1:{info['port']}"
        assert info["rooms"] == ["200000000001", "200000000002", "200000000003", "sim.creator"]
        state = httpx.get(f"{info['web_base']}/_sim/state").json()
        assert [room["live"] for room in state["rooms"]] == [True, False, False, True]
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0


@pytest.mark.parametrize(
    ("args", "code"),
    [(["--listen", "0.0.0.0:80"], 2), (["--scenario", "/nonexistent.toml"], 78)],
)
def test_bad_arguments_and_scenarios(args: list[str], code: int) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dylived.sim.cli", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == code
    assert "dylived-sim:" in result.stderr
