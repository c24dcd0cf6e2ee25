"""``crossplan serve``: serve forecasts and plans over HTTP (``bentoml serve`` underneath).

A replica is this command and the processes below it: BentoML's server, which puts each
worker in a session of its own, and what a worker starts (the planning forkserver and its
plans). The command owns their life, whatever session or group they are in; it remembers
each process of the server's tree as it appears, so a worker whose server died is still
found:

* SIGTERM or SIGINT is passed on to the server, which lets in-flight requests finish; what
  is still running after :data:`GRACE_SECONDS` is killed. On any other way out (the server
  ended, a check failed) every process of the replica is killed at once.
* If the command itself is killed (``kill -9``), nothing of it runs any more, so the server
  watches it: the server process runs ``bentoml serve`` with a watchdog thread
  (:func:`serve_while_parent_lives`) that kills every process below it, then itself, within
  :data:`WATCH_SECONDS` of its parent being gone. The kernel also sends the server SIGTERM
  then (``PR_SET_PDEATHSIG``), which stops BentoML from starting new workers.

A restart binds the port at once (``SO_REUSEADDR``, as the server itself binds).

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
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import psutil

from crossplan.pipelines.errors import ConfigurationError
from crossplan.pipelines.home import crossplan_home
from crossplan.serving.commands import COMMANDS
from crossplan.serving.settings import SERVICE_PORT, Settings

__all__ = [
    "GRACE_SECONDS",
    "WATCH_SECONDS",
    "register",
    "serve_while_parent_lives",
    "server_command",
    "server_env",
    "start_server",
]

SERVICE = "crossplan.serving.service:CrossplanService"
# How long in-flight requests may take to finish after SIGTERM, before the rest is killed.
GRACE_SECONDS = 30.0
# How often the server looks whether the process that started it is still there.
WATCH_SECONDS = 0.2
# How often the command looks for new processes of the server (each look reads /proc).
_LOOK_SECONDS = 2.0
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
    p.add_argument(
        "--port", type=int, default=SERVICE_PORT, help="port to listen on (default %(default)s)"
    )
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
    """The command line of the server: ``bentoml serve`` of the service, run by this module
    so that it ends, workers and all, when the process that started it is gone."""
    root = Path(__file__).resolve().parents[2]
    return [
        sys.executable, "-m", "crossplan.serving.commands.serve", "serve", SERVICE,
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
    tree = _Tree(proc.pid)
    stopping = False

    def stop(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        where = _check_store(settings.database_url, data_dir, given=args.data is not None)
        if not stopping and proc.poll() is None:  # not stopped, nor ended, while checking
            print(
                f"crossplan: serving {where} on http://{args.host}:{args.port}/ (the map "
                "page; the API manual at /docs)",
                file=sys.stderr,
            )
        while proc.poll() is None and not stopping:
            tree.alive()  # remembers the workers, should one outlive the server
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=_LOOK_SECONDS)
        if not stopping:
            return proc.wait()  # the server ended by itself (what is left is killed below)
        tree.wait(GRACE_SECONDS)  # in-flight requests may finish, in every worker
        return 0
    finally:
        # Whatever the way out (stopped, the server ended, a check failed): nothing stays.
        tree.kill()
        proc.wait()
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
    from crossplan.pipelines.contract import load_dataset
    from crossplan.pipelines.database import Database, latest_submission
    from crossplan.serving.auth import KeyStore

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
    parent = os.getpid()

    def die_with_parent() -> None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # we died before the line above: no signal will come
            os._exit(1)

    return subprocess.Popen(command, env=env, start_new_session=True, preexec_fn=die_with_parent)


def serve_while_parent_lives(argv: Sequence[str]) -> None:
    """Run ``bentoml serve ARGV`` in this process until the process that started it is gone.

    A watchdog thread looks every :data:`WATCH_SECONDS` whether this process's parent (the
    ``crossplan serve`` command, or a test) is still there; once it is not, every process
    below this one — BentoML's workers in their own sessions, their forkserver and plans —
    is killed, and this process exits. In-flight requests are not waited for: a parent
    that was killed wants its replica gone, and the port free.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_SECONDS)
        _Tree(os.getpid()).kill(root=False)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()
    from bentoml_cli.cli import cli

    cli(args=list(argv), prog_name="bentoml")


class _Tree:
    """A process and every process below it, remembered once seen: a worker whose server
    died is still part of it, whatever session or group it is in."""

    def __init__(self, pid: int) -> None:
        self._root = psutil.Process(pid)
        self._seen: set[psutil.Process] = set()

    def alive(self, *, root: bool = True) -> list[psutil.Process]:
        """The processes of the tree still running (looking for new ones below them)."""
        for process in [self._root, *self._seen]:
            with contextlib.suppress(psutil.Error):
                self._seen.update(process.children(recursive=True))
        members = [self._root, *self._seen] if root else list(self._seen)
        return [p for p in members if _running(p)]

    def kill(self, *, root: bool = True) -> None:
        """SIGKILL every process of the tree, until none is left (BentoML replaces a worker
        that dies, until it is stopped)."""
        for _ in range(10):
            alive = self.alive(root=root)
            if not alive:
                return
            for process in alive:
                with contextlib.suppress(psutil.Error):
                    process.kill()  # psutil checks that the pid is still the same process
            psutil.wait_procs(alive, timeout=5)

    def wait(self, seconds: float) -> None:
        """Wait up to ``seconds`` for every process of the tree to end."""
        deadline = time.monotonic() + seconds
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.1)


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _prctl(option: int, value: int) -> None:
    """``prctl(option, value)`` on Linux; nothing elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(option, value)


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


if __name__ == "__main__":  # the server process (server_command)
    serve_while_parent_lives(sys.argv[1:])
