"""A real `redis-server` for the tests: on a free loopback port, in its own temporary directory.

The server keeps nothing on disk (`--save ''`, `--appendonly no`), so each test session starts
empty. It can be stopped and started again on the same port, which is how the outage tests take
Redis away from running workers and give it back. Each pytest-xdist worker starts its own.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

#: What to run when the binary is missing (Debian and Ubuntu; `.ci/run` does it in CI).
INSTALL_HINT = "apt-get install -y redis-server"


def redis_server_binary() -> str | None:
    """The path of `redis-server`, or `None` when it is not installed."""
    return shutil.which("redis-server")


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One `redis-server` process: `start()`, `stop()`, `start()` again on the same port."""

    def __init__(
        self,
        directory: Path,
        *,
        binary: str | None = None,
        port: int = 0,
        password: str | None = None,
    ) -> None:
        found = binary or redis_server_binary()
        if found is None:
            raise FileNotFoundError(f"redis-server is not installed: {INSTALL_HINT}")
        self.binary = found
        self.directory = directory
        self.port = port or free_port()
        #: What clients must AUTH with (`requirepass`), or None.
        self.password = password
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's `redis://` URL (with its password)."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs."""
        return self._process.pid if self.running and self._process is not None else None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it answers PING."""
        if self.running:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        options = {"requirepass": self.password} if self.password else {}
        options |= {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "save": "",
            "appendonly": "no",
            "dir": str(self.directory),
            "logfile": str(self.directory / "redis.log"),
        }
        self._process = subprocess.Popen(
            [
                self.binary,
                *(arg for name, value in options.items() for arg in (f"--{name}", value)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = self.directory / "redis.log"
                text = log.read_text(errors="replace") if log.exists() else ""
                raise RuntimeError(f"redis-server exited at start on port {self.port}: {text}")
            if self._answers_ping():
                return
            time.sleep(0.02)
        self.kill()
        raise TimeoutError(f"redis-server did not answer on port {self.port} in {timeout} s")

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                auth = b"AUTH %s\r\n" % self.password.encode() if self.password else b""
                sock.sendall(auth + b"PING\r\n")
                return b"+PONG" in sock.recv(32)
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL), keeping the port for `start()`."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """Kill the server at once."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()

    def flush(self) -> None:
        """Empty the database, the script cache and the command counters (`INFO
        commandstats`), so each test starts from nothing."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"FLUSHALL\r\nSCRIPT FLUSH\r\nCONFIG RESETSTAT\r\n")
            reply = b""
            while reply.count(b"\r\n") < 3:
                chunk = sock.recv(64)
                if not chunk:
                    break
                reply += chunk
        if reply != b"+OK\r\n" * 3:
            raise RuntimeError(f"FLUSHALL, SCRIPT FLUSH, CONFIG RESETSTAT answered {reply!r}")

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
