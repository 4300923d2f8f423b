"""Connecting to the lease database, and bringing its schema up to date with Alembic.

SQLite connections are made durable and concurrent here: WAL journal (readers do not block the writer),
`synchronous=FULL` (a committed lease survives a power loss), a busy timeout (a second writer waits instead of
failing with "database is locked"), and a small page cache (a bulk import raises its own).
The Alembic environment is configured in code (no alembic.ini on disk); its scripts are the `migrations/`
folder at the root of the source tree, found from this file's path (the package is installed editable).
Alembic is imported only where a migration runs: the server upgrades its database in a short-lived child
process (`upgrade_schema_in_child`), so Alembic's modules (11 MiB resident) never load into the server.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, make_url

if TYPE_CHECKING:
    from alembic.config import Config

DEFAULT_DB_URL = "sqlite:////var/lib/pydhcpd/leases.sqlite"
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Page cache per connection. The server reads every lease once, at start, and then writes one row at a time;
# a larger cache only kept the whole table resident (10 MiB more at 100,000 leases). Imports raise it.
SQLITE_CACHE_KIB = 2_048
SQLITE_IMPORT_CACHE_KIB = 65_536
CONNECT_TIMEOUT_SECONDS = 5  # a server database that does not answer fails one batch, not the whole loop


# What a committed (and so acknowledged) lease survives. "power-loss": the commit waits until the data is on
# disk (SQLite synchronous=FULL; PostgreSQL's synchronous_commit as configured, on by default). "crash": the
# commit waits until the data is in the operating system (SQLite WAL with synchronous=NORMAL; PostgreSQL
# synchronous_commit=off): it survives the server process being killed, not an OS crash or a power cut.
DURABILITY_LEVELS = ("power-loss", "crash")
_SQLITE_SYNCHRONOUS = {"power-loss": "FULL", "crash": "NORMAL"}


def _sqlite_pragmas(durability: str):
    def set_pragmas(dbapi_connection, _connection_record) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={_SQLITE_SYNCHRONOUS[durability]}")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        finally:
            cursor.close()

    return set_pragmas


def create_db_engine(url: str, durability: str = "power-loss") -> Engine:
    """An engine for `url` committing with `durability` (see DURABILITY_LEVELS); for an SQLite file, its
    folder is created and the pragmas are set on every connection."""
    if durability not in DURABILITY_LEVELS:
        raise ValueError(f"durability must be one of {', '.join(DURABILITY_LEVELS)}, not {durability!r}")
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        connect_args: dict = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        if durability == "crash":
            connect_args["options"] = "-c synchronous_commit=off"
        # pre-ping: after the database restarted, the next batch gets a fresh connection instead of a dead one
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas(durability))
    return engine


def alembic_config(url: str) -> Config:
    """An Alembic configuration for `url` built in memory, pointing at the `migrations/` scripts."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_engine(engine: Engine) -> None:
    """Run `alembic upgrade head` on the database behind `engine`."""
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def upgrade_schema(url: str) -> None:
    """Run `alembic upgrade head` on the database at `url`; the server calls this on start."""
    engine = create_db_engine(url)
    try:
        upgrade_engine(engine)
    finally:
        engine.dispose()


class SchemaUpgradeFailed(Exception):
    """The child process that upgrades the lease database's schema failed (it printed why)."""


def upgrade_schema_in_child(url: str) -> None:
    """`upgrade_schema(url)` in a forked child process; raises SchemaUpgradeFailed if it fails. Call it before
    this process opens the database or starts a thread."""
    child = os.fork()
    if child == 0:
        status = 1
        try:
            upgrade_schema(url)
            status = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)
    _, wait_status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(wait_status)
    if code != 0:
        raise SchemaUpgradeFailed(f"upgrading the lease database schema failed (exit status {code})")
