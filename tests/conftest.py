"""Shared fixtures: a real SQLite file per test, a real PostgreSQL schema per test, the installed CLI.

No mocks of followup's own code: the service runs on a real database, and the end-to-end tests run
the installed ``followup`` command as a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from followup.service import Followup
from followup.settings import load_settings

PG_ADMIN_URL = os.environ.get("FOLLOWUP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No FOLLOWUP_* setting leaks in from the developer's shell, and no real home is touched."""
    for name in list(os.environ):
        if name.startswith("FOLLOWUP_") and name != "FOLLOWUP_TEST_PG":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


def _pg_schema_url(schema: str) -> str:
    return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema on the real server; dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'followup.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database test runs twice: on a SQLite file and on a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'followup.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def make_app(url: str, tmp_path: Path, **overrides: Any) -> Followup:
    settings = load_settings({"database_url": url, "data_dir": str(tmp_path / "data"), **overrides})
    app = Followup(settings)
    app.init()
    return app


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[Followup]:
    application = make_app(db_url, tmp_path)
    yield application
    application.store.dispose()


@pytest.fixture
def county(app: Followup) -> Followup:
    """A small organisation: two units, a case officer, a unit head, a leader, supervision."""
    app.add_unit("chengguan", "城关镇人民政府", "township", now=NOW)
    app.add_unit("bureau", "县投资促进局", "department", now=NOW)
    app.add_official("lina", name="李娜", email="lina@example.gov.cn", unit="chengguan", now=NOW)
    app.add_official(
        "wangjun", name="王军", email="wangjun@example.gov.cn", unit="chengguan", head=True, now=NOW
    )
    app.add_official(
        "liuqiang", name="刘强", email="liuqiang@example.gov.cn", unit="bureau", roles=["leader"], now=NOW
    )
    app.add_official(
        "xuli", name="徐丽", email="xuli@example.gov.cn", unit="bureau", roles=["supervision"], now=NOW
    )
    return app


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


# --------------------------------------------------------------------------- the installed CLI


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
    """Runs the installed ``followup`` command against one database, as a user would."""

    def __init__(self, url: str, tmp_path: Path) -> None:
        self.url = url
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("FOLLOWUP_")}
        self.env.update(
            {
                "FOLLOWUP_DATABASE_URL": url,
                "FOLLOWUP_DATA_DIR": str(tmp_path / "data"),
                "PYTHONWARNINGS": "ignore",
            }
        )
        self.exe = followup_executable()

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        proc = subprocess.run(
            [self.exe, *args],
            capture_output=True,
            text=True,
            input=input,
            timeout=120,
            env={**self.env, **(env or {})},
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, env: dict[str, str] | None = None) -> Result:
        result = self(*args, env=env)
        assert result.code == 0, f"followup {' '.join(args)} failed ({result.code}): {result.err}"
        return result


@pytest.fixture
def cli(sqlite_url: str, tmp_path: Path) -> Cli:
    """The installed CLI over a fresh SQLite file (initialised)."""
    runner = Cli(sqlite_url, tmp_path)
    runner.ok("init")
    return runner


@pytest.fixture
def any_cli(db_url: str, tmp_path: Path) -> Cli:
    """The installed CLI over SQLite and over PostgreSQL."""
    runner = Cli(db_url, tmp_path)
    runner.ok("init")
    return runner


def seed_county_cli(run: Cli) -> None:
    """The same small organisation as the ``county`` fixture, entered through the CLI."""
    run.ok("unit", "add", "chengguan", "--name", "城关镇人民政府", "--kind", "township")
    run.ok("unit", "add", "bureau", "--name", "县投资促进局")
    run.ok(
        "official", "add", "lina", "--name", "李娜", "--email", "lina@example.gov.cn", "--unit", "chengguan"
    )
    run.ok(
        "official",
        "add",
        "wangjun",
        "--name",
        "王军",
        "--email",
        "wangjun@example.gov.cn",
        "--unit",
        "chengguan",
        "--head",
    )
    run.ok(
        "official",
        "add",
        "liuqiang",
        "--name",
        "刘强",
        "--email",
        "liuqiang@example.gov.cn",
        "--unit",
        "bureau",
        "--role",
        "leader",
    )
    run.ok(
        "official",
        "add",
        "xuli",
        "--name",
        "徐丽",
        "--email",
        "xuli@example.gov.cn",
        "--unit",
        "bureau",
        "--role",
        "supervision",
    )
