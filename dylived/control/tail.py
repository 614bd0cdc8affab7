"""``dylivectl tail``: follow the live events of one broadcaster, or of all, as they arrive.

Owns the follow loop: every ``poll_s`` it asks for the active sessions (of the broadcaster, or
of everyone) and follows each new one with ``GET /v1/sessions/{id}/events?follow=1`` in its
own task; a session's stream ends when the session ends, and the next session is picked up by
the next poll. Prints one readable line per event (``control/render.py``), its control
characters shown as ``\\xNN``, or the JSON row.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

import anyio

from dylived.control import render
from dylived.control.client import AsyncControlClient


async def follow_sessions(
    client: AsyncControlClient,
    broadcaster: str | None,
    out: TextIO,
    *,
    as_json: bool = False,
    from_start: bool = False,
    poll_s: float = 2.0,
) -> None:
    """Print events until cancelled. Cancel safety: safe; lines are printed whole."""
    following: set[int] = set()
    first_poll = True

    def emit(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    async def follow_one(session: dict[str, Any]) -> None:
        after = 0 if from_start else int(session.get("last_seq") or 0)
        who = None if broadcaster else str(session.get("broadcaster", "?"))
        async for row in client.follow_events(int(session["id"]), after_seq=after):
            if as_json:
                emit(render.json_text(row))
            else:  # a nickname or chat line cannot send escape sequences to the terminal
                emit(render.clean(render.event_line(row, who)))
        following.discard(int(session["id"]))

    async with anyio.create_task_group() as tg:
        while True:
            params: dict[str, str | int] = {"active": 1, "limit": 1000}
            if broadcaster:
                params["broadcaster"] = broadcaster
            sessions = (await client.request("GET", "/v1/sessions", params=params))["sessions"]
            for session in sessions:
                if int(session["id"]) not in following:
                    following.add(int(session["id"]))
                    tg.start_soon(follow_one, session)
            if first_poll and not sessions:
                who = broadcaster or "any broadcaster"
                sys.stderr.write(f"dylivectl: waiting for {who} to go live…\n")
                sys.stderr.flush()
            first_poll = False
            await anyio.sleep(poll_s)


def run_tail(socket_path: str, broadcaster: str | None, *, as_json: bool, from_start: bool) -> int:
    """Run ``follow_sessions`` until interrupted; errors propagate to ``dylivectl``'s mapping."""

    async def main() -> None:
        async with AsyncControlClient(socket_path) as client:
            await follow_sessions(
                client, broadcaster, sys.stdout, as_json=as_json, from_start=from_start
            )

    try:
        anyio.run(main)
    except BaseExceptionGroup as group:
        # One failing follower (a closed pipe, the daemon gone) ends the whole tail: re-raise
        # that error itself so dylivectl's exit-code mapping sees it.
        first = group
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
    return 0
