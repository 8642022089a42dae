"""Binding the shared listening socket."""

from __future__ import annotations

import socket

import pytest

from app.server.listener import PortInUseError, bind_listener


def test_taken_port_raises_with_the_fix() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is already in use"):
            bind_listener("127.0.0.1", port)


def test_auto_port_skips_taken_ports(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        listener = bind_listener("127.0.0.1", port, auto_port=True)
    with listener:
        chosen = listener.getsockname()[1]
        assert chosen > port
        assert listener.get_inheritable()
    assert f"Port {port} is in use; using port {chosen} instead" in caplog.text


def test_unknown_address_is_an_os_error() -> None:
    with pytest.raises(OSError, match="Cannot assign requested address"):
        bind_listener("192.0.2.1", 0)
