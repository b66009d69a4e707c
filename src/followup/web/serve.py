"""Several web workers (``followup web --workers N``): uvicorn starts each in its own process and builds
its app from the environment, which the command fills from its own resolved settings."""

from __future__ import annotations

import os

from starlette.applications import Starlette

from followup.app.runtime import Runtime, fixed
from followup.domain.timeutil import parse_instant
from followup.settings import load_settings
from followup.web.app import create_app


def factory_environment(rt: Runtime, now: str | None) -> None:
    """Hand the command's database, data directory and clock to the workers."""
    os.environ["FOLLOWUP_DATABASE_URL"] = rt.settings.database_url
    os.environ["FOLLOWUP_DATA_DIR"] = str(rt.settings.data_dir)
    if now:
        os.environ["FOLLOWUP_NOW"] = now


def app_from_environment() -> Starlette:
    """One worker's app."""
    settings = load_settings()
    now = os.environ.get("FOLLOWUP_NOW")
    clock = fixed(parse_instant(now, settings.zone, what="--now")) if now else None
    return create_app(Runtime.open(settings, clock=clock))
