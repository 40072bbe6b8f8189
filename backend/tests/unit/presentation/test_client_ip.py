"""Client address resolution through trusted proxies: spoofing, chains, garbage, IPv6, CIDR."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from app.presentation.api.client_ip import (
    MAX_FORWARDED_HOPS,
    client_ip,
    parse_address,
    parse_trusted_proxies,
    resolve_client_ip,
)

PROXIES = parse_trusted_proxies(["10.0.0.0/8", "192.0.2.7", "2001:db8:ffff::/48"])


def resolve(peer: str | None, forwarded_for: str | None) -> str | None:
    return resolve_client_ip(peer, forwarded_for, PROXIES)


def test_peer_is_the_client_when_no_proxy_is_trusted() -> None:
    assert resolve_client_ip("203.0.113.9", "198.51.100.1", ()) == "203.0.113.9"


def test_spoofed_header_from_an_untrusted_peer_is_ignored() -> None:
    assert resolve("203.0.113.9", "198.51.100.1") == "203.0.113.9"


def test_trusted_proxy_names_the_client() -> None:
    assert resolve("10.1.2.3", "198.51.100.1") == "198.51.100.1"


def test_client_written_entries_left_of_the_first_untrusted_hop_are_ignored() -> None:
    # The client sent "1.1.1.1"; the proxy appended the address it saw.
    assert resolve("10.1.2.3", "1.1.1.1, 198.51.100.1") == "198.51.100.1"


def test_chain_through_several_trusted_proxies() -> None:
    chain = "6.6.6.6, 198.51.100.1, 192.0.2.7, 10.9.9.9"
    assert resolve("10.1.2.3", chain) == "198.51.100.1"


def test_chain_of_only_trusted_proxies_ends_at_the_leftmost() -> None:
    assert resolve("10.1.2.3", "10.0.0.5, 192.0.2.7") == "10.0.0.5"


def test_trusted_proxy_without_header_is_itself_the_client() -> None:
    assert resolve("10.1.2.3", None) == "10.1.2.3"
    assert resolve("10.1.2.3", "") == "10.1.2.3"


@pytest.mark.parametrize(
    "garbage", ["unknown", "", "  ", "not-an-ip", "999.1.1.1", "1.2.3.4:port", "[::1", "_hidden"]
)
def test_garbage_entry_stops_at_the_last_trusted_hop(garbage: str) -> None:
    assert resolve("10.1.2.3", f"198.51.100.1, {garbage}") == "10.1.2.3"


def test_garbage_behind_a_good_hop_is_never_read() -> None:
    assert resolve("10.1.2.3", "garbage, 198.51.100.1") == "198.51.100.1"


def test_cidr_membership_decides_trust() -> None:
    assert resolve("10.255.255.255", "198.51.100.1") == "198.51.100.1"
    assert resolve("11.0.0.1", "198.51.100.1") == "11.0.0.1"
    assert resolve("192.0.2.8", "198.51.100.1") == "192.0.2.8"


def test_ipv6_proxy_and_client() -> None:
    assert resolve("2001:db8:ffff::1", "2001:DB8:1::0:5") == "2001:db8:1::5"
    assert resolve("2001:db8:fffe::1", "198.51.100.1") == "2001:db8:fffe::1"


def test_ipv4_mapped_peer_matches_an_ipv4_proxy() -> None:
    assert resolve("::ffff:10.1.2.3", "198.51.100.1") == "198.51.100.1"
    assert resolve("10.1.2.3", "::ffff:198.51.100.1") == "198.51.100.1"


def test_addresses_with_ports_and_brackets_are_understood() -> None:
    assert resolve("10.1.2.3", "198.51.100.1:4711") == "198.51.100.1"
    assert resolve("10.1.2.3", "[2001:db8::7]:443") == "2001:db8::7"
    assert resolve("10.1.2.3", "[2001:db8::7]") == "2001:db8::7"


def test_only_the_last_hops_are_read() -> None:
    chain = ", ".join(["10.0.0.1"] * (MAX_FORWARDED_HOPS + 5))
    assert resolve("10.1.2.3", f"198.51.100.1, {chain}") == "10.0.0.1"


def test_non_ip_peer_is_returned_as_is_and_none_stays_none() -> None:
    assert resolve("testclient", "198.51.100.1") == "testclient"
    assert resolve(None, "198.51.100.1") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", "192.0.2.1"),
        (" 192.0.2.1 ", "192.0.2.1"),
        ("192.0.2.1:80", "192.0.2.1"),
        ("[2001:db8::1]:8080", "2001:db8::1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("2001:0db8:0000::0001", "2001:db8::1"),
    ],
)
def test_parse_address_canonical_forms(text: str, expected: str) -> None:
    assert str(parse_address(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "192.0.2.1:",
        "192.0.2.1:99999999",
        "192.0.2.1:٣",
        "[2001:db8::1]x",
        "[2001:db8::1]:",
        "[192.0.2.1",
        "fe80::1%eth0",
        "2001:db8::1:80:",
        "",
    ],
)
def test_parse_address_refuses_garbage(text: str) -> None:
    assert parse_address(text) is None


def test_parse_trusted_proxies_accepts_addresses_and_networks() -> None:
    networks = parse_trusted_proxies([" 10.0.0.1 ", "10.0.0.0/8", "::1", "10.1.2.3/8"])
    assert [str(network) for network in networks] == [
        "10.0.0.1/32",
        "10.0.0.0/8",
        "::1/128",
        "10.0.0.0/8",
    ]


def test_parse_trusted_proxies_names_the_bad_entry() -> None:
    with pytest.raises(ValueError, match=r"TRUSTED_PROXIES: 'proxy\.local'"):
        parse_trusted_proxies(["10.0.0.1", "proxy.local"])


def _request(peer: tuple[str, int] | None, headers: list[tuple[bytes, bytes]]) -> Request:
    return Request({"type": "http", "client": peer, "headers": headers, "state": {}})


def test_every_forwarded_for_line_is_read_in_order() -> None:
    # The client's own line first, the proxy's appended as a second line: the proxy's counts.
    request = _request(
        ("10.1.2.3", 1234),
        [(b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-for", b"198.51.100.1")],
    )
    assert client_ip(request, PROXIES) == "198.51.100.1"


def test_client_ip_is_worked_out_once_per_request() -> None:
    request = _request(("10.1.2.3", 1234), [(b"x-forwarded-for", b"198.51.100.1")])
    assert client_ip(request, PROXIES) == "198.51.100.1"
    assert client_ip(request, ()) == "198.51.100.1"  # remembered, not resolved again


def test_remembered_per_request_not_in_a_shared_state() -> None:
    shared_state: dict[str, object] = {}
    first = Request(
        {"type": "http", "client": ("198.51.100.1", 1), "headers": [], "state": shared_state}
    )
    second = Request(
        {"type": "http", "client": ("198.51.100.2", 1), "headers": [], "state": shared_state}
    )
    assert client_ip(first, PROXIES) == "198.51.100.1"
    assert client_ip(second, PROXIES) == "198.51.100.2"


def test_request_without_client_has_no_address() -> None:
    assert client_ip(_request(None, []), PROXIES) is None
