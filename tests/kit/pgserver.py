"""A private PostgreSQL server for tests that stop and restart it (the shared test server must
never be restarted). Built the way .ci/run builds its server; skips where no initdb exists."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def _bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    initdb = found[-1] if found else shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


@dataclass
class PgServer:
    bindir: Path
    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        cmd = [str(self.bindir / "pg_ctl"), "-D", str(self.data), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._ctl("-o", f"-h 127.0.0.1 -p {self.port} -k {self.data}", "-l", str(self.data / "server.log"), "-w", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")


def private_pg() -> Iterator[PgServer]:
    """A fresh cluster in its own /tmp directory (the server's user must reach it), removed after."""
    bindir = _bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("no initdb in CI")
        pytest.skip("no PostgreSQL binaries (initdb) on this machine")
    data = Path(tempfile.mkdtemp(prefix="runner-test-pg."))
    init = [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
        init = ["runuser", "-u", "postgres", "--", *init]
    try:
        subprocess.run(init, check=True, capture_output=True, timeout=120)
        server = PgServer(bindir, data, _free_port())
        server.start()
        try:
            yield server
        finally:
            try:
                server.stop()
            except subprocess.CalledProcessError:
                pass
    finally:
        shutil.rmtree(data, ignore_errors=True)
