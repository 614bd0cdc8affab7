"""Douyin's entry in the platform registry (``platforms/registry.py``)."""

from __future__ import annotations

from typing import Any

from dylived.net.http import HttpClient
from dylived.platforms.base import PlatformSpec
from dylived.platforms.douyin import options
from dylived.platforms.douyin.client import DouyinPlatform
from dylived.platforms.douyin.push import CODEC
from dylived.platforms.douyin.targets import claims, parse_target


def _create(http: HttpClient, section: Any) -> DouyinPlatform:
    return DouyinPlatform(http, section)


SPEC = PlatformSpec(
    name=DouyinPlatform.name,
    claims=claims,
    parse_target=parse_target,
    defaults=options,
    create=_create,
    codec=CODEC,
)
