"""prometheus_client's multiprocess directory, shared by the workers of one instance.

Every worker writes its samples to its own ``<type>_<pid>.db`` files; a scrape
merges all files. When a worker exits, ``mark_worker_dead`` removes its gauge
files (a dead process has no current value) and folds its counter, histogram
and summary files into one ``<type>_archive.db`` per type, so totals survive
and the number of files stays bounded however often workers are replaced.

Folding replaces two files, which no file system does atomically, so scrapes
hold a shared ``flock`` on ``compaction.lock`` and folding holds it exclusively:
a scrape never counts a dead worker twice or not at all.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector

ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
LOCK_FILE = "compaction.lock"
ARCHIVE = "archive"
_FOLDED_TYPES = ("counter", "histogram", "summary")


def multiprocess_directory() -> Path | None:
    """Return the directory of this process's metric files, or None in single-process mode."""
    value = os.environ.get(ENVIRONMENT_VARIABLE)
    return Path(value) if value else None


@contextmanager
def scrape_lock(directory: Path) -> Iterator[None]:
    """Hold the shared lock that keeps folding out of a running scrape."""
    with _flock(directory, fcntl.LOCK_SH):
        yield


def mark_worker_dead(directory: Path, pid: int) -> None:
    """Drop exited worker ``pid``'s gauges and fold its other samples into the archive."""
    with _flock(directory, fcntl.LOCK_EX):
        for gauge_file in directory.glob(f"gauge_*_{pid}.db"):
            gauge_file.unlink()
        for kind in _FOLDED_TYPES:
            dead = directory / f"{kind}_{pid}.db"
            if dead.exists():
                _fold(directory / f"{kind}_{ARCHIVE}.db", dead)


def _fold(archive: Path, dead: Path) -> None:
    sources = [str(path) for path in (archive, dead) if path.exists()]
    # accumulate=False keeps histogram buckets per bucket, as the files store them.
    metrics = MultiProcessCollector.merge(sources, accumulate=False)  # type: ignore[no-untyped-call]

    staging = archive.with_suffix(".staging")  # not *.db: scrapes never read it
    staging.unlink(missing_ok=True)
    merged = MmapedDict(str(staging))  # type: ignore[no-untyped-call]
    try:
        for metric in metrics:
            for sample in metric.samples:
                names = list(sample.labels)
                values = [sample.labels[name] for name in names]
                key = mmap_key(metric.name, sample.name, names, values, metric.documentation)
                merged.write_value(key, sample.value, 0.0)  # type: ignore[no-untyped-call]
    finally:
        merged.close()  # type: ignore[no-untyped-call]
    os.replace(staging, archive)
    dead.unlink()


@contextmanager
def _flock(directory: Path, operation: int) -> Iterator[None]:
    # Each use opens the file anew: flock locks belong to the open file
    # description, which a forked worker would otherwise share with its parent.
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, operation)
        yield
    finally:
        os.close(fd)
