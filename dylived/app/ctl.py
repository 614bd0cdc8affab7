"""The ``dylivectl`` command: talk to a running dylived over its control socket.

    dylivectl [--socket PATH] [--json] COMMAND
      status | list | show B | add TARGET [--name N] [--option K=V] | remove B | pause B
      resume B | record start|stop B | reload | tail [B] | sessions [B] | segments [SESSION]
      export SESSION [--format jsonl|csv|manifest|ass|srt] [--segment N] [--include KINDS]
        [--font-size PX] [--scroll-s S] [-o FILE] | health

Owns argument parsing, one function per command, and exit codes: 0 ok, 1 the daemon answered
with an error (its message is printed), 2 usage, 3 the daemon is not reachable (the message
names the socket path). Rendering for people is ``control/render.py``; ``--json`` prints the
daemon's JSON as is (DEL and C1 characters escaped). Without ``--json`` every string of every
reply has its control characters shown as ``\\xNN`` (``render.clean_tree``) before it is
printed: a nickname or title cannot send escape sequences to the terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from dylived import __version__
from dylived.control import render
from dylived.control.client import (
    DEFAULT_SOCKET,
    ControlClient,
    DaemonReplyError,
    DaemonUnreachable,
)


EXIT_OK = 0
EXIT_DAEMON_ERROR = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


def default_socket() -> str:
    return os.environ.get("DYLIVED_SOCKET") or DEFAULT_SOCKET


def _print_json(value: Any) -> None:
    print(render.json_text(value, indent=2))


class CleanClient(ControlClient):
    """The client for human output: every string of a reply ``render.clean``-ed."""

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        accept: tuple[int, ...] = (),
    ) -> Any:
        reply = super().request(method, path, params=params, body=body, accept=accept)
        return render.clean_tree(reply)


def _quote(segment: str) -> str:
    from urllib.parse import quote

    return quote(segment, safe="")


# -- commands: each takes (client, args) and returns an exit code ----------------------------


def _state_text(b: dict[str, Any]) -> str:
    """The watch state, with what the last check said when it is a state of its own: a live
    broadcast the broadcaster paused, a restricted room (not watchable without a login)."""
    state, result = str(b.get("state", "?")), b.get("last_check_result")
    if state == "live" and result == "live_paused":
        return "live (paused)"
    if state == "offline" and result == "restricted":
        return "restricted"
    return state


def cmd_status(client: ControlClient, args: argparse.Namespace) -> int:
    status = client.request("GET", "/v1/status")
    if args.json:
        _print_json(status)
        return EXIT_OK
    now = time.time()
    d = status["daemon"]
    c = d.get("counts", {})
    print(
        f"dylived {d.get('version', '?')} (pid {d.get('pid', '?')}), up "
        f"{render.human_duration(d.get('uptime_s'))}; disk free "
        f"{render.human_bytes(d.get('free_disk_bytes'))}, database "
        f"{render.human_bytes(d.get('database_bytes'))}"
    )
    print(
        f"{c.get('broadcasters', 0)} broadcasters: {c.get('live', 0)} live, "
        f"{c.get('recording', 0)} recording, {c.get('paused', 0)} paused; "
        f"{render.human_count(c.get('events'))} events in {c.get('sessions', 0)} sessions, "
        f"{c.get('segments', 0)} segments"
    )
    if d.get("platforms"):
        print()
        print(render.platforms_table(d["platforms"], now))
    for platform, refused in (d.get("cookies") or {}).items():
        print(
            f"{platform}: the configured login cookie is refused since "
            f"{render.clock(refused['since_ms'])} (cookie_invalid): {refused['detail']}"
        )
    rows = []
    for b in status["broadcasters"]:
        capture = b.get("capture") or {}
        recording = b.get("recording") or {}
        error = b.get("last_error")
        note = f"error: {error['message']}" if error else (b.get("title") or "")
        if error and b.get("last_check_result") == "restricted":  # what to configure, first
            note = str(error["message"]).partition(": ")[2]
        if b.get("breaker") not in (None, "closed"):
            note = f"breaker {b['breaker']}; {note}"
        if recording.get("not_recorded"):  # a filter keeps it out (watch/filters.py)
            note = f"not recorded: {recording['not_recorded']}"
        elif capture.get("state") == "off":  # e.g. no signing server: why events are off
            note = str(capture.get("detail") or "events off")
        elif capture.get("sign_budget_per_day") is not None:  # a platform that signs
            note = f"{_sign_text(capture)}; {note}"
        rows.append(
            [
                b["id"],
                _state_text(b),
                render.since(b.get("state_since_ms"), now),
                render.human_count(b.get("viewers")),
                render.human_count(capture.get("events_per_minute")) if capture else "-",
                recording.get("state", "-") if recording else "-",
                render.bit_rate(recording.get("bytes_per_second")) if recording else "-",
                render.ago(b.get("last_check_ms"), now),
                render.truncate(note, 60 if recording.get("not_recorded") else 40),
            ]
        )
    if rows:
        print()
        headers = ["NAME", "STATE", "SINCE", "VIEWERS", "EV/MIN", "REC", "RATE", "CHECKED", "NOTE"]
        print(render.table(headers, rows, right={3, 4, 6}))
    return EXIT_OK


def _sign_text(capture: dict[str, Any]) -> str:
    """The signing calls a session's platform has left today, and a 429 when there was one."""
    text = (
        f"signing {capture.get('sign_budget_left')}/{capture.get('sign_budget_per_day')} left today"
    )
    if capture.get("sign_rate_limited"):
        text += f", {capture['sign_rate_limited']}x 429"
    return text


