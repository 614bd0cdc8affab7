"""The committed protobuf gencode is exactly what the pinned generator makes from proto/."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_generated_code_matches_proto_sources() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "proto" / "gen.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_real_capture_parses_with_the_schema(chat_frame_bytes: bytes) -> None:
    import gzip

    from dylived.platforms.douyin._pb import douyin_pb2 as pb

    frame = pb.PushFrame.FromString(chat_frame_bytes)
    assert (frame.seq_id, frame.log_id, frame.payload_type) == (703, 8726349535470258530, "msg")
    response = pb.Response.FromString(gzip.decompress(frame.payload))
    assert response.need_ack
    assert response.heartbeat_duration == 15
    chat = pb.ChatMessage.FromString(response.messages_list[0].payload)
    assert chat.content == "百分之10可以直播半小时"
    assert chat.user.pay_grade.level == 14
    assert chat.user.fans_club.data.club_name == "颗美玉"
