"""Map one parsed HTTP request to one ``DaemonFacade`` call, and its result to a response.

The route table of ARCHITECTURE.md §4 lives here, with the validation of paths, query
parameters and JSON bodies. Knows nothing about sockets or h11: ``control/server.py`` parses
the bytes into a ``Request`` and writes the ``Response``/``StreamResponse`` back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import parse_qsl, unquote

from dylived.control import metrics as metrics_text
from dylived.control.api import (
    EXPORT_FORMATS,
    SUBTITLE_FORMATS,
    ApiError,
    BadRequest,
    DaemonFacade,
    JsonObject,
    NotFound,
    SubtitleFormat,
)
from dylived.replay import playlist as hls, timeline
from dylived.replay.subtitles import DEFAULT_INCLUDE, KINDS, SubtitleOptions


logger = logging.getLogger(__name__)

JSON_TYPE = "application/json"
NDJSON_TYPE = "application/x-ndjson"
CSV_TYPE = "text/csv; charset=utf-8"
SUBTITLE_TYPES = {"ass": "text/x-ssa; charset=utf-8", "srt": "application/x-subrip; charset=utf-8"}
STATE_CHANGING_METHODS = frozenset({"POST", "PATCH", "DELETE", "PUT"})
MAX_SESSIONS_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, parsed: method upper-case, path without the query, body bytes, and
    the headers (names lower-case) the routes read."""

    method: str
    target: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> dict[str, str]:
        if "?" not in self.target:
            return {}
        try:
            pairs = parse_qsl(
                self.target.split("?", 1)[1], keep_blank_values=True, strict_parsing=False
            )
        except ValueError as exc:
            raise BadRequest(f"malformed query string: {exc}") from exc
        return dict(pairs)


@dataclass(frozen=True, slots=True)
class Response:
    """A complete response with a body of known length."""

    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class StreamResponse:
    """A response whose body is produced while it is sent (chunked transfer encoding)."""

    status: int
    content_type: str
    chunks: AsyncIterator[bytes]
    headers: tuple[tuple[str, str], ...] = field(default=())


