"""The HTTP side: ``/metrics`` in the text format (gzip when asked) and a landing page.

``http.server`` with HTTP/1.1 keep-alive: Prometheus reuses one connection per target, so a
scrape costs no TCP handshake, as with node_exporter's Go server.
"""

from __future__ import annotations

import gzip
import html
import logging
import socket
import threading
from collections.abc import Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import gzip_accepted

from exporters.exposition import CONTENT_TYPE, encode_text

logger = logging.getLogger("leitstand.exporter")

Response = tuple[int, list[tuple[str, str]], bytes]

_LANDING_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Leitstand exporter</title></head>
<body>
<h1>Leitstand exporter</h1>
<p>Host, container and process-group metrics with node_exporter's and process-exporter's
names.</p>
<p><a href="/metrics">Metrics</a></p>
<p>Collectors: {collectors}</p>
</body>
</html>
"""


class Endpoints:
    """Map a request path to a response: ``/metrics``, ``/`` and 404 for the rest."""

    def __init__(self, registry: CollectorRegistry, collectors: Iterable[str]) -> None:
        self.registry = registry
        self.landing_page = _LANDING_PAGE.format(
            collectors=html.escape(", ".join(collectors))
        ).encode()

    def respond(self, path: str, accept_encoding: str) -> Response:
        path = path.partition("?")[0]
        if path == "/metrics":
            return self._metrics(accept_encoding)
        if path == "/":
            return HTTPStatus.OK, [("Content-Type", "text/html; charset=utf-8")], self.landing_page
        return (
            HTTPStatus.NOT_FOUND,
            [("Content-Type", "text/plain; charset=utf-8")],
            b"404 page not found\n",
        )

    def _metrics(self, accept_encoding: str) -> Response:
        try:
            body = encode_text(self.registry.collect())
        except Exception as exc:  # respond with the cause, not a reset connection
            logger.exception("Serving /metrics failed")
            message = f"An error has occurred while serving metrics:\n\n{exc}\n"
            return (
                HTTPStatus.INTERNAL_SERVER_ERROR,
                [("Content-Type", "text/plain; charset=utf-8")],
                message.encode(),
            )
        headers = [("Content-Type", CONTENT_TYPE)]
        if gzip_accepted(accept_encoding):
            # Level 1 compresses a scrape to within 15 % of level 9 in a third of the time.
            body = gzip.compress(body, compresslevel=1)
            headers.append(("Content-Encoding", "gzip"))
        return HTTPStatus.OK, headers, body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Seconds an idle kept-alive connection may hold its thread.
    timeout = 300
    # Headers and body go out in two writes. With Nagle's algorithm on a kept-alive
    # connection, the body would wait for the client's delayed ACK (40 ms on Linux).
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, send_body: bool) -> None:
        status, headers, body = self.server.endpoints.respond(
            self.path, self.headers.get("Accept-Encoding", "")
        )
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing per request; scrapes arrive every few seconds."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], endpoints: Endpoints, family: int) -> None:
        self.address_family = family
        self.endpoints = endpoints
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's fully qualified name, which can wait on
        # a DNS timeout; nothing here uses that name.
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])


class ExporterServer:
    """A threaded HTTP server for the endpoints, run on a background thread."""

    def __init__(self, endpoints: Endpoints, host: str, port: int) -> None:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        self._server = _Server((host, port), endpoints, family)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="exporter-http", daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_port

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
