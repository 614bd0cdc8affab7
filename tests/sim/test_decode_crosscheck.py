"""Two independent implementations agree: frames the simulator sent, fed to `dylived decode`,
give exactly the events it scripted (types, msg_ids, key fields, acks)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest
from websockets.asyncio.client import connect

from dylived.model import EVENT_TYPES
from dylived.sim import Simulator
from tests.conftest import REPO_ROOT
from tests.sim.conftest import WEB_RID


pytestmark = pytest.mark.anyio


async def test_dylived_decode_reads_back_exactly_the_scripted_events(
    sim: Simulator, tmp_path: Path
) -> None:
    room = sim.room(WEB_RID)
    room_id = room.go_live()
    scripted = {}
    async with connect(sim.ws_url(room_id)) as ws:
        for kind in EVENT_TYPES:
            if kind != "control":
                event = room.push(kind)
                scripted[event.msg_id] = event
        for _ in range(30):  # a few gift streaks, so repeat_end is exercised
            event = room.push("gift")
            scripted[event.msg_id] = event
        room.go_offline()
        with anyio.fail_after(5):
            async for _message in ws:
                pass
    record = sim.observed.push_connections[0]
    await sim.wait_until(lambda: not record.open)
    frames = tmp_path / "frames.hex"
    await anyio.Path(frames).write_text("\n".join(f.hex() for f in record.frames_sent) + "\n")
    result = await anyio.run_process(
        [sys.executable, "-m", "dylived", "decode", "--acks", str(frames)],
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    lines = [json.loads(line) for line in result.stdout.decode().splitlines() if line.strip()]
    rows = [line for line in lines if "ack" not in line]
    acks = [line for line in lines if "ack" in line]
    sent = record.events
    assert [(int(r["msg_id"]), r["type"]) for r in rows] == [(e.msg_id, e.type) for e in sent]
    assert len(acks) == len(record.frames_sent)  # every frame asked for an ack
    assert {int(a["log_id"]) for a in acks} == record.msg_log_ids
    by_id = {int(r["msg_id"]): r for r in rows}
    for msg_id, event in scripted.items():
        row = by_id[msg_id]
        assert str(row["room_id"]) == room_id
        if event.user is not None and "user" in row:
            assert str(row["user"]["user_id"]) == str(event.user.id)
            assert row["user"]["nickname"] == event.user.nickname
        if event.type == "chat":
            assert row["content"] == event.fields["content"]
        if event.type == "gift":
            assert row["gift_name"] == event.fields["gift_name"]
            assert row["repeat_count"] == event.fields["repeat_count"]
            assert int(row["repeat_end"]) == event.fields["repeat_end"]
        if event.type == "like":
            assert (row["count"], row["total"]) == (event.fields["count"], event.fields["total"])
        if event.type == "viewer_count":
            assert row["current_viewers"] == event.fields["current_viewers"]
    control = [r for r in rows if r["type"] == "control"]
    assert len(control) == 1
    assert control[0]["status"] == 3
