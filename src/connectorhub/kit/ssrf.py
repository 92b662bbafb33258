"""Outbound-request guard: only public addresses, unless the operator allow-lists a network.

The check runs on the *resolved* addresses (a name that resolves to 127.0.0.1 is refused), inside
the HTTP client's resolver, so the connection goes to exactly the address that was checked — a
second DNS answer cannot slip in between check and connect. IP literals never reach a resolver,
so `check_url` checks them before each request and each redirect.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# What `ipaddress`'s flags let through of the IANA special-purpose registries (Python 3.11):
# refused as well, whatever an embedded IPv4 address would say.
SPECIAL_PURPOSE_MISSED: dict[IPNetwork, str] = {
    ipaddress.ip_network("::ffff:0:0:0/96"): "IPv4-translated (SIIT, RFC 2765)",
    ipaddress.ip_network("fec0::/10"): "deprecated site-local (RFC 3879)",
    ipaddress.ip_network("3fff::/20"): "documentation (RFC 9637)",
    ipaddress.ip_network("5f00::/16"): "segment routing SIDs (RFC 9602)",
}
# Hosts made only of numbers (decimal, octal or hex) and dots, possibly with a trailing dot.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*\.?$", re.I)


class BlockedAddress(Exception):
    """The request would reach a non-public address or use a scheme other than http(s)."""


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 form routes to (mapped, 6to4, Teredo, NAT64, IPv4-compatible)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if any(address in network for network in _NAT64) or address in _IPV4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


class AddressPolicy:
    """Public unicast addresses pass; everything else only inside an allow-listed network."""

    def __init__(self, allowed_networks: Iterable[str | IPNetwork] = ()):
        self.allowed = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]

    def _allow_listed(self, address: IPAddress) -> bool:
        return any(address.version == n.version and address in n for n in self.allowed)

    def problem(self, address: IPAddress) -> str | None:
        """Why `address` may not be reached, or None when it may."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            # ::ffff:a.b.c.d is a.b.c.d on the wire: judge (and allow-list) it as such.
            inner_problem = self.problem(address.ipv4_mapped)
            return inner_problem and f"{address} is {address.ipv4_mapped}: {inner_problem}"
        if self._allow_listed(address):
            return None
        if address.is_multicast or not address.is_global or address in _CGNAT:
            return f"{address} is not a public address"
        for network, what in SPECIAL_PURPOSE_MISSED.items():
            if address.version == network.version and address in network:
                return f"{address} is not a public address ({what})"
        for inner in _embedded_ipv4(address):
            if not self._allow_listed(inner) and (not inner.is_global or inner in _CGNAT):
                return f"{address} routes to {inner}, which is not a public address"
        return None

    def check(self, address: IPAddress, host: str) -> None:
        problem = self.problem(address)
        if problem:
            shown = host if host == str(address) else f"{host} ({address})"
            raise BlockedAddress(f"refused to connect to {shown}: {problem}")

    def check_url(self, url: str) -> None:
        """Refuse a non-http(s) URL, a URL without a host, or one whose host is a blocked IP."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise BlockedAddress(f"refused {parts.scheme or 'a relative'} URL: only http and https")
        try:
            # The host as the client will use it: yarl normalises (e.g. full-width digits to
            # ASCII), and an IP literal it produces never goes through the resolver.
            host = URL(url).raw_host
        except ValueError as error:
            raise BlockedAddress(f"refused an invalid URL: {error}") from None
        if not host:
            raise BlockedAddress("refused a URL without a host")
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            if _NUMERIC_HOST.match(host):
                # 127.1, 2130706433, 0177.0.0.1: resolvers read these as IP addresses in
                # differing ways; no real site is named so.
                raise BlockedAddress(f"refused {host}: not a canonical IP address") from None
            return  # a name: checked on resolution by GuardedResolver
        self.check(address, host)


class GuardedResolver(AbstractResolver):
    """Resolves with the default resolver, then refuses the host if any answer is blocked."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None):
        self._policy = policy
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        # All or nothing: a name with one private answer among public ones is refused outright.
        for answer in answers:
            self._policy.check(ipaddress.ip_address(answer["host"].split("%", 1)[0]), host)
        return answers

    async def close(self) -> None:
        await self._inner.close()
