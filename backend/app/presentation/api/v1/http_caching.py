"""Strong ETags from object versions, and the conditional headers that use them (RFC 9110)."""

from __future__ import annotations

import re
from typing import Protocol

_ETAG = re.compile(r'(W/)?"v(\d{1,18})"')


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


def etag_for(obj: Versioned) -> str:
    return f'"v{obj.version}"'


def matches_if_none_match(header: str | None, etag: str) -> bool:
    """True when the client's copy is current (weak comparison, as If-None-Match requires)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    current = etag.removeprefix("W/")
    return any(candidate.removeprefix("W/") == current for candidate in _split(header))


def if_match_versions(header: str | None) -> frozenset[int] | None:
    """The versions `If-Match` accepts; None when absent or `*`. Weak tags never match."""
    if header is None or header.strip() == "*":
        return None
    versions = set()
    for candidate in _split(header):
        match = _ETAG.fullmatch(candidate)
        if match and not match.group(1):
            versions.add(int(match.group(2)))
    return frozenset(versions)


def _split(header: str) -> list[str]:
    return [part.strip() for part in header.split(",") if part.strip()]
