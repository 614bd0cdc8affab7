"""Status-body parsing cost: JSON libraries and the parser on a real-size web/enter body.

Reads the 2026 capture (../shared/captures/douyin-web-enter-live-2026-04.json, ~625 KB; the
simulator's real-size offline body when the capture is absent) and times, in CPU time per body
(best of ``--rounds`` rounds of ``--repeat`` calls): ``json.loads``, ``orjson.loads`` (when
installed; not a dependency), msgspec untyped and typed to the fields the parser reads
(platforms/douyin/status_shape.py), and ``parse_enter`` on bytes (typed decoding) against
``parse_enter`` on ``json.loads`` of the same bytes (the whole-document path used before).

    .venv/bin/python -m bench.status_parse [--rounds 7] [--repeat 20]
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from dylived.platforms.douyin.status import parse_enter
from dylived.platforms.douyin.status_shape import slim


CAPTURE = Path(__file__).resolve().parents[2] / "shared/captures/douyin-web-enter-live-2026-04.json"


def body() -> tuple[str, bytes]:
    if CAPTURE.exists():
        return CAPTURE.name, CAPTURE.read_bytes()
    from dylived.sim.douyin.bulk import real_web_enter_bytes

    return "simulator real-size body (no capture)", real_web_enter_bytes(None)


def variants(raw: bytes) -> dict[str, Callable[[], object]]:
    out: dict[str, Callable[[], object]] = {"json.loads": lambda: json.loads(raw)}
    try:
        orjson = importlib.import_module("orjson")
        out["orjson.loads"] = lambda: orjson.loads(raw)
    except ImportError:
        pass
    untyped = msgspec.json.Decoder()
    out["msgspec untyped"] = lambda: untyped.decode(raw)
    out["msgspec typed (status_shape.slim)"] = lambda: slim(raw)
    out["parse_enter(json.loads(body)) (before)"] = lambda: parse_enter(json.loads(raw))
    out["parse_enter(body) (typed)"] = lambda: parse_enter(raw)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    name, raw = body()
    loops = variants(raw)
    best = dict.fromkeys(loops, float("inf"))
    for _ in range(args.rounds):  # the variants take turns, so load from others hits them alike
        for label, call in loops.items():
            start = time.process_time()
            for _ in range(args.repeat):
                call()
            best[label] = min(best[label], (time.process_time() - start) / args.repeat)
    print(f"{name}: {len(raw):,} bytes; CPU per body, best of {args.rounds} x {args.repeat}")
    for label, seconds in best.items():
        print(f"| {label} | {seconds * 1e3:.2f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
