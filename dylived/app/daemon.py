"""The composition root: ``dylived run``. Starts in order, signals READY last, stops in reverse.

Start: config (+ the runtime state overlay) → store writer (migrate, close crashed sessions) →
ffmpeg probe (only when some broadcaster records video) → recovery of the segments a crash left
open (record/recovery.py) → housekeeping (retention, MP4 remux of finished sessions:
record/housekeeping.py) → notifications (``dylived/alerts/``: the ``[[notify]]`` queue and its
sender; the sessions, the breaker, capture and the disk publish to its bus) → the ``[hooks]``
runner (``alerts/hooks.py``: due runs from the store, those of before the start first) → watchlist
(scheduler) → the facade over those → control socket → ``READY=1``. Then a ``STATUS=`` line
whenever the counts change, and ``WATCHDOG=1`` every ``WATCHDOG_USEC/2`` while the loop and the
writer make progress.

Signals and API reloads are commands queued to one consumer (``app.commands.Commands``),
listening from the first moment of ``run`` (and ``cli`` remembers a SIGHUP even earlier).
SIGTERM/SIGINT: acted on at once (a reload in progress is cancelled), ``STOPPING=1`` once
start-up is complete, then in reverse: the config change in progress finishes, control socket,
housekeeping (a remux in progress is killed, its ``.part`` removed), watchlist (every session
closes as ``daemon_stopped``), writer (drained), HTTP clients; exit 0, all within 10 s.
Proxies (README "Proxies"): one platform client, with its own HTTP pool and cookie jar, per
distinct proxy (:class:`ProxiedPlatforms`); a broadcaster's status requests, event WebSocket
and (http:// proxies only) ffmpeg use its proxy; ``config_warnings`` are logged once at start.
SIGHUP or ``POST /v1/reload``: applied once the daemon is ready (a SIGHUP during start-up
waits for it): ``RELOADING=1``, parse and validate the whole file; invalid → every problem
logged, the running config kept; valid → applied as a diff; then ``READY=1``.
A config error at start exits 78. Nothing imports this module but ``cli``.

What the control server sees and asks (status, commands, sessions, export, reload) is
``dylived/app/facade.py``; this module starts the services and hands them to it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel

from dylived import __version__
from dylived.alerts.hooks import HookRunner
from dylived.alerts.service import Alerts
from dylived.app.commands import Commands
from dylived.app.facade import WRITER_STALL, Facade, needs_ffmpeg
from dylived.app.logs import setup_logging
from dylived.app.notify import Notifier, watchdog_interval
from dylived.capture.component import CaptureSettings, capture_factory
from dylived.config.load import EX_CONFIG, Config, config_warnings, parse_config
from dylived.config.overlay import load_config_with_overrides
from dylived.errors import ConfigError, DylivedError, FfmpegUnusable
from dylived.net.http import HttpClient
from dylived.net.proxy import ProxyUrl
from dylived.platforms import registry
from dylived.platforms.base import Platform
from dylived.record.housekeeping import Housekeeper
from dylived.record.probe import find_usable_ffmpeg
from dylived.record.recovery import recover_recordings
from dylived.store.writer import Writer
from dylived.watch.session import StatusSampler, WriterSessionStore, wall_ms
from dylived.watch.watchlist import StatusSource, Watchlist


logger = logging.getLogger(__name__)


STOP_BUDGET = 10.0  # seconds from SIGTERM to exit
STATUS_REFRESH = 2.0  # seconds between STATUS= recomputations


class Daemon:
    """The running daemon's lifecycle (``run``); ``facade`` is what the control server uses."""

    def __init__(self, config: Config, config_path: str, environ: Mapping[str, str]) -> None:
        self._initial_config = config
        self._config_path = config_path
        self.notifier = Notifier.from_env(environ)
        self.facade: Facade | None = None  # built once every service it uses has started
        self.commands = Commands(stop=self.request_stop)
        self._watchdog_every = watchdog_interval(environ)
        self._stop = anyio.Event()
        self._control_socket: str | None = None
        self._ffmpeg: str | None = None
        self._started_at_ms = wall_ms()
        self._started = time.monotonic()

    @property
    def config(self) -> Config:
        """The running config (a reload replaces it)."""
        return self.facade.config if self.facade is not None else self._initial_config

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> int:
        config = self.config
        config.daemon.state_dir.mkdir(parents=True, exist_ok=True)
        config.daemon.database.parent.mkdir(parents=True, exist_ok=True)
        async with anyio.create_task_group() as root:
            await root.start(self._signals)
            root.start_soon(self.commands.run)
            # event rows go on into the reserve under min_free, down to half of it
            floor = lambda: self.config.recording.min_free // 2  # noqa: E731
            async with Writer.open(
                config.daemon.database,
                free_floor=floor,
                max_pending_rows=config.daemon.store_max_pending_rows,
            ) as writer:
                if writer.recovered_sessions:
                    logger.warning(
                        "closed %d session(s) left open by a crash as daemon_stopped",
                        len(writer.recovered_sessions),
                    )
                async with anyio.create_task_group() as store_tg:
                    await store_tg.start(writer.run)
                    try:
                        await self._run_services(writer)
                    finally:
                        writer.stop()  # run() commits what it has and returns
            root.cancel_scope.cancel()
        return 0

    async def _run_services(self, writer: Writer) -> None:
        config = self.config
        if needs_ffmpeg(config):
            self._ffmpeg = await probe_ffmpeg(config.daemon.ffmpeg)
        else:  # nobody records by config, but `dylivectl record start B` may ask for video
            try:
                self._ffmpeg = await probe_ffmpeg(config.daemon.ffmpeg)
            except FfmpegUnusable as exc:
                logger.info("no ffmpeg, `record start` will be refused: %s", exc)
        # segments a crash left open: files finalised, their 'writing' rows closed
        await recover_recordings(
            config.daemon.recordings_dir, config.daemon.database, writer.submit
        )
        housekeeper = Housekeeper(
            lambda: self.config, config.daemon.database, writer.submit, self._ffmpeg
        )
        for warning in config_warnings(config):
            logger.warning("config: %s", warning)
        hooks = HookRunner(lambda: self.config, writer.submit)  # [hooks]: dylived/alerts/hooks.py
        async with (
            ProxiedPlatforms(config) as platforms,  # one HTTP client per distinct proxy
            Alerts.open(lambda: self.config) as alerts,  # [[notify]] (dylived/alerts/)
        ):
            watchlist = Watchlist(
                config.poll,
                config.broadcasters,  # type: ignore[arg-type]
                alerts.cookie_checked(StatusSource(platforms.of(None), platforms.of).fetch),
                WriterSessionStore(
                    writer, on_closed=housekeeper.session_closed, observer=alerts.sessions
                ),
                [
                    lambda ctx: StatusSampler(),
                    # Event capture (capture/component.py); the platform's section is read per
                    # session (reloads).
                    lambda ctx: alerts.capture_observer(
                        ctx,
                        capture_factory(
                            CaptureSettings(
                                proxy=ctx.options.proxy, timezone=self.config.daemon.tzinfo
                            ),
                            writer,
                            platforms.of(ctx.options).event_source(
                                self.config.section(ctx.options.platform)
                            ),
                        )(ctx),
                    ),
                    # Video recording (dylived/record/component.py); idle unless wanted.
                    lambda ctx: self._recorder_component(writer, platforms.of(ctx.options)),
                ],
                paused=frozenset(b.key for b in config.broadcasters if b.paused),
                on_breaker=alerts.breaker_changed,
            )
            async with anyio.create_task_group() as services:
                housekeeping_scope = anyio.CancelScope()

                async def run_housekeeping(*, task_status: anyio.abc.TaskStatus[None]) -> None:
                    with housekeeping_scope:
                        await housekeeper.run(task_status=task_status)

                await services.start(run_housekeeping)
                await services.start(alerts.run)  # never waited on: a queue and its sender
                await writer.drain()  # the recovery's segments committed: their hooks are due
                await services.start(hooks.run)  # hooks are child processes, never waited on
                watch_scope = anyio.CancelScope()

                async def run_watchlist(*, task_status: anyio.abc.TaskStatus[None]) -> None:
                    with watch_scope:
                        await watchlist.run(task_status=task_status)

                await services.start(run_watchlist)
                facade = Facade(
                    self.config,
                    self._config_path,
                    self.notifier,
                    writer=writer,
                    watchlist=watchlist,
                    ffmpeg=self._ffmpeg,
                    commands=self.commands,
                    started_at_ms=self._started_at_ms,
                    started_monotonic=self._started,
                    alerts=alerts,
                    hooks=hooks,
                )
                self.facade = facade
                control_scope = await self._start_control(services, facade)
                self.notifier.ready()
                facade.publish_status(force=True)
                self.commands.ready(facade.apply_reload)  # a SIGHUP of the start-up: now
                logger.info(
                    "dylived %s ready: watching %d broadcaster(s)",
                    __version__,
                    len(watchlist.watches),
                )
                services.start_soon(self._status_loop, facade)
                if self._watchdog_every:
                    services.start_soon(self._watchdog_loop, writer, self._watchdog_every)
                await self._stop.wait()
                self.notifier.stopping()
                logger.info("stopping")
                with anyio.move_on_after(STOP_BUDGET / 3, shield=True):
                    await facade.quiesce()  # the config change in progress ends first
                with anyio.move_on_after(STOP_BUDGET - 2, shield=True):
                    if control_scope is not None:
                        control_scope.cancel()
                    housekeeping_scope.cancel()  # a remux in progress leaves no half file
                    watch_scope.cancel()
                    await anyio.lowlevel.checkpoint()
                services.cancel_scope.cancel()

    def _recorder_component(self, writer: Writer, platform: Platform) -> Any:
        """A RecorderComponent for one session; None when this daemon has no ffmpeg."""
        from dylived.record.component import RecorderComponent, RecordingEnvironment

        if self._ffmpeg is None:
            return None
        env = RecordingEnvironment(
            ffmpeg=self._ffmpeg,
            recordings_dir=self.config.daemon.recordings_dir,
            timezone=self.config.daemon.tzinfo,
            submit=writer.submit,
            headers=platform.media_headers,  # User-Agent and Referer; never the cookie
        )
        return RecorderComponent(env)

    async def _start_control(
        self, tg: anyio.abc.TaskGroup, facade: Facade
    ) -> anyio.CancelScope | None:
        """The control socket, when the control server is installed; its cancel scope."""
        try:
            from dylived.control.server import BoundControl, ControlServer, ControlSettings
        except ImportError:  # pragma: no cover - the control package ships with dylived
            return None
        c = self.config.control
        metrics_port: int | None = None
        metrics_host = "127.0.0.1"
        if c.metrics_listen:
            host, _, port = c.metrics_listen.rpartition(":")
            metrics_host, metrics_port = host or "127.0.0.1", int(port)
        web = self.config.web
        web_host, _, web_port = web.listen.rpartition(":")
        settings = ControlSettings(
            socket_path=Path(c.socket),
            socket_mode=c.mode,
            socket_group=c.group or None,
            metrics_port=metrics_port,
            metrics_host=metrics_host,
            web_port=int(web_port) if web.listen else None,
            web_host=web_host.strip("[]") or "127.0.0.1",
            web_token=web.token.reveal(),
        )
        server = ControlServer(facade, settings)
        scope = anyio.CancelScope()

        async def serve(*, task_status: anyio.abc.TaskStatus[BoundControl]) -> None:
            with scope:
                await server.serve(task_status=task_status)

        bound = await tg.start(serve)
        if bound.web_address is not None:
            host, port = bound.web_address
            facade.web_url = f"http://{f'[{host}]' if ':' in host else host}:{port}/web/"
        self._control_socket = str(c.socket)
        return scope

    async def _signals(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        """Every signal becomes a command (never blocks: the queue is unbounded)."""
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            self.commands.take_early()
            task_status.started()
            async for signum in signals:
                self.commands.signal_received(signum)

    def request_stop(self) -> None:
        self._stop.set()

    async def _status_loop(self, facade: Facade) -> None:
        while True:
            await anyio.sleep(STATUS_REFRESH)
            facade.publish_status()

    async def _watchdog_loop(self, writer: Writer, every: float) -> None:
        while True:
            await anyio.sleep(every)
            stats = writer.statistics()
            if time.monotonic() - stats.last_loop_monotonic < max(WRITER_STALL, every * 2):
                self.notifier.watchdog()
            else:
                logger.error("store writer made no progress; withholding the watchdog ping")


class ProxiedPlatforms:
    """One platform client, with its own HttpClient (pool, cookie jar), per platform and
    distinct proxy.

    ``of(broadcaster)`` is the client of its platform and ``proxy`` (None: direct; a broadcaster
    of None: the default platform, direct), made on first use from the registry; all are closed
    (bounded, shielded) when the block ends. Use as ``async with``.
    """

    def __init__(self, config: Config) -> None:
        self._config = config
        self._clients: dict[tuple[str, ProxyUrl | None], Platform] = {}
        self._http: list[HttpClient] = []

    def of(self, broadcaster: Any) -> Platform:
        name = str(getattr(broadcaster, "platform", None) or registry.DEFAULT)
        proxy: ProxyUrl | None = getattr(broadcaster, "proxy", None)
        platform = self._clients.get((name, proxy))
        if platform is None:
            section = self._config.section(name)
            http = HttpClient(
                user_agent=section.user_agent,
                timeout=self._config.poll.request_timeout,
                proxy=proxy,
            )
            self._http.append(http)
            platform = self._clients[name, proxy] = registry.get(name).create(
                http, section, self._config.daemon.state_dir
            )
            if proxy is not None:
                logger.info("%s HTTP client %d: through the proxy %s", name, len(self._http), proxy)
        return platform

    async def __aenter__(self) -> ProxiedPlatforms:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            for http in self._http:
                await http.aclose()


async def probe_ffmpeg(configured: str) -> str:
    """The ffmpeg to use, found and checked once (version 5.1 or newer, and the muxers,
    demuxers and protocols recording needs); FfmpegUnusable (a clear message, exit 1) else."""
    info = await find_usable_ffmpeg(configured or None)
    logger.info("ffmpeg %s at %s", info.version_text, info.path)
    return info.path


def run_command(args: argparse.Namespace) -> int:
    """``dylived run --config PATH``: 0 after a clean stop, 78 on config errors, 1 on failure."""
    path = str(args.config)
    try:
        config = load_config_with_overrides(path)
    except ConfigError as exc:
        where = exc.source or path
        sys.stderr.write(f"{where}: {len(exc.problems)} problem(s):\n")
        sys.stderr.writelines(f"  {problem}\n" for problem in exc.problems)
        return EX_CONFIG
    setup_logging(config.daemon.log_level)
    daemon = Daemon(config, path, dict(os.environ))
    try:
        return anyio.run(daemon.run, backend="asyncio")
    except (DylivedError, BaseExceptionGroup) as exc:
        failures = _our_errors(exc)
        if failures is None:
            raise
        for failure in failures:
            logger.error("dylived cannot run: %s", failure)
        # A config problem found only at start (control.group) will not fix itself either.
        return EX_CONFIG if any(isinstance(f, ConfigError) for f in failures) else 1
    finally:  # the loop's receiver is gone: a SIGHUP while exiting must not kill the exit
        signal.signal(signal.SIGHUP, signal.SIG_IGN)


def _our_errors(exc: BaseException) -> list[DylivedError] | None:
    """The DylivedErrors inside ``exc`` (task groups wrap them), or None when there are others."""
    if isinstance(exc, DylivedError):
        return [exc]
    if isinstance(exc, BaseExceptionGroup):
        found: list[DylivedError] = []
        for inner in exc.exceptions:
            errors = _our_errors(inner)
            if errors is None:
                return None
            found.extend(errors)
        return found
    return None


__all__ = ["Daemon", "parse_config", "run_command"]
