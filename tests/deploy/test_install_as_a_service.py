"""Installed the way the README says and run the way the unit runs it, minus systemd itself.

There is no systemd as PID 1 in CI containers, so ``systemctl start`` is out of reach; instead
this module does by hand what the unit makes systemd do, in a scratch root under /tmp (never the
real /etc, /var/lib, /run or /opt):

- ``python3 -m venv <root>/opt/dylived/venv && …/pip install <checkout>`` (not editable, so the
  package data really ships), checked as the service user;
- ``systemd-sysusers --root`` / ``systemd-tmpfiles --root --create`` with the snippets, and
  ``systemd-analyze verify --root`` of the units whose ExecStart paths now exist;
- for ``dylived.service`` and the instance ``dylived@alpha.service``, read from the unit files
  (``unitfile.py``): a system user (``dylived-test``) standing in for User=/Group=, the
  StateDirectory/RuntimeDirectory with the unit's owners and modes, ``/etc/dylived`` as
  tmpfiles makes it, the example config edited to point at the simulator (on 127.0.0.1 in this
  process), then ExecStartPre and ExecStart as that user with the unit's UMask= and
  environment, ExecReload (also as that user), an operator's ``dylivectl status``, and SIGTERM
  as KillMode=mixed sends it; and a broken config ending the unit with 78.

The repo's own venv cannot serve: its python is a symlink into /root (mode 0700 here), so the
venv is built from the system python3, which is what an operator does anyway.

Skips when not root or without useradd/setpriv (and the systemd tool checks without those tools).
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import shutil
import signal
import sqlite3
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from dylived.record.probe import find_ffmpeg
from dylived.sim import RoomSpec, Scenario, Simulator
from tests.conftest import REPO_ROOT
from tests.deploy.service_root import (
    ServiceUser,
    copy_checkout,
    edited_example_config,
    install_venv,
    make_dir,
    processes_of,
    require_root_tools,
    run_as,
    scratch_root,
    service_user,
    usable_python,
)
from tests.deploy.unitfile import UnitPlan, read_unit
from tests.record.livesource import measure


pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WEB_RID = "200000000001"
NAME = "主播-service"
HOST_UNIT_DIRS = (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class Installed:
    root: Path  # the scratch "/"
    user: ServiceUser
    source: Path  # the copied checkout pip installed from

    @property
    def bin(self) -> Path:
        return self.root / "opt" / "dylived" / "venv" / "bin"


@pytest.fixture(scope="module")
def installed() -> Iterator[Installed]:
    require_root_tools()
    with service_user() as user:
        python = usable_python(user)
        root = scratch_root()
        try:
            source = copy_checkout(make_dir(root / "src", 0o755, 0, 0))
            install_venv(python, source, root / "opt" / "dylived" / "venv")
            yield Installed(root, user, source)
        finally:
            shutil.rmtree(root, ignore_errors=True)


def test_the_installed_package_ships_its_migrations_and_commands(installed: Installed) -> None:
    user, venv_bin = installed.user, installed.bin
    probe = run_as(
        user,
        [
            str(venv_bin / "python"),
            "-c",
            "import json, dylived; from dylived.store.db import load_migrations; "
            "from dylived.app.demo import demo_rooms, demo_scenario; "
            "print(json.dumps([dylived.__file__, [m.name for m in load_migrations()], "
            "str(demo_scenario()), len(demo_rooms(demo_scenario()))]))",
        ],
        user.environment(),
    )
    assert probe.returncode == 0, probe.stderr
    module_file, migrations, demo, demo_rooms = json.loads(probe.stdout)
    site = str(installed.root / "opt" / "dylived" / "venv" / "lib")
    assert module_file.startswith(site)
    assert demo.startswith(site)  # `dylived demo` works from an installed package
    assert not Path(demo).is_symlink()
    assert demo_rooms > 0
    shipped = sorted(p.name for p in (REPO_ROOT / "dylived" / "store" / "migrations").glob("*.sql"))
    assert migrations == shipped
    for command in ("dylived", "dylivectl", "dylived-sim"):
        helped = run_as(user, [str(venv_bin / command), "--help"], user.environment())
        assert helped.returncode == 0, (command, helped.stderr)
    # The documented example is not package data: the operator copies it from the source tree.
    checked = run_as(
        user,
        [str(venv_bin / "dylived"), "check-config"],
        user.environment(DYLIVED_CONFIG=str(installed.source / "etc" / "dylived.toml")),
    )
    assert (checked.returncode, checked.stdout.strip()) == (0, "ok: 3 broadcasters"), checked


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        pytest.skip(f"{name} is not installed here")
    return exe


def _colon_table(path: Path) -> dict[str, list[str]]:
    return {fields[0]: fields for fields in (ln.split(":") for ln in path.read_text().splitlines())}


def test_sysusers_and_tmpfiles_snippets_make_the_user_and_config_dir(tmp_path: Path) -> None:
    sysusers, tmpfiles = _tool("systemd-sysusers"), _tool("systemd-tmpfiles")
    require_root_tools()
    snippets = REPO_ROOT / "systemd"
    (tmp_path / "etc").mkdir()  # a machine's root has one; sysusers locks /etc/.pwd.lock in it
    made = subprocess.run(
        [sysusers, f"--root={tmp_path}", str(snippets / "sysusers.d-dylived.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    passwd, groups = (_colon_table(tmp_path / "etc" / name) for name in ("passwd", "group"))
    assert passwd["dylived"][5:] == ["/var/lib/dylived", "/usr/sbin/nologin"]
    assert passwd["dylived"][3] == groups["dylived"][2]
    created = subprocess.run(
        [tmpfiles, f"--root={tmp_path}", "--create", str(snippets / "tmpfiles.d-dylived.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    config_dir = (tmp_path / "etc" / "dylived").stat()
    assert stat.S_IMODE(config_dir.st_mode) == 0o750
    assert (config_dir.st_uid, config_dir.st_gid) == (0, int(groups["dylived"][2]))


def test_units_verify_in_a_root_holding_the_installed_venv(installed: Installed) -> None:
    analyze = _tool("systemd-analyze")
    host_units = next((d for d in HOST_UNIT_DIRS if (d / "sysinit.target").exists()), None)
    if host_units is None:
        pytest.skip("no systemd unit directory to resolve sysinit.target from")
    root = installed.root
    units = make_dir(root / "etc" / "systemd" / "system", 0o755, 0, 0)
    if not (root / "usr" / "lib" / "systemd" / "system").exists():
        shutil.copytree(host_units, root / "usr" / "lib" / "systemd" / "system", symlinks=True)
    for unit in ("dylived.service", "dylived@.service"):
        shutil.copy2(REPO_ROOT / "systemd" / unit, units / unit)
        verified = subprocess.run(
            [analyze, "verify", "--man=no", f"--root={root}", f"/etc/systemd/system/{unit}"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert (verified.returncode, verified.stderr.strip()) == (0, ""), verified


def _query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Read-only, so root never creates a -wal/-shm file the daemon's user could not write."""
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        return []


