"""The configuration: TOML → validated, frozen ``Config``; targets; reload diffs.

Owns the frozen config values, building them from TOML, reload diffs and rendering the
effective config back to TOML. Each broadcaster has a ``platform`` (its ``platform`` key, else
what its target's form names); each platform a section (``Config.platforms``), and the
platforms dylived supports are the keys of ``PLATFORM_SECTIONS``. The key-by-key checks and
target parsing live in ``config.schema`` (documented for users in ``etc/dylived.toml``), the
runtime state overlay (``watchlist-overrides.json``) in ``config.overlay``, the
``check-config``/``print-config`` commands in ``config.commands``. Pure apart from reading its
file; imports only ``config.schema``, ``config.values``, ``config.notify``, ``net.proxy``,
``errors`` and the platform registry of dylived.

Validation collects every problem as ``dotted.path: what is wrong`` (``broadcaster[N]`` counts
from 1, the first ``[[broadcaster]]`` of the file) and raises one ``ConfigError``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from dylived.config.hooks import HooksConfig, parse_hooks
from dylived.config.notify import NotifyTarget, parse_notify
from dylived.config.schema import (
    BROADCASTER_OVERRIDES,
    BROADCASTER_SPEC,
    DEFAULT_PLATFORM,
    KNOWN_PLATFORMS,
    SPECS,
    TOP_LEVEL,
    infer_platform,
    is_loopback_listen,
    key_problem,
    read_table,
    render_table,
    section_values,
    template_extension_problem,
    unknown_key,
)
from dylived.config.values import Secret
from dylived.errors import ConfigError
from dylived.net.proxy import ProxyUrl
from dylived.platforms import registry
from dylived.platforms.base import Target


EX_CONFIG = 78
DEFAULT_TEMPLATE = "{broadcaster}/{date}/{broadcaster}_{start:%Y%m%d-%H%M%S}_{seq:04d}.ts"


# ----------------------------------------------------------------------------- values


# ----------------------------------------------------------------------------- sections


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    state_dir: Path = Path("/var/lib/dylived")
    database: Path = Path("/var/lib/dylived/dylived.db")
    recordings_dir: Path = Path("/var/lib/dylived/recordings")
    timezone: str = "Asia/Shanghai"
    ffmpeg: str = ""
    log_level: str = "info"
    state_file: Path = Path("/var/lib/dylived/watchlist-overrides.json")
    store_max_pending_rows: int = 20_000  # the store writer's one cap (store/writer.py)

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class ControlConfig:
    socket: Path = Path("/run/dylived/control.sock")
    mode: int = 0o660
    group: str = ""
    metrics_listen: str = ""  # "" = off, else "host:port"


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The web pages on TCP (dylived/web/): off while ``listen`` is ""."""

    listen: str = ""  # "host:port"; a host that is not loopback needs a token
    token: Secret = field(default_factory=Secret)  # "" = none (loopback only)