def json_bytes(value: Any) -> bytes:
    """JSON as dylived writes it on the wire: UTF-8, not ASCII-escaped, newline-terminated."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def json_response(status: int, value: Any) -> Response:
    return Response(status, json_bytes(value))


def error_response(
    status: int, code: str, message: str, headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    """The JSON error body of ARCHITECTURE §4: ``{"error": {"code", "message"}}``."""
    return Response(
        status, json_bytes({"error": {"code": code, "message": message}}), headers=headers
    )


def api_error_response(exc: ApiError) -> Response:
    return Response(exc.status, json_bytes(exc.body()))


class MethodNotAllowed(ApiError):
    """The path exists but not with this method; carries the ``Allow`` header value."""

    status = 405
    code = "method_not_allowed"

    def __init__(self, method: str, allowed: tuple[str, ...]) -> None:
        super().__init__(f"{method} is not allowed here; use {', '.join(allowed)}")
        self.allowed = allowed


Handler = Callable[[DaemonFacade, Request, tuple[str, ...]], Awaitable[Response | StreamResponse]]


def _body_object(request: Request) -> JsonObject:
    if not request.body.strip():
        return {}
    try:
        value = json.loads(request.body)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object")
    return cast(JsonObject, value)


def _number_param(
    query: Mapping[str, str], name: str, default: float, kind: type[int] | type[float]
) -> float:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError as exc:
        what = "an integer" if kind is int else "a number"
        raise BadRequest(f"query parameter {name!r} must be {what}, got {raw!r}") from exc


def _int_param(query: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    if not query.get(name):
        return default  # it may mean "none given" (-1)
    value = int(_number_param(query, name, default, int))
    if value < minimum:
        raise BadRequest(f"query parameter {name!r} must be at least {minimum}")
    return value


def _bool_param(query: Mapping[str, str], name: str) -> bool:
    raw = query.get(name, "0").lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("", "0", "false", "no", "off"):
        return False
    raise BadRequest(f"query parameter {name!r} must be 0 or 1, got {raw!r}")


def _session_id(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError as exc:
        raise NotFound(f"no session {raw!r} (session ids are integers)") from exc
    if value < 0:
        raise NotFound(f"no session {raw!r}")
    return value


async def _status(facade: DaemonFacade, request: Request, args: tuple[str, ...]) -> Response:
    return json_response(200, await facade.status())


async def _list_broadcasters(
    facade: DaemonFacade, request: Request, args: tuple[str, ...]
) -> Response:
    return json_response(200, {"broadcasters": await facade.list_broadcasters()})


async def _add_broadcaster(
    facade: DaemonFacade, request: Request, args: tuple[str, ...]
) -> Response:
    body = _body_object(request)
    target = body.get("target")
    if not isinstance(target, str) or not target.strip():
        raise BadRequest('"target" is required: a non-empty string')
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise BadRequest('"name" must be a non-empty string when given')
    options = body.get("options", {})
    if not isinstance(options, dict):
        raise BadRequest('"options" must be a JSON object')
    return json_response(201, await facade.add_broadcaster(target.strip(), name, options))


async def _get_broadcaster(
    facade: DaemonFacade, request: Request, args: tuple[str, ...]
) -> Response:
    return json_response(200, await facade.get_broadcaster(args[0]))


async def _patch_broadcaster(
    facade: DaemonFacade, request: Request, args: tuple[str, ...]
) -> Response:
    body = _body_object(request)
    paused = body.get("paused")
    if not isinstance(paused, bool) or set(body) != {"paused"}:
        raise BadRequest('the body must be {"paused": true} or {"paused": false}')
    if paused:
        return json_response(200, await facade.pause_broadcaster(args[0]))
    return json_response(200, await facade.resume_broadcaster(args[0]))


async def _delete_broadcaster(
    facade: DaemonFacade, request: Request, args: tuple[str, ...]
) -> Response:
    return json_response(200, await facade.remove_broadcaster(args[0]))


async def _record(facade: DaemonFacade, request: Request, args: tuple[str, ...]) -> Response:
    action = _body_object(request).get("action")
    if action == "start":
        return json_response(200, await facade.record(args[0], "start"))
    if action == "stop":
        return json_response(200, await facade.record(args[0], "stop"))
    raise BadRequest('the body must be {"action": "start"} or {"action": "stop"}')


async def _reload(facade: DaemonFacade, request: Request, args: tuple[str, ...]) -> Response:
    return json_response(200, await facade.reload())


async def _sessions(facade: DaemonFacade, request: Request, args: tuple[str, ...]) -> Response:
    query = request.query
    broadcaster = query.get("broadcaster") or None
    limit = min(_int_param(query, "limit", 100, minimum=1), MAX_SESSIONS_LIMIT)
    active_only = _bool_param(query, "active")
    sessions = await facade.list_sessions(broadcaster, active_only=active_only, limit=limit)
    return json_response(200, {"sessions": sessions})


async def _segments(facade: DaemonFacade, request: Request, args: tuple[str, ...]) -> Response:
    session_id = _session_id(args[0])
    return json_response(200, {"segments": await facade.list_segments(session_id)})


async def _ndjson(rows: AsyncIterator[JsonObject]) -> AsyncIterator[bytes]:
    try:
        async for row in rows:
            yield json_bytes(row)
    finally:
        closer = getattr(rows, "aclose", None)
        if closer is not None:
            await closer()


async def _events(facade: DaemonFacade, request: Request, args: tuple[str, ...]) -> StreamResponse:
    session_id = _session_id(args[0])
    query = request.query
    after = _int_param(query, "after", 0)
    follow = _bool_param(query, "follow")
    rows = await facade.events(session_id, after_seq=after, follow=follow)
    return StreamResponse(200, NDJSON_TYPE, _ndjson(rows))


def subtitle_options(query: Mapping[str, str]) -> SubtitleOptions:
    """``include`` (comma list of chat, gift, join), ``segment``, ``font_size``, ``scroll_s``."""
    raw = query.get("include")
    include = DEFAULT_INCLUDE if raw is None else frozenset(filter(None, raw.split(",")))
    if not include or not include <= set(KINDS):
        raise BadRequest(f"include must be a comma list of {', '.join(KINDS)}, got {raw!r}")
    segment = _int_param(query, "segment", -1)
    size = _int_param(query, "font_size", 0)
    if size and not 8 <= size <= 400:
        raise BadRequest("query parameter 'font_size' must be between 8 and 400")
    scroll = _int_param(query, "scroll_s", 8, minimum=1)
    return SubtitleOptions(
        include=include,
        segment=None if segment < 0 else segment,
        font_size=size or None,
        scroll_s=float(scroll),
    )


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _subtitles(
    facade: DaemonFacade, session_id: int, fmt: SubtitleFormat, query: Mapping[str, str]
) -> StreamResponse:
    options = subtitle_options(query)
    done = await facade.subtitles(session_id, fmt, options)
    part = "" if options.segment is None else f"-segment-{options.segment}"
    headers = (
        ("content-disposition", f'attachment; filename="session-{session_id}{part}.{fmt}"'),
        ("x-dylived-lines", str(done.lines)),
        ("x-dylived-dropped", str(done.dropped)),
        ("x-dylived-no-offset", str(done.no_offset)),
    )
    return StreamResponse(200, SUBTITLE_TYPES[fmt], _one_chunk(done.text.encode()), headers)


async def _export(facade: DaemonFacade, request: Request, args: tuple[str, ...]) -> StreamResponse:
    session_id = _session_id(args[0])
    fmt = request.query.get("format", "jsonl")
    if fmt in SUBTITLE_FORMATS:
        return await _subtitles(facade, session_id, fmt, request.query)
    if fmt not in EXPORT_FORMATS:
        every = (*EXPORT_FORMATS, *SUBTITLE_FORMATS)
        raise BadRequest(f"format must be one of {', '.join(every)}, got {fmt!r}")
    chunks = await facade.export(session_id, fmt)
    content_type = {"jsonl": NDJSON_TYPE, "csv": CSV_TYPE, "manifest": JSON_TYPE}[fmt]
    filename = f"session-{session_id}.{'json' if fmt == 'manifest' else fmt}"
    disposition = (("content-disposition", f'attachment; filename="{filename}"'),)
    return StreamResponse(200, content_type, chunks, disposition)


async def _playlist(facade: DaemonFacade, request: Request, args: tuple[str, ...]) -> Response:
    text = await facade.playlist(_session_id(args[0]))
    return Response(200, text.encode(), hls.PLAYLIST_TYPE, (("cache-control", "no-cache"),))


def _seconds_param(query: Mapping[str, str], name: str, default: float) -> float:
    value = _number_param(query, name, default, float)
    if not 0 <= value < 1e9:  # NaN fails this too
        raise BadRequest(f"query parameter {name!r} must be a number of seconds from 0")
    return value


async def _events_window(facade: DaemonFacade, request: Request, args: tuple[str, ...]) -> Response:
    """The replay page's chat: ``from_s`` (0) to ``to_s`` (``from_s`` + 60), at most an hour."""
    session_id = _session_id(args[0])
    query = request.query
    from_s = _seconds_param(query, "from_s", 0.0)
    to_s = _seconds_param(query, "to_s", from_s + 60.0)
    if not from_s <= to_s <= from_s + timeline.MAX_WINDOW_S:
        raise BadRequest("to_s must be from from_s to from_s + 3600")
    raw = query.get("include")
    include = frozenset(KINDS) if raw is None else frozenset(filter(None, raw.split(",")))
    if not include or not include <= set(KINDS):
        raise BadRequest(f"include must be a comma list of {', '.join(KINDS)}, got {raw!r}")
    return json_response(200, await facade.events_window(session_id, from_s, to_s, include))


