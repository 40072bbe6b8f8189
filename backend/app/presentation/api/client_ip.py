"""The client's address: the TCP peer, or what trusted reverse proxies say in `X-Forwarded-For`.

A client can write any `X-Forwarded-For` it likes, so the header is believed only hop by hop from
the right: while the address that handed us the request is one of TRUSTED_PROXIES, the entry it
appended names the next hop. The first address that is not a trusted proxy is the client.

Addresses come back in canonical form (`2001:db8::1`, an IPv4-mapped `::ffff:192.0.2.1` as
`192.0.2.1`), so one client has one spelling: in the audit trail and as a rate-limit key.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence

from starlette.requests import Request

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_FORWARDED_HOPS = 20  # a longer chain is not ours: stop reading it rather than parse it all
# Remembered in the request's own scope, not in `scope["state"]`: a server may hand every request
# the same lifespan state dict (asgi-lifespan does), and one client's address would become all.
_SCOPE_KEY = "strata.client_ip"


def parse_trusted_proxies(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Addresses or CIDR networks; ValueError names the entry that is neither."""
    networks: list[IPNetwork] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"TRUSTED_PROXIES: {entry!r} is not an address or network") from exc
    return tuple(networks)


# Remembered per (peer, header, proxies): a client sends the same pair request after request, and
# parsing addresses was a tenth of a rate-limited cached read in its profile. Bounded, so a flood
# of distinct headers only evicts.
RESOLVED_ADDRESSES_KEPT = 4_096


@functools.lru_cache(maxsize=RESOLVED_ADDRESSES_KEPT)
def resolve_client_ip(
    peer: str | None, forwarded_for: str | None, trusted: tuple[IPNetwork, ...]
) -> str | None:
    """The client address, from the TCP peer and the (comma-joined) X-Forwarded-For values."""
    if peer is None:
        return None
    client = parse_address(peer)
    if client is None:
        return peer  # not an IP peer (a Unix socket, a test client): nothing to resolve
    if not trusted or not forwarded_for:
        return str(client)
    # Only the last hops can matter; slicing the split keeps a long header from costing more.
    hops = forwarded_for.split(",")[-MAX_FORWARDED_HOPS:]
    for hop in reversed(hops):
        if not _is_trusted(client, trusted):
            break
        address = parse_address(hop)
        if address is None:
            break  # garbage where a trusted proxy should have written: the proxy is what we know
        client = address
    return str(client)


def client_ip(request: Request, trusted: tuple[IPNetwork, ...]) -> str | None:
    """The client address of this request, worked out once and remembered on the request."""
    cached = request.scope.get(_SCOPE_KEY)
    if cached is not None:
        return str(cached)
    peer = request.client.host if request.client else None
    # A proxy may add its own X-Forwarded-For line instead of extending the client's: read them
    # all, in order (RFC 9110 §5.3), or the client's own line would be taken for the proxy's.
    forwarded_for = ",".join(request.headers.getlist("x-forwarded-for"))
    address = resolve_client_ip(peer, forwarded_for, trusted)
    if address is not None:
        request.scope[_SCOPE_KEY] = address
    return address


def parse_address(value: str) -> IPAddress | None:
    """An address as proxies write it: bare, `[v6]`, `v4:port` or `[v6]:port`; None if garbage."""
    text = value.strip()
    if text.startswith("["):
        text, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not _is_port(rest)):
            return None
    elif text.count(":") == 1:  # IPv4 with a port; a bare IPv6 address has at least two colons
        text, _, port = text.partition(":")
        if not _is_port(":" + port):
            return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            return None  # a link-local zone means nothing outside the machine that wrote it
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
    return address


def _is_port(text: str) -> bool:
    port = text[1:]
    return text.startswith(":") and port.isascii() and port.isdigit() and len(port) <= 5


def _is_trusted(address: IPAddress, trusted: Sequence[IPNetwork]) -> bool:
    return any(address in network for network in trusted)
