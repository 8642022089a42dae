"""A one-line progress bar on the terminal while a run is going."""

from __future__ import annotations

import sys
from typing import IO, Any

_WIDTH = 30


class ProgressBar:
    """Draw progress messages from the generator; silent when the stream is not a terminal."""

    def __init__(self, stream: IO[str] | None = None, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._drawn = False

    def __call__(self, message: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if message.get("phase") == "done":
            self.close()
            return
        self.stream.write("\r" + self.render(message))
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    @staticmethod
    def render(message: dict[str, Any]) -> str:
        """Return the bar for one progress message."""
        phase = message.get("phase", "")
        requests = int(message.get("requests") or 0)
        target = message.get("target_requests")
        window = message.get("window_s")
        if target:
            share = requests / target
        elif window:
            share = float(message.get("elapsed_s") or 0.0) / window
        else:
            share = 0.0
        if phase != "measure":
            share = 1.0 if phase == "drain" else 0.0
        filled = int(_WIDTH * min(max(share, 0.0), 1.0))
        bar = "#" * filled + "-" * (_WIDTH - filled)
        return (
            f"[{bar}] {phase:<7} {requests:>9,} requests  {message.get('rate', 0):>9,.1f}/s  "
            f"{int(message.get('users') or 0):>5} users"
        )