@dataclass(frozen=True, slots=True)
class PollConfig:
    """Seconds, except ``max_concurrent`` (requests in flight per platform)."""

    interval: float = 60.0
    jitter: float = 5.0
    live_interval: float = 120.0
    grace: float = 90.0
    max_concurrent: int = 4
    min_spacing: float = 0.5
    error_backoff_max: float = 900.0
    breaker_pause: float = 60.0
    breaker_pause_max: float = 1800.0
    request_timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class RecordingConfig:
    """Sizes in bytes, timeouts in seconds; ``None``/0 mean off."""

    record_video: bool = True
    video_quality: str = "origin"
    segment_minutes: float = 30.0
    container: str = "ts"
    filename_template: str = DEFAULT_TEMPLATE
    min_free: int = 2 * 1024**3
    stall_timeout: float = 15.0
    rw_timeout: float = 10.0
    max_session_minutes: float = 0.0
    retention_max_bytes: int | None = None
    retention_max_days: float = 0.0
    remux_mp4: bool = False
    keep_originals: bool = True
    remux_subtitles: bool = True  # with remux_mp4: the chat as <mp4 stem>.ass beside each MP4
    # filters (watch/filters.py): empty windows = always; plain keywords, case-insensitive
    record_windows: tuple[str, ...] = ()
    capture_outside_windows: bool = False
    title_include: tuple[str, ...] = ()
    title_exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CaptureConfig:
    capture_events: bool = True
    exclude_events: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BroadcasterConfig:
    """One broadcaster with the defaults merged in; ``key`` is its stable id (= ``name``).

    ``platform``: the ``platform`` key, else what the target's form names (``infer_platform``).
    """

    key: str
    target: Target
    target_text: str
    platform: str = DEFAULT_PLATFORM  # the platform the target is on (its gate, its poll job)
    enabled: bool = True
    interval: float = 60.0
    recording: RecordingConfig = RecordingConfig()
    capture: CaptureConfig = CaptureConfig()
    proxy: ProxyUrl | None = None  # effective: its own ``proxy``, else its platform's
    paused: bool = False  # paused at runtime (state overlay), not in the file
    origin: Literal["config", "runtime"] = "config"

    @property
    def name(self) -> str:
        return self.key

    @property
    def record_video(self) -> bool:
        return self.recording.record_video

    @property
    def video_quality(self) -> str:
        return self.recording.video_quality

    @property
    def segment_minutes(self) -> float:
        return self.recording.segment_minutes

    @property
    def max_session_minutes(self) -> float:
        return self.recording.max_session_minutes

    @property
    def capture_events(self) -> bool:
        return self.capture.capture_events

    @property
    def exclude_events(self) -> tuple[str, ...]:
        return self.capture.exclude_events

    def flat(self) -> dict[str, Any]:
        """Every setting by name (top level, recording and capture), for diffs and printing."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for part in (out.pop("recording"), out.pop("capture")):
            out.update((f.name, getattr(part, f.name)) for f in dataclasses.fields(part))
        return out


SECTIONS = ("daemon", "control", "poll", "recording", "capture", "web")  # the global ones

# The platforms dylived implements, each with its section: ``[name]`` read with
# ``SPECS[name]`` into the class its registry spec names. The one list of supported platforms
# (the registry's); a platform that is not here is a config error wherever it is named.
PLATFORM_SECTIONS: dict[str, type[Any]] = {
    name: spec.section for name, spec in registry.specs().items()
}


def _default_platform_sections() -> dict[str, Any]:
    return {name: section() for name, section in PLATFORM_SECTIONS.items()}


@dataclass(frozen=True, slots=True)
class ConfigDiff:
    """What a reload changes: ``old.diff(new)``. ``changed`` holds the new versions."""

    added: tuple[BroadcasterConfig, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[BroadcasterConfig, ...] = ()
    changed_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sections: tuple[str, ...] = ()  # global sections that differ, e.g. ("poll",)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.sections)


@dataclass(frozen=True, slots=True)
class Config:
    daemon: DaemonConfig = DaemonConfig()
    control: ControlConfig = ControlConfig()
    poll: PollConfig = PollConfig()
    recording: RecordingConfig = RecordingConfig()
    capture: CaptureConfig = CaptureConfig()
    web: WebConfig = WebConfig()
    platforms: Mapping[str, Any] = field(default_factory=_default_platform_sections)
    broadcasters: tuple[BroadcasterConfig, ...] = ()
    notify: tuple[NotifyTarget, ...] = ()  # [[notify]] (config/notify.py)
    hooks: HooksConfig = field(
        default_factory=HooksConfig
    )  # [hooks] and the broadcasters' own (config/hooks.py)
    source: str = field(default="", compare=False)

    def section(self, name: str) -> Any:
        """A global section or a platform's section by its name in the file."""
        return self.platforms[name] if name in PLATFORM_SECTIONS else getattr(self, name)

    def broadcaster(self, key: str) -> BroadcasterConfig | None:
        return next((b for b in self.broadcasters if b.key == key), None)

    def diff(self, new: Config) -> ConfigDiff:
        """Broadcasters added, removed or changed (by key) and global sections changed."""
        old_by_key = {b.key: b for b in self.broadcasters}
        new_by_key = {b.key: b for b in new.broadcasters}
        changed: list[BroadcasterConfig] = []
        fields_by_key: dict[str, tuple[str, ...]] = {}
        for key, after in new_by_key.items():
            before = old_by_key.get(key)
            if before is not None and before != after:
                a, b = before.flat(), after.flat()
                changed.append(after)
                fields_by_key[key] = tuple(name for name in a if a[name] != b[name])
        return ConfigDiff(
            added=tuple(b for k, b in new_by_key.items() if k not in old_by_key),
            removed=tuple(k for k in old_by_key if k not in new_by_key),
            changed=tuple(changed),
            changed_fields=fields_by_key,
            sections=tuple(
                s for s in (*SECTIONS, *PLATFORM_SECTIONS) if self.section(s) != new.section(s)
            ),
        )


