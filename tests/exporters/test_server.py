"""The HTTP server in process: keep-alive, HEAD, IPv6, and a failing registry."""

from __future__ import annotations

import gzip
import http.client
import logging
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric

from exporters.server import Endpoints, ExporterServer


class Fixed:
    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("leitstand_exporter_test_value", "A fixed value.", value=42.0)


class Broken:
    def collect(self) -> Iterator[Metric]:
        raise RuntimeError("registry broke")
        yield  # a generator, like every collector


@pytest.fixture
def server() -> Iterator[ExporterServer]:
    registry = CollectorRegistry()
    registry.register(Fixed())
    running = ExporterServer(Endpoints(registry, ["fixed"]), "127.0.0.1", 0)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_requests_share_one_connection(server: ExporterServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
        first = connection.getresponse()
        body = gzip.decompress(first.read())
        socket_before = connection.sock
        connection.request("GET", "/metrics")
        second = connection.getresponse()
        plain = second.read()
        socket_after = connection.sock
    finally:
        connection.close()

    assert first.status == 200
    assert first.getheader("Content-Encoding") == "gzip"
    assert b"leitstand_exporter_test_value 42.0\n" in body
    assert second.status == 200
    assert plain == body
    # http.client opens a new socket when the server closed the previous one.
    assert socket_before is not None
    assert socket_after is socket_before


def test_head_sends_headers_only(server: ExporterServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("HEAD", "/metrics")
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()

    assert response.status == 200
    assert body == b""
    assert int(response.getheader("Content-Length") or 0) > 0


def test_query_string_is_ignored(server: ExporterServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", "/metrics?name[]=x")
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()

    assert response.status == 200
    assert b"leitstand_exporter_test_value" in body


def test_ipv6_loopback() -> None:
    registry = CollectorRegistry()
    registry.register(Fixed())
    running = ExporterServer(Endpoints(registry, []), "::1", 0)
    running.start()
    try:
        connection = http.client.HTTPConnection("::1", running.port, timeout=10)
        connection.request("GET", "/")
        response = connection.getresponse()
        page = response.read()
        connection.close()
    finally:
        running.stop()

    assert response.status == 200
    assert b'<a href="/metrics">' in page


def test_failing_registry_returns_500(caplog: pytest.LogCaptureFixture) -> None:
    registry = CollectorRegistry()
    registry.register(Broken())
    endpoints = Endpoints(registry, [])

    with caplog.at_level(logging.ERROR, logger="leitstand.exporter"):
        status, headers, body = endpoints.respond("/metrics", "gzip")

    assert status == 500
    assert ("Content-Type", "text/plain; charset=utf-8") in headers
    assert b"registry broke" in body
    assert [record.getMessage() for record in caplog.records] == ["Serving /metrics failed"]
