"""Server limits against a real `connectorhub serve`, over raw sockets: nothing hangs."""

from __future__ import annotations

import socket

import pytest

from tests.fixtures.live_server import live_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("limits") / "data"
    with live_server(
        data, CONNECTORHUB_REQUEST_BODY_TIMEOUT_SECONDS="1",
        CONNECTORHUB_REQUEST_BODY_DEADLINE_SECONDS="2",
    ) as running:  # fmt: skip
        yield running


def _exchange(server, request: bytes) -> bytes:
    """Send `request`, read until the server closes; a 15 s socket timeout proves no hang."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(15)
        answer = b""
        try:  # a server that refuses a head mid-send may reset the connection: also a refusal
            sock.sendall(request)
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, BrokenPipeError):
            return answer or b"RESET"
        return answer


def test_a_body_shorter_than_its_content_length_is_answered_408(server):
    head = (
        f"POST /api/validate-config HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.token}"
        "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    assert _exchange(server, head.encode()).startswith(b"HTTP/1.1 408")


def test_a_one_megabyte_header_is_refused(server):
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n"
    assert _exchange(server, request)[:12] in (b"HTTP/1.1 400", b"HTTP/1.1 431", b"RESET")


@pytest.mark.parametrize("count", [200, 10_000])
def test_too_many_headers_are_refused(server, count):
    headers = b"".join(b"X-%d: v\r\n" % i for i in range(count))
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"
    assert _exchange(server, request)[:12] in (b"HTTP/1.1 400", b"HTTP/1.1 431")


def test_a_normal_request_is_answered(server):
    answer = _exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b'{"status":"ok"}')


def test_a_body_trickling_in_is_answered_408_at_its_deadline(server):
    """A byte every 0.3 s never stalls a read for the 1 s timeout; the 2 s deadline ends it."""
    head = (
        f"POST /api/validate-config HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.token}"
        "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head.encode())
        sock.settimeout(0.3)
        answer, sent = b"", 0
        while sent < 99 and not answer:  # the body is never complete
            try:
                sock.sendall(b" ")
                sent += 1
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                break
    assert answer.startswith(b"HTTP/1.1 408"), (sent, answer)