# ----------------------------------------------------------------------------- building

_SECTION_TYPES: dict[str, type[Any]] = {
    "daemon": DaemonConfig,
    "control": ControlConfig,
    "poll": PollConfig,
    "recording": RecordingConfig,
    "capture": CaptureConfig,
    "web": WebConfig,
}
_DAEMON_PATHS = ("state_dir", "database", "recordings_dir", "state_file")
_DAEMON_PATH_DEFAULTS = {
    "database": "{state_dir}/dylived.db",
    "recordings_dir": "{state_dir}/recordings",
    "state_file": "{state_dir}/watchlist-overrides.json",
}


def _resolve_path(raw: str, state_dir: Path | None, base_dir: Path) -> Path:
    if state_dir is not None:
        raw = raw.replace("{state_dir}", str(state_dir))
    path = Path(raw).expanduser()
    return path if path.is_absolute() else base_dir / path


def _unsupported(platform: str) -> str:
    return f"platform {platform} is not supported yet (supported: {', '.join(PLATFORM_SECTIONS)})"


def _parse_sections(data: Mapping[str, Any], problems: list[str], base_dir: Path) -> dict[str, Any]:
    for key in data:
        if key in KNOWN_PLATFORMS and key not in PLATFORM_SECTIONS:
            problems.append(f"{key}: {_unsupported(key)}")
        elif key not in TOP_LEVEL:
            problems.append(unknown_key("", key, TOP_LEVEL))
    sections: dict[str, Any] = {"platforms": {}}
    for name, spec in SPECS.items():
        values = read_table(data.get(name, {}), name, spec, problems)
        if name == "daemon":
            state_dir = _resolve_path(values.get("state_dir", "/var/lib/dylived"), None, base_dir)
            for key in _DAEMON_PATHS:
                raw = values.get(key, _DAEMON_PATH_DEFAULTS.get(key, str(state_dir)))
                values[key] = _resolve_path(raw, state_dir, base_dir)
        elif name == "control" and "socket" in values:
            values["socket"] = _resolve_path(values["socket"], None, base_dir)
        if name in PLATFORM_SECTIONS:
            sections["platforms"][name] = PLATFORM_SECTIONS[name](**values)
        else:
            sections[name] = _SECTION_TYPES[name](**values)
    poll: PollConfig = sections["poll"]
    if poll.breaker_pause_max < poll.breaker_pause:
        problems.append(
            f"poll.breaker_pause_max: {poll.breaker_pause_max:g} is shorter than "
            f"poll.breaker_pause ({poll.breaker_pause:g})"
        )
    recording: RecordingConfig = sections["recording"]
    problem = template_extension_problem(recording.filename_template, recording.container)
    earlier = ("recording.filename_template", "recording.container")
    if problem and not any(p.startswith(earlier) for p in problems):
        problems.append(f"recording.filename_template: {problem}")
    web: WebConfig = sections["web"]
    bad_token = any(p.startswith("web.token") for p in problems)
    if web.listen and not web.token and not bad_token and not is_loopback_listen(web.listen):
        problems.append(
            f"web.listen: {web.listen!r} is not a loopback address, so web.token is required "
            "(anyone who can reach it could watch and read the archive otherwise)"
        )
    return sections


