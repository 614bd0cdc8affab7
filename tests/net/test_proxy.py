"""Proxy settings and each client's use of a proxy, short of the daemon (that is test_proxy_e2e).

The ``proxy`` keys through the real ``dylived check-config`` / ``print-config`` (exit 78 with
the key's location, the SOCKS/ffmpeg warning, the masked password); each real ffmpeg tunnelling
an https input through a counting proxy (tests/net/proxy_server.py) with the argv and environment
dylived gives it; and SOCKS5 (with credentials) for the status client and the WebSocket.
"""

from __future__ import annotations

import dataclasses
import ssl
import subprocess
import sys
from pathlib import Path

import anyio
import anyio.abc
import pytest
from websockets.asyncio.server import ServerConnection, serve

from dylived.config.load import loads_config
from dylived.config.overlay import apply_overrides
from dylived.errors import TransportError
from dylived.net.http import HttpClient
from dylived.net.proxy import ProxyUrl, parse_proxy
from dylived.net.ws import PushConnectOptions, open_push_connection
from dylived.record.argv import RecordCommand, build_record_argv, ffmpeg_environment
from dylived.record.component import ffmpeg_proxy
from dylived.sim import RoomSpec, Scenario, Simulator
from tests.conftest import REPO_ROOT
from tests.ffmpegs import ffmpeg_bin
from tests.net.proxy_server import CountingProxy
from tests.platforms.test_http_transport import certificate


__all__ = ["certificate", "ffmpeg_bin"]  # fixtures


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ----------------------------------------------------------------------------- the setting


@pytest.mark.parametrize(
    ("text", "masked", "revealed"),
    [
        ("http://127.0.0.1:3128", "http://127.0.0.1:3128", "http://127.0.0.1:3128"),
        ("HTTPS://proxy.example:443/", "https://proxy.example:443", "https://proxy.example:443"),
        ("socks5://u:p%40ss@h:1080", "socks5://u:********@h:1080", "socks5://u:p%40ss@h:1080"),
        ("socks5h://[::1]:1080", "socks5h://[::1]:1080", "socks5h://[::1]:1080"),
    ],
)
def test_a_proxy_url_is_read_masked_and_revealed(text: str, masked: str, revealed: str) -> None:
    proxy = parse_proxy(text)
    assert proxy is not None
    assert (str(proxy), proxy.reveal()) == (masked, revealed)
    assert "p%40ss" not in repr(proxy)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ftp://h:21", "unsupported proxy scheme 'ftp'"),
        ("socks4://h:1080", "unsupported proxy scheme"),
        ("127.0.0.1:3128", "expected scheme://host:port"),
        ("http://h", "missing port"),
        ("http://h:0", "missing port"),
        ("http://h:99999", "the port must be a number"),
        ("http://:3128", "no host"),
        ("http://h:1/path", "nothing may follow host:port"),
        ("http://user@h:1", "a user name needs a password"),
        ("http://h :1", "spaces or control characters"),
    ],
)
def test_a_bad_proxy_url_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_proxy(text)


def test_a_broadcaster_inherits_the_douyin_proxy_unless_it_sets_its_own() -> None:
    config = loads_config(
        '[douyin]\nproxy = "socks5://127.0.0.1:1080"\n\n'
        '[[broadcaster]]\ntarget = "111"\n\n'
        '[[broadcaster]]\ntarget = "222"\nproxy = ""\n\n'
        '[[broadcaster]]\ntarget = "333"\nproxy = "http://127.0.0.1:3128"\n'
    )
    default, own = parse_proxy("socks5://127.0.0.1:1080"), parse_proxy("http://127.0.0.1:3128")
    assert [b.proxy for b in config.broadcasters] == [default, None, own]
    added = apply_overrides(config, {"added": [{"target": "444"}, {"target": "555", "proxy": ""}]})
    assert [b.proxy for b in added.broadcasters[3:]] == [default, None]  # as in the file
    changed = loads_config('[[broadcaster]]\ntarget = "111"\nproxy = "http://127.0.0.1:3128"\n')
    before = loads_config('[[broadcaster]]\ntarget = "111"\n')
    assert before.diff(changed).changed_fields == {"111": ("proxy",)}


