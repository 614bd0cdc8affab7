"""A scratch root laid out like the systemd unit's, and a service user to run the daemon as.

Owns the pieces of ``test_install_as_a_service.py`` that touch the machine: creating (and
removing again) an unprivileged system user, a world-traversable scratch directory under /tmp
(pytest's own ``tmp_path`` is 0700, which the service user could not enter), a non-editable
install of this checkout into ``<root>/opt/dylived/venv`` with the operator's commands
(``python3 -m venv`` + ``pip install``), the unit's directories with the unit's owners and modes,
the example config edited to point at the simulator, and running a command the way systemd
runs the unit's Exec lines: as that user (``setpriv``), umask 0027, cwd /, stdin /dev/null, a
new session, and only the environment systemd gives a service plus ``DYLIVED_CONFIG``.

Nothing here touches the real /etc, /var/lib, /run or /opt.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


USER_NAME = "dylived-test"
# What systemd puts in a system service's environment (PATH, and for User= the account's
# HOME, USER, LOGNAME, SHELL); the unit adds DYLIVED_CONFIG. No NOTIFY_SOCKET here.
SERVICE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Interpreters an operator would build the venv from; the first the service user can run wins.
PYTHON_CANDIDATES = ("/usr/bin/python3", "/usr/local/bin/python3")


@dataclass(frozen=True)
class ServiceUser:
    name: str
    uid: int
    gid: int
    home: str
    shell: str
    created: bool  # by this test run (so removed at the end); an existing user is left alone

    def setpriv(self) -> list[str]:
        """The argv prefix that runs a command with this user's credentials, like User=."""
        return [
            "setpriv",
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            "--init-groups",
            "--no-new-privs",  # NoNewPrivileges=yes
            "--",
        ]

    def environment(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": SERVICE_PATH,
            "HOME": self.home,
            "USER": self.name,
            "LOGNAME": self.name,
            "SHELL": self.shell,
            **extra,
        }


