"""Hostile events through the whole path: the simulator → the real daemon → SQLite → dylivectl.

The simulator sends, amid ordinary chat, a 7 MB chat line, a chat whose ``create_time`` is
2**63 + 5 ms (beyond SQLite's INTEGER), and chat lines and a nickname that a spreadsheet would
run as formulas. What must come out: the long text cut at ``TEXT_CAP`` with the row marked and
the session summary counting it; every row of the batch with the huge number stored (the
number kept exactly in the payload); the CSV export neutralising the formulas with ``'``
while JSONL keeps them as sent.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from dylived.sim import RoomSpec, Scenario, Simulator
from dylived.sim.script import SimUser
from dylived.store.export import CSV_COLUMNS
from dylived.store.statements import TEXT_CAP
from tests.conftest import REPO_ROOT
from tests.daemon_rig import broadcaster_table, ctl, query, simulator_config, wait_for


pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.slow]

WEB_RID = "200000000001"
HUGE_TIME = 2**63 + 5
LONG_LINE = "长" * (7 * 1024 * 1024 // 3)  # 7 MB of UTF-8
FORMULAS = ('=HYPERLINK("http://127.0.0.1/x","click")', "+1+1", "-2+3", "@SUM(1)", "\tx")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_hostile_events_are_capped_kept_and_neutralised_end_to_end(tmp_path: Path) -> None:
    scenario = Scenario(rooms=(RoomSpec(WEB_RID, rates={"chat": 5}),), ping_interval=1.0)
    state = tmp_path / "s"
    db, sock = state / "dylived.db", state / "control.sock"
    config = tmp_path / "dylived.toml"
    evil = SimUser(7, 7, "=cmd|' /C calc'!A0", "MS4wLjABAAAAevil", "evil")
    async with Simulator.running(scenario) as sim:
        config.write_text(
            simulator_config(sim, state, broadcasters=broadcaster_table(WEB_RID, "alice")),
            encoding="utf-8",
        )
        room = sim.room(WEB_RID)
        room.go_live()
        with (tmp_path / "daemon.log").open("wb") as log:
            process = await anyio.open_process(
                [sys.executable, "-m", "dylived", "run", "--config", str(config)],
                cwd=REPO_ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                stdout=log,
                stderr=log,
            )
            try:
                await wait_for(lambda: query(db, "SELECT 1 FROM events LIMIT 1"), 20, "events")
                await sim.wait_until(lambda: sim.observed.push_for(WEB_RID), 5)
                before = room.push("chat", content="just before")
                long_line = room.push("chat", content=LONG_LINE)
                huge = room.push("chat", content="from the far future", now_ms=HUGE_TIME)
                after = room.push("chat", content="just after")
                formulas = [room.push("chat", content=f, user=evil) for f in FORMULAS]
                mine = [before, long_line, huge, after, *formulas]
                ids = [str(e.msg_id) for e in mine]
                marks = ",".join("?" * len(ids))
                sql = f"SELECT count(*) FROM events WHERE msg_id IN ({marks})"
                await wait_for(lambda: query(db, sql, *ids) == [(len(ids),)], 20, "every row")
                room.go_offline()
                await wait_for(
                    lambda: query(db, "SELECT 1 FROM sessions WHERE ended_at_ms IS NOT NULL"),
                    15,
                    "the session closed",
                )
                csv_out = await anyio.to_thread.run_sync(
                    lambda: ctl(sock, "export", "1", "--format", "csv")
                )
                jsonl_out = await anyio.to_thread.run_sync(lambda: ctl(sock, "export", "1"))
                metrics = await anyio.to_thread.run_sync(
                    lambda: (
                        subprocess.run(
                            [
                                "/usr/bin/curl",
                                "-sS",
                                "--unix-socket",
                                str(sock),
                                "http://d/metrics",
                            ],
                            capture_output=True,
                            text=True,
                            check=True,
                            timeout=30,
                        ).stdout
                    )
                )
                process.send_signal(signal.SIGTERM)
                with anyio.fail_after(20):
                    returncode = await process.wait()
            finally:
                if process.returncode is None:
                    process.kill()
                    with anyio.move_on_after(5, shield=True):
                        await process.wait()
    assert returncode == 0

    def stored(event_id: int) -> tuple[int | None, dict[str, object]]:
        [(server_time, payload)] = query(
            db, "SELECT server_time_ms, payload FROM events WHERE msg_id = ?", str(event_id)
        )
        return server_time, json.loads(payload)

    # The 7 MB line: cut, marked, counted; its neighbours whole.
    _, long_row = stored(long_line.msg_id)
    assert long_row["content"] == "长" * TEXT_CAP
    assert long_row["truncated"] == ["content"]
    [(longest,)] = query(db, "SELECT max(length(payload)) FROM events")
    assert longest < 4 * TEXT_CAP
    [(summary_text,)] = query(db, "SELECT summary FROM sessions")
    assert json.loads(summary_text)["truncated_events"] == 1
    assert "dylived_store_rows_truncated_total 1\n" in metrics
    # 2**63 + 5: its row and the rows around it are stored; the exact value is in the payload.
    server_time, huge_row = stored(huge.msg_id)
    assert server_time is None
    assert huge_row["server_time_ms"] == HUGE_TIME
    assert stored(before.msg_id)[1]["content"] == "just before"
    assert stored(after.msg_id)[1]["content"] == "just after"
    assert "dylived_store_values_out_of_range_total 1\n" in metrics
    assert "dylived_store_rows_rejected_total 0\n" in metrics
    # CSV cells that would run as formulas start with ', JSONL has them as sent.
    assert csv_out.returncode == 0, csv_out.stderr
    records = [
        dict(zip(CSV_COLUMNS, r, strict=True))
        for r in csv.reader(io.StringIO(csv_out.stdout, newline=""))
    ][1:]
    by_id = {r["msg_id"]: r for r in records}
    for event, text in zip(formulas, FORMULAS, strict=True):
        cell = by_id[str(event.msg_id)]
        assert cell["content"] == "'" + text
        assert cell["nickname"] == "'=cmd|' /C calc'!A0"
        assert json.loads(cell["data"])["content"] == text  # the JSON column, lossless
    assert by_id[str(after.msg_id)]["content"] == "just after"
    assert records[-1]["type"] == "summary"
    jsonl_rows = [json.loads(line) for line in jsonl_out.stdout.splitlines()]
    by_id_jsonl = {r.get("msg_id"): r for r in jsonl_rows}
    assert [by_id_jsonl[str(e.msg_id)]["content"] for e in formulas] == list(FORMULAS)
    assert jsonl_rows[-1]["truncated_events"] == 1
