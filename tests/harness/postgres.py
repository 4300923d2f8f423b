"""A throwaway PostgreSQL cluster for tests, from Debian's postgresql package.

`throwaway_cluster()` runs initdb in a new temporary folder owned by the postgres user (the server refuses
to run as root), starts the postmaster itself as a child process of the test (so it is stopped by its own
pid), listening on a unix socket in that folder only (`-h ''`: no TCP port, nothing to collide with), and
removes everything afterwards. The socket is a file, so servers inside test network namespaces reach it too.
`stop()` and `start()` restart the same cluster, for tests of a database that goes away under load.
"""

from __future__ import annotations

import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.harness.waiting import poll

POSTGRES_USER = "postgres"
PORT = 5432                 # only names the socket file (.s.PGSQL.5432) in the cluster's own folder
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


class PostgresFailed(Exception):
    """initdb or the server failed; the message carries the server log."""


def postgres_bin() -> Path:
    """The bin folder of the newest PostgreSQL installed under /usr/lib/postgresql."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda path: int(path.parts[-3]))
    if not versions:
        raise PostgresFailed("no PostgreSQL server under /usr/lib/postgresql: run scripts/setup")
    return versions[-1].parent


class PostgresCluster:
    """One initialised data folder and, while running, its postmaster process."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.socket_dir = root / "socket"
        self.log_path = root / "postgres.log"
        self.process: subprocess.Popen | None = None

    def initialise(self) -> None:
        account = pwd.getpwnam(POSTGRES_USER)
        self.socket_dir.mkdir()
        for path in (self.root, self.socket_dir):
            shutil.chown(path, account.pw_uid, account.pw_gid)
        self._as_postgres([str(postgres_bin() / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                           POSTGRES_USER, "--no-sync"])

    def start(self) -> None:
        """Start the postmaster and wait until it accepts connections."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(postgres_bin() / "postgres"), "-D", str(self.data), "-k", str(self.socket_dir), "-h", "",
                 "-p", str(PORT)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, user=POSTGRES_USER,
                group=POSTGRES_USER, extra_groups=[], cwd=self.root,
            )
        if not poll(self._ready_or_exited, START_TIMEOUT):
            self.stop()
            raise PostgresFailed(f"PostgreSQL did not start:\n{self.log()}")

    def stop(self) -> None:
        """Fast shutdown (SIGINT to the postmaster's pid): sessions are cut, committed data stays."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def url(self, database: str = POSTGRES_USER) -> str:
        """A SQLAlchemy URL (psycopg 3) for `database` over the unix socket."""
        return f"postgresql+psycopg://{POSTGRES_USER}@/{database}?host={self.socket_dir}&port={PORT}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        with psycopg.connect(**self._connect_args(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _ready_or_exited(self) -> bool | None:
        """True once it accepts connections, False if it exited, None while starting."""
        if self._accepts():
            return True
        return False if self.process.poll() is not None else None

    def _accepts(self) -> bool:
        try:
            with psycopg.connect(**self._connect_args(), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def _connect_args(self) -> dict:
        return {"host": str(self.socket_dir), "port": PORT, "user": POSTGRES_USER, "dbname": POSTGRES_USER}

    def _as_postgres(self, argv: list[str]) -> None:
        completed = subprocess.run(argv, capture_output=True, text=True, user=POSTGRES_USER, group=POSTGRES_USER,
                                   extra_groups=[], cwd=self.root, timeout=120)
        if completed.returncode != 0:
            raise PostgresFailed(f"{' '.join(argv)} exited {completed.returncode}:\n{completed.stdout}{completed.stderr}")


@contextmanager
def throwaway_cluster() -> Iterator[PostgresCluster]:
    """A running cluster in a new temporary folder; stopped by pid and deleted on exit, also on failure."""
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="tpg-")))
    try:
        cluster.initialise()
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)