def parse_broadcaster(
    entry: Any,
    path: str,
    problems: list[str],
    recording: RecordingConfig,
    capture: CaptureConfig,
    poll: PollConfig,
    platforms: Mapping[str, Any] | None = None,
) -> tuple[str | None, BroadcasterConfig | None]:
    """One [[broadcaster]] table: its key (when known) and, if valid, its merged config.

    ``platforms``: the platform sections; its platform's ``proxy`` is its default one.
    """
    before = len(problems)
    values = read_table(entry, path, BROADCASTER_SPEC, problems)
    if not isinstance(entry, dict):
        return None, None
    target: Target | None = None
    platform = _broadcaster_platform(entry, values, path, problems)
    if "target" not in entry:
        problems.append(f"{path}.target: missing; every broadcaster needs a target")
    elif "target" in values and platform is not None:
        spec = registry.get(platform)
        try:
            target = spec.parse_target(values["target"])
        except ValueError as exc:
            problems.append(f"{path}.target: {exc}")
        else:
            if (why := spec.target_problem(target)) is not None:
                problems.append(f"{path}.target: {why}")
    key = values.get("name") or (target.value if target else None)
    if key is not None and (why := key_problem(key)):
        problems.append(f"{path}.{'name' if 'name' in values else 'target'}: {why}")
    if len(problems) > before or target is None or key is None:
        return key, None
    rec = {k: values[k] for k in BROADCASTER_OVERRIDES if k in values and hasattr(recording, k)}
    cap = {k: values[k] for k in BROADCASTER_OVERRIDES if k in values and hasattr(capture, k)}
    platform = platform or DEFAULT_PLATFORM
    return key, BroadcasterConfig(
        key=key,
        target=target,
        target_text=values["target"],
        platform=platform,
        enabled=values.get("enabled", True),
        interval=values.get("interval", poll.interval),
        recording=dataclasses.replace(recording, **rec),
        capture=dataclasses.replace(capture, **cap),
        proxy=values.get("proxy", platform_proxy(platforms or {}, platform)),
    )


def _broadcaster_platform(
    entry: Mapping[str, Any], values: Mapping[str, Any], path: str, problems: list[str]
) -> str | None:
    """The broadcaster's platform, or None (with a problem) when it is unusable or unknown."""
    named = infer_platform(values["target"]) if "target" in values else None
    if "platform" in entry and "platform" not in values:
        return None  # not a known platform: read_table said so
    platform = values.get("platform") or named or DEFAULT_PLATFORM
    where = f"{path}.platform" if "platform" in values else f"{path}.target"
    if named is not None and named != platform:
        problems.append(
            f"{path}.platform: {platform!r}, but the target {values['target']!r} is a "
            f"{named} address; remove platform or use a {platform} target"
        )
        return None
    if platform not in PLATFORM_SECTIONS:
        problems.append(f"{where}: {_unsupported(platform)}")
        return None
    return platform


def platform_proxy(platforms: Mapping[str, Any], platform: str) -> ProxyUrl | None:
    """The ``proxy`` of a platform's section: the default of its broadcasters (None = direct)."""
    proxy: ProxyUrl | None = getattr(platforms.get(platform), "proxy", None)
    return proxy


def config_warnings(config: Config) -> list[str]:
    """What works, but not as a user may expect (``check-config`` prints it, ``run`` logs it).

    Today: a proxy that ffmpeg cannot use (anything but ``http://``) while video is recorded
    (its media then goes direct; net/proxy.py).
    """
    warnings: list[str] = []
    recorded = [b for b in config.broadcasters if b.record_video and b.proxy is not None]
    for name in config.platforms:
        default = platform_proxy(config.platforms, name)
        problem = default.ffmpeg_problem() if default is not None else None
        if problem and any(b.platform == name and b.proxy == default for b in recorded):
            warnings.append(f"{name}.proxy: {problem}")
    for b in recorded:
        default = platform_proxy(config.platforms, b.platform)
        problem = None if b.proxy is None or b.proxy == default else b.proxy.ffmpeg_problem()
        if problem:
            warnings.append(f"broadcaster {b.key!r} proxy: {problem}")
    return warnings


