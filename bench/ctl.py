"""How long `dylivectl status` takes, end to end, with 1,000 broadcasters.

Starts a control server with N broadcasters in a separate process (the real control server
over a real Unix socket; behind it the in-memory daemon double of tests/control/fake_daemon.py,
since the status snapshot is assembled by the daemon and this measures the control path), then
runs the real command (`.venv/bin/dylivectl`, or `python -m dylived.ctl`) as a new process each
time and prints wall-clock figures: process start, imports, connect, request, JSON, rendering.

    .venv/bin/python -m bench.ctl [--broadcasters 1000] [--runs 20]

Target (issue 7): `dylivectl status` with 1,000 broadcasters answers in under 200 ms.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--broadcasters", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="dylbench-"))
    sock = directory / "control.sock"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.control.fake_daemon",
            str(sock),
            "--broadcasters",
            str(args.broadcasters),
        ]
    )
    try:
        _wait_for_socket(sock)
        entry = shutil.which("dylivectl", path=str(Path(sys.executable).parent))
        ctl = [entry] if entry else [sys.executable, "-m", "dylived.ctl"]
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
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
