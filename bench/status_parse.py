"""Status-body parsing cost: JSON libraries and the parsers on real-size Douyin and TikTok bodies.

Douyin: the 2026 capture (../shared/captures/douyin-web-enter-live-2026-04.json, ~625 KB; the
simulator's real-size offline body when the capture is absent). TikTok: there is no capture, so
the bodies are the simulator's real-size builder's (sim/tiktok/bulk.py) for a live room:
``api-live/user/room`` (~23 KB, an estimate), ``webcast/room/info`` (~51 KB, sized on the 2025
capture of tiktok.md §2.2) and the live page (~190 KB, an estimate).

Times, in CPU time per body (best of ``--rounds`` rounds of ``--repeat`` calls, the variants
taking turns): ``json.loads``, ``orjson.loads`` (when installed; not a dependency), msgspec
untyped and typed to the fields the parser reads (``status_shape.py`` of each platform), and the
parser on bytes (typed decoding) against the parser on ``json.loads`` of the same bytes (the
whole-document path used before).

    .venv/bin/python -m bench.status_parse [--platform douyin|tiktok|all] [--rounds 7]
        [--repeat 20]
"""

from __future__ import annotations

import argparse
import html
import importlib
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from dylived.platforms.douyin.status import parse_enter
from dylived.platforms.douyin.status_shape import slim
from dylived.platforms.tiktok import status as tiktok
from dylived.platforms.tiktok.status_shape import slim_room_info, slim_sigi_state, slim_user_room
from dylived.sim.tiktok.bulk import real_live_page_bytes, real_room_info_bytes, real_user_room_bytes
from dylived.sim.view import QUALITY_LADDER, RoomView, StreamLinks


CAPTURE = Path(__file__).resolve().parents[2] / "shared/captures/douyin-web-enter-live-2026-04.json"
Variants = dict[str, Callable[[], object]]


def douyin_body() -> tuple[str, bytes]:
    if CAPTURE.exists():
        return CAPTURE.name, CAPTURE.read_bytes()
    from dylived.sim.douyin.bulk import real_web_enter_bytes

    return "simulator real-size body (no capture)", real_web_enter_bytes(None)


def _libraries(raw: bytes) -> Variants:
    out: Variants = {"json.loads": lambda: json.loads(raw)}
    try:
        orjson = importlib.import_module("orjson")
        out["orjson.loads"] = lambda: orjson.loads(raw)
    except ImportError:
        pass
    untyped = msgspec.json.Decoder()
    out["msgspec untyped"] = lambda: untyped.decode(raw)
    return out


def douyin_variants(raw: bytes) -> Variants:
    out = _libraries(raw)
    out["msgspec typed (status_shape.slim)"] = lambda: slim(raw)
    out["parse_enter(json.loads(body)) (before)"] = lambda: parse_enter(json.loads(raw))
    out["parse_enter(body) (typed)"] = lambda: parse_enter(raw)
    return out


def tiktok_view() -> RoomView:
    """A live room as the simulator renders it, with URLs as long as a real CDN's."""
    query = "expire=1748243747&sign=0096ab4d6f142022204d889c44e68627&t_id=037-20251202"
    links = {
        q.sdk_key: StreamLinks(
            flv=f"https://pull-flv-l1-va01.tiktokcdn.com/game/stream-2999545150721753184{q.suffix}.flv?{query}",
            hls=f"https://pull-hls-l1-va01.tiktokcdn.com/game/stream-2999545150721753184{q.suffix}/playlist.m3u8?{query}",
            width=q.width,
            height=q.height,
        )
        for q in QUALITY_LADDER
    }
    return RoomView(
        web_rid="some.creator",
        uid=6_888_971_869_959_046_145,
        sec_uid="MS4wLjABAAAA8L1GAr-6EXlWa330S-THNJUTnKsrpH-G-s3tzrx-PsxhDgWQ3Qro4VYKs3q-Nyun",
        nickname="Some Creator",
        title="Ow Zeny Only",
        live=True,
        room_id="7503448765740976902",
        stream_id="2999545150721753184",
        viewers=541,
        total_users=1661,
        now_ms=1_747_034_147_224,
        links=links,
        session_id="178-2025051207154689B62CE39CB18B4E79B9",
        create_time=1_747_032_842,
    )


def tiktok_bodies() -> dict[str, bytes]:
    view = tiktok_view()
    return {
        "api-live/user/room": real_user_room_bytes(view, logged_in=False),
        "webcast/room/info": real_room_info_bytes(view, logged_in=False),
        "live page": real_live_page_bytes(view, logged_in=False),
    }


_SIGI = re.compile(r'<script[^>]*id="SIGI_STATE"[^>]*>(.*?)</script>', re.DOTALL)


def _page_before(page: bytes) -> object:
    """The live page as parsed before: the page decoded, the regex, ``json.loads``, the walk."""
    found = _SIGI.search(page.decode("utf-8", "replace"))
    assert found is not None
    text = found.group(1)
    state = json.loads(html.unescape(text) if "&quot;" in text else text)
    info = state["LiveRoom"]["liveRoomUserInfo"]
    return tiktok._web_status(info["user"], info["liveRoom"])


def tiktok_variants(name: str, raw: bytes) -> Variants:
    if name == "live page":
        sigi = tiktok._sigi_text(raw)
        out = _libraries(sigi if isinstance(sigi, bytes) else sigi.encode())
        out["msgspec typed (slim_sigi_state)"] = lambda: slim_sigi_state(sigi)
        out["parse_live_page, page → json.loads (before)"] = lambda: _page_before(raw)
        out["parse_live_page(page) (typed)"] = lambda: tiktok.parse_live_page(raw)
        return out
    out = _libraries(raw)
    if name == "api-live/user/room":
        out["msgspec typed (slim_user_room)"] = lambda: slim_user_room(raw)
        out["parse_user_room(json.loads(body)) (before)"] = lambda: tiktok.parse_user_room(
            json.loads(raw)
        )
        out["parse_user_room(body) (typed)"] = lambda: tiktok.parse_user_room(raw)
    else:
        out["msgspec typed (slim_room_info)"] = lambda: slim_room_info(raw)
        out["parse_room_info(json.loads(body)) (before)"] = lambda: tiktok.parse_room_info(
            json.loads(raw), "1"
        )
        out["parse_room_info(body) (typed)"] = lambda: tiktok.parse_room_info(raw, "1")
    return out


def measure(loops: Variants, rounds: int, repeat: int) -> dict[str, float]:
    best = dict.fromkeys(loops, float("inf"))
    for _ in range(rounds):  # the variants take turns, so load from others hits them alike
        for label, call in loops.items():
            start = time.process_time()
            for _ in range(repeat):
                call()
            best[label] = min(best[label], (time.process_time() - start) / repeat)
    return best


def report(name: str, raw: bytes, loops: Variants, args: argparse.Namespace) -> None:
    best = measure(loops, args.rounds, args.repeat)
    print(f"{name}: {len(raw):,} bytes; CPU per body, best of {args.rounds} x {args.repeat}")
    for label, seconds in best.items():
        print(f"| {label} | {seconds * 1e3:.3f} ms |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", choices=("douyin", "tiktok", "all"), default="all")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    if args.platform in ("douyin", "all"):
        name, raw = douyin_body()
        report(f"douyin {name}", raw, douyin_variants(raw), args)
    if args.platform in ("tiktok", "all"):
        for name, raw in tiktok_bodies().items():
            report(f"tiktok {name} (simulator real-size)", raw, tiktok_variants(name, raw), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
