"""Start the load generator in its own process and follow its progress.

The generator is a child Python process (gevent and Locust stay out of this
one). It prints one JSON line of progress every half second and writes its raw
result to a file when it is done.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from leitstand.bench.spec import RunSpec

logger = logging.getLogger("leitstand.bench")

Progress = Callable[[dict[str, Any]], None]


class GeneratorError(RuntimeError):
    """The generator process failed; the message carries the end of its output."""


def run_generator(spec: RunSpec, on_progress: Progress | None = None) -> dict[str, Any]:
    """Run the generator for ``spec`` and return its raw result.

    ``on_progress`` receives each progress message (``phase``, ``elapsed_s``,
    ``requests``, ``rate``, ``users``) as it arrives.
    """
    with tempfile.TemporaryDirectory(prefix="leitstand-bench-") as folder:
        spec_path = Path(folder) / "spec.json"
        result_path = Path(folder) / "result.json"
        errors_path = Path(folder) / "generator.log"
        spec_path.write_text(spec.to_json())
        argv = [sys.executable, "-m", "leitstand.bench.generator", str(spec_path), str(result_path)]
        logger.debug("starting the load generator: %s", " ".join(argv))

        with (
            errors_path.open("w") as errors,
            subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, text=True) as process,
        ):
            try:
                _follow(process, on_progress)
                returncode = process.wait()
            except BaseException:
                process.kill()
                raise

        log_tail = "\n".join(errors_path.read_text(errors="replace").splitlines()[-30:])
        if returncode != 0 or not result_path.exists():
            raise GeneratorError(f"the load generator exited with {returncode}:\n{log_tail}")
        if log_tail:
            logger.warning("the load generator logged:\n%s", log_tail)
        result: dict[str, Any] = json.loads(result_path.read_text())
        return result


def _follow(process: subprocess.Popen[str], on_progress: Progress | None) -> None:
    if process.stdout is None:
        return
    for line in process.stdout:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            logger.info("generator: %s", line.rstrip())
            continue
        if on_progress is not None:
            on_progress(message)
