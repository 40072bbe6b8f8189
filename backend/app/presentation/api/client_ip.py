"""The client's address: the TCP peer, or what trusted reverse proxies say in `X-Forwarded-For`.

A client can write any `X-Forwarded-For` it likes, so the header is believed only hop by hop from
the right: while the address that handed us the request is one of TRUSTED_PROXIES, the entry it
appended names the next hop. The first address that is not a trusted proxy is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.requests import Request

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_FORWARDED_HOPS = 20  # a longer chain is not ours: stop reading it rather than parse it all
_STATE_KEY = "client_ip"


def parse_trusted_proxies(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Addresses or CIDR networks; ValueError names the entry that is neither."""
    networks: list[IPNetwork] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"TRUSTED_PROXIES: {entry!r} is not an address or network") from exc
    return tuple(networks)


def resolve_client_ip(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]
) -> str | None:
    if peer is None or not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in (forwarded_for or "").split(",")][-MAX_FORWARDED_HOPS:]
    client = peer
    for hop in reversed(hops):
        if not _is_trusted(client, trusted):
            break
        if not _is_address(hop):
            break  # garbage from a client: the last trusted hop is the best we know
        client = hop
    return client


def client_ip(request: Request, trusted: Sequence[IPNetwork]) -> str | None:
    """The client address of this request, worked out once and remembered on the request."""
    cached = request.scope.get("state", {}).get(_STATE_KEY)
    if cached is not None:
        return str(cached)
    peer = request.client.host if request.client else None
    address = resolve_client_ip(peer, request.headers.get("x-forwarded-for"), trusted)
    if address is not None:
        request.state.client_ip = address
    return address


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_trusted(address: str, trusted: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)
