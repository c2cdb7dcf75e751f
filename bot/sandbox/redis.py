"""A throw-away redis-server on 127.0.0.1 for tests and benchmarks, from Debian's packages.

Installs `redis-server` with apt-get when the binary is not found, starts it on a free port in a temporary folder
with persistence off (the data is thrown away) and stops it by PID. The Debian package may start its own server on
6379; ours never touches it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from bot.sandbox.postgres import _apt_install, free_port, stop_server

APT_PACKAGE = "redis-server"


class RedisError(RuntimeError):
    pass


def server_binary(*, install: bool = True) -> str:
    """The redis-server executable, installing the package if asked."""
    found = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.access(p, os.X_OK)), None)
    if not found and install:
        _apt_install(APT_PACKAGE)
        return server_binary(install=False)
    if not found:
        raise RedisError("redis-server not found")
    return found


class RedisServer:
    """One server; `url` points at its database 0."""

    def __init__(self) -> None:
        self.port = 0
        self.pid: int | None = None
        self.url = ""
        self._dir: Path | None = None
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> str:
        binary = server_binary()
        self._dir = Path(tempfile.mkdtemp(prefix="paybot-redis-"))
        self.port = free_port()
        log = open(self._dir / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
        self._process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self._dir),
             "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes",
             "--logfile", ""],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.pid = self._process.pid
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._wait_ready(timeout)
        return self.url

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RedisError(f"redis-server exited at start: {self.log_tail()}")
            if self._ping():
                return
            time.sleep(0.05)  # waiting for another process, not synchronising our own code
        raise RedisError(f"redis-server not ready after {timeout} s: {self.log_tail()}")

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def log_tail(self, lines: int = 20) -> str:
        path = self._dir / "server.log" if self._dir else None
        if not path or not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        stop_server(self._process, self._dir, stop=signal.SIGTERM, grace=10)
        self._process, self.pid, self._dir = None, None, None
