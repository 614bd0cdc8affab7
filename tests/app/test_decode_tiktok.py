"""`dylived decode --platform tiktok`: the real command in a subprocess, on PushFrames built
around the 48 real payloads of tiktok-events-2023.jsonl (skipped when absent), hex and binary."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path
from typing import Any

from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from tests.app.test_decode_cli import _decode, _lines as _rows
from tests.conftest import capture_path
from tests.platforms.tiktok.test_capture import CAPTURE, assert_row_has_its_values, capture_lines


def _frame(lines: list[dict[str, Any]], log_id: int, ext: str = "") -> bytes:
    """A TikTok ``msg`` PushFrame: a gzip Response holding the lines' payloads as sent."""
    response = pb.Response(cursor=f"c{log_id}", internal_ext=ext, need_ack=bool(ext))
    for line in lines:
        response.messages.add(
            method=line["method"],
            msg_id=int(line["expect"]["msg_id"]),
            payload=base64.b64decode(line["payload_b64"]),
        )
    frame = pb.PushFrame(log_id=log_id, payload_encoding="pb", payload_type="msg")
    frame.headers.add(key="compress_type", value="gzip")
    frame.payload = gzip.compress(response.SerializeToString())
    return frame.SerializeToString()


def test_every_real_payload_in_hex_frames_prints_its_row(tmp_path: Path) -> None:
    capture_path(CAPTURE)  # skips when absent
    lines = capture_lines()
    frames = [_frame(lines[n : n + 5], log_id=100 + n) for n in range(0, len(lines), 5)]
    path = tmp_path / "frames.hex"
    path.write_text("\n\n".join(f.hex() for f in frames) + "\n", encoding="ascii")
    result = _decode("--platform", "tiktok", str(path))
    assert (result.returncode, result.stderr) == (0, b"")
    rows = {row["msg_id"]: row for row in _rows(result)}
    assert len(lines) == 48
    [held] = [line for line in lines if _mid_streak(line)]  # the real Ice Cream Cone tap
    for line in lines:  # every payload, the open streak's too (printed at the end of input)
        assert_row_has_its_values(rows.pop(line["expect"]["msg_id"]), line)
    assert rows == {}  # nothing else printed
    last = _rows(result)[-1]  # the streak whose closer never came, flushed at the end
    assert (last["msg_id"], last["streak_interrupted"]) == (held["expect"]["msg_id"], True)
    # printed as UTF-8, not \\u escapes
    assert "King.1🤴King".encode() in result.stdout


def _mid_streak(line: dict[str, Any]) -> bool:
    expect = line["expect"]
    return bool(expect.get("gift_type") == 1 and expect.get("repeat_end") == 0)


def test_a_binary_frame_on_stdin_with_its_ack(tmp_path: Path) -> None:
    capture_path(CAPTURE)
    chats = [line for line in capture_lines() if line["method"] == "WebcastChatMessage"]
    data = _frame(chats, log_id=7_309_140_090_588_498_694, ext="internal_src:pushserver|wss")
    result = _decode("--platform", "tiktok", "--acks", "-", stdin=data)
    assert (result.returncode, result.stderr) == (0, b"")
    first, second, ack_line = _rows(result)
    assert [first["content"], second["content"]] == ["+999", "@Jaivee"]
    assert ack_line["log_id"] == "7309140090588498694"
    ack = pb.PushFrame.FromString(bytes.fromhex(ack_line["ack"]))
    assert (ack.payload_type, ack.payload_encoding) == ("ack", "pb")
    assert ack.payload == b"internal_src:pushserver|wss"


def test_a_bad_line_is_reported_and_the_others_decode(tmp_path: Path) -> None:
    capture_path(CAPTURE)
    control = [line for line in capture_lines() if line["method"] == "WebcastControlMessage"]
    path = tmp_path / "frames.hex"
    path.write_text(f"{_frame(control, 1).hex()}\nabc\n0a\n", encoding="ascii")
    result = _decode("--platform", "tiktok", str(path))
    assert result.returncode == 1
    assert [(r["type"], r["status"]) for r in _rows(result)] == [("control", 2), ("control", 3)]
    errors = result.stderr.decode().splitlines()
    assert [e.split(":")[0] for e in errors] == ["frame 2", "frame 3"]


def test_an_unknown_platform_is_a_usage_error_naming_the_known_ones() -> None:
    result = _decode("--platform", "twitch", "-", stdin=b"")
    assert result.returncode == 2
    message = result.stderr.decode()
    assert "unknown platform 'twitch'" in message
    assert "douyin" in message
    assert "tiktok" in message
    assert result.stdout == b""