async def _chart(facade: DaemonFacade, request: Request, args: tuple[str, ...]) -> Response:
    return json_response(200, await facade.chart(_session_id(args[0])))


async def _segment(
    facade: DaemonFacade, request: Request, args: tuple[str, ...]
) -> Response | StreamResponse:
    """The segment's file, whole (200) or one byte range (206); 416 past its end."""
    parsed = hls.parse_segment_id(args[0])
    if parsed is None:
        logger.warning("control: refused segment request %r (not <session>-<seq>)", args[0])
        raise NotFound(f"no segment {args[0]!r} (segment ids are <session>-<seq>)")
    session_id, seq, ext = parsed
    path = await facade.segment_file(session_id, seq)
    if ext is not None and ext != path.suffix.lower():
        raise NotFound(f"segment {session_id}-{seq} is not a {ext} file")
    size = path.stat().st_size
    headers: tuple[tuple[str, str], ...] = (("accept-ranges", "bytes"),)
    try:
        wanted = hls.parse_range(request.header("range"), size)
    except hls.RangeNotSatisfiable:
        headers += (("content-range", f"bytes */{size}"),)
        return error_response(416, "range_not_satisfiable", f"the file has {size} bytes", headers)
    status, (first, last) = (200, (0, size - 1)) if wanted is None else (206, wanted)
    if status == 206:
        headers += (("content-range", f"bytes {first}-{last}/{size}"),)
    headers += (("content-length", str(last - first + 1)),)
    chunks = hls.file_chunks(path, first, last)
    return StreamResponse(status, hls.content_type(path), chunks, headers)


