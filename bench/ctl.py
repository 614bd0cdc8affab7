"""How long `dylivectl status` takes, end to end, with 1,000 broadcasters.

Two set-ups, each with the real command (`.venv/bin/dylivectl`, or `python -m dylived.app.ctl`) run
as a new process each time (wall clock: process start, imports, connect, request, JSON,
rendering):

- default: the real control server over a real Unix socket, with the in-memory daemon double of
  tests/control/fake_daemon.py behind it — the control path alone;
- ``--real-daemon``: the real `dylived run` watching N broadcasters on the simulator
  (`dylived-sim`, all offline, polled every 30 s), so the daemon's own status snapshot counts.

    .venv/bin/python -m bench.ctl [--broadcasters 1000] [--runs 20] [--real-daemon]

Target (issue 7): `dylivectl status` with 1,000 broadcasters answers in under 200 ms.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import poll_scale


def _wait_for_socket(path: Path, deadline_s: float = 15.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if path.exists():
            with socket.socket(socket.AF_UNIX) as probe:
                try:
                    probe.connect(str(path))
                    return
                except OSError:
                    pass
        time.sleep(0.05)
    raise SystemExit(f"the server did not come up on {path}")


def _time_runs(argv: list[str], runs: int) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(argv, capture_output=True, check=True)
        times.append((time.perf_counter() - start) * 1000)
        size = len(result.stdout)
    return times, size


def _report(name: str, times: list[float], size: int) -> None:
    times = sorted(times)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    print(
        f"{name:<28} median {statistics.median(times):6.1f} ms  p95 {p95:6.1f} ms  "
        f"min {times[0]:6.1f} ms  max {times[-1]:6.1f} ms  ({size / 1024:.0f} KiB output)"
    )


def _start_real_daemon(
    directory: Path, broadcasters: int, processes: list[subprocess.Popen[bytes]]
) -> Path:
    """The simulator with N offline rooms and `dylived run` watching them; the socket path."""
    scenario = directory / "scenario.toml"
    scenario.write_text(poll_scale.scenario_text(broadcasters))
    sim = subprocess.Popen(
        [sys.executable, "-m", "dylived.sim.cli", "--scenario", str(scenario)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    processes.append(sim)
    assert sim.stdout is not None
    info = json.loads(sim.stdout.readline())
    state = directory / "state"
    config = directory / "dylived.toml"
    tuning = argparse.Namespace(
        interval=30, jitter=5, max_concurrent=4, min_spacing=0.02, platform="douyin"
    )
    text = poll_scale.config_text(state, info["web_base"], info["ws_base"], broadcasters, tuning)
    config.write_text(text)
    log = (directory / "dylived.log").open("wb")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "dylived", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    processes.append(daemon)
    return state / "control.sock"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--broadcasters", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--real-daemon", action="store_true", help="the real daemon on the simulator behind it"
    )
    args = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="dylbench-"))
    processes: list[subprocess.Popen[bytes]] = []
    if args.real_daemon:
        sock = _start_real_daemon(directory, args.broadcasters, processes)
    else:
        sock = directory / "control.sock"
        argv = ["tests.control.fake_daemon", str(sock), "--broadcasters", str(args.broadcasters)]
        processes.append(subprocess.Popen([sys.executable, "-m", *argv]))
    try:
        _wait_for_socket(sock, 60.0)
        entry = shutil.which("dylivectl", path=str(Path(sys.executable).parent))
        ctl = [entry] if entry else [sys.executable, "-m", "dylived.app.ctl"]
        print(f"{args.broadcasters} broadcasters, {args.runs} runs each, command: {ctl[0]}")
        baseline, _ = _time_runs([sys.executable, "-c", "pass"], args.runs)
        _report("python -c pass (floor)", baseline, 0)
        for name, extra in (
            ("dylivectl status", ["status"]),
            ("dylivectl --json status", ["--json", "status"]),
        ):
            times, size = _time_runs([*ctl, "--socket", str(sock), *extra], args.runs)
            _report(name, times, size)
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=20)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
