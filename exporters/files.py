"""Read the small files of procfs, sysfs and cgroupfs with as little overhead as possible."""

from __future__ import annotations

import os


def read_bytes(path: str) -> bytes:
    """Read a whole file; raise ``OSError`` as ``open`` does.

    ``os.read`` skips the buffered file object that ``open`` builds, which costs more than
    the read itself for a file of a few hundred bytes.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
