"""The listening socket, bound once by the supervisor and shared by every worker."""

from __future__ import annotations

import errno
import logging
import socket

logger = logging.getLogger("leitstand.server")

# How many ports above the requested one --auto-port tries.
AUTO_PORT_ATTEMPTS = 100
BACKLOG = 2048


class PortInUseError(Exception):
    """The requested port is taken and no other one may be used."""


def bind_listener(host: str, port: int, auto_port: bool = False) -> socket.socket:
    """Bind and listen on ``host:port``; with ``auto_port``, on the next free port above it.

    Raises ``PortInUseError`` when the port (or every port tried) is in use,
    and ``OSError`` for other failures, such as an address this host lacks.
    """
    attempts = AUTO_PORT_ATTEMPTS if auto_port and port != 0 else 1
    for candidate in range(port, min(port + attempts, 65536)):
        try:
            sock = _bind(host, candidate)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        if candidate != port:
            logger.warning("Port %d is in use; using port %d instead", port, candidate)
        return sock
    if attempts == 1:
        raise PortInUseError(
            f"port {port} on {host} is already in use; "
            "stop the process that holds it, or pass --port or --auto-port",
        )
    raise PortInUseError(
        f"ports {port} to {candidate} on {host} are all in use; pass a different --port",
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # Rebinding right after a restart must not wait for TIME_WAIT sockets;
        # on Linux SO_REUSEADDR never lets two processes listen on one port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
