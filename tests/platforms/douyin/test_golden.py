"""The Douyin decode path, byte for byte: simulator-encoded frames and status bodies → rows.

Fixed, seeded input (``sim/encode.py`` frames with every event type, a gift streak, an unknown
method, a bad frame; the simulator's web/enter and reflow bodies) goes through
``dylived decode``'s stream decoder (``decode_stream``, with acks) and through the status
parser and ``room_info`` row builder. The output must equal the golden files in ``golden/``,
generated from the code before the platform seam (issue 12) moved Douyin into its package:
a move that changes any row, any ack or any room_info byte fails here.

Regenerate only on purpose: ``python -m tests.platforms.douyin.test_golden``.
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
from pathlib import Path

from dylived.app.decode import decode_stream
from dylived.model import LiveStatus
from dylived.platforms.douyin._pb import douyin_pb2 as pb
from dylived.platforms.douyin.rows import build_room_info_row
from dylived.platforms.douyin.status import parse_enter, parse_reflow
from dylived.sim.douyin.messages import FRAMING
from dylived.sim.douyin.status import reflow_body, web_enter_body
from dylived.sim.framing import FrameContext
from dylived.sim.script import METHODS, EventScript, SimUser
from dylived.sim.view import QUALITY_LADDER, RoomView, StreamLinks


GOLDEN = Path(__file__).parent / "golden"
ROOM_ID = 7_300_000_000_000_000_123
NOW_MS = 1_764_633_600_000
ANCHOR = SimUser(
    id=98_765_432_100,
    short_id=4_321_000,
    nickname="测试主播",
    sec_uid="MS4wLjABAAAAgoldengoldengoldengoldengoldengoldengol",
    display_id="646454278948",
)


def _unknown_and_undecodable_frame() -> bytes:
    response = pb.Response(
        messages_list=[
            pb.Message(method="WebcastNotYetKnownMessage", payload=b"\x08\x01", msg_id=11),
            pb.Message(method="WebcastChatMessage", payload=b"\xff\xff\xff", msg_id=12),
        ],
        now=NOW_MS + 99,
        need_ack=False,
    )
    frame = pb.PushFrame(
        seq_id=99,
        log_id=99,
        payload_type="msg",
        payload=gzip.compress(response.SerializeToString(), mtime=0),
    )
    return bytes(frame.SerializeToString())


def frames_hex() -> bytes:
    """The fixed input of ``dylived decode``: hex frames, one a line."""
    script = EventScript(
        room_id=ROOM_ID, anchor=ANCHOR, rates={}, seed=12, msg_ids=itertools.count(7_000_000)
    )
    lines: list[str] = []
    kinds = tuple(METHODS)
    for seq in range(1, 9):
        events = [script.make_event(kind, now_ms=NOW_MS + seq * 1000) for kind in kinds]
        events += [script.make_event("gift", now_ms=NOW_MS + seq * 1000 + 1) for _ in range(3)]
        if seq == 4:
            events += events[:2]  # replayed messages: dropped by the dedup window
        ctx = FrameContext(
            room_id=ROOM_ID,
            seq_id=seq,
            log_id=10_000 + seq,
            now_ms=NOW_MS + seq * 1000,
            heartbeat_duration=15 if seq == 1 else 0,
            need_ack=seq % 2 == 1,
        )
        lines.append(FRAMING.encode_frame(events, ctx).hex())
    lines.append(_unknown_and_undecodable_frame().hex())
    lines.append("0aff")  # not a frame: one stderr line, decoding goes on
    return ("\n".join(lines) + "\n").encode()


def decoded() -> tuple[str, str, int]:
    out, err = io.StringIO(), io.StringIO()
    status = decode_stream(frames_hex(), out, err, show_acks=True)
    return out.getvalue(), err.getvalue(), status


def _view(*, live: bool) -> RoomView:
    links = {
        q.sdk_key: StreamLinks(
            flv=f"http://127.0.0.1:1/live/stream-7300000000000000999{q.suffix}.flv?expire=1",
            hls=f"http://127.0.0.1:1/live/stream-7300000000000000999{q.suffix}/index.m3u8?expire=1",
            width=q.width,
            height=q.height,
        )
        for q in QUALITY_LADDER
    }
    return RoomView(
        web_rid="646454278948",
        uid=ANCHOR.id,
        sec_uid=ANCHOR.sec_uid,
        nickname=ANCHOR.nickname,
        title="黄金直播间",
        live=live,
        room_id=str(ROOM_ID),
        stream_id="7300000000000000999",
        viewers=1234,
        total_users=5678,
        now_ms=NOW_MS,
        links=links if live else {},
        session_id="s1",
        create_time=NOW_MS // 1000 - 60,
        finish_time=0 if live else NOW_MS // 1000,
    )


def _streams(status: LiveStatus) -> dict[str, object]:
    """The stream variants of a parsed status (what the recorder is given), as JSON."""
    return {key: {f: getattr(v, f) for f in v.__slots__} for key, v in status.streams.items()}


def room_info_rows() -> str:
    rows = []
    for live in (True, False):
        enter = parse_enter(json.dumps(web_enter_body(_view(live=live))), web_rid="646454278948")
        rows.append(build_room_info_row(enter, raw_url="https://example/e", received_at_ms=1))
        reflow = parse_reflow(json.dumps(reflow_body(_view(live=live))), sec_uid=ANCHOR.sec_uid)
        rows.append(build_room_info_row(reflow, raw_url="https://example/r", received_at_ms=2))
        rows.append({"enter": _streams(enter), "reflow": _streams(reflow)})
    return "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)


def test_decode_output_is_byte_identical_to_the_golden_file() -> None:
    out, err, status = decoded()
    assert status == 1  # the one bad frame
    assert err == (GOLDEN / "decode.stderr").read_text(encoding="utf-8")
    assert out == (GOLDEN / "decode.jsonl").read_text(encoding="utf-8")
    # the golden file itself covers what it claims to
    types = {json.loads(line).get("type") for line in out.splitlines()}
    assert types >= set(METHODS) | {"unknown", "undecodable"}
    assert any('"ack"' in line for line in out.splitlines())


def test_room_info_rows_are_byte_identical_to_the_golden_file() -> None:
    assert room_info_rows() == (GOLDEN / "room_info.jsonl").read_text(encoding="utf-8")


if __name__ == "__main__":
    out, err, _ = decoded()
    (GOLDEN / "decode.jsonl").write_text(out, encoding="utf-8")
    (GOLDEN / "decode.stderr").write_text(err, encoding="utf-8")
    (GOLDEN / "room_info.jsonl").write_text(room_info_rows(), encoding="utf-8")
