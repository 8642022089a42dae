"""Bearer tokens for the control API and the optimizer's webhook."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def ensure_token_file(path: Path) -> Path:
    """Write a new random token to ``path`` (mode 0600) unless it holds one already."""
    if path.exists() and path.read_text().strip():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    return path
