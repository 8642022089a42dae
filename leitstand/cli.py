"""The ``leitstand`` console script.

Each subcommand lives in its own module, imported only when that subcommand
runs, so that no command pays for (or is patched by) another's dependencies.
Every module exposes ``main(argv: list[str]) -> int`` and parses its own flags.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

# subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("app.server.cli", "run the ERP app and its worker supervisor"),
    "exporter": ("exporters.cli", "run the psutil system and process exporter"),
    "optimizer": ("optimizer.cli", "run the Alertmanager webhook receiver and its actions"),
    "rules": ("leitstand.rules", "render the alert rules from the thresholds file"),
    "up": ("leitstand.stack.cli", "start the whole stack on this machine"),
    "demo": ("leitstand.demo.cli", "show the closed loop end to end"),
    "bench": ("leitstand.bench.cli", "load runs, comparisons, plots and profiles"),
}


def _usage() -> str:
    width = max(len(name) for name in SUBCOMMANDS)
    lines = ["usage: leitstand COMMAND [OPTIONS]", "", "commands:"]
    for name, (_, text) in SUBCOMMANDS.items():
        lines.append(f"  {name.ljust(width)}  {text}")
    lines += ["", "Run 'leitstand COMMAND --help' for the options of one command."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(_usage())
        return 0
    if args[0] == "--version":
        from importlib.metadata import version

        print(f"leitstand {version('leitstand')}")
        return 0

    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(f"leitstand: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2

    module = importlib.import_module(SUBCOMMANDS[name][0])
    command: Callable[[list[str]], int] = module.main
    return command(rest)


if __name__ == "__main__":
    sys.exit(main())