def dylived(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dylived", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_config_refuses_bad_proxies_with_their_location(tmp_path: Path) -> None:
    config = tmp_path / "dylived.toml"
    config.write_text(
        '[douyin]\nproxy = "ftp://127.0.0.1:21"\n\n'
        '[[broadcaster]]\ntarget = "123"\nproxy = "http://127.0.0.1"\n\n'
        '[[broadcaster]]\ntarget = "456"\nproxy = "socks5://me:secret@127.0.0.1:1080/x"\n',
        encoding="utf-8",
    )
    done = dylived("check-config", "--config", str(config))
    assert done.returncode == 78
    lines = done.stderr.splitlines()
    assert "3 problem(s)" in lines[0]
    assert lines[1].startswith("  douyin.proxy: unsupported proxy scheme 'ftp'")
    assert lines[2] == "  broadcaster[1].proxy: http://127.0.0.1: missing port (host:port)"
    assert lines[3].startswith("  broadcaster[2].proxy: socks5://127.0.0.1: nothing may follow")
    assert "secret" not in done.stderr


def test_a_socks_proxy_is_accepted_with_a_warning_that_ffmpeg_goes_direct(tmp_path: Path) -> None:
    config = tmp_path / "dylived.toml"
    config.write_text(
        '[douyin]\nproxy = "socks5h://me:s3cret@127.0.0.1:1080"\n\n'
        '[[broadcaster]]\ntarget = "123"\nname = "socks"\n\n'
        '[[broadcaster]]\ntarget = "456"\nname = "http"\nproxy = "http://u:pw%21@127.0.0.1:3128"\n'
        '\n[[broadcaster]]\ntarget = "789"\nname = "events"\nrecord_video = false\n'
        'proxy = "https://127.0.0.1:3129"\n',
        encoding="utf-8",
    )
    checked = dylived("check-config", "--config", str(config))
    assert checked.returncode == 0
    assert checked.stdout == "ok: 3 broadcasters\n"
    [warning] = checked.stderr.splitlines()  # not for http://, nor without video
    assert warning.startswith("warning: douyin.proxy: ffmpeg cannot use a socks5h:// proxy")
    assert "the video is fetched directly" in warning
    printed = dylived("print-config", "--config", str(config))
    assert printed.returncode == 0
    assert "s3cret" not in printed.stdout
    assert "pw%21" not in printed.stdout
    proxies = [line for line in printed.stdout.splitlines() if line.startswith("proxy =")]
    assert proxies == [
        'proxy = "socks5h://me:********@127.0.0.1:1080"  # password masked',  # [douyin]
        'proxy = ""',  # [tiktok]: none
        'proxy = "socks5h://me:********@127.0.0.1:1080"  # password masked',  # inherited
        'proxy = "http://u:********@127.0.0.1:3128"  # password masked',
        'proxy = "https://127.0.0.1:3129"',
    ]


def test_only_an_http_proxy_reaches_ffmpeg_and_the_environment_s_never_does() -> None:
    class Options:
        def __init__(self, proxy: ProxyUrl | None) -> None:
            self.proxy = proxy

    http, socks = parse_proxy("http://a:b@127.0.0.1:3128"), parse_proxy("socks5://127.0.0.1:1")
    assert ffmpeg_proxy(Options(http)) == http
    assert ffmpeg_proxy(Options(socks)) is None  # the media goes direct
    ambient = {"PATH": "/bin", "http_proxy": "http://elsewhere:1", "no_proxy": "127.0.0.1"}
    assert ffmpeg_environment(ambient, None) == {"PATH": "/bin"}
    assert ffmpeg_environment(ambient, http) == {
        "PATH": "/bin",
        "http_proxy": "http://a:b@127.0.0.1:3128",
    }
    with pytest.raises(ValueError, match="ffmpeg cannot use a socks5:// proxy"):
        ffmpeg_environment(ambient, socks)


# ----------------------------------------------------------------------------- ffmpeg


async def _closing_listener(
    *, task_status: anyio.abc.TaskStatus[int] = anyio.TASK_STATUS_IGNORED
) -> None:
    """A TCP port on 127.0.0.1 that accepts and hangs up (the tunnel's far end)."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    task_status.started(listener.extra(anyio.abc.SocketAttribute.local_port))

    async def hang_up(stream: anyio.abc.SocketStream) -> None:
        await stream.aclose()

    async with listener:
        await listener.serve(hang_up)


@pytest.mark.anyio
@pytest.mark.parametrize("proxied", [True, False])
async def test_ffmpeg_tunnels_an_https_input_through_the_proxy_with_connect(
    ffmpeg_bin: str, tmp_path: Path, proxied: bool
) -> None:
    """What dylived hands ffmpeg (argv + environment) sends an https input through the proxy
    as CONNECT; the ``httpproxy`` protocol this needs is whitelisted only with a proxy."""
    async with anyio.create_task_group() as tg, CountingProxy.running() as proxy:
        far_port = await tg.start(_closing_listener)
        command = RecordCommand(
            url=f"https://127.0.0.1:{far_port}/live/stream.flv",
            output_dir=tmp_path,
            stem="s",
            segment_list=tmp_path / "list.csv",
            segment_seconds=6,
            rw_timeout_s=5,
            proxied=proxied,
        )
        env = ffmpeg_environment({"PATH": "/usr/bin:/bin"}, parse_proxy(proxy.url))
        with anyio.fail_after(30):
            done = await anyio.run_process(
                build_record_argv(ffmpeg_bin, command), env=env, check=False
            )
        tg.cancel_scope.cancel()
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode != 0  # the far end hangs up: no media, but the way it went is seen
    if proxied:
        assert [(s.method, s.port) for s in proxy.seen] == [("CONNECT", far_port)]
    else:
        assert proxy.seen == []
        assert "Protocol 'httpproxy' not on whitelist" in stderr


# ----------------------------------------------------------------------------- SOCKS5


@pytest.mark.anyio
async def test_status_requests_go_through_a_socks5_proxy_with_credentials() -> None:
    scenario = Scenario(rooms=(RoomSpec("200000000001"),))
    async with (
        Simulator.running(scenario) as sim,
        CountingProxy.running(socks=True, credentials=("me", "pa:ss")) as proxy,
    ):
        url = proxy.url.replace("pa:ss", "pa%3Ass")
        async with HttpClient(user_agent="UA", proxy=parse_proxy(url)) as http:
            first = await http.fetch(sim.web_base + "/", require_body=False)
            second = await http.fetch(sim.web_base + "/", require_body=False)
            connections = http.connections_opened
        homes = len(sim.observed.requests_to("home"))
    assert (first.status_code, second.status_code) == (200, 200)
    assert connections == 1  # one tunnel, kept alive
    assert [(s.method, s.port, s.path) for s in proxy.seen] == [("SOCKS", sim.port, "/")]
    assert proxy.unauthorized == 0
    assert homes == 2


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def _echo_through(proxy_url: str, port: int, data: bytes) -> tuple[PushConnectOptions, bytes]:
    """Send ``data`` to the echo server on ``port`` through the proxy; (options, the echo)."""
    options = PushConnectOptions(
        url=f"ws://127.0.0.1:{port}/webcast/im/push/v2/?room_id=1",
        user_agent="UA",
        proxy=parse_proxy(proxy_url),
    )
    async with open_push_connection(options) as conn:
        await conn.send(data)
        with anyio.fail_after(10):
            return options, await conn.receive()


@pytest.mark.anyio
async def test_the_event_websocket_goes_through_a_socks5_proxy() -> None:
    async with (
        serve(_echo, "127.0.0.1", 0) as server,
        CountingProxy.running(socks=True, credentials=("me", "pw")) as proxy,
    ):
        port = next(iter(server.sockets)).getsockname()[1]
        options, echoed = await _echo_through(proxy.url, port, b"\x08\x01")
        wrong = dataclasses.replace(options, proxy=parse_proxy(proxy.url.replace(":pw@", ":no@")))
        with pytest.raises(TransportError, match=r"push connection to .* failed"):
            async with open_push_connection(wrong):
                pass
    assert echoed == b"\x08\x01"
    assert proxy.unauthorized == 1  # the proxy does check credentials
    [seen] = proxy.seen
    assert (seen.method, seen.port, seen.path, seen.upgrade) == (
        "SOCKS",
        port,
        "/webcast/im/push/v2/",
        True,
    )


# ----------------------------------------------------------------------------- https://


@pytest.mark.anyio
async def test_an_https_proxy_carries_status_and_websocket_trusting_ssl_cert_file(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """TLS to the proxy itself, trusted through ``SSL_CERT_FILE`` as for any https."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(*certificate)

    scenario = Scenario(rooms=(RoomSpec("200000000001"),))
    async with (
        Simulator.running(scenario) as sim,
        serve(_echo, "127.0.0.1", 0) as server,
        CountingProxy.running(tls=server_side) as proxy,
    ):
        assert proxy.url.startswith("https://")
        async with HttpClient(user_agent="UA", proxy=parse_proxy(proxy.url)) as http:
            home = await http.fetch(sim.web_base + "/", require_body=False)
        port = next(iter(server.sockets)).getsockname()[1]
        _, echoed = await _echo_through(proxy.url, port, b"hb")
    assert home.status_code == 200
    assert echoed == b"hb"
    assert [(s.method, s.port, s.path) for s in proxy.seen] == [
        ("GET", sim.port, "/"),
        ("CONNECT", port, "/webcast/im/push/v2/"),
    ]
