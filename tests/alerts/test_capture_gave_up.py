"""``capture_gave_up`` end to end below the daemon: the real EventCapture on the simulator
(``tests/capture/rig.py``) gives up after refused reconnects, and the daemon's notification
service (``Alerts``, as ``app/daemon.py`` composes it) delivers it to a real webhook."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from dylived.alerts.service import Alerts
from dylived.config.load import loads_config
from dylived.sim import RoomSpec, Scenario, Simulator
from tests.alerts.webhook import WebhookServer
from tests.capture.rig import capture_rig
from tests.daemon_rig import wait_for


pytestmark = pytest.mark.anyio

WEB_RID = "200000000001"


async def test_capture_giving_up_reaches_the_webhook(
    tmp_path: Path, webhook: WebhookServer
) -> None:
    config = loads_config(
        f'[daemon]\nstate_dir = "{tmp_path}"\n[recording]\nmin_free = "1KiB"\n'
        f'[[broadcaster]]\ntarget = "{WEB_RID}"\nname = "alice"\n'
        f'[[notify]]\nurl = "{webhook.url("/ok")}"\nevents = ["capture_gave_up"]\n'
    )
    scenario = Scenario(rooms=(RoomSpec(WEB_RID),), ping_interval=0.3)
    async with (
        Simulator.running(scenario) as sim,
        Alerts.open(lambda: config) as alerts,
        anyio.create_task_group() as tg,
    ):
        await tg.start(alerts.run)
        room = sim.room(WEB_RID)
        room.go_live()
        async with capture_rig(
            sim, WEB_RID, tmp_path / "db.sqlite", reconnect_scale=0.01, max_failed_attempts=3
        ) as rig:
            assert alerts.capture_observer(rig.ctx, rig.capture) is rig.capture
            await sim.wait_until(lambda: rig.capture.state == "running", 10)
            room.inject("ws_reject", duration=3600)
            room.inject("ws_drop")  # every reconnect is refused from now on
            await wait_for(lambda: webhook.bodies("/ok"), 15, "capture_gave_up at the webhook")
            assert rig.capture.state == "gave_up"
            await rig.finish()
        tg.cancel_scope.cancel()
    [body] = webhook.bodies("/ok")
    assert (body["event"], body["broadcaster"], body["session_id"]) == (
        "capture_gave_up",
        "alice",
        rig.session_id,
    )
    assert body["key"] == f"capture_gave_up:{rig.session_id}"
    assert "3 attempts without events" in body["details"]["detail"]