def require_root_tools() -> None:
    """Skip unless this test can create users and switch to them."""
    if os.geteuid() != 0:
        pytest.skip("needs root: it creates a system user and runs the daemon as that user")
    for tool in ("useradd", "userdel", "setpriv"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed here")


@contextmanager
def service_user(name: str = USER_NAME) -> Iterator[ServiceUser]:
    """The unprivileged system user (reused if present; removed at the end only if created)."""
    created = False
    try:
        pwd.getpwnam(name)
    except KeyError:
        result = subprocess.run(
            [
                *("useradd", "--system", "--user-group", "--no-create-home"),
                *("--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin"),
                *("--comment", "dylived deploy test (tests/deploy)", name),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        created = result.returncode == 0
        if result.returncode not in (0, 9):  # 9: the name appeared meanwhile (a parallel run)
            pytest.fail(f"useradd failed: {result.stderr}")
    entry = pwd.getpwnam(name)
    try:
        yield ServiceUser(
            name, entry.pw_uid, entry.pw_gid, entry.pw_dir, entry.pw_shell, created=created
        )
    finally:
        if created:
            subprocess.run(["userdel", name], capture_output=True, check=False)
            try:  # userdel removes the user's own group on Debian; be sure it is gone
                grp.getgrnam(name)
            except KeyError:
                pass
            else:
                subprocess.run(["groupdel", name], capture_output=True, check=False)


def run_as(
    user: ServiceUser,
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    umask: int = 0o022,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """One Exec line (ExecStartPre, ExecReload) as the unit runs it (pass its UMask=)."""
    return subprocess.run(
        [*user.setpriv(), *argv],
        env=dict(env),
        cwd="/",
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        umask=umask,
        start_new_session=True,
        check=False,
        timeout=timeout,
    )


def usable_python(user: ServiceUser) -> str:
    """A Python >= 3.11 the service user can execute (the repo's venv may live under /root)."""
    tried = []
    for candidate in (
        *PYTHON_CANDIDATES,
        os.path.realpath(getattr(sys, "_base_executable", sys.executable)),
    ):
        if not os.path.isfile(candidate):
            continue
        check = run_as(
            user,
            [candidate, "-c", "import sys, venv; sys.exit(sys.version_info < (3, 11))"],
            user.environment(),
        )
        if check.returncode == 0:
            return candidate
        tried.append(candidate)
    pytest.skip(f"no Python >= 3.11 with venv runnable by {user.name} (tried {tried})")


def scratch_root() -> Path:
    """A fresh directory under /tmp that the service user may traverse (0755)."""
    root = Path(tempfile.mkdtemp(prefix="dylived-as-a-service-"))
    root.chmod(0o755)
    return root


def copy_checkout(destination: Path) -> Path:
    """What ``pip install <repo>`` reads, copied (symlinks as in a clone) so the build
    (``build/``, ``*.egg-info``) leaves the checkout alone."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("dylived", "etc", "systemd"):
        shutil.copytree(REPO_ROOT / name, destination / name, ignore=ignore, symlinks=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, destination / name)
    return destination


def install_venv(python: str, source: Path, venv: Path) -> None:
    """``python3 -m venv VENV && VENV/bin/pip install SOURCE``, as an operator types it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}
    for argv in (
        [python, "-m", "venv", str(venv)],
        [str(venv / "bin" / "pip"), "install", "--quiet", str(source)],
    ):
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            pytest.fail(f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}")


def make_dir(path: Path, mode: int, uid: int, gid: int) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, uid, gid)
    path.chmod(mode)
    return path


def set_key(text: str, key: str, toml_value: str, section: str = "") -> str:
    """Replace the one ``key = …`` line (or multi-line array) of the example config, in
    ``[section]`` only when one is named (the platform sections share key names)."""
    start, end = 0, len(text)
    if section:
        start = text.index(f"\n[{section}]\n")
        following = re.search(r"^\[", text[start + 1 :][len(section) + 3 :], re.MULTILINE)
        end = start + 1 + len(section) + 3 + following.start() if following else len(text)
    pattern = re.compile(rf"^{re.escape(key)} = (\[[^\]]*\]|[^\n]*)", re.MULTILINE)
    edited, count = pattern.subn(lambda _: f"{key} = {toml_value}", text[start:end])
    assert count == 1, f"the example config has {count} '{key} = ' lines in [{section}]"
    return text[:start] + edited + text[end:]


def toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def edited_example_config(
    *,
    state_dir: Path,
    socket: Path,
    ffmpeg: str,
    web_base: str,
    ws_base: str,
    broadcaster: tuple[str, str],
) -> str:
    """etc/dylived.toml as an operator edits it: paths, endpoints, a quick poll, one broadcaster.

    The watchlist of the example is replaced; every other key keeps its documented value but
    for the short poll intervals and 6 s segments of the smallest quality that keep this quick.
    """
    text = (REPO_ROOT / "etc" / "dylived.toml").read_text(encoding="utf-8")
    text = text[: text.index("\n[[broadcaster]]")]
    values = {
        "state_dir": toml_string(str(state_dir)),
        "ffmpeg": toml_string(ffmpeg),
        "socket": toml_string(str(socket)),
        "interval": "1",
        "jitter": "0.1",
        "live_interval": "1",
        "grace": "30",
        "video_quality": '"md"',
        "segment_minutes": "0.1",
        "web_base": toml_string(web_base),
        "app_base": toml_string(web_base),
        "share_base": toml_string(web_base),
        "ws_hosts": f"[{toml_string(ws_base)}]",
    }
    platform_keys = {"web_base", "app_base", "share_base", "ws_hosts"}
    for key, value in values.items():
        text = set_key(text, key, value, "douyin" if key in platform_keys else "")
    target, name = broadcaster
    return text + f"\n[[broadcaster]]\ntarget = {toml_string(target)}\nname = {toml_string(name)}\n"


def processes_of(uid: int, program: str) -> set[int]:
    """Pids of live processes of ``uid`` whose argv[0] names ``program``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv0 = (entry / "cmdline").read_bytes().split(b"\0")[0]
            if (
                entry.stat().st_uid == uid
                and program.encode() in Path(argv0.decode()).name.encode()
            ):
                found.add(int(entry.name))
        except (OSError, UnicodeDecodeError):
            continue
    return found