async def _wait_for(predicate: Callable[[], Any], seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            journal = await anyio.Path(log).read_text()
            raise AssertionError(f"timed out waiting for {what}; daemon log:\n{journal}")
        await anyio.sleep(0.2)


async def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """A command run by root (an operator), off the event loop the simulator runs on."""
    return await anyio.to_thread.run_sync(
        functools.partial(
            subprocess.run, argv, capture_output=True, text=True, check=False, timeout=30
        )
    )


def _ffmpeg_for(user: ServiceUser) -> str:
    ffmpeg = find_ffmpeg()
    if run_as(user, [ffmpeg, "-version"], user.environment()).returncode != 0:
        pytest.skip(f"{ffmpeg} is not executable by {user.name}")
    return ffmpeg


def _unit_directory(root: Path, leaf: Path, mode: int, user: ServiceUser) -> Path:
    """What systemd does for StateDirectory=/RuntimeDirectory=: parents 0755 root, leaf User=."""
    for parent in reversed(leaf.relative_to(root).parents[:-1]):
        make_dir(root / parent, 0o755, 0, 0)
    return make_dir(leaf, mode, user.uid, user.gid)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("unit", "instance"), [("dylived.service", ""), ("dylived@.service", "alpha")]
)
async def test_the_daemon_runs_as_the_unit_runs_it(
    installed: Installed, unit: str, instance: str
) -> None:
    user = installed.user
    # A machine of its own per unit (its /opt the shared install), so the runs cannot mix.
    root = make_dir(installed.root / f"machine-{unit}", 0o755, 0, 0)
    (root / "opt").symlink_to(installed.root / "opt")
    plan = read_unit(REPO_ROOT / "systemd" / unit, root, instance)
    assert (plan.user, plan.group) == ("dylived", "dylived")  # played here by user.name
    assert plan.socket.parent == plan.runtime_directory
    ffmpeg = _ffmpeg_for(user)
    # tmpfiles.d: /etc/dylived 0750 root:dylived; the config 0640 root:dylived (it may hold
    # cookies). The unit: StateDirectory= and RuntimeDirectory= owned by User=/Group=.
    _unit_directory(root, plan.config.parent, 0o750, user)
    os.chown(plan.config.parent, 0, user.gid)
    state = _unit_directory(root, plan.state_directory, plan.state_mode, user)
    _unit_directory(root, plan.runtime_directory, plan.runtime_mode, user)
    db, config = state / "dylived.db", plan.config
    env = user.environment(**plan.environment)
    log = root / f"journal-{unit}.log"
    scenario = Scenario(rooms=(RoomSpec(WEB_RID, nickname="主播"),))
    async with Simulator.running(scenario) as sim:
        config.write_text(
            edited_example_config(
                state_dir=state,
                socket=plan.socket,
                ffmpeg=ffmpeg,
                web_base=sim.web_base,
                ws_base=sim.ws_base,
                broadcaster=(WEB_RID, NAME),
            ),
            encoding="utf-8",
        )
        os.chown(config, 0, user.gid)
        config.chmod(0o640)

        pre = await anyio.to_thread.run_sync(
            functools.partial(run_as, user, plan.exec_start_pre, env, umask=plan.umask)
        )
        assert (pre.returncode, pre.stdout.startswith("ok: 1 broadcaster")) == (0, True), pre

        with log.open("wb") as journal:
            daemon = await anyio.open_process(
                [*user.setpriv(), *plan.exec_start],
                env=env,
                cwd="/",
                stdin=subprocess.DEVNULL,
                stdout=journal,
                stderr=journal,
                umask=plan.umask,
                start_new_session=True,
            )
        try:
            await _check_the_running_daemon(installed, plan, daemon.pid, sim, db, log, env)
            ffmpegs = processes_of(user.uid, "ffmpeg")
            assert ffmpegs, "ffmpeg should be recording, as the service user"
            started = time.monotonic()
            daemon.send_signal(signal.SIGTERM)  # KillMode=mixed: the main process only
            with anyio.fail_after(plan.timeout_stop_sec):
                returncode = await daemon.wait()
            stopped_in = time.monotonic() - started
        finally:
            if daemon.returncode is None:
                daemon.kill()
                with anyio.move_on_after(5, shield=True):
                    await daemon.wait()
    assert returncode == 0, log.read_text()
    assert stopped_in < plan.timeout_stop_sec
    assert not processes_of(user.uid, "ffmpeg") & ffmpegs, "every ffmpeg reaped"
    _check_what_was_left(user, plan.umask, state, db, log)


