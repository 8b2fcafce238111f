"""Whose encoder it is, behind a trusted proxy: the PROXY protocol and X-Forwarded-For.

Behind a reverse proxy every encoder seems to connect from the proxy's
address, so the logs name the proxy and the slowdown after repeated wrong
passwords hits every presenter at once. A proxy listed in ``live.trusted_proxies``
may say who its client is, the two ways proxies do:

- a TCP proxy (nginx ``stream`` with ``proxy_protocol on``, HAProxy
  ``send-proxy``) sends one PROXY protocol v1 line before the request:
  ``PROXY TCP4 203.0.113.7 127.0.0.1 51234 8005\\r\\n`` (``TCP6`` alike;
  ``UNKNOWN`` keeps the proxy's own address);
- an HTTP proxy adds ``X-Forwarded-For: client, proxy1, ...``: the client is
  the rightmost address that is not itself a trusted proxy (the entries on
  its left are whatever the client claimed).

Anyone else's PROXY line is a bad request and their X-Forwarded-For is ignored,
so a client cannot choose its own address. Addresses are parsed, never looked up.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

PROXY_LINE_MAX: Final = 107  # bytes, CRLF included (the v1 specification's bound)
_PREFIX: Final = b"PROXY "


def is_proxy_line(raw: bytes) -> bool:
    """True when ``raw`` (a line as read) is a PROXY protocol v1 header line."""
    return raw.startswith(_PREFIX)


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
    return address


class TrustedProxies:
    """The proxies whose word about their client's address is taken."""

    def __init__(self, networks: Iterable[Network] = ()) -> None:
        self._networks = tuple(networks)

    def trusts(self, peer: str) -> bool:
        """True when ``peer`` (an address as text) is one of the trusted proxies."""
        address = _address(peer)
        return address is not None and self._holds(address)

    def _holds(self, address: Address) -> bool:
        return any(address.version == net.version and address in net for net in self._networks)

    def client_of_proxy_line(self, raw: bytes, peer: str) -> str:
        """The client address a PROXY v1 line names (``peer`` for ``UNKNOWN``).

        Raises ValueError for a line that is too long or not well formed.
        """
        if len(raw) > PROXY_LINE_MAX or not raw.endswith(b"\r\n"):
            raise ValueError("PROXY line too long or not ended by CRLF")
        fields = raw[:-2].decode("ascii", errors="replace").split(" ")
        if len(fields) >= 2 and fields[1] == "UNKNOWN":
            return peer
        if len(fields) != 6 or fields[1] not in ("TCP4", "TCP6"):
            raise ValueError("PROXY line not of the form PROXY TCP4|TCP6 src dst sport dport")
        source = _address(fields[2])
        if source is None or (fields[1] == "TCP4" and source.version != 4):
            raise ValueError(f"PROXY line's source is not an {fields[1]} address")
        return str(source)

    def client_of_forwarded_for(self, value: str, peer: str) -> str:
        """The client an ``X-Forwarded-For`` value names: its rightmost address that is
        not a trusted proxy; ``peer`` when it names none that parses."""
        for entry in reversed(value.split(",")):
            address = _address(entry)
            if address is None:
                return peer  # a hop we cannot read: trust nothing to its left
            if not self._holds(address):
                return str(address)
        return peer
