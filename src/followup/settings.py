"""One typed settings object, loaded once per process.

Precedence, highest first: an explicit override (a CLI flag) > a ``FOLLOWUP_*`` environment variable >
the config file > the default below. The config file is TOML with the same keys in lower case
(``database_url = "..."``); it is ``$FOLLOWUP_CONFIG`` if set, else ``$XDG_CONFIG_HOME/followup/config.toml``
(``~/.config/followup/config.toml``) when that file exists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from followup.errors import ConfigError

#: Every setting: (name, environment variable, help). Defaults live in ``_defaults``.
SETTINGS_HELP: dict[str, tuple[str, str]] = {
    "data_dir": (
        "FOLLOWUP_DATA_DIR",
        "Folder for the default SQLite file and the local maildir "
        "(default: $XDG_DATA_HOME/followup, i.e. ~/.local/share/followup).",
    ),
    "database_url": (
        "FOLLOWUP_DATABASE_URL",
        "SQLAlchemy URL of the database (default: sqlite:///<data_dir>/followup.db; "
        "PostgreSQL: postgresql+psycopg://user@host/db).",
    ),
    "timezone": (
        "FOLLOWUP_TIMEZONE",
        "IANA zone in which dates are entered and shown (default Asia/Shanghai). Storage is UTC.",
    ),
    "workflow_dir": (
        "FOLLOWUP_WORKFLOW_DIR",
        "A county's own workflow files (*.yaml), read beside the shipped ones; "
        "a file there with a shipped name replaces the shipped one.",
    ),
    "default_workflow": (
        "FOLLOWUP_DEFAULT_WORKFLOW",
        "Workflow given to new projects that do not name one (default investment).",
    ),
}


def _default_data_dir(env: dict[str, str]) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "followup"


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Build it with :func:`load_settings`."""

    data_dir: Path
    database_url: str
    timezone: str = "Asia/Shanghai"
    workflow_dir: Path | None = None
    default_workflow: str = "investment"
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _config_file(explicit: str | None, env: dict[str, str]) -> Path | None:
    name = explicit or env.get("FOLLOWUP_CONFIG")
    if name:
        path = Path(name).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        return path
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    path = Path(base) / "followup" / "config.toml"
    return path if path.is_file() else None


def load_settings(
    overrides: dict[str, Any] | None = None,
    *,
    config_file: str | None = None,
    env: dict[str, str] | None = None,
) -> Settings:
    """Resolve the settings: ``overrides`` (CLI flags, None = not given) > environment > file > defaults."""
    env = dict(os.environ) if env is None else env
    overrides = {k: v for k, v in (overrides or {}).items() if v not in (None, "")}
    file_values: dict[str, Any] = {}
    path = _config_file(config_file, env)
    if path is not None:
        import tomllib  # only when there is a config file to read

        try:
            file_values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
            raise ConfigError(f"config file {path}: {exc}") from exc
        unknown = sorted(set(file_values) - set(SETTINGS_HELP))
        if unknown:
            raise ConfigError(
                f"config file {path}: unknown key {unknown[0]!r}; allowed: {', '.join(SETTINGS_HELP)}"
            )

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, (var, _help) in SETTINGS_HELP.items():
        if name in overrides:
            values[name], sources[name] = overrides[name], "flag"
        elif env.get(var):
            values[name], sources[name] = env[var], var
        elif name in file_values:
            values[name], sources[name] = file_values[name], str(path)

    data_dir = Path(values.get("data_dir") or _default_data_dir(env)).expanduser()
    database_url = values.get("database_url") or f"sqlite:///{data_dir / 'followup.db'}"
    timezone = str(values.get("timezone") or "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"timezone {timezone!r} is not a known IANA zone (e.g. Asia/Shanghai)") from exc
    workflow_dir = values.get("workflow_dir")
    if workflow_dir is not None:
        workflow_dir = Path(workflow_dir).expanduser()
        if not workflow_dir.is_dir():
            raise ConfigError(f"workflow dir {workflow_dir} is not a folder")
    return Settings(
        data_dir=data_dir,
        database_url=str(database_url),
        timezone=timezone,
        workflow_dir=workflow_dir,
        default_workflow=str(values.get("default_workflow") or "investment"),
        sources=sources,
    )


def setting_names() -> list[str]:
    return [f.name for f in fields(Settings) if f.name != "sources"]