async def _check_the_running_daemon(
    installed: Installed,
    plan: UnitPlan,
    pid: int,
    sim: Simulator,
    db: Path,
    log: Path,
    env: dict[str, str],
) -> None:
    user, socket = installed.user, plan.socket
    dylivectl = plan.exec_reload[0]

    # bound, then given its mode and group: its mode is final once the daemon logs it listens
    def listening() -> bool:
        return socket.exists() and "control API listening on" in log.read_text(errors="replace")

    await _wait_for(listening, 30, "the control socket", log)
    sock = await anyio.Path(socket).stat()
    assert stat.S_ISSOCK(sock.st_mode)
    assert stat.S_IMODE(sock.st_mode) == 0o660
    assert (sock.st_uid, sock.st_gid) == (user.uid, user.gid)

    sim.room(WEB_RID).go_live()
    closed = "SELECT path FROM segments WHERE state = 'closed'"
    await _wait_for(lambda: _query(db, closed), 60, "a closed segment", log)
    events = "SELECT COUNT(*) FROM events"
    await _wait_for(lambda: _query(db, events)[0][0] > 0, 30, "stored events", log)
    [(key, reason)] = _query(db, "SELECT broadcaster_key, reason_for_exit FROM sessions")
    assert (key, reason) == (NAME, None)

    # An operator (root, or a member of the daemon's group) asks for the status.
    as_root = await _run([dylivectl, "--socket", str(socket), "--json", "status"])
    assert as_root.returncode == 0, as_root.stderr
    status = json.loads(as_root.stdout)
    assert status["daemon"]["pid"] == pid
    assert [b["id"] for b in status["broadcasters"]] == [NAME]
    assert status["daemon"]["counts"]["events"] > 0
    human = await _run([dylivectl, "--socket", str(socket), "status"])
    assert human.returncode == 0, human.stderr
    assert NAME in human.stdout
    await anyio.to_thread.run_sync(_check_group_access, installed, socket)

    # ExecReload runs as User= too, and waits for the daemon's answer.
    reloaded = await anyio.to_thread.run_sync(
        functools.partial(run_as, user, plan.exec_reload, env, umask=plan.umask)
    )
    assert reloaded.returncode == 0, reloaded.stderr
    assert "reload applied" in reloaded.stdout


