"""``[[notify]]`` validation: ``dylived check-config`` lists every problem with its location
and exits 78; a valid table becomes a ``NotifyTarget``; print-config masks the URL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dylived.config.load import loads_config
from tests.conftest import REPO_ROOT


BROADCASTERS = '[[broadcaster]]\ntarget = "200000000001"\nname = "alice"\n'


def check_config(path: Path, *, without_apprise: bool = False) -> subprocess.CompletedProcess[str]:
    """The real ``dylived check-config``; ``without_apprise``: as on a machine without the
    ``notify`` extra (the interpreter refuses to import apprise)."""
    block = "sys.modules['apprise'] = None; " if without_apprise else ""
    code = f"import sys; {block}from dylived.app.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
    )


def test_check_config_lists_every_notify_problem_with_its_location(tmp_path: Path) -> None:
    path = tmp_path / "dylived.toml"
    path.write_text(
        BROADCASTERS
        + '[[notify]]\nurl = "https://hooks.example/x"\nevents = ["live", "went_live"]\n'
        + '[[notify]]\nurl = "not a url"\n'
        + '[[notify]]\nurl = "http://"\n'
        + '[[notify]]\nurl = "https://hooks.example/y"\nbroadcasters = ["alice", "bobb"]\n'
        + '[[notify]]\nurl = "bogus-scheme://x"\n'
        + '[[notify]]\nurl = "https://hooks.example/z"\nevnts = ["live"]\ntimeout = 0\n'
        + "[[notify]]\nevents = []\n",
        encoding="utf-8",
    )
    result = check_config(path)
    assert result.returncode == 78, result.stderr
    expected = [
        "notify[1].events: unknown event 'went_live'; expected some of live, ended,",
        "notify[2].url: 'not a url' is not a URL",
        "notify[3].url: 'http://': no host",
        "notify[4].broadcasters: no broadcaster named 'bobb'",
        "notify[5].url: Apprise does not understand this bogus-scheme:// URL",
        "notify[6].evnts: unknown key; did you mean 'events'?",
        "notify[6].timeout: expected seconds > 0, got 0",
        "notify[7].url: missing; every [[notify]] needs a url",
        "notify[7].events: empty; leave it out to get every event",
    ]
    for problem in expected:
        assert problem in result.stderr
    assert f"{path}: {len(expected)} problem(s):" in result.stderr


def test_an_apprise_url_without_apprise_installed_is_a_clear_config_error(tmp_path: Path) -> None:
    path = tmp_path / "dylived.toml"
    path.write_text(
        BROADCASTERS
        + '[[notify]]\nurl = "ntfy://ntfy.sh/my-archive"\n'
        + '[[notify]]\nurl = "http://127.0.0.1:8080/hook"\n',
        encoding="utf-8",
    )
    without = check_config(path, without_apprise=True)
    assert without.returncode == 78
    assert "1 problem(s)" in without.stderr
    assert (
        "notify[1].url: a ntfy:// URL is sent through Apprise, which is not installed: "
        "pip install 'dylived[notify]'" in without.stderr
    )
    with_apprise = check_config(path)  # this venv has the extra
    assert (with_apprise.returncode, with_apprise.stdout) == (0, "ok: 1 broadcaster\n")


def test_a_valid_notify_table_is_parsed_and_print_config_masks_its_url() -> None:
    from dylived.config.load import render_config

    config = loads_config(
        BROADCASTERS
        + '[[notify]]\nurl = "tgram://123456:ABCDEF/987654"\nevents = ["ended", "disk_low"]\n'
        + 'broadcasters = ["alice"]\nretries = 2\n'
        + '[[notify]]\nurl = "https://hooks.example/all"\n'
    )
    telegram, hook = config.notify
    assert (telegram.events, telegram.broadcasters, telegram.retries) == (
        ("ended", "disk_low"),
        ("alice",),
        2,
    )
    assert telegram.wants("ended", "alice")
    assert not telegram.wants("ended", "bob")
    assert not telegram.wants("live", "alice")
    assert telegram.wants("disk_low", None)
    assert hook.events[:2] == ("live", "ended")
    assert "daemon_error" in hook.events
    rendered = render_config(config)
    assert "ABCDEF" not in rendered
    assert "hooks.example" not in rendered
    assert rendered.count("[[notify]]") == 2
