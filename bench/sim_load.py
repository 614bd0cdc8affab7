"""How much load the simulator carries, and what it costs in CPU.

1. events: one room floods its push client as fast as the simulator can encode and send
   (simulator and a websockets client in this process; CPU is this process's, both included).
2. media: a `dylived-sim` subprocess with 20 live rooms; 20 concurrent HTTP-FLV readers (one
   per room, quality hd) for DURATION seconds; CPU is the simulator process's only
   (/proc/<pid>/stat), so the readers' cost is not counted.

    .venv/bin/python -m bench.sim_load [--events N] [--rooms N] [--seconds S]
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
from pathlib import Path

import anyio
import httpx
from websockets.asyncio.client import connect

from dylived.sim import RoomSpec, Scenario, Simulator


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


async def bench_events(count: int) -> None:
    scenario = Scenario(rooms=(RoomSpec("500000000001"),), ping_interval=0, heartbeat_timeout=0)
    async with Simulator.running(scenario, record_frames=False) as sim:
        room = sim.room("500000000001")
        room_id = room.go_live()
        async with connect(sim.ws_url(room_id), max_size=None) as ws:
            await ws.recv()  # the initial frame
            received = 0

            async def drain() -> None:
                nonlocal received
                async for message in ws:
                    received += len(message)
                    if (
                        sim.observed.push_connections[0].events
                        and len(sim.observed.push_connections[0].events) >= count + 2
                    ):
                        return

            cpu0, wall0 = _cpu_self(), time.perf_counter()
            async with anyio.create_task_group() as tg:
                tg.start_soon(drain)
                sent = await room.flood(count, batch=100)
            wall, cpu = time.perf_counter() - wall0, _cpu_self() - cpu0
    print(
        f"events: {sent} events in {wall:.2f} s = {sent / wall:,.0f} events/s; "
        f"{received / wall / 1e6:.1f} MB/s on the wire; "
        f"CPU {cpu:.2f} s = {100 * cpu / wall:.0f}% of one core (simulator + client)"
    )


def start_simulator(rooms: int) -> tuple[subprocess.Popen[str], dict[str, str], list[str], Path]:
    """A `dylived-sim` subprocess with ``rooms`` live rooms; its first stdout line parsed."""
    lines = ["time_scale = 1.0", "ping_interval = 0", ""]
    web_rids = [f"6000000000{index:02d}" for index in range(rooms)]
    for web_rid in web_rids:
        lines += ["[[room]]", f'web_rid = "{web_rid}"', "live = true", ""]
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as handle:
        handle.write("\n".join(lines))
    process = subprocess.Popen(
        [sys.executable, "-m", "dylived.sim.cli", "--scenario", handle.name],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline()), web_rids, Path(handle.name)


async def bench_media(pid: int, web_base: str, web_rids: list[str], seconds: float) -> None:
    async with httpx.AsyncClient(base_url=web_base, timeout=30) as client:
        await client.get("/")
        urls = []
        for web_rid in web_rids:
            body = (
                await client.get("/webcast/room/web/enter/", params={"web_rid": web_rid})
            ).json()
            urls.append(body["data"]["data"][0]["stream_url"]["flv_pull_url"]["HD1"])
        # warm the clip cache so encoding is not measured
        async with client.stream("GET", urls[0]) as response:
            async for _ in response.aiter_raw():
                break
        totals = [0] * len(urls)

        async def read(index: int, url: str) -> None:
            async with client.stream("GET", url) as response:
                async for chunk in response.aiter_raw():
                    totals[index] += len(chunk)

        cpu0, wall0 = _cpu_of(pid), time.perf_counter()
        with anyio.move_on_after(seconds):
            async with anyio.create_task_group() as tg:
                for index, url in enumerate(urls):
                    tg.start_soon(read, index, url)
        wall, cpu = time.perf_counter() - wall0, _cpu_of(pid) - cpu0
    slowest = min(totals) * 8 / wall / 1000
    print(
        f"media: {len(urls)} rooms x 1 FLV reader for {wall:.1f} s; "
        f"{sum(totals) / wall / 1e6:.2f} MB/s total, slowest reader {slowest:.0f} kbit/s; "
        f"simulator CPU {cpu:.2f} s = {100 * cpu / wall:.1f}% of one core"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    anyio.run(bench_events, args.events)
    process, info, web_rids, scenario_path = start_simulator(args.rooms)
    try:
        anyio.run(bench_media, process.pid, info["web_base"], web_rids, args.seconds)
    finally:
        process.terminate()
        process.wait(timeout=10)
        scenario_path.unlink()


if __name__ == "__main__":
    main()
