"""Whose address a trusted proxy names: PROXY protocol v1 lines and X-Forwarded-For."""

from __future__ import annotations

import ipaddress

import pytest

from radio.live.proxied import PROXY_LINE_MAX, TrustedProxies, is_proxy_line

PROXIES = TrustedProxies(
    [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8"),
     ipaddress.ip_network("fd00::/8")]
)  # fmt: skip


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [
        ("127.0.0.1", True),
        ("10.20.30.40", True),
        ("::ffff:10.1.2.3", True),  # a dual-stack socket's view of an IPv4 proxy
        ("fd00::1", True),
        ("127.0.0.2", False),
        ("203.0.113.7", False),
        ("unknown", False),
        ("", False),
    ],
)
def test_trusts_only_the_listed_networks(peer: str, trusted: bool) -> None:
    assert PROXIES.trusts(peer) is trusted
    assert not TrustedProxies().trusts(peer)


@pytest.mark.parametrize(
    ("line", "client"),
    [
        (b"PROXY TCP4 203.0.113.7 127.0.0.1 51234 8005\r\n", "203.0.113.7"),
        (b"PROXY TCP6 2001:db8::7 ::1 51234 8005\r\n", "2001:db8::7"),
        (b"PROXY TCP6 ::ffff:203.0.113.7 ::1 51234 8005\r\n", "203.0.113.7"),
        (b"PROXY UNKNOWN\r\n", "127.0.0.1"),
        (b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", "127.0.0.1"),
    ],
)
def test_a_proxy_line_names_the_client(line: bytes, client: str) -> None:
    assert is_proxy_line(line)
    assert PROXIES.client_of_proxy_line(line, "127.0.0.1") == client


@pytest.mark.parametrize(
    "line",
    [
        b"PROXY TCP4 203.0.113.7 127.0.0.1 51234\r\n",  # a field missing
        b"PROXY TCP4 2001:db8::7 127.0.0.1 51234 8005\r\n",  # not an IPv4 source
        b"PROXY TCP4 example.org 127.0.0.1 51234 8005\r\n",  # names are not looked up
        b"PROXY UDP4 203.0.113.7 127.0.0.1 51234 8005\r\n",
        b"PROXY TCP4 203.0.113.7 127.0.0.1 51234 8005\n",  # not CRLF
        b"PROXY TCP4 " + b"1" * PROXY_LINE_MAX + b"\r\n",  # beyond the specification's bound
    ],
)
def test_a_malformed_proxy_line_is_refused(line: bytes) -> None:
    with pytest.raises(ValueError):
        PROXIES.client_of_proxy_line(line, "127.0.0.1")


def test_a_request_line_is_not_a_proxy_line() -> None:
    assert not is_proxy_line(b"PUT /live HTTP/1.1\r\n")
    assert not is_proxy_line(b"PROXYPUT /live HTTP/1.1\r\n")


@pytest.mark.parametrize(
    ("value", "client"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the left is the client's claim
        ("203.0.113.7, 10.0.0.5", "203.0.113.7"),  # a second trusted hop is skipped
        ("10.0.0.5, 10.0.0.6", "127.0.0.1"),  # only proxies: the peer itself
        ("203.0.113.7, garbage", "127.0.0.1"),  # an unreadable hop: nothing to its left
        ("", "127.0.0.1"),
    ],
)
def test_forwarded_for_names_the_rightmost_untrusted_address(value: str, client: str) -> None:
    assert PROXIES.client_of_forwarded_for(value, "127.0.0.1") == client
