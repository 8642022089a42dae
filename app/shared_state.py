"""Named numeric values shared by every worker process of one app instance.

The start-up manager creates one small file per instance; every worker maps it
with ``mmap``. A value is a float64 in a fixed slot, found by name through a
table at the start of the file. Reads are a lock-free ``struct.unpack_from`` on
the mapping (aligned 8-byte loads are not torn on the platforms we run on);
writes and slot allocation take an ``fcntl`` lock on the file, so increments
from several processes are never lost.

Layout: a header (magic, slot count), then ``SLOTS`` entries of a 56-byte
UTF-8 name (NUL padded) and an 8-byte float64 value.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MAGIC = b"LSTATE01"
SLOTS = 512
NAME_BYTES = 56
_HEADER = struct.Struct("<8sQ")
_ENTRY = struct.Struct(f"<{NAME_BYTES}sd")
SIZE = _HEADER.size + SLOTS * _ENTRY.size


class SharedStateError(RuntimeError):
    """The shared state file is invalid or full."""


class SharedState:
    """Float64 values by name, shared across the processes that open one file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            with _locked(fd):
                if os.fstat(fd).st_size == 0:
                    os.ftruncate(fd, SIZE)
                    os.pwrite(fd, _HEADER.pack(MAGIC, SLOTS), 0)
            self._map = mmap.mmap(fd, SIZE)
        finally:
            os.close(fd)
        magic, slots = _HEADER.unpack_from(self._map, 0)
        if magic != MAGIC or slots != SLOTS:
            raise SharedStateError(f"{self.path} is not a Leitstand shared state file")
        self._offsets: dict[str, int] = {}

    @classmethod
    def temporary(cls) -> SharedState:
        """Create a state file that only this process (and its forks) use."""
        handle, name = tempfile.mkstemp(prefix="leitstand-state-")
        os.close(handle)
        state = cls(name)
        os.unlink(name)  # the mapping stays valid; nothing is left on disk
        return state

    def get(self, name: str, default: float = 0.0) -> float:
        offset = self._find(name)
        if offset is None:
            return default
        value: float = struct.unpack_from("<d", self._map, offset)[0]
        return value

    def set(self, name: str, value: float) -> None:
        with self._write_lock():
            struct.pack_into("<d", self._map, self._slot(name), value)

    def add(self, name: str, amount: float = 1.0) -> float:
        """Add ``amount`` atomically across processes and return the new value."""
        with self._write_lock():
            offset = self._slot(name)
            value: float = struct.unpack_from("<d", self._map, offset)[0] + amount
            struct.pack_into("<d", self._map, offset, value)
        return value

    def setdefault(self, name: str, value: float) -> float:
        """Store ``value`` unless ``name`` already has one; return the stored value."""
        with self._write_lock():
            offset = self._find(name)
            if offset is not None:
                current: float = struct.unpack_from("<d", self._map, offset)[0]
                return current
            struct.pack_into("<d", self._map, self._slot(name), value)
        return value

    def items(self) -> Iterator[tuple[str, float]]:
        for index in range(SLOTS):
            raw, value = _ENTRY.unpack_from(self._map, _HEADER.size + index * _ENTRY.size)
            if raw[0] == 0:
                return
            yield raw.rstrip(b"\0").decode(), value

    def close(self) -> None:
        self._map.close()

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        fd = os.open(self.path, os.O_RDWR) if self.path.exists() else None
        if fd is None:  # a temporary state: only forks of one process share it
            yield
            return
        try:
            with _locked(fd):
                yield
        finally:
            os.close(fd)

    def _find(self, name: str) -> int | None:
        offset = self._offsets.get(name)
        if offset is not None:
            return offset
        encoded = _encode(name)
        for index in range(SLOTS):
            entry = _HEADER.size + index * _ENTRY.size
            raw = self._map[entry : entry + NAME_BYTES]
            if raw[0] == 0:
                return None
            if raw == encoded:
                self._offsets[name] = entry + NAME_BYTES
                return entry + NAME_BYTES
        return None

    def _slot(self, name: str) -> int:
        """Return the value offset of ``name``, allocating a slot; call with the lock held."""
        offset = self._find(name)
        if offset is not None:
            return offset
        encoded = _encode(name)
        for index in range(SLOTS):
            entry = _HEADER.size + index * _ENTRY.size
            if self._map[entry] == 0:
                _ENTRY.pack_into(self._map, entry, encoded, 0.0)
                self._offsets[name] = entry + NAME_BYTES
                return entry + NAME_BYTES
        raise SharedStateError(f"{self.path} is full: all {SLOTS} slots are in use")


def _encode(name: str) -> bytes:
    encoded = name.encode()
    if not encoded or len(encoded) > NAME_BYTES or b"\0" in encoded:
        raise SharedStateError(f"invalid shared state name {name!r}: 1 to {NAME_BYTES} bytes")
    return encoded.ljust(NAME_BYTES, b"\0")


@contextmanager
def _locked(fd: int) -> Iterator[None]:
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
