"""One app instance: the database prepared, the app built, and the workers supervised.

Everything here runs in the supervisor before the first fork, so the workers
share the imported code and the built app. Seeding happens once, in a child
process that a stop signal kills before it commits.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import signal
import socket
import sys

import uvicorn
from sqlalchemy.engine import make_url
from uvicorn.importer import ImportFromStringError, import_from_string

from app.db.setup import prepare_database
from app.metrics.multiprocess import mark_worker_dead
from app.server.options import ServeOptions
from app.server.rundir import RunFolder
from app.server.stopping import StopRequested, raise_if_stop_requested
from app.server.supervisor import Supervisor
from app.server.worker import run_worker
from app.settings import Settings
from app.shared_state import SharedState

logger = logging.getLogger("leitstand.server")


def run_instance(
    options: ServeOptions, listener: socket.socket, run_folder: RunFolder, workers: int
) -> int:
    """Prepare the database, build the app and supervise ``workers`` workers; return the status."""
    settings = Settings()
    database = make_url(settings.database_url).render_as_string(hide_password=True)

    # The factory is imported first: a wrong --app must not wait for seeding.
    try:
        factory = import_from_string(options.app)
    except ImportFromStringError as exc:
        logger.error("Invalid --app %s: %s", options.app, exc)
        return 2
    except Exception:
        logger.exception("Importing the app factory %s failed", options.app)
        return 1
    if not callable(factory):
        logger.error("Invalid --app %s: it names no function that returns an app", options.app)
        return 2

    status = _prepare_database_in_child(settings)
    if status != 0:
        logger.error("Preparing the database %s failed; check --database", database)
        return 1

    try:
        app = factory()
    except Exception:
        logger.exception("Building the app with %s failed", options.app)
        return 1

    port = listener.getsockname()[1]
    config = uvicorn.Config(
        app,
        host=options.host,
        port=port,
        loop=options.loop,
        lifespan="on",
        log_config=None,
        access_log=options.access_log,
        timeout_graceful_shutdown=math.ceil(options.graceful_timeout),
    )
    # Imports the HTTP parser and the event loop here, once for all workers.
    config.load()
    config.get_loop_factory()
    scheme_host = f"[{options.host}]" if ":" in options.host else options.host
    logger.info(
        "Serving %s on http://%s:%d; workers: %d; event loop: %s; HTTP: %s; database: %s",
        options.app,
        scheme_host,
        port,
        workers,
        _loop_name(options.loop),
        config.http_protocol_class.__name__,
        database,
    )

    # Metrics created while importing and building the app wrote files under
    # the supervisor's pid. The supervisor serves no requests, so those files
    # would only add a zero series to every per-process gauge.
    mark_worker_dead(run_folder.metrics_path, os.getpid())

    state = SharedState(run_folder.state_path)
    supervisor = Supervisor(
        functools.partial(
            run_worker,
            config,
            listener,
            settings.debug_pid_header,
            run_folder.heartbeat_path if options.worker_timeout > 0 else None,
        ),
        state,
        target=workers,
        minimum=settings.workers_min,
        maximum=settings.workers_max,
        graceful_timeout=options.graceful_timeout,
        on_worker_exit=[functools.partial(mark_worker_dead, run_folder.metrics_path)],
        heartbeat_folder=run_folder.heartbeat_path,
        worker_timeout=options.worker_timeout,
    )
    try:
        raise_if_stop_requested()
        return supervisor.run()
    finally:
        state.close()


def _prepare_database_in_child(settings: Settings) -> int:
    """Create the schema and seed in a child process; return its exit status.

    A stop signal kills the child: its open transaction is never committed,
    so the database keeps what it had, and the supervisor exits at once
    instead of waiting for the seed to finish.
    """
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            # A terminal sends Ctrl-C to the whole group; the parent decides what stops.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            prepare_database(settings)
            status = 0
        except Exception:
            logger.exception("Preparing the database failed")
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)

    try:
        raise_if_stop_requested()
        _, wait_status = os.waitpid(pid, 0)
    except StopRequested:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        logger.info("Stopped preparing the database; its transaction was not committed")
        raise
    return os.waitstatus_to_exitcode(wait_status)


def _loop_name(loop: str) -> str:
    if loop != "auto":
        return loop
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"