def render_config(config: Config) -> str:
    """The effective config as TOML (loadable again), every default filled, secrets masked."""
    lines = [f"# effective configuration of {config.source or '(defaults)'}", ""]
    for name in (*SECTIONS, *PLATFORM_SECTIONS):
        lines += render_table(f"[{name}]", section_values(config.section(name)))
    for b in config.broadcasters:
        flat = b.flat()
        values: dict[str, Any] = {"target": b.target_text, "name": b.key, "platform": b.platform}
        values.update((k, flat[k]) for k in BROADCASTER_OVERRIDES)
        own = config.hooks.broadcasters.get(b.key, {})
        values.update((f"hooks.{hook}", argv) for hook, argv in own.items())
        if b.paused or b.origin != "config":
            lines.append(f"# {b.key}: {'paused, ' if b.paused else ''}from {b.origin}")
        lines += render_table("[[broadcaster]]", values)
    for n in config.notify:  # a URL may hold a token (Telegram, Discord webhooks): masked
        lines += render_table("[[notify]]", _notify_values(n))
    hooks = section_values(config.hooks)
    del hooks["broadcasters"]  # in their [[broadcaster]] tables
    lines += render_table("[hooks]", hooks)
    return "\n".join(lines)


def _notify_values(n: NotifyTarget) -> dict[str, Any]:
    return {
        "url": Secret(n.url),
        "events": n.events,
        "broadcasters": n.broadcasters,
        "timeout": n.timeout,
        "retries": n.retries,
    }


# ----------------------------------------------------------------------------- loading


def parse_config(data: Mapping[str, Any], source: str = "", base_dir: Path | None = None) -> Config:
    """Validate parsed TOML (a dict); relative paths resolve against ``base_dir``.

    Raises:
        ConfigError: with every problem found.
    """
    problems: list[str] = []
    sections = _parse_sections(data, problems, base_dir or Path.cwd())
    recording: RecordingConfig = sections["recording"]
    capture: CaptureConfig = sections["capture"]
    poll: PollConfig = sections["poll"]
    raw = data.get("broadcaster", [])
    broadcasters: list[BroadcasterConfig] = []
    first_path: dict[str, str] = {}
    own_hooks: dict[str, tuple[str, Any]] = {}  # key → (path, its hooks table)
    if isinstance(raw, dict):
        problems.append("broadcaster: write each broadcaster as [[broadcaster]] (two brackets)")
    elif not isinstance(raw, list):
        problems.append(f"broadcaster: expected [[broadcaster]] tables, got {raw!r}")
    else:
        for i, entry in enumerate(raw, start=1):
            path = f"broadcaster[{i}]"
            key, parsed = parse_broadcaster(
                entry, path, problems, recording, capture, poll, sections["platforms"]
            )
            if key is not None and key in first_path:
                where = "name" if isinstance(entry, dict) and "name" in entry else "target"
                problems.append(
                    f"{path}.{where}: duplicate broadcaster key {key!r} (also "
                    f"{first_path[key]}); give one of them a different name"
                )
            elif key is not None:
                first_path[key] = path
            if parsed is not None:
                broadcasters.append(parsed)
            if isinstance(entry, dict) and isinstance(entry.get("hooks"), dict):
                own_hooks[parsed.key if parsed else path] = (path, entry["hooks"])
    notify = parse_notify(data.get("notify"), problems, first_path)
    hooks = parse_hooks(data.get("hooks"), own_hooks, problems, base_dir or Path.cwd())
    if problems:
        raise ConfigError(problems, source)
    return Config(
        **sections,
        broadcasters=tuple(broadcasters),
        notify=notify,
        hooks=hooks,
        source=source,
    )


def loads_config(text: str, source: str = "<string>", base_dir: Path | None = None) -> Config:
    """Parse and validate TOML text (tests and tools; the daemon uses load_config)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"TOML syntax error: {exc}"], source) from exc
    return parse_config(data, source, base_dir)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a config file. Relative paths inside it are relative to its folder.

    Raises:
        ConfigError: unreadable file, TOML syntax error (with line and column), or every
            validation problem.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError([f"cannot read the config file: {reason}"], str(file)) from exc
    return loads_config(text, str(file), file.resolve().parent)


__all__ = [
    "EX_CONFIG",
    "PLATFORM_SECTIONS",
    "BroadcasterConfig",
    "CaptureConfig",
    "Config",
    "ConfigDiff",
    "ControlConfig",
    "DaemonConfig",
    "PollConfig",
    "RecordingConfig",
    "WebConfig",
    "config_warnings",
    "load_config",
    "loads_config",
    "parse_broadcaster",
    "parse_config",
    "render_config",
]
