"""The `dylived` command: argument parsing and dispatch to the module that owns each subcommand.

    dylived run [--config PATH]              the daemon (dylived.app.daemon)
    dylived check-config [--config PATH]     validate the config; exit 0 or 78
    dylived print-config [--config PATH]     the effective config, secrets masked
                                             (both: dylived.config.commands)
    dylived demo [--seconds N] [--dir DIR]   simulator + daemon on loopback (dylived.app.demo)
    dylived decode [FILE|-] [--acks] [--platform NAME]
                                             decode captured webcast frames (dylived.app.decode)

Exit codes: 0 ok, 1 failure, 2 usage, 78 configuration error (EX_CONFIG).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import cast

from dylived import __version__
from dylived.app import early_signals


EX_CONFIG = 78
DEFAULT_CONFIG = "/etc/dylived/dylived.toml"

# subcommand -> (module, function); each function takes the parsed namespace, returns an exit code
_HANDLERS: dict[str, tuple[str, str]] = {
    "run": ("dylived.app.daemon", "run_command"),
    "check-config": ("dylived.config.commands", "check_config_command"),
    "print-config": ("dylived.config.commands", "print_config_command"),
    "demo": ("dylived.app.demo", "demo_command"),
    "decode": ("dylived.app.decode", "decode_command"),
}


def default_config_path() -> str:
    return os.environ.get("DYLIVED_CONFIG") or DEFAULT_CONFIG


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dylived",
        description="Archive live broadcasts: video with ffmpeg, live events into SQLite.",
    )
    parser.add_argument("--version", action="version", version=f"dylived {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config",
            default=None,
            metavar="PATH",
            help=f"config file (default: $DYLIVED_CONFIG or {DEFAULT_CONFIG})",
        )

    with_config(sub.add_parser("run", help="run the daemon in the foreground"))
    with_config(sub.add_parser("check-config", help="validate the config file; exit 0 or 78"))
    with_config(sub.add_parser("print-config", help="print the effective config, secrets masked"))

    demo = sub.add_parser("demo", help="run the simulator and the daemon against it on loopback")
    demo.add_argument("--seconds", type=float, default=60.0, help="how long to run (default 60)")
    demo.add_argument(
        "--dir", default=None, metavar="DIR", help="where to leave the database and recordings"
    )

    decode = sub.add_parser(
        "decode", help="decode captured WebSocket frames and print one JSON row per event"
    )
    decode.add_argument(
        "file",
        nargs="?",
        default="-",
        metavar="FILE|-",
        help="a binary frame file, or text with one hex frame per line (default: stdin)",
    )
    decode.add_argument(
        "--acks", action="store_true", help="also print the ack frames the session would send"
    )
    decode.add_argument(
        "--platform",
        default=None,
        metavar="NAME",
        help="whose frames these are (a registered platform; default: the default platform)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "config", "unset") is None:
        args.config = default_config_path()
    if args.command == "run":  # before the daemon's imports: a SIGHUP now is kept for later
        early_signals.remember()
    module_name, func_name = _HANDLERS[args.command]
    module = importlib.import_module(module_name)
    handler = cast(Callable[[argparse.Namespace], int], getattr(module, func_name))
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `dylived decode … | head`: the reader went away; that is not an error of ours.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
