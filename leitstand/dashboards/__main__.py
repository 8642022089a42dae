"""``python -m leitstand.dashboards``: regenerate the Grafana dashboards, or check them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from leitstand.dashboards.render import (
    DASHBOARDS_DIR,
    render_dashboards,
    stale_dashboards,
    write_dashboards,
)
from leitstand.rules import DEFAULT_THRESHOLDS
from leitstand.thresholds import ThresholdsError, load_thresholds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m leitstand.dashboards",
        description="Write the Grafana dashboards as JSON, with colour thresholds taken from "
        "the alert thresholds file.",
    )
    parser.add_argument(
        "--thresholds",
        type=Path,
        default=DEFAULT_THRESHOLDS,
        help="alert thresholds file (default: prometheus/thresholds.yml)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DASHBOARDS_DIR,
        help="folder of the dashboard files (default: grafana/dashboards)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit with 1 when a file in --out is not current",
    )
    args = parser.parse_args(argv)

    try:
        thresholds = load_thresholds(args.thresholds)
    except ThresholdsError as error:
        print(error, file=sys.stderr)
        return 2
    texts = render_dashboards(thresholds)

    if args.check:
        stale = stale_dashboards(texts, args.out)
        for name in stale:
            print(
                f"{args.out / name} is not current; run python -m leitstand.dashboards",
                file=sys.stderr,
            )
        return 1 if stale else 0

    for path in write_dashboards(texts, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
