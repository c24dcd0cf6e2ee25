"""``crossplan serve``: serve forecasts and plans over HTTP (``bentoml serve`` underneath).

The server runs in a process group of its own, and this command owns its life: SIGTERM or
SIGINT is passed on to it (BentoML lets in-flight requests finish), and whatever of the group
is still running after :data:`GRACE_SECONDS` is killed, so no worker or solver outlives the
command. If the command itself is killed (``kill -9``), the kernel sends the server SIGTERM
(``PR_SET_PDEATHSIG``), and a restart binds the port at once (``SO_REUSEADDR``, as the server
itself binds).

The server starts as soon as the port is free; the database and the data directory are
checked while it boots (the server's own start takes seconds longer), and a problem stops
it, with exit status 2 and what to do.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import FrameType

from pipelines.errors import ConfigurationError
from pipelines.home import crossplan_home
from serving.commands import COMMANDS
from serving.settings import Settings

__all__ = ["GRACE_SECONDS", "register", "server_command", "server_env", "start_server"]

SERVICE = "serving.service:CrossplanService"
# How long in-flight requests may take to finish after SIGTERM, before the rest is killed.
GRACE_SECONDS = 30.0
_PR_SET_PDEATHSIG = 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help=COMMANDS["serve"],
        description=(
            "Start the planning service: the map page for planners, analysts and reporters "
            "at /, the API manual at /docs. It forecasts from the shared database's current "
            "panel with the MLflow champion (a new database first imports --data), and answers "
            "with keys from `crossplan keys add`."
        ),
    )
    p.add_argument(
        "--data",
        type=Path,
        help="data directory imported when the database holds no panel yet "
        "(default: $CROSSPLAN_HOME/world, the demo world)",
    )
    p.add_argument("--port", type=int, default=3000)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    p.add_argument(
        "--tile-url",
        help="basemap tiles for the map page, e.g. https://tiles.example/{z}/{x}/{y}.png "
        "(default: $CROSSPLAN_TILE_URL; none: the regions alone, as on a closed network)",
    )
    p.set_defaults(run=_run)


def server_env(data_dir: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the server process.

    BentoML keeps its model store (the champion's local copy) under ``$CROSSPLAN_HOME``, sends
    no usage data, and MLflow gives up quickly when its server is down, so that the service
    starts degraded instead of waiting.
    """
    env = dict(os.environ if base is None else base)
    home = Path(env.get("CROSSPLAN_HOME") or crossplan_home()).resolve()
    env["CROSSPLAN_HOME"] = str(home)
    env["CROSSPLAN_DATA"] = str(data_dir.resolve())
    env.setdefault("BENTOML_HOME", str(home / "bentoml"))
    env.setdefault("BENTOML_DO_NOT_TRACK", "true")
    env.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    env.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    return env


def server_command(port: int, host: str = "127.0.0.1") -> list[str]:
    """The ``bentoml serve`` command line of the service."""
    root = Path(__file__).resolve().parents[2]
    return [
        sys.executable, "-m", "bentoml", "serve", SERVICE,
        "--host", host, "--port", str(port), "--working-dir", str(root),
    ]  # fmt: skip


def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    data_dir: Path = args.data or settings.data_dir
    _check_port(args.host, args.port)
    env = server_env(data_dir)
    if args.tile_url:
        env["CROSSPLAN_TILE_URL"] = args.tile_url
    proc = start_server(server_command(args.port, args.host), env)
    stopping = False

    def stop(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            where = _check_store(settings.database_url, data_dir, given=args.data is not None)
        except BaseException:
            _kill_group(proc.pid)
            proc.wait()
            raise
        if not stopping and proc.poll() is None:  # not stopped, nor ended, while checking
            print(
                f"crossplan: serving {where} on http://{args.host}:{args.port}/ (the map "
                "page; the API manual at /docs)",
                file=sys.stderr,
            )
        code = proc.wait()
        if not stopping:
            _kill_group(proc.pid)  # the server ended by itself: nothing of it stays
            return code
        try:
            proc.wait(timeout=GRACE_SECONDS)
        finally:
            _kill_group(proc.pid)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _check_store(url: str, data_dir: Path, *, given: bool) -> str:
    """Check what the server will serve; where the database is (for people to read).

    Raises
    ------
    ConfigurationError
        The database is down, or it holds no panel and there is no data directory.
    DataValidationError
        It holds no panel and the data directory breaks the data contract.
    """
    # Imported here, while the server boots: they take a second and a half.
    from pipelines.contract import load_dataset
    from pipelines.database import Database, latest_submission
    from serving.auth import KeyStore

    db = Database.connect(url)
    try:
        if latest_submission(db) == 0:
            if not given and not data_dir.exists():
                raise ConfigurationError(
                    f"the database {db.describe()} holds no panel and there is no data "
                    f"directory at {data_dir} — fix: `make demo`, `crossplan import --data "
                    "DIR`, or give --data DIR"
                )
            load_dataset(data_dir)  # every problem of the data, before it is imported
        if not KeyStore(db).read().keys:
            print(
                f"no API keys in {db.describe()} yet: every request will get 401 until you run "
                "`crossplan keys add NAME --role planner`",
                file=sys.stderr,
            )
        return db.describe()
    finally:
        db.dispose()


def start_server(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start the server in a process group of its own, which gets SIGTERM if we die."""

    def die_with_parent() -> None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return subprocess.Popen(command, env=env, start_new_session=True, preexec_fn=die_with_parent)


def _kill_group(pgid: int) -> None:
    """SIGKILL whatever is left of the server's process group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _check_port(host: str, port: int) -> None:
    if not 0 < port < 65536:
        raise ConfigurationError(f"--port {port} is not a TCP port — fix: use 1-65535")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the server binds: a port left in TIME_WAIT by a killed server is free to use.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as err:
            raise ConfigurationError(
                f"cannot listen on {host}:{port} ({err.strerror}) — fix: stop what uses it or "
                "choose another --port"
            ) from None
