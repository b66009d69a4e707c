"""What tests of every tier share: the CLI as a user runs it, database snapshots, a runtime on a file.

:class:`Cli` runs ``followup`` in-process by default (``main(argv)`` with its own environment and
captured output: ~6 ms a call); ``subprocess=True`` runs the installed command instead (~0.6 s a call),
for the end-to-end tier. Both give the same :class:`Result`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess as sp
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, make_url, text

from followup.app.runtime import Runtime
from followup.cli import main
from followup.settings import load_settings
from followup.store.db import SCHEMA_REVISION, Store

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
PG_ADMIN_URL = os.environ.get("FOLLOWUP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def pg_schema() -> Iterator[str]:
    """A fresh, empty schema on the real PostgreSQL server (its URL); dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def clean_environment(env: pytest.MonkeyPatch, folder: Path) -> None:
    """No FOLLOWUP_* setting leaks in from the developer's shell, and no real home is touched."""
    for name in list(os.environ):
        if name.startswith("FOLLOWUP_") and name != "FOLLOWUP_TEST_PG":
            env.delenv(name)
    env.delenv("COLUMNS", raising=False)  # tables fit the width a test sets, not the developer's terminal
    env.setenv("XDG_DATA_HOME", str(folder / "xdg-data"))
    env.setenv("XDG_CONFIG_HOME", str(folder / "xdg-config"))


def make_runtime(url: str, tmp_path: Path, *, now: datetime = NOW, **overrides: Any) -> Runtime:
    """A runtime over ``url`` (initialised), its clock stopped at ``now``; data under ``tmp_path/data``."""
    settings = load_settings({"database_url": url, "data_dir": str(tmp_path / "data"), **overrides})
    rt = Runtime.open(settings).at(now)
    if not prepare(url):
        rt.init()  # a database made otherwise: alembic brings it to the newest revision
    return rt


_TEMPLATES: dict[str, Any] = {}


def prepare(url: str) -> bool:
    """Give a new, empty database the schema ``followup init`` makes, copied from one made by the real
    migrations once per test process (a SQLite file copied, a PostgreSQL schema's DDL replayed): the
    same tables, indexes and triggers at a fraction of alembic's cost per test. A database that already
    has tables is left alone. Whether it made the schema."""
    if url.startswith("sqlite"):
        target = Path(url.split(":///", 1)[1])
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_sqlite_template(), target)
        return True
    return "search_path" in url and _pg_replay(url)


def _sqlite_template() -> Path:
    if "sqlite" not in _TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="followup-template-"))
        store = Store(f"sqlite:///{folder / 'template.db'}")
        store.migrate()
        store.dispose()  # the last connection checkpoints the WAL into the file
        _TEMPLATES["sqlite"] = folder / "template.db"
    path: Path = _TEMPLATES["sqlite"]
    return path


def _pg_replay(url: str) -> bool:
    schema = url.rsplit("search_path%3D", 1)[1]
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if inspect(conn).get_table_names():
                return False
            conn.exec_driver_sql(_pg_template().replace(_PG_TEMPLATE_SCHEMA, schema))
            return True
    finally:
        engine.dispose()


_PG_TEMPLATE_SCHEMA = f"tpl_{uuid.uuid4().hex[:12]}"


def _pg_template() -> str:
    """The DDL (and the revision) of a schema migrated once by alembic, as ``pg_dump`` writes it."""
    if "pg" not in _TEMPLATES:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{_PG_TEMPLATE_SCHEMA}"'))
        try:
            store = Store(f"{PG_ADMIN_URL}?options=-csearch_path%3D{_PG_TEMPLATE_SCHEMA}")
            store.migrate()
            store.dispose()
            where = make_url(PG_ADMIN_URL)
            args = ["--schema-only", f"--schema={_PG_TEMPLATE_SCHEMA}", "--no-owner", "--no-privileges"]
            args += ["-h", where.host or "127.0.0.1", "-p", str(where.port or 5432)]
            args += ["-U", where.username or "postgres", where.database or "test"]
            dumped = sp.run(["pg_dump", *args], capture_output=True, text=True, check=True).stdout
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{_PG_TEMPLATE_SCHEMA}" CASCADE'))
            admin.dispose()
        kept = [
            line
            for line in dumped.splitlines()
            if not line.startswith("\\")
            and not line.startswith("CREATE SCHEMA")
            and "set_config('search_path'" not in line
        ]
        kept.append(f"INSERT INTO {_PG_TEMPLATE_SCHEMA}.alembic_version VALUES ('{SCHEMA_REVISION}');")
        _TEMPLATES["pg"] = "\n".join(kept)
    ddl: str = _TEMPLATES["pg"]
    return ddl


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare a database before and after a refused command."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            for table in sorted(inspect(conn).get_table_names()):
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
                out[table] = sorted((tuple(r) for r in rows), key=repr)
            return out
    finally:
        engine.dispose()


def followup_executable() -> str:
    found = shutil.which("followup", path=str(Path(sys.executable).parent)) or shutil.which("followup")
    if not found:
        raise RuntimeError("the followup command is not installed in this environment")
    return found


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Cli:
    """Runs ``followup`` against one database, as a user would: in-process, or as the installed
    command in a subprocess. Only the ``FOLLOWUP_*`` variables given here reach it."""

    def __init__(self, url: str, tmp_path: Path, *, subprocess: bool = False) -> None:
        self.url = url
        self.subprocess = subprocess
        # English unless a test asks for the county's default (Simplified Chinese): the assertions
        # are written against the source strings; tests/unit/test_i18n.py checks the catalogue.
        self.env = {
            "FOLLOWUP_DATABASE_URL": url,
            "FOLLOWUP_DATA_DIR": str(tmp_path / "data"),
            "FOLLOWUP_LANG": "en",
        }

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        env = {**self.env, **(env or {})}
        if self.subprocess:
            return self._spawn(args, input, env)
        runner = CliRunner()
        with runner.isolation(input=input, env=env) as (out, err, _):
            code = main(list(args))
            return Result(code, out.getvalue().decode(), err.getvalue().decode())

    def process_env(self, **extra: str) -> dict[str, str]:
        """The environment the installed command runs with: no FOLLOWUP_* but this runner's own."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
        return {**base, "PYTHONWARNINGS": "ignore", **self.env, **extra}

    def _spawn(self, args: tuple[str, ...], input: str | None, env: dict[str, str]) -> Result:
        proc = sp.run(
            [followup_executable(), *args],
            capture_output=True,
            text=True,
            input=input,
            timeout=120,
            env=self.process_env(**env),
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, env: dict[str, str] | None = None) -> Result:
        result = self(*args, env=env)
        assert result.code == 0, f"followup {' '.join(args)} failed ({result.code}): {result.err}"
        return result
