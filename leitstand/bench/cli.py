"""``leitstand bench``: dispatch to ``run``, ``compare``, ``plot`` and ``profile``."""

from __future__ import annotations

import importlib
import logging
import sys

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": ("leitstand.bench.run", "one load run against a URL, written as a JSON report"),
    "compare": ("leitstand.bench.compare", "compare reports: per-endpoint deltas and verdicts"),
    "plot": ("leitstand.bench.plot", "PNG plots and a Markdown summary of reports"),
    "profile": ("leitstand.bench.profile", "the app with its optimisations off and on"),
}


def _usage() -> str:
    lines = ["usage: leitstand bench {run,compare,plot,profile} [OPTIONS]", "", "commands:"]
    lines += [f"  {name:<8}  {text}" for name, (_, text) in SUBCOMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f"leitstand bench: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # One line per HTTP request is noise next to a progress bar.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    module = importlib.import_module(SUBCOMMANDS[name][0])
    code: int = module.main(rest)
    return code
