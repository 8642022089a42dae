"""Entry point of the load generator process: ``python -m leitstand.bench.generator``.

gevent patches the standard library before anything else is imported, which is
why the Locust-side code lives in :mod:`leitstand.bench.loadgen` and is imported
only here, after the patch.
"""

import sys


def main(argv: list[str]) -> int:
    from gevent import monkey

    monkey.patch_all()

    from leitstand.bench import loadgen

    return loadgen.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
