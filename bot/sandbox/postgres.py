"""A throw-away PostgreSQL server on 127.0.0.1 for tests and benchmarks, from Debian's packages.

Installs `postgresql` with apt-get when no server binaries are found, makes a cluster in a temporary folder (as the
`postgres` user when we are root: initdb refuses root), starts it on a free port and stops it by PID. The Debian
package may start its own cluster on 5432; ours never touches it. Durability is off: the data is thrown away.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

APT_PACKAGE = "postgresql"
SUPERUSER = "postgres"


class PostgresError(RuntimeError):
    pass


def server_binaries(*, install: bool = True) -> Path:
    """The folder with initdb and postgres (the newest version installed), installing the package if asked."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parent.parent.name))
    if not found and install:
        _apt_install(APT_PACKAGE)
        return server_binaries(install=False)
    if not found:
        raise PostgresError("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin")
    return Path(found[-1]).parent


def _apt_install(package: str) -> None:
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", package], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_server(process: subprocess.Popen | None, folder: Path | None, *, stop: signal.Signals, grace: float,
                group: bool = False) -> None:
    """A throw-away server (this PostgreSQL, bot.sandbox.redis) asked to stop, killed after `grace` seconds, and
    its folder removed."""
    send = os.killpg if group else os.kill
    if process is not None and process.poll() is None:
        send(process.pid, stop)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            send(process.pid, signal.SIGKILL)
            process.wait()
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


class PostgresServer:
    """One cluster; `url(db)` names a database in it for SQLAlchemy (asyncpg)."""

    def __init__(self) -> None:
        self.port = 0
        self.pid: int | None = None
        self._dir: Path | None = None
        self._process: subprocess.Popen | None = None
        self._bin: Path | None = None

    def start(self, timeout: float = 60.0) -> PostgresServer:
        self._bin = server_binaries()
        self._dir = Path(tempfile.mkdtemp(prefix="paybot-pg-"))
        self._dir.chmod(0o755)
        data, sockets = self._dir / "data", self._dir / "sockets"
        for folder in (data, sockets):
            folder.mkdir()
        as_user = self._as_superuser()
        if as_user:
            shutil.chown(self._dir, SUPERUSER)
            for folder in (data, sockets):
                shutil.chown(folder, SUPERUSER)
        subprocess.run([*as_user, str(self._bin / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust",
                        "-E", "UTF8", "--locale=C", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.port = free_port()
        log = open(self._dir / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
        self._process = subprocess.Popen(
            [*as_user, str(self._bin / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(sockets),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=300"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.pid = self._process.pid
        self._wait_ready(timeout)
        return self

    def _as_superuser(self) -> list[str]:
        return ["runuser", "-u", SUPERUSER, "--"] if os.geteuid() == 0 else []

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise PostgresError(f"PostgreSQL exited at start: {self.log_tail()}")
            ready = subprocess.run([str(self._bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port),
                                    "-U", SUPERUSER, "-t", "1"], stdout=subprocess.DEVNULL)
            if ready.returncode == 0:
                return
            time.sleep(0.1)  # waiting for another process, not synchronising our own code
        raise PostgresError(f"PostgreSQL not ready after {timeout} s: {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        path = self._dir / "server.log" if self._dir else None
        if not path or not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = subprocess.run([str(self._bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER,
                               "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                              check=True, capture_output=True, text=True)
        return done.stdout

    def dump(self, database: str) -> str:
        """The whole database as SQL text (the card-data audit scans it)."""
        done = subprocess.run([str(self._bin / "pg_dump"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER,
                               "--data-only", database], check=True, capture_output=True, text=True)
        return done.stdout

    def stop(self) -> None:
        stop_server(self._process, self._dir, stop=signal.SIGINT, grace=30, group=True)  # SIGINT: fast shutdown
        self._process, self.pid, self._dir = None, None, None