async def _health(facade: DaemonFacade, request: Request, args: tuple[str, ...]) -> Response:
    report = await facade.health()
    return json_response(200 if report.get("ok") else 503, report)


async def _metrics(facade: DaemonFacade, request: Request, args: tuple[str, ...]) -> Response:
    text = metrics_text.render(await facade.metrics())
    return Response(200, text.encode(), metrics_text.CONTENT_TYPE)


async def _notify_test(facade: DaemonFacade, request: Request, args: tuple[str, ...]) -> Response:
    url = _body_object(request).get("url")
    if url is not None and (not isinstance(url, str) or not url.strip()):
        raise BadRequest('the body must be {} or {"url": "<notification URL>"}')
    return json_response(200, await facade.notify_test(url.strip() if url else None))


# (path pattern split on "/", "*" = one path segment captured) -> {method: handler}
RouteTable = tuple[tuple[tuple[str, ...], dict[str, Handler]], ...]
ROUTES: RouteTable = (
    (("v1", "status"), {"GET": _status}),
    (("v1", "broadcasters"), {"GET": _list_broadcasters, "POST": _add_broadcaster}),
    (
        ("v1", "broadcasters", "*"),
        {"GET": _get_broadcaster, "PATCH": _patch_broadcaster, "DELETE": _delete_broadcaster},
    ),
    (("v1", "broadcasters", "*", "record"), {"POST": _record}),
    (("v1", "reload"), {"POST": _reload}),
    (("v1", "sessions"), {"GET": _sessions}),
    (("v1", "sessions", "*", "events"), {"GET": _events}),
    (("v1", "sessions", "*", "events", "window"), {"GET": _events_window}),
    (("v1", "sessions", "*", "chart"), {"GET": _chart}),
    (("v1", "sessions", "*", "segments"), {"GET": _segments}),
    (("v1", "sessions", "*", "export"), {"GET": _export}),
    (("v1", "sessions", "*", "playlist.m3u8"), {"GET": _playlist}),
    (("v1", "segments", "*"), {"GET": _segment}),
    (("v1", "health"), {"GET": _health}),
    (("v1", "notify", "test"), {"POST": _notify_test}),
    (("metrics",), {"GET": _metrics}),
)
METRICS_ONLY_ROUTES = tuple(r for r in ROUTES if r[0] == ("metrics",))


def match(method: str, path: str, routes: RouteTable = ROUTES) -> tuple[Handler, tuple[str, ...]]:
    """The handler and captured path segments for a request; raises NotFound/MethodNotAllowed."""
    if not path.startswith("/"):
        raise BadRequest("the request target must be an absolute path")
    parts = tuple(path.strip("/").split("/")) if path.strip("/") else ()
    for pattern, methods in routes:
        if len(pattern) != len(parts):
            continue
        captured: list[str] = []
        for want, got in zip(pattern, parts, strict=True):
            if want == "*":
                if not got:
                    break
                captured.append(unquote(got, errors="strict"))
            elif want != got:
                break
        else:
            handler = methods.get(method)
            if handler is None:
                raise MethodNotAllowed(method, tuple(methods))
            return handler, tuple(captured)
    raise NotFound(f"no route for {path}")


async def dispatch(
    facade: DaemonFacade,
    request: Request,
    *,
    metrics_only: bool = False,
    routes: RouteTable = ROUTES,
) -> Response | StreamResponse:
    """Run the request against the facade; every ``ApiError`` becomes its JSON error response.

    ``routes``: the table to match (the web listener's adds its pages, web/pages.py). Other
    exceptions propagate to the server, which answers 500 and logs them.
    """
    try:
        handler, args = match(
            request.method, request.path, METRICS_ONLY_ROUTES if metrics_only else routes
        )
        return await handler(facade, request, args)
    except MethodNotAllowed as exc:
        resp = api_error_response(exc)
        return Response(resp.status, resp.body, headers=(("allow", ", ".join(exc.allowed)),))
    except UnicodeDecodeError as exc:
        return error_response(400, "bad_request", f"the path is not valid UTF-8: {exc}")
    except ApiError as exc:
        return api_error_response(exc)
