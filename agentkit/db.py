"""Each agent's own database, through SQLAlchemy Core.

``<AGENT>_DATABASE_URL`` picks it; the default is a SQLite file under ``var/``. The first start
creates the tables and loads the agent's seed data, exactly once even with several workers.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from .settings import KitSettings

SeedLoader = Callable[[Connection], None]

_seed_marker = sa.Table("agentkit_seed_marker", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))


def var_dir(settings: KitSettings | None = None) -> Path:
    path = (settings or KitSettings()).var_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(agent: str, settings: KitSettings | None = None) -> str:
    settings = settings or KitSettings()
    url = settings.database_url(agent) or f"sqlite:///{var_dir(settings) / (agent + '.db')}"
    # A plain postgresql:// URL means the psycopg 3 driver we ship, not psycopg2.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_on_connect(dbapi_connection, _record):
        # Take over transaction control from pysqlite so BEGIN is emitted when we say so.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_on_begin(connection):
        # Writers take the lock up front: two workers can then never deadlock upgrading a read.
        mode = connection.info.pop("begin_mode", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Database:
    """An agent's engine plus its schema and seed; ``read()`` and ``write()`` open transactions."""

    def __init__(self, agent: str, metadata: sa.MetaData, seed: SeedLoader | None = None, url: str | None = None):
        self.agent = agent
        self.metadata = metadata
        self.seed = seed
        self.url = url or database_url(agent)
        self.engine = _make_engine(self.url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.info["begin_mode"] = "IMMEDIATE"
            with conn.begin():
                yield conn

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except Exception:  # any failure means "not ready"; /ready reports it, it must not raise
            return False

    def initialise(self, attempts: int = 5) -> None:
        """Create the tables and seed them once; safe when several processes start together."""
        for attempt in range(attempts):
            try:
                self._create_and_seed()
                return
            except OperationalError:
                # Another process is creating the same tables; its work is ours after a moment.
                if attempt == attempts - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def add_tables(self, metadata: sa.MetaData) -> None:
        """Another module of the same agent brings tables of its own: they join this database's metadata (a
        table of the same name already there is kept) and are created as ``initialise`` creates the rest."""
        for table in metadata.sorted_tables:
            if table.name not in self.metadata.tables:
                table.to_metadata(self.metadata)
        self.initialise()

    def _create_and_seed(self) -> None:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:agent))"), {"agent": self.agent})
            _seed_marker.create(conn, checkfirst=True)
            self.metadata.create_all(conn)
            self._add_missing_columns(conn)
            if self.seed is None:
                return
            try:
                with conn.begin_nested():
                    conn.execute(_seed_marker.insert().values(id=1))
            except IntegrityError:
                return
            self.seed(conn)

    def _add_missing_columns(self, conn: Connection) -> None:
        """Additive schema changes migrate themselves: a column added to a table in code (nullable, or with a
        server default) is added to an existing database at start-up. Anything else needs a real migration."""
        inspector = sa.inspect(conn)
        for table in self.metadata.sorted_tables:
            existing = {column["name"]: column for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in existing:
                    self._widen(conn, table, column, existing[column.name]["type"])
                    continue
                if not (column.nullable or column.server_default is not None):
                    raise RuntimeError(
                        f"{self.agent}: column {table.name}.{column.name} is new, NOT NULL and has "
                        "no server default; migrate this database by hand"
                    )
                spec = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
                conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {spec}"))

    def _widen(self, conn: Connection, table: sa.Table, column: sa.Column, stored: Any) -> None:
        """A string column made wider in code (a shopper id grown from 24 to 64 characters) is widened in an
        existing PostgreSQL database, where the old width would refuse the longer values. Widening a VARCHAR
        keeps every value; SQLite does not enforce widths, so there is nothing to do there."""
        if conn.dialect.name != "postgresql" or not isinstance(column.type, sa.String):
            return
        wanted, had = column.type.length, getattr(stored, "length", None)
        if wanted is None or had is None or wanted <= had:
            return
        conn.execute(sa.text(f'ALTER TABLE {table.name} ALTER COLUMN "{column.name}" TYPE VARCHAR({int(wanted)})'))

    def reset(self) -> None:
        """Drop everything this agent owns; tests use it to start from the seed again."""
        with self.engine.begin() as conn:
            self.metadata.drop_all(conn)
            _seed_marker.drop(conn, checkfirst=True)

    def dispose(self) -> None:
        self.engine.dispose()
