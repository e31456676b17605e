"""A throwaway PostgreSQL server for the tests: `initdb` into a temp dir, listen on a unix socket.

`postgres_url` (session scope) starts one server per test process, so each pytest-xdist
worker gets its own data directory and socket and nothing is shared. PostgreSQL refuses
to run as root, so under root the server runs as the `postgres` OS user (the Debian
package creates it). When no server can be started, the test fails with the reason:
CI must really test PostgreSQL. Set SEISMO_SKIP_POSTGRES=1 to skip instead.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SKIP_ENV = "SEISMO_SKIP_POSTGRES"
DB_USER = "seismo"


def _bindir() -> str:
    """Newest PostgreSQL server binaries: $SEISMO_PG_BINDIR, the Debian layout, or PATH."""
    if os.environ.get("SEISMO_PG_BINDIR"):
        return os.environ["SEISMO_PG_BINDIR"]
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(initdb)
    raise RuntimeError("no PostgreSQL server binaries (initdb) found; install them with "
                       "`apt-get install postgresql` (.ci/run does) or set SEISMO_PG_BINDIR")


class PostgresServer:
    """One server process; `url()` opens a fresh, empty database on it."""

    def __init__(self) -> None:
        self.bindir = _bindir()
        self.owner = None
        if os.geteuid() == 0:
            try:
                self.owner = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root, and PostgreSQL refuses root, but there is no "
                                   "`postgres` OS user to run it as (apt-get install postgresql creates it)") from None
        # Under /tmp, not $TMPDIR: the socket path must stay under ~100 bytes, and the
        # postgres user must be able to reach it (a root-only $TMPDIR would not do).
        self.root = tempfile.mkdtemp(prefix="seismo-pg-", dir="/tmp" if os.path.isdir("/tmp") else None)
        self.data = os.path.join(self.root, "data")
        self.log = os.path.join(self.root, "server.log")
        if self.owner is not None:
            os.chown(self.root, self.owner.pw_uid, self.owner.pw_gid)
        self.started = False

    def _as_owner(self) -> dict:
        return {"user": self.owner.pw_uid, "group": self.owner.pw_gid, "extra_groups": []} if self.owner else {}

    def _run(self, *args: str, timeout: float = 120) -> None:
        done = subprocess.run([os.path.join(self.bindir, args[0]), *args[1:]], capture_output=True, text=True,
                              timeout=timeout, cwd=self.root, check=False, **self._as_owner())
        if done.returncode != 0:
            log = Path(self.log).read_text()[-2000:] if os.path.exists(self.log) else ""
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}\n{log}")

    def start(self) -> None:
        self._run("initdb", "-D", self.data, "-U", DB_USER, "--auth=trust", "-E", "UTF8", "--no-sync")
        # No TCP (listen_addresses=''), so parallel workers never race for a port; no fsync,
        # since the data is thrown away (the tests kill clients, never the server).
        options = f"-c listen_addresses='' -k {self.root} -c fsync=off -c full_page_writes=off -c max_connections=50"
        self._run("pg_ctl", "start", "-D", self.data, "-l", self.log, "-w", "-t", "90", "-o", options)
        self.started = True
        # A test run killed by a timeout never reaches the fixture's teardown: a watchdog
        # process stops the server once this process is gone.
        owner = self.owner.pw_name if self.owner else ""
        subprocess.Popen([sys.executable, __file__, "--watch", str(os.getpid()), self.bindir, self.data, self.root,
                          owner], start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        try:
            if self.started:
                self._run("pg_ctl", "stop", "-D", self.data, "-m", "immediate", "-w", "-t", "30")
        finally:
            self.started = False
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{DB_USER}@/{database}?host={self.root}"

    def create_database(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host=self.root, user=DB_USER, dbname="postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A running PostgreSQL server for this test process (one per xdist worker)."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: PostgreSQL tests skipped")
    try:
        server = PostgresServer()
    except RuntimeError as exc:
        pytest.fail(f"cannot start PostgreSQL: {exc}", pytrace=False)
    try:
        server.start()
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
        server.stop()
        pytest.fail(f"cannot start PostgreSQL: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """SQLAlchemy URL of the server's default database (shared by the whole session)."""
    return postgres_server.url()


def _watch(parent: int, bindir: str, data: str, root: str, owner: str) -> None:
    """Wait for the test process `parent` to end, then stop its server and delete its files."""
    while True:
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            break
        time.sleep(2)
    if os.path.exists(os.path.join(data, "postmaster.pid")):
        as_owner = {"user": owner, "group": pwd.getpwnam(owner).pw_gid, "extra_groups": []} if owner else {}
        subprocess.run([os.path.join(bindir, "pg_ctl"), "stop", "-D", data, "-m", "immediate"],
                       capture_output=True, cwd=root, check=False, **as_owner)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__" and sys.argv[1:2] == ["--watch"]:
    _watch(int(sys.argv[2]), *sys.argv[3:7])
