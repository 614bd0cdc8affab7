"""``cookie_invalid`` through the real daemon (a subprocess) against the simulator on 127.0.0.1.

``douyin.cookies`` carries a login cookie (``sessionid``); the simulator answers web/enter as
to a signed-in viewer until the test tells it (``POST /_sim/login {"refused": true}``) to
answer as to a logged-out one, the way an expired cookie is answered. The webhook then gets
``cookie_invalid`` once, however many polls of both broadcasters see the refusal; ``status``
and the log say so, and never the cookie. Accepted again, the refusal is forgotten: a second
expiry is a second alert.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from dylived.sim import RoomSpec, Scenario, Simulator
from tests.alerts.test_notify_daemon import ctl
from tests.alerts.webhook import WebhookServer
from tests.daemon.helpers import control, running_daemon
from tests.daemon_rig import broadcaster_table, simulator_config, wait_for


pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.slow]

ALICE, BOB = "200000000001", "200000000002"
POLL = "interval = 0.5\njitter = 0.1\nlive_interval = 0.5\ngrace = 2\n"
SECRET = "s3cr3t-session-token"


async def test_a_refused_login_cookie_is_one_cookie_invalid_until_it_is_accepted_again(
    tmp_path: Path, webhook: WebhookServer
) -> None:
    state, config, log = tmp_path / "state", tmp_path / "dylived.toml", tmp_path / "daemon.log"
    scenario = Scenario(rooms=(RoomSpec(ALICE), RoomSpec(BOB)), strict_ttwid=False)
    async with Simulator.running(scenario) as sim:
        text = simulator_config(
            sim,
            state,
            broadcasters=broadcaster_table(ALICE, "alice") + broadcaster_table(BOB, "bob"),
            poll=POLL,
            extra=f'[[notify]]\nurl = "{webhook.url("/ok")}"\n',
        )
        cookies = f'cookies = "sessionid={SECRET}; ttwid=1%7Csim"\n'
        config.write_text(text.replace("[douyin]\n", "[douyin]\n" + cookies), encoding="utf-8")
        sim.room(ALICE).go_live()  # a live one and an offline one: both see the cookie
        sock = state / "control.sock"

        def enters() -> int:
            return int(sim.observed.request_counts().get("web_enter", 0))

        async def refuse(refused: bool) -> None:
            async with httpx.AsyncClient(base_url=sim.web_base) as client:  # /_sim control
                answer = await client.post("/_sim/login", json={"refused": refused})
            assert answer.json() == {"refused": refused}

        def cookies_status() -> dict[str, object]:
            with control(state) as client:
                return dict(client.get("/v1/status").json()["daemon"]["cookies"])

        with running_daemon(config, log=log):
            await wait_for(lambda: enters() >= 4, 40, "polls with the cookie accepted")
            await wait_for(sock.exists, 20, "the control socket", interval=0.2)
            assert cookies_status() == {}
            assert not webhook.bodies("/ok", "cookie_invalid")
            await refuse(True)
            await wait_for(lambda: webhook.bodies("/ok", "cookie_invalid"), 25, "cookie_invalid")
            seen = enters()
            await wait_for(lambda: enters() >= seen + 6, 25, "more refused polls of both")
            [alert] = webhook.bodies("/ok", "cookie_invalid")  # once, though every poll saw it
            refused_status = cookies_status()
            printed = await ctl(sock, "status")
            await refuse(False)
            await wait_for(lambda: cookies_status() == {}, 25, "the cookie accepted again")
            await refuse(True)
            await wait_for(
                lambda: len(webhook.bodies("/ok", "cookie_invalid")) == 2, 15, "a second expiry"
            )
    assert (alert["platform"], alert["key"]) == ("douyin", "cookie_invalid:douyin:1")
    assert alert["broadcaster"] in ("alice", "bob")
    assert "login_lead.is_login" in alert["details"]["detail"]
    assert "[douyin] cookies" in alert["message"]
    second = webhook.bodies("/ok", "cookie_invalid")[1]
    assert second["key"] == "cookie_invalid:douyin:2"
    assert set(refused_status) == {"douyin"}
    assert printed[0] == 0
    assert "douyin: the configured login cookie is refused since" in printed[1]
    text = log.read_text(errors="replace")
    assert text.count("douyin no longer accepts the configured login cookie") == 2
    assert "douyin accepts the configured login cookie again" in text
    assert SECRET not in text
    assert all(SECRET not in str(body) for body in webhook.bodies("/ok"))