def cmd_list(client: ControlClient, args: argparse.Namespace) -> int:
    result = client.request("GET", "/v1/broadcasters")
    if args.json:
        _print_json(result)
        return EXIT_OK
    rows = [
        [
            b["id"],
            b.get("platform", "?"),
            "paused" if b.get("paused") else b.get("state", "?"),
            render.truncate(str(b.get("target", "")), 60),
        ]
        for b in result["broadcasters"]
    ]
    print(render.table(["NAME", "PLATFORM", "STATE", "TARGET"], rows))
    return EXIT_OK


def _show_broadcaster(b: dict[str, Any]) -> None:
    now = time.time()
    capture = b.get("capture")
    recording = b.get("recording")
    error = b.get("last_error")
    pairs = [
        ("name", b["id"]),
        ("target", str(b.get("target", ""))),
        ("platform", str(b.get("platform", "?"))),
        ("state", f"{_state_text(b)} {render.since(b.get('state_since_ms'), now)}"),
        ("paused", "yes" if b.get("paused") else "no"),
        (
            "last check",
            f"{render.ago(b.get('last_check_ms'), now)} ({b.get('last_check_result') or '-'})",
        ),
        (
            "last error",
            f"{error['message']} ({render.ago(error.get('at_ms'), now)})" if error else "-",
        ),
        ("breaker", str(b.get("breaker", "-"))),
        ("session", str(b.get("session_id") or "-")),
        ("title", b.get("title") or "-"),
        ("viewers", render.human_count(b.get("viewers"))),
    ]
    if capture:
        pairs.append(
            (
                "capture",
                f"{'connected' if capture.get('connected') else 'disconnected'}, "
                f"{render.human_count(capture.get('events_per_minute'))} events/min, last event "
                f"{render.human_duration(capture.get('last_event_age_s'))} ago, "
                f"{capture.get('reconnects', 0)} reconnects"
                + (f"; {capture['state']}: {capture['detail']}" if capture.get("detail") else ""),
            )
        )
        if capture.get("sign_budget_per_day") is not None:
            pairs.append(("signing", f"{capture.get('sign_server')}, {_sign_text(capture)}"))
    if recording:
        rate = render.bit_rate(recording.get("bytes_per_second"))
        text = f"{recording.get('state', '?')}, {rate}"
        if recording.get("segments") is not None:
            text += (
                f", {recording['segments']} segments closed "
                f"({render.human_bytes(recording.get('bytes'))}), {recording.get('gaps', 0)} gaps"
            )
        if recording.get("detail"):
            text += f"; {recording['detail']}"
        pairs.append(("recording", text))
        pairs.append(("segment", _segment_text(recording.get("current_segment"), now)))
    for key, value in (b.get("options") or {}).items():
        pairs.append((f"option {key}", json.dumps(value, ensure_ascii=False)))
    width = max(render.display_width(k) for k, _ in pairs)
    for key, value in pairs:
        print(f"{render.pad(key + ':', width + 1)} {value}")


def _segment_text(segment: Any, now: float) -> str:
    """``PATH (since HH:MM:SS, for 42s, 3.1 MiB)`` for the segment being written, or ``-``."""
    if not isinstance(segment, dict):
        return "-"
    since = segment.get("since_ms")
    return (
        f"{segment.get('path', '?')} (since {render.clock(since)}, "
        f"{render.since(since, now)}, {render.human_bytes(segment.get('bytes'))})"
    )


