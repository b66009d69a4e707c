"""The store: engine set-up for SQLite and PostgreSQL, transactions, migrations, error wrapping.

Third-party database errors are turned into :mod:`followup.errors` here, at the boundary.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from followup.errors import ConcurrentUpdate, Conflict, NotInitialised, StoreError
from followup.i18n import _

#: The alembic revision this code expects; a test checks it is the migrations' head.
SCHEMA_REVISION = "0007"

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver for them."""
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None: not SQLite, or in memory)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
    return Path(path).expanduser() if path and path != ":memory:" else None


def _display_url(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


#: One engine per database URL and process, as SQLAlchemy advises: it holds the pool and the cache of
#: compiled statements, so a process that runs many commands (the daemon, in-process tests) compiles once.
_engines: dict[str, Engine] = {}


def engine_for(url: str) -> Engine:
    """This process's engine for ``url``, made on first use."""
    url = normalise_url(url)
    engine = _engines.get(url)
    if engine is None:
        engine = _engines[url] = make_engine(url)
    return engine


def forget_engines() -> None:
    """Dispose of every engine this process made (between tests, which use a database each)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys, a busy timeout and real transactions."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let us issue BEGIN ourselves, so reads inside a transaction see one snapshot and
            # a stale write fails instead of silently winning (pysqlite would BEGIN only at the write).
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # A writer takes the write lock up front (waiting up to busy_timeout), so it reads the
            # state it will replace; upgrading a read snapshot later would fail at once when busy.
            write = conn.get_execution_options().get("followup_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    try:
        return create_engine(url, pool_pre_ping=False)
    except Exception as exc:
        raise StoreError(
            _("cannot use database {url}: {reason}").format(url=_display_url(url), reason=exc)
        ) from exc


def wrap_db_error(exc: Exception, url: str) -> Exception:
    """Translate a SQLAlchemy/driver error into a followup error (returned, for ``raise ... from``);
    any other exception is returned as it is."""
    if isinstance(exc, StaleDataError):
        return ConcurrentUpdate()
    if not isinstance(exc, DBAPIError):
        return exc
    message = (str(exc.orig).strip() or type(exc.orig).__name__).splitlines()[0]
    lowered = message.lower()
    if "database is locked" in lowered or "could not serialize" in lowered or "deadlock" in lowered:
        return ConcurrentUpdate()
    if isinstance(exc, IntegrityError):
        return Conflict(_("the database refused the change: {reason}").format(reason=message))
    if isinstance(exc, (OperationalError, ProgrammingError)) and (
        "no such table" in lowered or ("does not exist" in lowered and "relation" in lowered)
    ):
        return NotInitialised()
    if isinstance(exc, OperationalError) and "connect" in lowered:
        return StoreError(
            _("cannot connect to {url}: {reason}").format(url=_display_url(url), reason=message)
        )
    return StoreError(_("database error: {reason}").format(reason=message))


class Store:
    """Owns the engine and hands out transactions."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = engine_for(self.url)
        self._sessions = sessionmaker(
            self.engine.execution_options(followup_write=True), expire_on_commit=False
        )
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._checked = False

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def check_schema(self, session: Session) -> None:
        """Refuse to work on a database that is not initialised or not at this code's revision."""
        if self._checked:
            return
        file = sqlite_file(self.url)
        if file is not None and not file.exists():  # never made by connecting: only `init` makes one
            raise NotInitialised(_("there is no database at {file}: run `followup init`").format(file=file))
        try:
            found = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except (OperationalError, ProgrammingError) as exc:
            raise wrap_db_error(exc, self.url) from exc
        if found != SCHEMA_REVISION:
            message = (
                _("the database schema is at {found}, this followup needs {needed}: run `followup init`")
                if found
                else _("the database schema is at nothing, this followup needs {needed}: run `followup init`")
            )
            raise NotInitialised(message.format(found=found, needed=SCHEMA_REVISION))
        self._checked = True

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One writing transaction: committed when the block ends, rolled back on any error."""
        with self._run(self._sessions) as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only transaction: one consistent snapshot, never waits for writers."""
        with self._run(self._read_sessions) as session:
            yield session

    @contextmanager
    def _run(self, factory: sessionmaker[Session]) -> Iterator[Session]:
        session = factory()
        try:
            self.check_schema(session)  # before the session connects: SQLite would create the file
            yield session
            session.commit()
        except Exception as exc:
            session.rollback()
            wrapped = wrap_db_error(exc, self.url)
            if wrapped is exc:
                raise
            raise wrapped from exc
        finally:
            session.close()

    def migrate(self) -> str:
        """Create or upgrade the schema to the newest revision (alembic); returns the revision."""
        from alembic import command  # only `followup init` pays for alembic
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        file = sqlite_file(self.url)
        if file is not None:  # the one place a database file (and its folder) is made
            file.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self.engine.begin() as conn:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        except DBAPIError as exc:
            raise wrap_db_error(exc, self.url) from exc
        self._checked = False
        return SCHEMA_REVISION

    def dispose(self) -> None:
        self.engine.dispose()
