"""``[web]`` in the config: check-config refuses a non-loopback listen without a token (exit 78,
with the location), and the pure checks of web/access.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dylived.config.load import loads_config
from dylived.errors import ConfigError
from dylived.web.access import loopback_host, safe_next


def _check_config(tmp_path: Path, web: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "dylived.toml"
    config.write_text(f'[daemon]\nstate_dir = "{tmp_path}"\n\n[web]\n{web}', encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "dylived", "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_config_refuses_a_public_listen_without_a_token(tmp_path: Path) -> None:
    refused = _check_config(tmp_path, 'listen = "0.0.0.0:8080"\n')
    assert refused.returncode == 78, refused.stdout + refused.stderr
    out = refused.stdout + refused.stderr
    assert "web.listen: '0.0.0.0:8080' is not a loopback address, so web.token is required" in out
    token = 'token = "a-long-enough-token-123"\n'
    accepted = _check_config(tmp_path, 'listen = "0.0.0.0:8080"\n' + token)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert loads_config('[web]\nlisten = "127.0.0.1:8080"\n').web.listen == "127.0.0.1:8080"


@pytest.mark.parametrize(
    ("web", "problem"),
    [
        ('listen = "[::]:8080"', "web.listen: '[::]:8080' is not a loopback address"),
        ('listen = "127.0.0.1:8080"\ntoken = "short"', "web.token: must be at least 16"),
        ('listen = "localhost"', 'web.listen: expected "host:port"'),
        ('listne = "127.0.0.1:1"', "web.listne: unknown key; did you mean 'listen'?"),
    ],
)
def test_bad_web_tables_are_config_errors(web: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        loads_config(f"[web]\n{web}\n")
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems


def test_web_is_off_by_default_and_the_token_is_masked() -> None:
    assert loads_config("").web.listen == ""
    config = loads_config('[web]\nlisten = "[::1]:8080"\ntoken = "0123456789abcdefXYZ"\n')
    assert config.web.token.reveal() == "0123456789abcdefXYZ"
    assert "0123456789abcdef" not in str(config.web)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:8080", True),
        ("127.1.2.3", True),
        ("localhost:80", True),
        ("LOCALHOST", True),
        ("[::1]:8080", True),
        ("attacker.example:8080", False),
        ("127.0.0.1.nip.io", False),
        ("10.0.0.1:80", False),
        ("", False),
    ],
)
def test_loopback_host(host: str, loopback: bool) -> None:
    assert loopback_host(host) is loopback


@pytest.mark.parametrize(
    ("target", "where"),
    [
        ("/web/broadcasters/a", "/web/broadcasters/a"),
        ("//attacker.example/web", "/web/"),
        ("https://attacker.example/", "/web/"),
        ("/web\\..\\x", "/web/"),
        ("/v1/status", "/web/"),
    ],
)
def test_a_login_only_sends_the_browser_to_our_pages(target: str, where: str) -> None:
    assert safe_next(target) == where
