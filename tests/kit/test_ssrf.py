"""The SSRF guard: every non-public address form is refused and the canary gets no request."""

from __future__ import annotations

import ipaddress

import pytest

from connectorhub.definition.model import Definition
from connectorhub.definition.values import RunValues
from connectorhub.execution.runner import Runner
from connectorhub.kit.driver_errors import DriverError, FatalError
from connectorhub.kit.outbound import create_outbound_session
from connectorhub.kit.ssrf import AddressPolicy, BlockedAddress
from tests.fixtures.third_party import third_party_server

REFUSED_ADDRESSES = [
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "100.127.255.254",
    "198.18.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::a00:1",
    "2002:7f00:1::",
    "2002:a9fe:a9fe::1",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",
    # What ipaddress's flags miss (kit/ssrf.py SPECIAL_PURPOSE_MISSED), one per range:
    "::ffff:0:7f00:1",  # SIIT ::ffff:0:0:0/96, to 127.0.0.1
    "::ffff:0:808:808",  # SIIT, even to a public IPv4 address
    "fec0::1",  # site-local
    "3fff::1",  # documentation
    "5f00::1",  # SRv6 SIDs
]
PUBLIC_ADDRESSES = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_non_public_addresses_are_refused(address):
    assert AddressPolicy().problem(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses_pass(address):
    assert AddressPolicy().problem(ipaddress.ip_address(address)) is None


def test_every_missed_range_is_refused_at_both_ends():
    from connectorhub.kit.ssrf import SPECIAL_PURPOSE_MISSED

    for network in SPECIAL_PURPOSE_MISSED:
        for address in (network[0], network[-1]):
            assert AddressPolicy().problem(address) is not None, address


def test_the_allow_list_opens_exactly_its_networks():
    policy = AddressPolicy(["10.20.0.0/16", "127.0.0.1/32"])
    assert policy.problem(ipaddress.ip_address("10.20.3.4")) is None
    assert policy.problem(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.problem(ipaddress.ip_address("::ffff:127.0.0.1")) is None  # same address
    assert policy.problem(ipaddress.ip_address("10.21.0.1")) is not None
    assert policy.problem(ipaddress.ip_address("127.0.0.2")) is not None


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/",
        "gopher://example.com:70/",
        "data:text/plain,hi",
        "javascript:alert(1)",
        "//example.com/",
        "http:///x",
    ],
)
def test_non_http_schemes_and_hostless_urls_are_refused(url):
    with pytest.raises(BlockedAddress):
        AddressPolicy().check_url(url)


def _url_forms(port: int) -> list[str]:
    """Every way we know to spell the canary (127.0.0.1:port) or another non-public host."""
    return [
        f"http://127.0.0.1:{port}/",
        f"http://localhost:{port}/",
        f"http://LOCALHOST:{port}/",
        f"http://localhost.:{port}/",
        f"http://127.0.0.1.:{port}/",
        f"http://127.1:{port}/",
        f"http://2130706433:{port}/",
        f"http://0x7f000001:{port}/",
        f"http://0x7f.1:{port}/",
        f"http://0177.0.0.1:{port}/",
        f"http://017700000001:{port}/",
        f"http://0:{port}/",
        f"http://0.0.0.0:{port}/",
        f"http://[::]:{port}/",
        f"http://[::1]:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",
        f"http://[::ffff:7f00:1]:{port}/",
        f"http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/",
        f"http://[::127.0.0.1]:{port}/",
        f"http://[64:ff9b::7f00:1]:{port}/",
        f"http://[2002:7f00:1::]:{port}/",
        f"https://127.0.0.1:{port}/",
        f"http://user:pw@127.0.0.1:{port}/",
        f"http://127.0.0.1:{port}@127.0.0.1:{port}/",
        f"http://[::1%25lo]:{port}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/",
        "http://100.64.0.1/",
        "http://10.0.0.1/",
        "http://192.168.0.1/",
        "http://172.16.0.1/",
        f"ftp://127.0.0.1:{port}/",
        f"gopher://127.0.0.1:{port}/_GET",
        "file:///etc/passwd",
    ]


async def test_every_form_is_refused_and_the_canary_sees_nothing():
    async with third_party_server() as canary:
        canary.json("/", {"pwned": True})
        session = create_outbound_session(AddressPolicy())  # no allow-list: production default
        runner = Runner(session, AddressPolicy())
        try:
            for url in _url_forms(canary.port):
                definition = Definition(
                    steps=[{"name": "probe", "url": url, "retry": {"max_attempts": 1}}]
                )
                with pytest.raises(DriverError) as caught:
                    await runner.run(definition, RunValues(input={}, config={}))
                refused = isinstance(caught.value, FatalError) and "refused" in caught.value.message
                # A name this machine cannot resolve never connects either.
                unresolvable = "Name or service not known" in caught.value.message
                assert refused or (unresolvable and url.startswith("http://localhost.")), (
                    url,
                    caught.value.message,
                )
        finally:
            await session.close()
        assert canary.hits == []


async def test_a_redirect_to_a_private_address_is_refused():
    # The first server is allowed (as an operator might allow an internal API); it redirects
    # to the canary, which is not, so the redirect is refused before connecting.
    async with third_party_server("127.0.0.2") as allowed, third_party_server() as canary:
        canary.json("/", {"pwned": True})

        from aiohttp import web

        async def redirect(request):
            raise web.HTTPFound(f"{canary.url}/")

        allowed.route("/start", redirect)
        policy = AddressPolicy(["127.0.0.2/32"])
        session = create_outbound_session(policy)
        try:
            definition = Definition(
                steps=[{"name": "go", "url": f"{allowed.url}/start", "retry": {"max_attempts": 1}}]
            )
            with pytest.raises(FatalError, match="refused"):
                await Runner(session, policy).run(definition, RunValues(input={}, config={}))
        finally:
            await session.close()
        assert len(allowed.hits) == 1 and canary.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "https://1password.com/",
        "http://123.example.com/x",
        "https://api.0x.org/",
        "https://[2606:4700:4700::1111]/",
        "https://8.8.8.8/",
    ],
)
def test_ordinary_names_and_public_ips_pass_the_url_check(url):
    AddressPolicy().check_url(url)


# Full-width digits, ideographic full stops, circled digits: all read as 127.0.0.1 by yarl.
UNICODE_LOOPBACKS = [
    "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/",
    "http://127\u30020\u30020\u30021/",
    "http://\u2460\u2461\u2466.0.0.1/",
]


@pytest.mark.parametrize("url", UNICODE_LOOPBACKS)
def test_unicode_spellings_of_loopback_are_refused(url):
    # The check sees the host as the client will: yarl normalises these to 127.0.0.1.
    try:
        AddressPolicy().check_url(url)
    except BlockedAddress:
        return
    from yarl import URL

    assert URL(url).raw_host not in ("127.0.0.1",), URL(url).raw_host
