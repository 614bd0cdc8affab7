"""`dylived decode`: the real command in a subprocess, on the real capture and on bad input."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from dylived.platforms.douyin._pb import douyin_pb2 as pb
from tests.conftest import REPO_ROOT
from tests.wire.wirebuild import build_frame


def _decode(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "dylived", "decode", *args],
        cwd=REPO_ROOT,
        input=stdin,
        capture_output=True,
        check=False,
        timeout=60,
    )


def _lines(result: subprocess.CompletedProcess[bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]


def test_real_capture_prints_exactly_one_chat_row(chat_frame_hex_path: Path) -> None:
    result = _decode(str(chat_frame_hex_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    [row] = _lines(result)
    assert row["type"] == "chat"
    assert row["content"] == "百分之10可以直播半小时"
    assert row["user"]["nickname"] == "渴死的鱼."
    assert row["user"]["user_id"] == "726106111214807"
    assert row["msg_id"] == "7181859941539730490"
    assert row["room_id"] == "7181823408362015540"
    # printed as UTF-8, not \\u escapes
    assert "渴死的鱼.".encode() in result.stdout


def test_real_capture_with_acks(chat_frame_hex_path: Path, chat_frame_bytes: bytes) -> None:
    result = _decode("--acks", str(chat_frame_hex_path))
    assert result.returncode == 0, result.stderr
    chat, ack_line = _lines(result)
    assert chat["type"] == "chat"
    assert ack_line["log_id"] == "8726349535470258530"
    ack = pb.PushFrame()
    ack.ParseFromString(bytes.fromhex(ack_line["ack"]))
    assert ack.log_id == 8726349535470258530
    assert ack.payload_type == "ack"
    # the payload is that frame's Response.internal_ext, read here with the schema alone
    frame = pb.PushFrame()
    frame.ParseFromString(chat_frame_bytes)
    response = pb.Response()
    response.ParseFromString(gzip.decompress(frame.payload))
    assert ack.payload.decode() == response.internal_ext
    assert response.internal_ext.startswith("internal_src:pushserver|")


def test_binary_frame_file_and_stdin(tmp_path: Path, chat_frame_bytes: bytes) -> None:
    path = tmp_path / "frame.bin"
    path.write_bytes(chat_frame_bytes)
    from_file = _decode(str(path))
    from_stdin = _decode("-", stdin=chat_frame_bytes)
    assert from_file.returncode == from_stdin.returncode == 0
    assert _lines(from_file) == _lines(from_stdin)
    assert _lines(from_file)[0]["content"] == "百分之10可以直播半小时"


def test_bad_frames_are_reported_by_number_and_decoding_continues(tmp_path: Path) -> None:
    like = pb.LikeMessage(count=3, total=10)
    like.common.room_id = 5
    good = build_frame([("WebcastLikeMessage", 11, like.SerializeToString())])
    unknown = build_frame([("WebcastBrandNewMessage", 12, b"\x08\x2a")], gzip_payload=False)
    # blank lines are skipped and not numbered
    text = "\n".join([good.hex(), "", "abc", "ffff", unknown.hex()]) + "\n"
    path = tmp_path / "frames.hex"
    path.write_text(text)
    result = _decode(str(path))
    assert result.returncode == 1
    errors = result.stderr.decode().splitlines()
    assert len(errors) == 2
    assert errors[0].startswith("frame 2: ")  # "abc": odd number of hex digits
    assert errors[1].startswith("frame 3: ")  # "ffff": not a PushFrame
    like_row, unknown_row = _lines(result)
    assert like_row["type"] == "like"
    assert (like_row["count"], like_row["total"], like_row["room_id"]) == (3, 10, "5")
    assert unknown_row["type"] == "unknown"
    assert unknown_row["method"] == "WebcastBrandNewMessage"
    assert base64.b64decode(unknown_row["payload_base64"]) == b"\x08\x2a"


def test_garbage_binary_file_is_frame_1(tmp_path: Path) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(b"\xff\xfe not a frame")
    result = _decode(str(path))
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr.decode().startswith("frame 1: not a PushFrame")


def test_missing_file_is_exit_1() -> None:
    result = _decode("/nonexistent/frames.hex")
    assert result.returncode == 1
    assert b"nonexistent" in result.stderr
