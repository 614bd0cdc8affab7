"""``dylived-sim [--scenario FILE] [--listen HOST:PORT]``: the simulator as its own process.

Prints one JSON line first (``{"web_base", "ws_base", "port", "rooms"}``) once the port is
bound, then serves until SIGTERM or SIGINT (exit 0). Exit 78 for a bad scenario, 2 for bad
arguments.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio

from dylived.errors import ConfigError
from dylived.sim.personality import registered
from dylived.sim.scenario import Scenario, load_scenario
from dylived.sim.server import Simulator


EX_CONFIG = 78


def build_parser() -> argparse.ArgumentParser:
    platforms = ", ".join(registered())
    parser = argparse.ArgumentParser(
        prog="dylived-sim",
        description=f"Simulated live platforms ({platforms}) on loopback, for tests and the demo.",
    )
    parser.add_argument("--scenario", type=Path, help="scenario TOML (default: no rooms)")
    parser.add_argument(
        "--listen", default="127.0.0.1:0", help="HOST:PORT to bind (127.0.0.1 only; port 0 = any)"
    )
    parser.add_argument("--media-cache", type=Path, help="where encoded media clips are cached")
    return parser


async def _serve(simulator: Simulator) -> None:
    async with anyio.create_task_group() as tg:
        await tg.start(simulator.serve)
        line = {
            "web_base": simulator.web_base,
            "ws_base": simulator.ws_base,
            "port": simulator.port,
            "rooms": [room.web_rid for room in simulator.rooms.values()],
        }
        print(json.dumps(line), flush=True)
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _signum in signals:
                tg.cancel_scope.cancel()
                return


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    host, _, port_text = args.listen.rpartition(":")
    if host != "127.0.0.1" or not port_text.isdigit():
        print("dylived-sim: --listen must be 127.0.0.1:PORT", file=sys.stderr)
        return 2
    try:
        scenario = load_scenario(args.scenario) if args.scenario else Scenario()
    except ConfigError as exc:
        print(f"dylived-sim: {exc}", file=sys.stderr)
        return EX_CONFIG
    simulator = Simulator(scenario, port=int(port_text), media_cache_dir=args.media_cache)
    anyio.run(_serve, simulator)
    return 0


if __name__ == "__main__":
    sys.exit(main())
