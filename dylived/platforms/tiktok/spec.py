"""TikTok's entry in the platform registry (``platforms/registry.py``)."""

from __future__ import annotations

from pathlib import Path

from dylived.net.http import HttpClient
from dylived.platforms.base import PlatformSpec
from dylived.platforms.tiktok.client import TikTokPlatform
from dylived.platforms.tiktok.options import OPTIONS, TikTokConfig
from dylived.platforms.tiktok.push import CODEC
from dylived.platforms.tiktok.targets import claims, parse_target, target_problem


def _create(http: HttpClient, section: TikTokConfig, state_dir: Path | None) -> TikTokPlatform:
    return TikTokPlatform(http, section, state_dir=state_dir)


SPEC = PlatformSpec(
    name=TikTokPlatform.name,
    claims=claims,
    parse_target=parse_target,
    target_problem=target_problem,
    section=TikTokConfig,
    options=OPTIONS,
    create=_create,
    codec=CODEC,
)
