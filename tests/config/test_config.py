"""dylived.config.load: the example file, every message, targets, diffs, the overlay, the CLI."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from dylived.config.load import (
    Config,
    ConfigDiff,
    load_config,
    loads_config,
    render_config,
)
from dylived.config.overlay import (
    apply_overrides,
    load_config_with_overrides,
    load_overrides,
    save_overrides,
)
from dylived.config.schema import SPECS, infer_platform, parse_target
from dylived.config.values import Secret
from dylived.errors import ConfigError
from dylived.platforms.base import Target
from tests.conftest import REPO_ROOT


EXAMPLE = REPO_ROOT / "etc" / "dylived.toml"
SEC_UID = "MS4wLjABAAAAv7iSuuXDJGDvJkmH_vz1qkDZYo1apxgzaxdBSeIuPi2MGdIMo6tz6p1kL-dstYBV"


def problems_of(text: str) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as info:
        loads_config(text, base_dir=Path("/srv"))
    return info.value.problems


def run_dylived(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DYLIVED_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "dylived", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=60,
    )


# ----------------------------------------------------------------------------- the example


def test_the_example_file_validates_with_its_broadcasters() -> None:
    config = load_config(EXAMPLE)
    assert [b.key for b in config.broadcasters] == [
        "示例主播",
        "shared-link-example",
        "events-only",
    ]
    kinds = [b.target.kind for b in config.broadcasters]
    assert kinds == ["web_rid", "share_url", "sec_uid"]
    shared = config.broadcasters[1]
    assert (shared.video_quality, shared.segment_minutes) == ("hd", 15.0)
    assert shared.exclude_events == ("like", "member")
    assert shared.recording.container == config.recording.container
    assert not config.broadcasters[2].enabled


def test_the_example_file_documents_every_key_with_its_default() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    for section, spec in SPECS.items():
        assert set(data[section]) == set(spec), section
    defaults = loads_config(
        EXAMPLE.read_text(encoding="utf-8").split("# ---------------")[0], base_dir=Path("/")
    )
    assert dataclasses.replace(defaults, source="") == Config()


def test_an_empty_file_is_the_defaults() -> None:
    assert loads_config("") == Config()
    assert Config().daemon.database == Path("/var/lib/dylived/dylived.db")
    assert Config().daemon.tzinfo.key == "Asia/Shanghai"


# ----------------------------------------------------------------------------- validation


def test_every_mistake_is_listed_with_its_dotted_path() -> None:
    problems = problems_of(
        """
        colour = "blue"
        interval = 30
        [daemon]
        timezone = "Mars/Olympus"
        log_level = "LOUD"
        [poll]
        intervl = 30
        jitter = -1
        max_concurrent = true
        breaker_pause = 600
        breaker_pause_max = 60
        [recording]
        segment_minutes = 90
        min_free = "lots"
        container = "avi"
        [capture]
        exclude_events = ["chat", "gossip"]
        [control]
        mode = "rw-rw----"
        metrics_listen = "9464"
        [douyin]
        ws_hosts = ["https://not-a-websocket"]
        user_unique_id = "abc"
        [[broadcaster]]
        target = "https://live.douyin.com/261378947940"
        video_quality = "ultra"
        container = "mkv"
        [[broadcaster]]
        target = "261378947940"
        [[broadcaster]]
        name = "no target"
        [[broadcaster]]
        target = "uid:58958068057"
        enabled = "yes"
        """
    )
    expected = [
        "colour: unknown key",
        "interval: unknown key here; 'interval' belongs in [poll]",
        "daemon.timezone: unknown time zone 'Mars/Olympus'",
        "daemon.log_level: 'loud' is not one of debug, info, warning, error",
        "poll.intervl: unknown key; did you mean 'interval'?",
        "poll.jitter: must be ≥ 0, got -1",
        "poll.max_concurrent: expected a whole number, got True (boolean)",
        "poll.breaker_pause_max: 60 is shorter than poll.breaker_pause (600)",
        "recording.segment_minutes: must be ≤ 60, got 90",
        "recording.min_free: expected bytes or a size",
        "recording.container: 'avi' is not one of ts, mkv, mp4",
        "capture.exclude_events: 'gossip': not among chat, gift,",
        "control.mode: expected an octal file mode",
        'control.metrics_listen: expected "host:port"',
        "douyin.ws_hosts: expected a ws or wss URL, got 'https://not-a-websocket'",
        "douyin.user_unique_id: expected digits",
        "broadcaster[1].video_quality: 'ultra' is not one of origin, uhd, hd, sd, ld, md, "
        "FULL_HD1, HD1, SD1, SD2",
        "broadcaster[1].container: unknown key here; 'container' belongs in [recording]",
        "broadcaster[2].target: duplicate broadcaster key '261378947940' (also broadcaster[1])",
        "broadcaster[3].target: missing",
        "broadcaster[4].enabled: expected true or false, got 'yes' (string)",
        "broadcaster[4].target: a numeric user id (58958068057) cannot be resolved",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert len(problems) == len(expected), problems


def test_a_typo_gets_a_suggestion_in_a_broadcaster() -> None:
    problems = problems_of('[[broadcaster]]\ntarget = "123"\nsegmnt_minutes = 5\n')
    assert problems == (
        "broadcaster[1].segmnt_minutes: unknown key; did you mean 'segment_minutes'?",
    )


def test_a_single_bracket_broadcaster_table_is_explained() -> None:
    assert problems_of('[broadcaster]\ntarget = "123"\n') == (
        "broadcaster: write each broadcaster as [[broadcaster]] (two brackets)",
    )


def test_a_syntax_error_names_line_and_column() -> None:
    (problem,) = problems_of('[poll]\ninterval = 30\njitter = "5\n')
    assert problem.startswith("TOML syntax error:")
    assert "line 3" in problem


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{broadcaster}/{seq}_{bogus}.ts", "unknown field {bogus}"),
        ("{broadcaster}/{date}.ts", "must contain {seq}"),
        ("/abs/{seq}.ts", "relative path"),
        ("../{seq}.ts", "relative path"),
        ("{seq:%Y}.ts", "not a usable template"),
        ("{broadcaster}/{seq}.mkv", "ends in '.mkv' but container is 'ts'"),
    ],
)
def test_bad_filename_templates(template: str, message: str) -> None:
    (problem,) = problems_of(f"[recording]\nfilename_template = {template!r}\n")
    assert problem.startswith("recording.filename_template: ")
    assert message in problem


def test_template_with_ext_follows_the_container() -> None:
    config = loads_config('[recording]\ncontainer = "mkv"\nfilename_template = "{seq}.{ext}"\n')
    assert config.recording.container == "mkv"


@pytest.mark.parametrize("name", ["a/b", ".hidden", "x" * 65, "50%", " padded", "tab\there"])
def test_unusable_names_are_refused(name: str) -> None:
    (problem,) = problems_of(
        f'[[broadcaster]]\ntarget = "123"\nname = "{name}"\n'.replace("\t", "\\t")
    )
    assert problem.startswith("broadcaster[1].name: ")
    assert "cannot be a broadcaster key" in problem


def test_durations_sizes_modes_and_paths_are_converted(tmp_path: Path) -> None:
    config = loads_config(
        """
        [daemon]
        state_dir = "state"
        recordings_dir = "/srv/rec"
        [control]
        socket = "ctl.sock"
        mode = 0o640
        [poll]
        interval = "2m"
        grace = "1.5s"
        min_spacing = "250ms"
        [recording]
        min_free = "500MB"
        retention_max_bytes = "1.5G"
        segment_minutes = 0.1
        [douyin]
        web_base = "http://127.0.0.1:8080/"
        cookies = "ttwid=abc"
        """,
        base_dir=tmp_path,
    )
    assert config.daemon.state_dir == tmp_path / "state"
    assert config.daemon.database == tmp_path / "state" / "dylived.db"
    assert config.daemon.recordings_dir == Path("/srv/rec")
    assert config.control.socket == tmp_path / "ctl.sock"
    assert config.control.mode == 0o640
    assert (config.poll.interval, config.poll.grace, config.poll.min_spacing) == (120, 1.5, 0.25)
    assert config.recording.min_free == 500_000_000
    assert config.recording.retention_max_bytes == int(1.5 * 1024**3)
    assert config.recording.segment_minutes == 0.1
    assert config.section("douyin").web_base == "http://127.0.0.1:8080"
    assert config.section("douyin").cookies.reveal() == "ttwid=abc"


def test_broadcasters_merge_the_defaults() -> None:
    config = loads_config(
        """
        [poll]
        interval = 20
        [recording]
        video_quality = "sd"
        segment_minutes = 5
        [capture]
        exclude_events = ["like"]
        [[broadcaster]]
        target = "111"
        [[broadcaster]]
        target = "222"
        interval = 90
        video_quality = "FULL_HD1"
        capture_events = false
        exclude_events = []
        """
    )
    first, second = config.broadcasters
    assert (first.key, first.name, first.target) == ("111", "111", Target("web_rid", "111"))
    assert (first.interval, first.video_quality, first.segment_minutes) == (20.0, "sd", 5.0)
    assert first.exclude_events == ("like",)
    assert first.capture_events
    assert (second.interval, second.video_quality, second.segment_minutes) == (
        90.0,
        "FULL_HD1",
        5.0,
    )
    assert second.exclude_events == ()
    assert not second.capture_events
    assert config.broadcaster("222") is second
    assert config.broadcaster("333") is None


# ----------------------------------------------------------------------------- targets


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("https://live.douyin.com/261378947940", "web_rid", "261378947940"),
        ("live.douyin.com/261378947940?room_id=1&enter_from=web", "web_rid", "261378947940"),
        ("https://live.douyin.com/+261378947940", "web_rid", "261378947940"),
        ("https://live.douyin.com/?live_web_rid=80017709309", "web_rid", "80017709309"),
        ("261378947940", "web_rid", "261378947940"),
        ("some_douyin.id", "web_rid", "some_douyin.id"),
        ("https://v.douyin.com/iRNBho6u/", "share_url", "iRNBho6u"),
        (
            "7- 长按复制此条消息，打开抖音搜索，查看TA的更多作品。 https://v.douyin.com/iRNBho6u/",
            "share_url",
            "iRNBho6u",
        ),
        (f"https://www.douyin.com/user/{SEC_UID}?from_tab_name=main", "sec_uid", SEC_UID),
        (f"https://www.iesdouyin.com/share/user/{SEC_UID}", "sec_uid", SEC_UID),
        (SEC_UID, "sec_uid", SEC_UID),
        ("https://www.douyin.com/root/live/261378947940", "web_rid", "261378947940"),
        ("uid:58958068057", "user_id", "58958068057"),
        (" user_id:58958068057 ", "user_id", "58958068057"),
    ],
)
def test_parse_target_accepts_every_documented_form(text: str, kind: str, value: str) -> None:
    assert parse_target(text) == Target(kind, value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is not a Douyin target"),
        ("two words", "is not a Douyin target"),
        ("https://example.com/261378947940", "is not a Douyin address"),
        ("https://live.douyin.com/", "no web_rid"),
        ("https://v.douyin.com/", "no share code"),
        ("https://www.douyin.com/user/someone", "'someone' is not a sec_uid"),
        ("uid:abc", "digits only"),
        ("ftp://live.douyin.com/1", "not an http(s) address"),
        ("no!pe", "is not a Douyin target"),
    ],
)
def test_parse_target_rejects_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(
        ValueError, match=r"use https://live\.douyin\.com|digits only|no |not a"
    ) as info:
        parse_target(text)
    assert message in str(info.value)


# ----------------------------------------------------------------------------- platforms


@pytest.mark.parametrize(
    ("text", "platform"),
    [
        ("https://live.douyin.com/261378947940", "douyin"),
        ("live.douyin.com/261378947940", "douyin"),
        ("https://v.douyin.com/iRNBho6u/", "douyin"),
        ("7- 长按复制此条消息 https://v.douyin.com/iRNBho6u/", "douyin"),
        (f"https://www.douyin.com/user/{SEC_UID}", "douyin"),
        (f"https://www.iesdouyin.com/share/user/{SEC_UID}", "douyin"),
        (SEC_UID, "douyin"),
        ("uid:58958068057", "douyin"),
        ("https://www.tiktok.com/@some.user", "tiktok"),
        ("https://www.tiktok.com/@some.user/live", "tiktok"),
        ("tiktok.com/@some_user/live?lang=en", "tiktok"),
        ("https://vm.tiktok.com/ZMabc123/", "tiktok"),
        ("@some.user", "tiktok"),
        ("261378947940", None),  # a bare id: the default platform's unless platform = says
        ("some_douyin.id", None),
        ("https://example.com/261378947940", None),
    ],
)
def test_the_platform_is_inferred_from_the_targets_form(text: str, platform: str | None) -> None:
    assert infer_platform(text) == platform


def test_every_broadcaster_gets_a_platform_inferred_or_explicit() -> None:
    config = loads_config(
        '[[broadcaster]]\ntarget = "https://live.douyin.com/1"\n'
        '[[broadcaster]]\ntarget = "261378947940"\n'
        '[[broadcaster]]\ntarget = "abc_def"\nplatform = "douyin"\n'
        f'[[broadcaster]]\ntarget = "{SEC_UID}"\nname = "profile"\n'
    )
    assert [(b.key, b.platform) for b in config.broadcasters] == [
        ("1", "douyin"),
        ("261378947940", "douyin"),
        ("abc_def", "douyin"),
        ("profile", "douyin"),
    ]
    assert [b.target.kind for b in config.broadcasters] == ["web_rid"] * 3 + ["sec_uid"]
    assert tuple(config.platforms) == ("douyin",)
    assert config.platforms["douyin"] is config.section("douyin")


def test_a_tiktok_broadcaster_is_a_config_error_with_its_location() -> None:
    problems = problems_of(
        '[[broadcaster]]\ntarget = "@someone"\n'
        '[[broadcaster]]\ntarget = "https://www.tiktok.com/@someone/live"\nname = "tt"\n'
        '[[broadcaster]]\ntarget = "someone"\nplatform = "tiktok"\n'
        '[[broadcaster]]\ntarget = "https://live.douyin.com/1"\nplatform = "tiktok"\n'
        '[[broadcaster]]\ntarget = "@someone"\nplatform = "douyin"\nname = "x"\n'
        '[[broadcaster]]\ntarget = "1"\nplatform = "youtube"\n'
    )
    unsupported = "platform tiktok is not supported yet (supported: douyin)"
    assert problems == (
        f"broadcaster[1].target: {unsupported}",
        f"broadcaster[2].target: {unsupported}",
        f"broadcaster[3].platform: {unsupported}",
        "broadcaster[4].platform: 'tiktok', but the target 'https://live.douyin.com/1' is a "
        "douyin address; remove platform or use a tiktok target",
        "broadcaster[5].platform: 'douyin', but the target '@someone' is a tiktok address; "
        "remove platform or use a douyin target",
        "broadcaster[6].platform: 'youtube' is not one of douyin, tiktok",
    )


def test_a_section_of_an_unsupported_or_unknown_platform_is_an_error() -> None:
    assert problems_of('[tiktok]\nsign_api = "x"\n[youtube]\nkey = 1\n') == (
        "tiktok: platform tiktok is not supported yet (supported: douyin)",
        "youtube: unknown key; expected one of daemon, control, poll, recording, capture, "
        "web, douyin, broadcaster, notify, hooks",
    )


@pytest.mark.parametrize("command", ["check-config", "run"])
def test_a_tiktok_broadcaster_exits_78_before_anything_starts(tmp_path: Path, command: str) -> None:
    path = tmp_path / "dylived.toml"
    path.write_text(
        f'[daemon]\nstate_dir = "{tmp_path}/st"\n[[broadcaster]]\ntarget = "tiktok.com/@someone"\n',
        encoding="utf-8",
    )
    result = run_dylived(command, "--config", str(path))
    assert (result.returncode, result.stdout) == (78, "")
    assert (
        f"{path}: 1 problem(s):\n"
        "  broadcaster[1].target: platform tiktok is not supported yet (supported: douyin)\n"
    ) in result.stderr
    assert not (tmp_path / "st").exists()  # the daemon stopped before it touched anything


def test_a_runtime_add_gets_its_platform_and_a_tiktok_one_is_refused() -> None:
    config = loads_config("")
    added = apply_overrides(config, {"added": [{"target": "https://v.douyin.com/abcd/"}]})
    assert [(b.key, b.platform, b.origin) for b in added.broadcasters] == [
        ("abcd", "douyin", "runtime")
    ]
    with pytest.raises(ConfigError) as info:
        apply_overrides(config, {"added": [{"target": "@someone"}]})
    assert info.value.problems == (
        "added[1].target: platform tiktok is not supported yet (supported: douyin)",
    )


# ----------------------------------------------------------------------------- secrets, diff


def test_secrets_are_masked() -> None:
    secret = Secret("ttwid=abc")
    assert str(secret) == "********"
    assert "abc" not in repr(secret)
    assert secret.reveal() == "ttwid=abc"
    assert not Secret()
    assert str(Secret()) == ""
    config = loads_config('[douyin]\ncookies = "ttwid=abc"\n')
    assert "abc" not in repr(config)
    assert "abc" not in render_config(config)


def test_diff_reports_added_removed_changed_and_sections() -> None:
    old = loads_config(
        '[[broadcaster]]\ntarget = "1"\n[[broadcaster]]\ntarget = "2"\n'
        '[[broadcaster]]\ntarget = "3"\n'
    )
    new = loads_config(
        '[poll]\njitter = 1\n[[broadcaster]]\ntarget = "1"\n'
        '[[broadcaster]]\ntarget = "2"\nsegment_minutes = 5\ninterval = 10\n'
        '[[broadcaster]]\ntarget = "4"\n'
    )
    diff = old.diff(new)
    assert [b.key for b in diff.added] == ["4"]
    assert diff.removed == ("3",)
    assert [b.key for b in diff.changed] == ["2"]
    assert diff.changed[0].segment_minutes == 5
    assert diff.changed_fields == {"2": ("interval", "segment_minutes")}
    assert diff.sections == ("poll",)
    assert old.diff(old) == ConfigDiff()
    assert old.diff(old).empty
    assert not diff.empty


def test_a_changed_platform_section_is_in_the_diff_by_its_name() -> None:
    old = loads_config('[[broadcaster]]\ntarget = "1"\n')
    new = loads_config('[douyin]\nuser_agent = "x"\n[[broadcaster]]\ntarget = "1"\n')
    assert old.diff(new).sections == ("douyin",)
    assert new.section("douyin").user_agent == "x"


def test_a_changed_default_changes_every_broadcaster_that_inherits_it() -> None:
    watchlist = (
        '[[broadcaster]]\ntarget = "1"\n[[broadcaster]]\ntarget = "2"\nvideo_quality = "hd"\n'
    )
    old = loads_config(watchlist)
    new = loads_config('[recording]\nvideo_quality = "sd"\n' + watchlist)
    diff = old.diff(new)
    assert diff.sections == ("recording",)
    assert diff.changed_fields == {"1": ("video_quality",)}


# ----------------------------------------------------------------------------- overlay


BASE = (
    '[[broadcaster]]\ntarget = "1"\n[[broadcaster]]\ntarget = "2"\n[[broadcaster]]\ntarget = "3"\n'
)


def test_overrides_remove_add_and_pause_with_the_file_winning() -> None:
    config = loads_config('[recording]\nvideo_quality = "sd"\n' + BASE)
    merged = apply_overrides(
        config,
        {
            "removed": ["2", "nothing"],
            "added": [
                {"target": "https://live.douyin.com/9", "name": "nine", "interval": 15},
                {"target": "1", "video_quality": "ld"},
            ],
            "paused": ["3", "nine", "ghost"],
        },
    )
    assert [b.key for b in merged.broadcasters] == ["1", "3", "nine"]
    one, three, nine = merged.broadcasters
    assert (one.video_quality, one.origin, one.paused) == ("sd", "config", False)
    assert (three.paused, nine.paused, nine.origin) == (True, True, "runtime")
    assert (nine.interval, nine.video_quality) == (15.0, "sd")
    assert apply_overrides(config, {}) == config


def test_a_malformed_overlay_lists_every_problem() -> None:
    config = loads_config(BASE)
    with pytest.raises(ConfigError) as info:
        apply_overrides(
            config,
            {
                "added": [{"target": "9", "intervall": 5}, {"name": "x"}, {"target": "9"}],
                "removed": "2",
                "paused": [3],
                "extra": True,
            },
            source="state.json",
        )
    assert info.value.source == "state.json"
    assert info.value.problems == (
        "extra: unknown key; expected added, removed, paused",
        "removed: expected a list of broadcaster keys",
        "paused: expected a list of broadcaster keys",
        "added[1].intervall: unknown key; did you mean 'interval'?",
        "added[2].target: missing; every broadcaster needs a target",
        "added[3]: duplicate broadcaster key '9' (also added[1])",
    )


def test_overrides_round_trip_through_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "overrides.json"
    assert load_overrides(state) == {"added": [], "removed": [], "paused": []}
    data = {"added": [{"target": "7", "name": "七"}], "removed": ["1"], "paused": []}
    save_overrides(state, data)
    assert load_overrides(state) == data
    assert [p.name for p in tmp_path.iterdir()] == ["overrides.json"]
    state.write_text("{not json")
    with pytest.raises(ConfigError, match="1 problem"):
        load_overrides(state)


# ----------------------------------------------------------------------------- the commands


def test_check_config_lists_every_problem_and_exits_78(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[poll]\nintervl = 30\n[[broadcaster]]\ntarget = "1"\nvideo_quality = "ultra"\n'
        '[[broadcaster]]\ntarget = "1"\n',
        encoding="utf-8",
    )
    result = run_dylived("check-config", "--config", str(bad))
    assert result.returncode == 78
    assert result.stdout == ""
    assert f"{bad}: 3 problem(s):" in result.stderr
    for problem in (
        "poll.intervl: unknown key; did you mean 'interval'?",
        "broadcaster[1].video_quality: 'ultra' is not one of",
        "broadcaster[2].target: duplicate broadcaster key '1' (also broadcaster[1])",
    ):
        assert f"  {problem}" in result.stderr


def test_check_config_accepts_the_example_and_reads_dylived_config(tmp_path: Path) -> None:
    result = run_dylived("check-config", "--config", str(EXAMPLE))
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok: 3 broadcasters\n", "")


def test_a_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    result = run_dylived("check-config", "--config", str(tmp_path / "absent.toml"))
    assert result.returncode == 78
    assert "cannot read the config file: No such file or directory" in result.stderr


def test_print_config_masks_the_cookie_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "dylived.toml"
    path.write_text(
        '[daemon]\nstate_dir = "st"\n[douyin]\ncookies = "ttwid=TOPSECRET"\n'
        '[[broadcaster]]\ntarget = "https://live.douyin.com/42"\nsegment_minutes = 0.5\n',
        encoding="utf-8",
    )
    result = run_dylived("print-config", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert "TOPSECRET" not in result.stdout
    assert 'cookies = "********"  # secret: masked' in result.stdout
    assert 'retention_max_bytes = ""' in result.stdout
    assert 'mode = "0660"' in result.stdout
    reloaded = loads_config(result.stdout, base_dir=Path("/"))
    original = load_config(path)
    assert reloaded.section("douyin").cookies.reveal() == "********"
    assert dataclasses.replace(reloaded, platforms=original.platforms) == original
    assert 'name = "42"\nplatform = "douyin"\n' in result.stdout


def test_print_config_of_an_invalid_file_exits_78(tmp_path: Path) -> None:
    path = tmp_path / "dylived.toml"
    path.write_text("[poll]\ninterval = 0\n", encoding="utf-8")
    result = run_dylived("print-config", "--config", str(path))
    assert result.returncode == 78
    assert "poll.interval: must be > 0, got 0" in result.stderr
    assert result.stdout == ""


def test_wrong_shapes_and_types_are_reported() -> None:
    problems = problems_of(
        'poll = 5\nbroadcaster = [1, {target = 5}, {target = "1", name = ""}]\n'
        '[recording]\nstall_timeout = "soon"\n[daemon]\nstate_dir = ""\n'
    )
    assert problems == (
        "daemon.state_dir: must not be empty",
        "poll: expected a table, got 5 (integer)",
        "recording.stall_timeout: expected a number of seconds, got 'soon' (string)",
        "broadcaster[1]: expected a table, got 1 (integer)",
        "broadcaster[2].target: expected a string, got 5 (integer)",
        "broadcaster[3].name: must not be empty",
    )
    assert problems_of("broadcaster = 5\n") == (
        "broadcaster: expected [[broadcaster]] tables, got 5",
    )
    assert problems_of("[poll]\nmax_concurrent = 5000\n") == (
        "poll.max_concurrent: must be between 1 and 1000, got 5000",
    )


def test_the_daemon_view_with_overrides_prints_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "dylived.toml"
    path.write_text(
        '[daemon]\nstate_dir = "."\n[recording]\nrecord_video = false\n' + BASE, encoding="utf-8"
    )
    save_overrides(
        tmp_path / "watchlist-overrides.json",
        {"added": [{"target": "8", "max_session_minutes": 30}], "removed": ["1"], "paused": ["2"]},
    )
    config = load_config_with_overrides(path)
    assert [(b.key, b.paused, b.origin) for b in config.broadcasters] == [
        ("2", True, "config"),
        ("3", False, "config"),
        ("8", False, "runtime"),
    ]
    eight = config.broadcasters[2]
    assert (eight.record_video, eight.max_session_minutes) == (False, 30.0)
    text = render_config(config)
    assert "# 2: paused, from config" in text
    assert "# 8: from runtime" in text
    reloaded = loads_config(text, base_dir=Path("/"))
    assert [b.key for b in reloaded.broadcasters] == ["2", "3", "8"]
    assert reloaded.broadcasters[2].max_session_minutes == 30.0


def test_a_state_file_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    state.write_text("[]")
    with pytest.raises(ConfigError, match="1 problem") as info:
        load_overrides(state)
    assert info.value.problems == ("expected a JSON object",)
    with pytest.raises(ConfigError) as bad:
        apply_overrides(Config(), {"added": {"target": "1"}})
    assert bad.value.problems == ("added: expected a list of broadcaster tables",)


@pytest.mark.parametrize(
    ("escaped", "named"),
    [("\\r\\nX-Injected: 1", "CR"), ("\\nX-Injected: 1", "LF"), ("\\u0000X-Injected", "NUL")],
)
@pytest.mark.parametrize("command", ["check-config", "run"])
def test_a_cookie_with_cr_lf_or_nul_is_refused_at_load_without_echoing_it(
    tmp_path: Path, escaped: str, named: str, command: str
) -> None:
    path = tmp_path / "dylived.toml"
    path.write_text(
        f'[daemon]\nstate_dir = "{tmp_path}/st"\n[douyin]\ncookies = "ttwid=TOPSECRET{escaped}"\n'
        '[[broadcaster]]\ntarget = "https://live.douyin.com/42"\n',
        encoding="utf-8",
    )
    result = run_dylived(command, "--config", str(path))
    assert result.returncode == 78
    assert f"douyin.cookies: contains {named} at character 16" in result.stderr
    for secret in ("TOPSECRET", "X-Injected", "ttwid"):
        assert secret not in result.stderr + result.stdout
    assert not (tmp_path / "st").exists()  # the daemon stopped before it touched anything


def test_a_cookie_that_is_not_a_string_is_refused_without_echoing_it() -> None:
    problems = problems_of('[douyin]\ncookies = ["ttwid=TOPSECRET"]\n')
    assert "douyin.cookies: expected a string, got: array (the value is not shown)" in problems
    assert not any("TOPSECRET" in p for p in problems)
