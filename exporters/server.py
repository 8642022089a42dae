"""The HTTP side: ``/metrics`` in the text format (gzip when asked) and a landing page."""

from __future__ import annotations

import gzip
import html
import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import gzip_accepted

from exporters.exposition import CONTENT_TYPE, encode_text

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

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


def create_wsgi_app(registry: CollectorRegistry, collectors: Iterable[str]) -> WSGIApp:
    """Serve ``/metrics`` from ``registry`` and a landing page at ``/``."""
    page = _LANDING_PAGE.format(collectors=html.escape(", ".join(collectors))).encode()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            body = encode_text(registry.collect())
            headers = [("Content-Type", CONTENT_TYPE)]
            if gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING", "")):
                # Level 1 compresses a scrape to within 15 % of level 9 in a third of the time.
                body = gzip.compress(body, compresslevel=1)
                headers.append(("Content-Encoding", "gzip"))
            headers.append(("Content-Length", str(len(body))))
            start_response("200 OK", headers)
            return [body]
        if path == "/":
            start_response(
                "200 OK",
                [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(page)))],
            )
            return [page]
        body = b"404 page not found\n"
        start_response(
            "404 Not Found",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return app


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's fully qualified name, which can wait on
        # a DNS timeout; the WSGI environ only needs a name, and the address serves.
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = port
        self.setup_environ()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing per request; scrapes arrive every few seconds."""


class ExporterServer:
    """A threaded HTTP server for one WSGI app, run on a background thread."""

    def __init__(self, app: WSGIApp, host: str, port: int) -> None:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        server_class = type("_Server", (_ThreadingWSGIServer,), {"address_family": family})
        self._server: WSGIServer = make_server(
            host, port, app, server_class=server_class, handler_class=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="exporter-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
