"""An SMTP catcher: stores every message it receives as a file, for reading.

Run as ``python -m leitstand.stack.smtp --port 1025 --maildir DIR``. Each
message becomes ``DIR/<time>-<n>.eml``; nothing is relayed anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

logger = logging.getLogger("leitstand.smtp")


class MaildirHandler:
    """aiosmtpd handler that writes each message to its own file."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self._counter = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.maildir / f"{stamp}-{next(self._counter):04d}.eml"
        content = envelope.original_content or envelope.content
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        logger.info(
            "caught mail from %s to %s: %s",
            envelope.mail_from,
            ", ".join(envelope.rcpt_tos),
            path.name,
        )
        return "250 Message accepted"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leitstand.stack.smtp")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=1025, help="SMTP port")
    parser.add_argument("--maildir", type=Path, required=True, help="folder for caught mail")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    args.maildir.mkdir(parents=True, exist_ok=True)
    controller = Controller(MaildirHandler(args.maildir), hostname=args.host, port=args.port)
    controller.start()
    logger.info("SMTP catcher listening on %s:%d, mail in %s", args.host, args.port, args.maildir)

    async def wait_for_signal() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()

    asyncio.run(wait_for_signal())
    controller.stop()
    logger.info("SMTP catcher stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
