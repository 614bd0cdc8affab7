"""The ``dylived check-config`` and ``dylived print-config`` commands (called by ``app/cli.py``).

Both read the config file alone (not the runtime overlay); problems go to stderr, one per line,
and the exit code is ``EX_CONFIG`` (78).
"""

from __future__ import annotations

import argparse
import sys

from dylived.config.load import EX_CONFIG, config_warnings, load_config, render_config
from dylived.errors import ConfigError


__all__ = ["check_config_command", "print_config_command"]


def _report(exc: ConfigError) -> int:
    where = exc.source or "config"
    sys.stderr.write(f"{where}: {len(exc.problems)} problem(s):\n")
    for problem in exc.problems:
        sys.stderr.write(f"  {problem}\n")
    return EX_CONFIG


def check_config_command(args: argparse.Namespace) -> int:
    """``dylived check-config``: "ok: N broadcasters" and 0, or every problem and 78.

    Warnings (``config_warnings``) go to stderr as ``warning: …`` and do not change the exit.
    """
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return _report(exc)
    for warning in config_warnings(config):
        sys.stderr.write(f"warning: {warning}\n")
    count = len(config.broadcasters)
    sys.stdout.write(f"ok: {count} broadcaster{'' if count == 1 else 's'}\n")
    return 0


def print_config_command(args: argparse.Namespace) -> int:
    """``dylived print-config``: the effective config as TOML, defaults filled, secrets masked."""
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return _report(exc)
    sys.stdout.write(render_config(config))
    return 0
