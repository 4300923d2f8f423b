"""Alembic environment of the lease database.

Run through `dhcpd.leases.database` (no alembic.ini): the caller either hands over an open connection in
`config.attributes["connection"]`, or sets `sqlalchemy.url` and the environment connects itself.
SQLite tables are altered in batch mode (copy and move), the only way SQLite can change a column.
"""

from alembic import context

from dhcpd.leases.database import create_db_engine
from dhcpd.leases.models import Base


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = create_db_engine(context.config.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as own_connection:
            run_migrations(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("the lease database migrations run online only: give a database URL")
run_online()
