"""Access checks of the control API: the caller's network and its bearer token."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import secrets
from pathlib import Path

from fastapi import HTTPException, Request, status

from app.control.ratelimit import ThrottledWarning
from app.settings import Settings

logger = logging.getLogger("leitstand.control")

LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# The generated token's file, in the folder of the shared state file.
TOKEN_FILE_NAME = "control-token"  # noqa: S105 (a file name, not a secret)


def parse_networks(text: str) -> tuple[Network, ...]:
    """Parse comma-separated CIDRs; an empty text means loopback only."""
    networks: list[Network] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(
                f"invalid address range {item!r} in LEITSTAND_CONTROL_ALLOWED_NETWORKS: {exc}; "
                "use comma-separated CIDRs such as 10.0.0.0/8,127.0.0.0/8"
            ) from None
    return tuple(networks) or LOOPBACK_NETWORKS


class TokenSource:
    """The control token from the environment, or from a file that is read again when it changes."""

    def __init__(self, token: str | None, path: Path | None) -> None:
        self._token = token.encode() if token else None
        self._path = path
        self._file_token: bytes | None = None
        self._file_stamp: tuple[int, int] | None = None

    def token(self) -> bytes:
        """Return the expected token; raise a 503 ``HTTPException`` saying how to configure one."""
        if self._token is not None:
            return self._token
        if self._path is None:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "the control API has no token: set LEITSTAND_CONTROL_TOKEN, or "
                "LEITSTAND_CONTROL_TOKEN_FILE to a file that contains one",
            )
        return self._read_file(self._path)

    def _read_file(self, path: Path) -> bytes:
        try:
            info = path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
            if stamp != self._file_stamp:
                self._file_token = path.read_bytes().strip()
                self._file_stamp = stamp
        except OSError as exc:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"cannot read the control token from {path} (LEITSTAND_CONTROL_TOKEN_FILE): "
                f"{exc.strerror}",
            ) from None
        if not self._file_token:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"the control token file {path} (LEITSTAND_CONTROL_TOKEN_FILE) is empty",
            )
        return self._file_token


def generate_token_file(path: Path) -> Path:
    """Write a new random token to ``path`` (mode 0600) unless the file exists; return ``path``.

    Of several processes that start at once, one creates the file and the
    others use it.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    logger.info(
        "Generated a control API token in %s; set LEITSTAND_CONTROL_TOKEN or "
        "LEITSTAND_CONTROL_TOKEN_FILE to choose one",
        path,
    )
    return path


class ControlAccess:
    """A FastAPI dependency that admits a request or raises 403, 503 or 401, in that order.

    Without a configured token, an instance with a shared state file (one run
    by ``leitstand serve``) generates one in a file beside the state file. Any
    other app returns 503 to every control request.
    """

    def __init__(self, settings: Settings) -> None:
        self.networks = parse_networks(settings.control_allowed_networks)
        token_file = settings.control_token_file
        if settings.control_token is None and token_file is None and settings.state_path:
            token_file = generate_token_file(settings.state_path.parent / TOKEN_FILE_NAME)
        self.tokens = TokenSource(settings.control_token, token_file)
        self._warn_address = ThrottledWarning(
            logger, "Rejected a control request from %s: address not allowed", interval=60.0
        )
        self._warn_token = ThrottledWarning(
            logger, "Rejected a control request from %s: missing or wrong token", interval=60.0
        )

    def __call__(self, request: Request) -> None:
        host = request.client.host if request.client else None
        if not self.allows(host):
            self._warn_address(host)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"control requests from {host} are not allowed; "
                "list its network in LEITSTAND_CONTROL_ALLOWED_NETWORKS",
            )

        expected = self.tokens.token()
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), expected
        ):
            self._warn_token(host)
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing or wrong bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )

    def allows(self, host: str | None) -> bool:
        if host is None:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False  # a Unix socket peer or a test client name, not an address
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)
