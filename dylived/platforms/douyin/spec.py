"""Douyin's entry in the platform registry (``platforms/registry.py``)."""

from __future__ import annotations

from pathlib import Path

from dylived.net.http import HttpClient
from dylived.platforms.base import PlatformSpec
from dylived.platforms.douyin.client import DouyinPlatform
from dylived.platforms.douyin.options import OPTIONS, DouyinConfig
from dylived.platforms.douyin.push import CODEC
from dylived.platforms.douyin.targets import claims, parse_target, target_problem


def _create(http: HttpClient, section: DouyinConfig, state_dir: Path | None) -> DouyinPlatform:
    return DouyinPlatform(http, section)  # keeps nothing in the state directory


SPEC = PlatformSpec(
    name=DouyinPlatform.name,
    claims=claims,
    parse_target=parse_target,
    target_problem=target_problem,
    section=DouyinConfig,
    options=OPTIONS,
    create=_create,
    codec=CODEC,
)