def cmd_show(client: ControlClient, args: argparse.Namespace) -> int:
    b = client.request("GET", f"/v1/broadcasters/{_quote(args.broadcaster)}")
    if args.json:
        _print_json(b)
    else:
        _show_broadcaster(b)
    return EXIT_OK


def _parse_options(items: Sequence[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"dylivectl: --option expects KEY=VALUE, got {item!r}")
        try:
            options[key] = json.loads(raw)
        except ValueError:
            options[key] = raw  # a bare string
    return options


def cmd_add(client: ControlClient, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"target": args.target, "options": _parse_options(args.option)}
    if args.name:
        body["name"] = args.name
    b = client.request("POST", "/v1/broadcasters", body=body)
    if args.json:
        _print_json(b)
    else:
        print(f"added {b['id']} ({b.get('target', args.target)})")
    return EXIT_OK


def cmd_remove(client: ControlClient, args: argparse.Namespace) -> int:
    result = client.request("DELETE", f"/v1/broadcasters/{_quote(args.broadcaster)}")
    if args.json:
        _print_json(result)
    else:
        print(f"removed {args.broadcaster}")
    return EXIT_OK


def _set_paused(client: ControlClient, args: argparse.Namespace, paused: bool) -> int:
    b = client.request(
        "PATCH", f"/v1/broadcasters/{_quote(args.broadcaster)}", body={"paused": paused}
    )
    if args.json:
        _print_json(b)
    else:
        print(f"{'paused' if paused else 'resumed'} {b['id']} (state {b.get('state', '?')})")
    return EXIT_OK


def cmd_pause(client: ControlClient, args: argparse.Namespace) -> int:
    return _set_paused(client, args, True)


def cmd_resume(client: ControlClient, args: argparse.Namespace) -> int:
    return _set_paused(client, args, False)


def cmd_record(client: ControlClient, args: argparse.Namespace) -> int:
    b = client.request(
        "POST",
        f"/v1/broadcasters/{_quote(args.broadcaster)}/record",
        body={"action": args.action},
    )
    if args.json:
        _print_json(b)
    else:
        verb = "started" if args.action == "start" else "stopped"
        rec = b.get("recording") or {}
        print(f"recording {verb} for {b['id']} (recorder {rec.get('state', 'off')})")
    return EXIT_OK


def cmd_reload(client: ControlClient, args: argparse.Namespace) -> int:
    try:
        result = client.request("POST", "/v1/reload")
    except DaemonReplyError as exc:
        problems = list(exc.details.get("problems", []))
        if args.json:
            _print_json({"applied": False, "message": exc.message, "problems": problems})
        else:
            print(f"dylivectl: {render.clean(exc.message)}", file=sys.stderr)
            for problem in problems:
                print(f"  {render.clean(str(problem))}", file=sys.stderr)
        return EXIT_DAEMON_ERROR
    if args.json:
        _print_json(result)
        return EXIT_OK
    parts = [
        f"{key} {', '.join(result[key])}"
        for key in ("added", "removed", "changed")
        if result.get(key)
    ]
    print("reload applied" + (": " + "; ".join(parts) if parts else " (no changes)"))
    return EXIT_OK


def _latest_session_id(client: ControlClient) -> int | None:
    sessions = client.request("GET", "/v1/sessions", params={"limit": 1})["sessions"]
    return int(sessions[0]["id"]) if sessions else None


def cmd_sessions(client: ControlClient, args: argparse.Namespace) -> int:
    params: dict[str, str | int] = {"limit": args.limit}
    if args.broadcaster:
        params["broadcaster"] = args.broadcaster
    result = client.request("GET", "/v1/sessions", params=params)
    if args.json:
        _print_json(result)
        return EXIT_OK
    now = time.time()
    rows = []
    for s in result["sessions"]:
        started, ended = s.get("started_at_ms"), s.get("ended_at_ms")
        end_s = (ended / 1000) if ended else now
        duration = end_s - started / 1000 if started else None
        rows.append(
            [
                str(s["id"]),
                s.get("broadcaster", "?"),
                render.date_time(started),
                render.human_duration(duration) + ("" if ended else " (live)"),
                render.human_count(s.get("total_events")),
                str(s.get("segments", 0)),
                render.human_bytes(s.get("recording_total_bytes")),
                s.get("reason_for_exit") or "-",
                s.get("platform") or "-",
                render.truncate(s.get("title") or "", 30),
            ]
        )
    headers = [
        "ID",
        "BROADCASTER",
        "STARTED",
        "DURATION",
        "EVENTS",
        "SEGS",
        "SIZE",
        "EXIT",
        "PLATFORM",
        "TITLE",
    ]
    print(render.table(headers, rows, right={0, 4, 5, 6}))
    return EXIT_OK


def cmd_segments(client: ControlClient, args: argparse.Namespace) -> int:
    session_id = args.session if args.session is not None else _latest_session_id(client)
    if session_id is None:
        print("dylivectl: no sessions yet", file=sys.stderr)
        return EXIT_DAEMON_ERROR
    result = client.request("GET", f"/v1/sessions/{session_id}/segments")
    if args.json:
        _print_json(result)
        return EXIT_OK
    rows = [
        [
            str(seg.get("seq", "?")),
            str(seg.get("state", "?")),
            render.date_time(seg.get("started_at_ms")),
            render.human_duration(seg.get("start_offset_s")),
            render.human_duration(seg.get("media_duration_s")),
            render.human_bytes(seg.get("bytes")),
            str(seg.get("quality") or "-"),
            str(seg.get("path", "")),
        ]
        for seg in result["segments"]
    ]
    print(f"session {session_id}")
    headers = ["SEQ", "STATE", "STARTED", "AT", "DURATION", "SIZE", "QUALITY", "PATH"]
    print(render.table(headers, rows, right={0, 5}))
    return EXIT_OK


def _subtitle_params(args: argparse.Namespace) -> dict[str, str | int]:
    params: dict[str, str | int] = {}
    if args.format not in ("ass", "srt"):
        return params
    for name in ("segment", "include", "font_size", "scroll_s"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    return params


def _subtitle_counts(response: httpx.Response) -> None:
    """Subtitle exports: what was shown, dropped and skipped, on stderr."""
    lines = response.headers.get("x-dylived-lines")
    if lines is None:
        return
    dropped = response.headers.get("x-dylived-dropped", "0")
    no_offset = response.headers.get("x-dylived-no-offset", "0")
    print(
        f"{lines} lines, {dropped} dropped (every lane full), "
        f"{no_offset} events skipped (no stream offset)",
        file=sys.stderr,
    )


def cmd_export(client: ControlClient, args: argparse.Namespace) -> int:
    path = f"/v1/sessions/{args.session}/export"
    params: dict[str, str | int] = {"format": args.format, **_subtitle_params(args)}
    if args.output in (None, "-"):
        with client.stream(path, params) as response:
            for chunk in response.iter_bytes():
                sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        _subtitle_counts(response)
        return EXIT_OK
    target = Path(args.output)
    partial = target.with_name(target.name + ".part")
    written = 0
    try:
        with client.stream(path, params) as response, partial.open("wb") as out:
            for chunk in response.iter_bytes():
                out.write(chunk)
                written += len(chunk)
        _subtitle_counts(response)
        partial.replace(target)  # only a complete export gets the final name
    finally:
        partial.unlink(missing_ok=True)
    if not args.json:
        print(f"wrote {render.human_bytes(written)} to {target}", file=sys.stderr)
    return EXIT_OK


def cmd_playlist(client: ControlClient, args: argparse.Namespace) -> int:
    """The session's HLS playlist (relative URIs: resolve them against the API's address)."""
    with client.stream(f"/v1/sessions/{args.session}/playlist.m3u8", {}) as response:
        text = b"".join(response.iter_bytes())
    if args.output in (None, "-"):
        sys.stdout.buffer.write(text)
        sys.stdout.buffer.flush()
    else:
        Path(args.output).write_bytes(text)
    return EXIT_OK


def cmd_health(client: ControlClient, args: argparse.Namespace) -> int:
    report = client.request("GET", "/v1/health", accept=(503,))
    if args.json:
        _print_json(report)
    else:
        print("healthy" if report.get("ok") else "UNHEALTHY")
        for check in report.get("checks", []):
            mark = "ok  " if check.get("ok") else "FAIL"
            print(f"  {mark} {check.get('name', '?')}: {check.get('detail', '')}")
    return EXIT_OK if report.get("ok") else EXIT_DAEMON_ERROR


def cmd_notify(client: ControlClient, args: argparse.Namespace) -> int:
    """``notify test [URL]``: the daemon sends a test message; one line per target."""
    body = {"url": args.url} if args.url else {}
    results = client.request("POST", "/v1/notify/test", body=body)["results"]
    if args.json:
        _print_json(results)
    elif not results:
        print("no [[notify]] targets configured")
    for r in [] if args.json else results:
        print(
            f"{'ok  ' if r['ok'] else 'FAIL'} {r['target']}"
            + (f": {r['error']}" * bool(r["error"]))
        )
    return EXIT_OK if results and all(r["ok"] for r in results) else EXIT_DAEMON_ERROR


def cmd_tail(client: ControlClient, args: argparse.Namespace) -> int:
    from dylived.control.tail import run_tail

    return run_tail(
        client.socket_path, args.broadcaster, as_json=args.json, from_start=args.from_start
    )


# -- parsing and dispatch ---------------------------------------------------------------------

Command = Callable[[ControlClient, argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dylivectl", description="Inspect and steer a running dylived over its control socket."
    )
    parser.add_argument("--version", action="version", version=f"dylivectl {__version__}")
    parser.add_argument(
        "--socket",
        default=None,
        metavar="PATH",
        help=f"control socket (default: $DYLIVED_SOCKET or {DEFAULT_SOCKET})",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Command, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    command("status", cmd_status, "the daemon and every broadcaster at a glance")
    command("list", cmd_list, "the watched broadcasters")
    command("show", cmd_show, "everything about one broadcaster").add_argument(
        "broadcaster", metavar="B"
    )
    add = command("add", cmd_add, "watch a new broadcaster (persisted)")
    add.add_argument("target", metavar="TARGET", help="live URL, web id, share link, sec_uid, ...")
    add.add_argument("--name", help="the broadcaster's name in dylived (default: from the target)")
    add.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a per-broadcaster option, VALUE as JSON or a bare string (repeatable)",
    )
    command("remove", cmd_remove, "stop watching a broadcaster (persisted)").add_argument(
        "broadcaster", metavar="B"
    )
    command("pause", cmd_pause, "stop polling a broadcaster (persisted)").add_argument(
        "broadcaster", metavar="B"
    )
    command("resume", cmd_resume, "poll a paused broadcaster again (persisted)").add_argument(
        "broadcaster", metavar="B"
    )
    record = command("record", cmd_record, "start or stop recording a live broadcaster now")
    record.add_argument("action", choices=("start", "stop"))
    record.add_argument("broadcaster", metavar="B")
    command("reload", cmd_reload, "re-read the config; wait until applied or rejected")
    tail = command("tail", cmd_tail, "follow live events (of B, or of every live broadcaster)")
    tail.add_argument("broadcaster", nargs="?", metavar="B")
    tail.add_argument(
        "--from-start", action="store_true", help="first print the events already stored"
    )
    sessions = command("sessions", cmd_sessions, "recorded sessions, newest first")
    sessions.add_argument("broadcaster", nargs="?", metavar="B")
    sessions.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    segments = command("segments", cmd_segments, "the recording segments of a session")
    segments.add_argument(
        "session", nargs="?", type=int, metavar="SESSION", help="session id (default: the latest)"
    )
    export = command("export", cmd_export, "export a session's events (dataset.md format)")
    export.add_argument("session", type=int, metavar="SESSION")
    export.add_argument(
        "--format", choices=("jsonl", "csv", "manifest", "ass", "srt"), default="jsonl"
    )
    export.add_argument(
        "--segment", type=int, metavar="N", help="ass/srt: only segment N, timed from its start"
    )
    export.add_argument(
        "--include",
        metavar="KINDS",
        help="ass/srt: chat,gift,join (default chat,gift)",
    )
    export.add_argument("--font-size", type=int, metavar="PX", help="ass: default from the height")
    export.add_argument("--scroll-s", type=int, metavar="S", help="ass: seconds to cross (8)")
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    playlist = command("playlist", cmd_playlist, "a session's HLS playlist of its segments")
    playlist.add_argument("session", type=int, metavar="SESSION")
    playlist.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    command("health", cmd_health, "the daemon's health checks; exit 1 when unhealthy")
    notify = command("notify", cmd_notify, "notifications: `notify test [URL]` sends a test")
    notify.add_argument("action", choices=("test",))
    notify.add_argument("url", nargs="?", metavar="URL", help="default: every [[notify]] target")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    socket_path = args.socket or default_socket()
    func: Command = args.func
    client_class = ControlClient if args.json else CleanClient
    try:
        with client_class(socket_path) as client:
            return func(client, args)
    except DaemonUnreachable as exc:
        print(f"dylivectl: {render.clean(str(exc))}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except DaemonReplyError as exc:
        print(f"dylivectl: {render.clean(exc.message)}", file=sys.stderr)
        for problem in exc.details.get("problems", []):
            print(f"  {render.clean(str(problem))}", file=sys.stderr)
        return EXIT_DAEMON_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (dylivectl tail | head); do not print a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
