"""Fixtures for every tier: a clean environment, a real SQLite file and a real PostgreSQL schema per test,
a runtime over them, the small county, and the CLI (in-process; installed, for the end-to-end tier).

No mocks of followup's own code: the use cases run on real databases, and the end-to-end tests run
the installed ``followup`` command as a subprocess.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from followup import i18n
from followup.app import ledger
from followup.app.ledger import ProjectInput
from followup.app.runtime import Runtime
from followup.store.db import forget_engines
from tests.county import SMALL
from tests.helpers import Cli, clean_environment, make_runtime, pg_schema, prepare


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    clean_environment(monkeypatch, tmp_path)
    i18n.use("en")  # the use cases' messages in the source language (a zh test sets its own)
    yield
    forget_engines()  # each test has databases of its own: no pool outlives it


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema on the real server; dropped afterwards."""
    with pg_schema() as url:
        yield url


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


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime over an initialised database, its clock stopped at helpers.NOW."""
    runtime = make_runtime(db_url, tmp_path)
    yield runtime
    runtime.close()


@pytest.fixture
def county(rt: Runtime) -> Runtime:
    """The small county (tests.county.SMALL) entered through the use cases."""
    return SMALL.seed(rt)


@pytest.fixture
def cli(sqlite_url: str, tmp_path: Path) -> Cli:
    """The CLI (in-process) over a fresh SQLite file (initialised: the schema ``followup init`` makes)."""
    prepare(sqlite_url)
    return Cli(sqlite_url, tmp_path)


@pytest.fixture
def any_cli(db_url: str, tmp_path: Path) -> Cli:
    """The CLI (in-process) over SQLite and over PostgreSQL (initialised)."""
    prepare(db_url)
    return Cli(db_url, tmp_path)


@pytest.fixture
def installed(sqlite_url: str, tmp_path: Path) -> Cli:
    """The installed ``followup`` command, as a subprocess, over a fresh SQLite file (initialised)."""
    runner = Cli(sqlite_url, tmp_path, subprocess=True)
    runner.ok("init")
    return runner


@pytest.fixture
def in_talks(county: Runtime) -> Runtime:
    """The small county with project 1 (乳品加工, investor 伊禾) entered at 洽谈 (talks)."""
    ledger.add_project(
        county,
        ProjectInput(name="乳品加工", officer="lina", unit="chengguan", values={"investor": "伊禾"}),
        stage="talks",
    )
    return county
