"""Bearer tokens: from the environment, from a ``*_FILE``, or generated at start."""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from pathlib import Path

from pydantic import SecretStr

logger = logging.getLogger("leitstand.optimizer")


class TokenError(Exception):
    """A token file exists but cannot be used; the message names the file and the fix."""


def resolve_token(
    variable: str, value: SecretStr | None, file: Path | None, default_file: Path
) -> SecretStr:
    """Return the token from ``variable``, else from its file, else a new one written to a file.

    A new token goes to ``file`` when the variable names one that does not exist yet,
    otherwise to ``default_file``. The log names the file, never the token.
    """
    if value is not None and value.get_secret_value():
        return value
    if file is not None and file.exists():
        try:
            token = file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise TokenError(
                f"cannot read {variable}_FILE {file}: {error.strerror}; "
                "fix its permissions or point the variable at a readable file"
            ) from None
        if not token:
            raise TokenError(f"{variable}_FILE {file} is empty; write the token into it")
        return SecretStr(token)

    path = file or default_file
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    logger.warning(
        "%s is not set; generated a token and wrote it to %s (set %s_FILE=%s to share it)",
        variable,
        path,
        variable,
        path,
    )
    return SecretStr(token)


def bearer_matches(header: str | None, token: SecretStr) -> bool:
    """Tell whether an ``Authorization`` header carries ``token``, in constant time."""
    if header is None:
        return False
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(
        credentials.strip().encode("utf-8"), token.get_secret_value().encode("utf-8")
    )