def test_a_broken_config_ends_the_unit_with_78_before_anything_starts(
    installed: Installed,
) -> None:
    """ExecStartPre reports every problem; with its "-" prefix the unit then relies on ExecStart
    exiting 78 itself (RestartPreventExitStatus=78), before any socket or database exists."""
    user = installed.user
    root = make_dir(installed.root / "machine-broken", 0o755, 0, 0)
    (root / "opt").symlink_to(installed.root / "opt")
    plan = read_unit(REPO_ROOT / "systemd" / "dylived.service", root)
    _unit_directory(root, plan.config.parent, 0o750, user)
    state = _unit_directory(root, plan.state_directory, plan.state_mode, user)
    _unit_directory(root, plan.runtime_directory, plan.runtime_mode, user)
    plan.config.write_text(
        f'[daemon]\nstate_dir = "{state}"\n[control]\nsocket = "{plan.socket}"\n'
        '[poll]\ninterval = -1\n[[broadcaster]]\ntarget = "uid:123"\n',
        encoding="utf-8",
    )
    env = user.environment(**plan.environment)
    pre = run_as(user, plan.exec_start_pre, env, umask=plan.umask)
    assert pre.returncode == 78, pre
    assert "poll.interval" in pre.stdout + pre.stderr
    assert "broadcaster[1]" in pre.stdout + pre.stderr
    if "ExecStartPre" not in plan.failure_ignored:
        return  # systemd stops here
    run = run_as(user, plan.exec_start, env, umask=plan.umask, timeout=30)
    assert run.returncode == 78, run
    assert not plan.socket.exists()
    assert list(state.iterdir()) == []


def _check_group_access(installed: Installed, socket: Path) -> None:
    """``nobody`` can use the socket only as a member of the daemon's group (mode 0660)."""
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        return
    argv = [str(installed.bin / "dylivectl"), "--socket", str(socket), "health"]
    for groups, allowed in ((str(installed.user.gid), True), ("", False)):
        switch = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}"]
        switch += [f"--groups={groups}"] if groups else ["--clear-groups"]
        result = subprocess.run(
            [*switch, "--", *argv],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        assert (result.returncode == 0) is allowed, (groups, result.stdout, result.stderr)


def _check_what_was_left(user: ServiceUser, umask: int, state: Path, db: Path, log: Path) -> None:
    files = [p for p in state.rglob("*") if p.is_file()]
    assert not [f for f in files if f.name.endswith(".part")], files
    for path in [state, *state.rglob("*")]:  # nothing the daemon made belongs to root
        info = path.stat()
        assert (info.st_uid, info.st_gid) == (user.uid, user.gid), path
        assert stat.S_IMODE(info.st_mode) & umask == 0, (path, oct(info.st_mode))
    rows = _query(db, "SELECT path, state, bytes FROM segments")
    assert rows, log.read_text()
    assert {s for _, s, _ in rows} == {"closed"}
    segments = {Path(p) for p, _, _ in rows}
    assert segments == {f for f in files if f.suffix == ".ts"}
    for path, _, size in rows:
        assert Path(path).stat().st_size == size
        seconds, errors = measure(Path(path))
        assert (errors, seconds > 0) == ("", True), path
    [(reason,)] = _query(db, "SELECT reason_for_exit FROM sessions")
    assert reason == "daemon_stopped"
