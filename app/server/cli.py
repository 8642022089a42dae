"""``leitstand serve``: check the flags, bind the port, then hand over to the supervisor."""

from __future__ import annotations

import importlib.util
import logging
import os
import sys

from pydantic import ValidationError

from app.server.listener import PortInUseError, bind_listener
from app.server.logs import configure_logging
from app.server.options import ServeOptions, check_database_url, parse_options, resolve_workers
from app.server.rundir import RunFolder
from app.server.stopping import StopRequested, stop_signals_raise
from app.settings import Settings

logger = logging.getLogger("leitstand.server")


def main(argv: list[str]) -> int:
    options = parse_options(argv)
    configure_logging(options.log_level, options.access_log)
    with stop_signals_raise():
        try:
            return _start(options)
        except StopRequested as stop:
            logger.info("Received %s while starting; stopped before serving", stop.signal_name)
            return 0


def _start(options: ServeOptions) -> int:
    os.environ.update(options.environment)

    try:
        settings = Settings()
    except ValidationError as exc:
        logger.error("Invalid settings: %s", _one_line(exc))
        return 2
    try:
        check_database_url(settings.database_url)
    except ValueError as exc:
        logger.error("%s", exc)
        return 2
    try:
        workers = resolve_workers(
            options.workers, settings.workers, settings.workers_min, settings.workers_max
        )
    except ValueError as exc:
        logger.error("%s", exc)
        return 2
    if options.loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
        logger.error("--loop uvloop: uvloop is not installed; install it or pass --loop asyncio")
        return 2

    # Bound before anything slow, so a taken port fails at once and only once.
    try:
        listener = bind_listener(options.host, options.port, options.auto_port)
    except PortInUseError as exc:
        logger.error("%s", exc)
        return 2
    except OSError as exc:
        logger.error(
            "Cannot listen on %s port %d: %s; check --host", options.host, options.port, exc
        )
        return 2

    run_folder = RunFolder.create()
    try:
        # prometheus_client picks its value class when it is first imported:
        # the multiprocess directory must be in the environment before that.
        os.environ.update(run_folder.environment())
        logger.info("Shared state and metric files of this instance are in %s", run_folder.path)
        if "prometheus_client" in sys.modules:
            raise RuntimeError("prometheus_client was imported before its multiprocess directory")
        from app.server.instance import run_instance

        return run_instance(options, listener, run_folder, workers)
    finally:
        listener.close()
        run_folder.remove()


def _one_line(error: ValidationError) -> str:
    return "; ".join(
        f"LEITSTAND_{'_'.join(str(part) for part in item['loc']).upper()}: {item['msg']}"
        for item in error.errors()
    )
