"""Benchmark: N simultaneous recordings from the simulator (default 10 for 5 minutes).

The simulator runs as its own process (``python -m dylived.sim.cli``) so its CPU is not
counted; this process runs only the supervisors (one ``Recorder`` per room, statuses through
the real Douyin adapter over HTTP). Printed: the supervisor process's CPU, each ffmpeg's CPU,
and each recording's media time / wall time (sum of segment media durations over the time
from its first segment's start to the stop), plus gaps.

    .venv/bin/python -m bench.record [--rooms 10] [--seconds 300] [--quality origin]
        [--segment-seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from dylived.model import LiveStatus
from dylived.net.http import HttpClient
from dylived.platforms.douyin.client import DouyinPlatform
from dylived.platforms.douyin.options import DouyinConfig
from dylived.platforms.douyin.targets import ResolvedTarget
from dylived.record.probe import find_ffmpeg
from dylived.record.segments import GapRecord, SegmentRecord
from dylived.record.supervisor import Recorder, RecorderSettings


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """utime + stime of a process (and its reaped children), seconds; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def scenario_text(n: int) -> str:
    rooms = "".join(
        f'[[room]]\nweb_rid = "2000000001{i:02d}"\nnickname = "bench{i}"\n'
        'schedule = [{state = "live"}]\n'
        for i in range(n)
    )
    return f"strict_ttwid = false\n{rooms}"


class Recording:
    def __init__(self) -> None:
        self.recorder: Recorder | None = None
        self.segments: list[SegmentRecord] = []
        self.gaps: list[GapRecord] = []
        self.ffmpeg_cpu: dict[int, float] = {}

    async def sink(self, item: SegmentRecord | GapRecord) -> None:
        if isinstance(item, GapRecord):
            self.gaps.append(item)
        else:
            self.segments.append(item)

    def sample_cpu(self) -> None:
        assert self.recorder is not None
        pid = self.recorder.pid
        if pid is not None:
            self.ffmpeg_cpu[pid] = max(self.ffmpeg_cpu.get(pid, 0.0), process_cpu_s(pid))


async def run(args: argparse.Namespace) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="dylived-bench-record-"))
    scenario = work / "scenario.toml"
    scenario.write_text(scenario_text(args.rooms), encoding="utf-8")
    sim = await anyio.open_process(
        [sys.executable, "-m", "dylived.sim.cli", "--scenario", str(scenario)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert sim.stdout is not None
        first = b""
        while not first.endswith(b"\n"):
            first += await sim.stdout.receive(1)
        info = json.loads(first)
        ffmpeg = find_ffmpeg()
        recordings: list[Recording] = []
        async with HttpClient(user_agent="bench") as http:
            platform = DouyinPlatform(http, DouyinConfig(web_base=info["web_base"]))

            def status_of(resolved: ResolvedTarget) -> Callable[[], Awaitable[LiveStatus]]:
                async def fetch() -> LiveStatus:
                    return await platform.fetch_status(resolved)

                return fetch

            cpu_before = time.process_time()
            wall_start = time.monotonic()
            async with anyio.create_task_group() as tg:
                for rid in info["rooms"]:
                    resolved = await platform.resolve(rid)
                    settings = RecorderSettings(
                        ffmpeg=ffmpeg,
                        directory=work / "rec" / rid,
                        file_stem=rid,
                        quality=args.quality,
                        segment_seconds=args.segment_seconds,
                    )
                    recording = Recording()
                    recorder = Recorder(settings, status_of(resolved), recording.sink)
                    recording.recorder = recorder
                    recordings.append(recording)
                    tg.start_soon(recorder.run)
                deadline = time.monotonic() + args.seconds
                while time.monotonic() < deadline:
                    await anyio.sleep(1)
                    for recording in recordings:
                        recording.sample_cpu()
                stop_wall_ms = time.time_ns() // 1_000_000
                for recording in recordings:
                    assert recording.recorder is not None
                    recording.recorder.stop()
            wall = time.monotonic() - wall_start
            supervisor_cpu = time.process_time() - cpu_before
    finally:
        sim.terminate()
        with anyio.move_on_after(10, shield=True):
            await sim.wait()
        if sim.returncode is None:
            sim.kill()
            await sim.wait()
    rows = []
    for recording in recordings:
        segs = recording.segments
        media = sum(s.duration_s for s in segs)
        live = (stop_wall_ms - segs[0].started_at_ms) / 1000 if segs else 0.0
        rows.append(
            {
                "segments": len(segs),
                "media_s": round(media, 1),
                "media_over_wall": round(media / live, 4) if live else 0.0,
                "gaps": len(recording.gaps),
                "ffmpeg_cpu_pct": round(100 * sum(recording.ffmpeg_cpu.values()) / wall, 2),
                "runs": recording.recorder.runs if recording.recorder else 0,
            }
        )
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "rooms": args.rooms,
        "seconds": args.seconds,
        "quality": args.quality,
        "segment_seconds": args.segment_seconds,
        "wall_s": round(wall, 1),
        "supervisor_cpu_pct": round(100 * supervisor_cpu / wall, 2),
        "children_cpu_s_reaped": round(children.ru_utime + children.ru_stime, 1),
        "recordings": rows,
        "work_dir": str(work),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--quality", default="origin")
    parser.add_argument("--segment-seconds", type=float, default=60.0)
    args = parser.parse_args()
    result = anyio.run(run, args)
    rows = result.pop("recordings")
    assert isinstance(rows, list)
    for key, value in result.items():
        print(f"{key:>24}: {value}")
    header = ("#", "segs", "media s", "media/wall", "gaps", "ffmpeg cpu %", "runs")
    widths = (3, 5, 8, 10, 4, 12, 4)
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, widths, strict=True)))
    for i, row in enumerate(rows):
        print(
            f"{i:>3} {row['segments']:>5} {row['media_s']:>8} {row['media_over_wall']:>10} "
            f"{row['gaps']:>4} {row['ffmpeg_cpu_pct']:>12} {row['runs']:>4}"
        )


if __name__ == "__main__":
    main()
