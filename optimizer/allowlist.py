"""The targets the optimizer may call when no Prometheus lists the targets of a job."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class AllowedTargets:
    """Exact ``host:port`` instances and CIDR networks; empty allows loopback only."""

    instances: frozenset[str]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def parse(cls, text: str) -> AllowedTargets:
        """Parse a comma-separated list such as ``app:8000,10.0.0.0/8``; raise ``ValueError``."""
        instances: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (part.strip() for part in text.split(",")):
            if not entry:
                continue
            if "/" in entry:
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    raise ValueError(
                        f"invalid allowed target {entry!r}: not a CIDR network such as 10.0.0.0/8"
                    ) from None
                continue
            host, port = split_instance(entry)
            if not host or not port.isdigit():
                raise ValueError(
                    f"invalid allowed target {entry!r}: expected host:port or a CIDR network"
                )
            instances.add(entry)
        return cls(frozenset(instances), tuple(networks))

    def allows(self, instance: str) -> bool:
        """Return whether the optimizer may call ``instance`` (``host:port``)."""
        host, _ = split_instance(instance)
        address = _ip_address(host)
        if not self.instances and not self.networks:
            return host == "localhost" or (address is not None and address.is_loopback)
        if instance in self.instances:
            return True
        return address is not None and any(address in network for network in self.networks)

    def describe(self) -> str:
        """Return the list as it is configured, or what an empty one allows."""
        entries = sorted(self.instances) + [str(network) for network in self.networks]
        return ",".join(entries) if entries else "loopback only"


def split_instance(instance: str) -> tuple[str, str]:
    """Split ``host:port`` or ``[v6 address]:port`` into host and port (empty when absent)."""
    if instance.startswith("["):
        host, _, rest = instance[1:].partition("]")
        return host, rest.removeprefix(":")
    host, _, port = instance.rpartition(":")
    return (host, port) if host else (instance, "")


def _ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
