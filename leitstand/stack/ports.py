"""Free-port checks that name the process holding a taken port."""

from __future__ import annotations

import errno
import socket

import psutil


def is_free(host: str, port: int) -> bool:
    """Return whether ``host:port`` can be bound right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def address_available(host: str) -> bool:
    """Return whether an interface of this machine has the address ``host``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, 0))
        except OSError as error:
            return error.errno != errno.EADDRNOTAVAIL
    return True


def holder(port: int) -> str:
    """Describe the process listening on ``port``, e.g. ``prometheus (pid 812)``."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return "another process (run as root to see which)"
    for connection in connections:
        if connection.status != psutil.CONN_LISTEN or not connection.laddr:
            continue
        if connection.laddr.port != port:
            continue
        if connection.pid is None:
            return "a process of another user"
        try:
            process = psutil.Process(connection.pid)
            command = " ".join(process.cmdline()[:3]) or process.name()
        except psutil.Error:
            return f"pid {connection.pid}"
        return f"{command} (pid {connection.pid})"
    return "an unknown process"
