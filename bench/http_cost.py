"""CPU per status request: raw httpx and httpcore, and the daemon's whole ``fetch_status``.

Runs ``dylived-sim`` as a subprocess (its CPU is not counted) with one offline room, then, in
this process, makes ``--requests`` sequential web/enter GETs per variant (the daemon's URL,
headers and ttwid cookie) and prints the CPU time (user + system, ``time.process_time``) per
request, best of ``--rounds``:

- ``httpx``: ``httpx.AsyncClient`` (keep-alive; its cookie jar; gzip decoding)
- ``httpcore``: ``httpcore.AsyncConnectionPool.request`` with the same headers
- ``fetch_status``: ``DouyinPlatform.fetch_status`` over the daemon's ``HttpClient`` (URL
  building, the client, the body parse into a ``LiveStatus``)

Whether ``sniffio`` is importable is printed: without it httpcore retries a failing import on
every request.

    .venv/bin/python -m bench.http_cost [--requests 200] [--rounds 20]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpcore
import httpx

from dylived.net.http import HttpClient
from dylived.platforms.douyin.client import DouyinPlatform
from dylived.platforms.douyin.options import DouyinConfig
from dylived.platforms.douyin.targets import ResolvedTarget, TargetKind


REPO = Path(__file__).resolve().parent.parent
WEB_RID = "300000000001"


async def measure(
    variants: dict[str, Callable[[], Awaitable[object]]], n: int, rounds: int
) -> None:
    """Best CPU per request of each variant; the variants take turns, so they share the load."""
    best = dict.fromkeys(variants, float("inf"))
    for call in variants.values():
        for _ in range(20):
            await call()  # warm up: connection made, caches filled
    for _ in range(rounds):
        for label, call in variants.items():
            start = time.process_time()
            for _ in range(n):
                await call()
            best[label] = min(best[label], (time.process_time() - start) / n)
    for label, seconds in best.items():
        print(f"{label:<14} {seconds * 1e6:7.0f} µs CPU per request")


async def run(web_base: str, n: int, rounds: int) -> None:
    settings = DouyinConfig(web_base=web_base, app_base=web_base, share_base=web_base)
    async with HttpClient(user_agent=settings.user_agent, timeout=10) as http:
        platform = DouyinPlatform(http, settings)
        await platform.ensure_ttwid()
        ttwid = http.cookie("ttwid") or ""
        resolved = ResolvedTarget(target=WEB_RID, kind=TargetKind.WEB_RID, web_rid=WEB_RID)
        headers = {
            "accept": "application/json, text/plain, */*",
            "accept-encoding": "gzip, deflate",
            "accept-language": "zh-CN,zh;q=0.9",
            "user-agent": settings.user_agent,
            "referer": f"{web_base}/{WEB_RID}",
        }

        async with (
            httpx.AsyncClient(timeout=10, cookies={"ttwid": ttwid}) as client,
            httpcore.AsyncConnectionPool() as pool,
        ):

            async def via_httpx() -> object:
                response = await client.get(platform.enter_url(WEB_RID), headers=headers)
                return response.content

            core_headers = [*headers.items(), ("cookie", f"ttwid={ttwid}")]
            extensions = {"timeout": {"connect": 10, "read": 10, "write": 10, "pool": 10}}

            async def via_httpcore() -> object:
                response = await pool.request(
                    "GET",
                    platform.enter_url(WEB_RID),
                    headers=core_headers,
                    extensions=extensions,
                )
                return response.content

            async def via_platform() -> object:
                return await platform.fetch_status(resolved)

            await measure(
                {"httpx": via_httpx, "httpcore": via_httpcore, "fetch_status": via_platform},
                n,
                rounds,
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dylived-http-cost-") as work:
        scenario = Path(work) / "scenario.toml"
        scenario.write_text(
            f'time_scale = 1.0\n[[room]]\nweb_rid = "{WEB_RID}"\n'
            'schedule = [{state = "offline"}]\n'
        )
        sim = subprocess.Popen(
            [sys.executable, "-m", "dylived.sim.cli", "--scenario", str(scenario)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert sim.stdout is not None
            web_base = json.loads(sim.stdout.readline())["web_base"]
            print(
                f"httpx {httpx.__version__}, httpcore {httpcore.__version__}, sniffio "
                f"{'importable' if importlib.util.find_spec('sniffio') else 'absent'}"
            )
            anyio.run(run, web_base, args.requests, args.rounds)
        finally:
            sim.terminate()
            sim.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
