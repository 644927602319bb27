"""Connections: the service keeps an idle one open longer than clients keep theirs."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from media_assets.ittybit.client import KEEPALIVE_EXPIRY_S
from media_assets.local_ittybit import RunningService
from media_assets.local_ittybit.server import KEEP_ALIVE_S


def _health(connection: socket.socket, host: str) -> bytes:
    connection.sendall(f"GET /_local/health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return connection.recv(65536)


def test_an_idle_connection_outlives_the_clients_keepalive(service: RunningService) -> None:
    """A connection idle a little longer than the client keeps one still answers.

    With both sides at 5 s, a client could send on a connection the service was closing.
    """
    assert KEEPALIVE_EXPIRY_S < KEEP_ALIVE_S
    parts = urlsplit(service.base_url)
    assert parts.hostname is not None and parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        assert _health(connection, parts.netloc).startswith(b"HTTP/1.1 200")
        time.sleep(KEEPALIVE_EXPIRY_S + 2)  # past uvicorn's default of 5 s
        assert _health(connection, parts.netloc).startswith(b"HTTP/1.1 200")
