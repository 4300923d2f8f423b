"""Connecting to the lease database, and bringing its schema up to date with Alembic.

SQLite connections are made durable and concurrent here: WAL journal (readers do not block the writer),
`synchronous=FULL` (a committed lease survives a power loss), a busy timeout (a second writer waits instead of
failing with "database is locked"), and a page cache large enough for the indexes of a big import.
The Alembic environment is configured in code (no alembic.ini on disk); its scripts are the `migrations/`
folder at the root of the source tree, found from this file's path (the package is installed editable).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url

DEFAULT_DB_URL = "sqlite:////var/lib/pydhcpd/leases.sqlite"
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_CACHE_KIB = 65_536   # page cache per connection; index updates of large imports stay in memory
CONNECT_TIMEOUT_SECONDS = 5  # a server database that does not answer fails one batch, not the whole loop


def _set_sqlite_pragmas(dbapi_connection, _connection_record) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    finally:
        cursor.close()


def create_db_engine(url: str) -> Engine:
    """An engine for `url`; for an SQLite file, its folder is created and the durability pragmas are set."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # pre-ping: after the database restarted, the next batch gets a fresh connection instead of a dead one
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def alembic_config(url: str) -> Config:
    """An Alembic configuration for `url` built in memory, pointing at the `migrations/` scripts."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_engine(engine: Engine) -> None:
    """Run `alembic upgrade head` on the database behind `engine`."""
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
