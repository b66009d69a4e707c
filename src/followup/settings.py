"""One typed settings object, loaded once per process.

Precedence, highest first: an explicit override (a CLI flag) > a ``FOLLOWUP_*`` environment variable >
the config file > the default below. The config file is TOML with the same keys in lower case
(``database_url = "..."``); it is ``$FOLLOWUP_CONFIG`` if set, else ``$XDG_CONFIG_HOME/followup/config.toml``
(``~/.config/followup/config.toml``) when that file exists.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from followup.errors import ConfigError
from followup.i18n import _

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
    "calendar_file": (
        "FOLLOWUP_CALENDAR_FILE",
        "A county calendar (YAML) declaring holidays and make-up working days for years the "
        "chinesecalendar package does not know yet.",
    ),
    "smtp_host": (
        "FOLLOWUP_SMTP_HOST",
        "SMTP server for outgoing mail; when unset, mail is written to <data_dir>/maildir.",
    ),
    "smtp_port": ("FOLLOWUP_SMTP_PORT", "SMTP port (default 25, 587 with starttls, 465 with ssl)."),
    "smtp_user": ("FOLLOWUP_SMTP_USER", "SMTP login (none: no login)."),
    "smtp_password": ("FOLLOWUP_SMTP_PASSWORD", "SMTP password (never logged)."),
    "smtp_security": (
        "FOLLOWUP_SMTP_SECURITY",
        "none, starttls or ssl (default none; starttls when a login is configured).",
    ),
    "smtp_allow_plaintext": (
        "FOLLOWUP_SMTP_ALLOW_PLAINTEXT",
        "1 allows an SMTP login without TLS (default 0: with a login and security none, the "
        "connection is upgraded with STARTTLS, and a server without STARTTLS is refused).",
    ),
    "smtp_timeouts": (
        "FOLLOWUP_SMTP_TIMEOUTS",
        "Seconds to wait for each SMTP reply, as name=seconds overrides of RFC 5321's (4.5.3.2): "
        "greeting=300,mail=300,rcpt=300,data=120,block=180,end=600 (end: the reply to the end of "
        "the data; a message without it has an unknown outcome).",
    ),
    "send_deadline": (
        "FOLLOWUP_SEND_DEADLINE",
        "Seconds one delivery batch may take in all (default 1800); what is left waits for the next.",
    ),
    "claim_lease": (
        "FOLLOWUP_CLAIM_LEASE",
        "Seconds after which notifications claimed by a sender that stopped renewing its claim (it "
        "crashed) go to another sender (default 120; counted by the database's clock).",
    ),
    "warnings_per_message": (
        "FOLLOWUP_WARNINGS_PER_MESSAGE",
        "At most this many warnings in one consolidated message (default 20); the rest go in the next.",
    ),
    "mail_from": (
        "FOLLOWUP_MAIL_FROM",
        "Sender, e.g. '县投资促进局 <followup@example.gov.cn>' (default followup@localhost).",
    ),
    "template_dir": (
        "FOLLOWUP_TEMPLATE_DIR",
        "A county's own mail templates; a file there replaces the shipped one of the same name.",
    ),
    "work_hours": (
        "FOLLOWUP_WORK_HOURS",
        "When mail may go out on working days, in the configured zone (default 08:30-18:00).",
    ),
    "digest_schedule": (
        "FOLLOWUP_DIGEST_SCHEDULE",
        "When the weekly digest (周调度) goes out: day and time (default 'mon 08:30').",
    ),
    "bureau_unit": (
        "FOLLOWUP_BUREAU_UNIT",
        "The unit whose head is the bureau head (招商局/投资促进局 局长), who gets the weekly county "
        "summary with the supervision office and the principal leaders (default bureau).",
    ),
    "long_hold_months": (
        "FOLLOWUP_LONG_HOLD_MONTHS",
        "A hold (暂缓) longer than this many months is listed to the supervision office in the weekly "
        "county summary (default 6).",
    ),
    "replay": (
        "FOLLOWUP_REPLAY",
        "1 declares a replay: writing commands then accept a --now more than a day ahead of the real "
        "clock (default 0: refused as a typo).",
    ),
}

SMTP_SECURITY = ("none", "starttls", "ssl")
#: a workflow's name is the stem of its file: a plain key, never a path (as domain.validate checks)
_WORKFLOW_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


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
    calendar_file: Path | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_security: str = "none"
    smtp_allow_plaintext: bool = False
    smtp_timeouts: SmtpTimeouts = field(default_factory=lambda: SmtpTimeouts())
    send_deadline: float = 1800.0  # seconds for one delivery batch
    claim_lease: float = 120.0  # seconds, by the database's clock
    warnings_per_message: int = 20
    mail_from: str = "followup@localhost"
    template_dir: Path | None = None
    work_hours: tuple[time, time] = (time(8, 30), time(18, 0))
    digest_schedule: tuple[int, time] = (0, time(8, 30))  # weekday (Monday 0), local time
    bureau_unit: str = "bureau"  # its head reads the weekly county summary
    long_hold_months: int = 6  # holds longer than this are listed in the weekly county summary
    replay: bool = False  # a --now far ahead of the real clock is a declared replay, not a typo
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def maildir(self) -> Path:
        return self.data_dir / "maildir"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _config_file(explicit: str | None, env: dict[str, str]) -> Path | None:
    name = explicit or env.get("FOLLOWUP_CONFIG")
    if name:
        path = Path(name).expanduser()
        if not path.is_file():
            raise ConfigError(_("config file {path} does not exist").format(path=path))
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
    path = _config_file(config_file, env)
    file_values = _read_config(path) if path is not None else {}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, (var, _help) in SETTINGS_HELP.items():
        if name in overrides:
            values[name], sources[name] = overrides[name], "flag"
        elif env.get(var):
            values[name], sources[name] = env[var], var
        elif name in file_values:
            values[name], sources[name] = file_values[name], str(path)
    return _resolve(values, env, sources)


def _read_config(path: Path) -> dict[str, Any]:
    import tomllib  # only when there is a config file to read

    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        raise ConfigError(_("config file {path}: {reason}").format(path=path, reason=exc)) from exc
    unknown = sorted(set(values) - set(SETTINGS_HELP))
    if unknown:
        raise ConfigError(
            _("config file {path}: unknown key {key!r}; allowed: {allowed}").format(
                path=path, key=unknown[0], allowed=", ".join(SETTINGS_HELP)
            )
        )
    return values


def _resolve(values: dict[str, Any], env: dict[str, str], sources: dict[str, str]) -> Settings:
    """Check each value and fill in the defaults."""
    data_dir = Path(values.get("data_dir") or _default_data_dir(env)).expanduser()
    database_url = values.get("database_url") or f"sqlite:///{data_dir / 'followup.db'}"
    timezone = str(values.get("timezone") or "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            _("timezone {zone!r} is not a known IANA zone (e.g. Asia/Shanghai)").format(zone=timezone)
        ) from exc
    security = str(values.get("smtp_security") or "none").lower()
    if security not in SMTP_SECURITY:
        raise ConfigError(
            _("smtp security {value!r}; allowed: {allowed}").format(
                value=security, allowed=", ".join(SMTP_SECURITY)
            )
        )
    allow_plaintext = _flag(values.get("smtp_allow_plaintext"), "FOLLOWUP_SMTP_ALLOW_PLAINTEXT")
    if values.get("smtp_user") and security == "none" and not allow_plaintext:
        security = "starttls"  # a password never goes out in clear text unless that is asked for
    mail_from = str(values.get("mail_from") or "followup@localhost")
    if any(c in mail_from for c in "\r\n"):
        raise ConfigError(_("mail from must be one line"))
    return Settings(
        data_dir=data_dir,
        database_url=str(database_url),
        timezone=timezone,
        workflow_dir=_existing_dir(values.get("workflow_dir"), _("workflow dir")),
        default_workflow=_workflow_name(str(values.get("default_workflow") or "investment")),
        calendar_file=_existing_file(values.get("calendar_file"), _("calendar file")),
        smtp_host=values.get("smtp_host") or None,
        smtp_port=_port(values.get("smtp_port")),
        smtp_user=values.get("smtp_user") or None,
        smtp_password=values.get("smtp_password") or None,
        smtp_security=security,
        smtp_allow_plaintext=allow_plaintext,
        smtp_timeouts=_timeouts(values.get("smtp_timeouts")),
        send_deadline=_seconds(values.get("send_deadline"), _("send deadline"), 1800.0),
        claim_lease=_seconds(values.get("claim_lease"), _("claim lease"), 120.0),
        warnings_per_message=int(_seconds(values.get("warnings_per_message"), _("warnings per message"), 20)),
        mail_from=mail_from,
        template_dir=_existing_dir(values.get("template_dir"), _("template dir")),
        work_hours=_hours(str(values.get("work_hours") or "08:30-18:00")),
        digest_schedule=_weekly(str(values.get("digest_schedule") or "mon 08:30")),
        bureau_unit=str(values.get("bureau_unit") or "bureau"),
        long_hold_months=_months(values.get("long_hold_months")),
        replay=_flag(values.get("replay"), "FOLLOWUP_REPLAY"),
        sources=sources,
    )


def _workflow_name(name: str) -> str:
    if not _WORKFLOW_NAME_RE.fullmatch(name):
        raise ConfigError(
            _(
                "default workflow {name!r} is not a workflow name: use lower-case letters, digits and _ "
                "starting with a letter (e.g. investment)"
            ).format(name=name)
        )
    return name


def _flag(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text not in _TRUE + _FALSE:
        raise ConfigError(_("{what} {value!r}: expected 1 or 0").format(what=what, value=value))
    return text in _TRUE


def _port(value: Any) -> int | None:
    if value is None:
        return None
    try:
        port = int(value)
    except ValueError:
        raise ConfigError(_("smtp port {value!r} is not a number").format(value=value)) from None
    if not 0 < port < 65536:
        raise ConfigError(_("smtp port {port} is out of range").format(port=port))
    return port


def _existing_file(value: Any, what: str) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise ConfigError(_("{what} {path} does not exist").format(what=what, path=path))
    return path


def _existing_dir(value: Any, what: str) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise ConfigError(_("{what} {path} is not a folder").format(what=what, path=path))
    return path


def _clock(text: str, what: str) -> time:
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(_("bad {what} {value!r}: expected HH:MM").format(what=what, value=text)) from None


def _hours(text: str) -> tuple[time, time]:
    start, sep, end = text.partition("-")
    if not sep:
        raise ConfigError(
            _("bad work hours {value!r}: expected HH:MM-HH:MM such as 08:30-18:00").format(value=text)
        )
    opening, closing = _clock(start, _("work hours")), _clock(end, _("work hours"))
    if not opening < closing:
        raise ConfigError(_("bad work hours {value!r}: the start must be before the end").format(value=text))
    return opening, closing


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _weekly(text: str) -> tuple[int, time]:
    day, _sep, clock = text.strip().lower().partition(" ")
    if day[:3] not in WEEKDAYS or not clock:
        raise ConfigError(
            _("bad digest schedule {value!r}: expected a day and a time such as 'mon 08:30'").format(
                value=text
            )
        )
    return WEEKDAYS.index(day[:3]), _clock(clock, _("digest schedule"))


def _months(value: Any) -> int:
    """A whole number of months from 1 to 120 (default 6)."""
    if value is None or str(value).strip() == "":
        return 6
    try:
        months = int(str(value).strip())
    except ValueError:
        raise ConfigError(
            _("bad long hold months {value!r}: expected a whole number of months").format(value=value)
        ) from None
    if not 0 < months <= 120:
        raise ConfigError(_("bad long hold months {value!r}: expected 1 to 120").format(value=value))
    return months


@dataclass(frozen=True)
class SmtpTimeouts:
    """Seconds to wait for each SMTP reply; the defaults are RFC 5321's (4.5.3.2)."""

    greeting: float = 300.0  # the server's greeting (220), and connecting
    mail: float = 300.0  # MAIL, and the session's own commands (EHLO, STARTTLS, AUTH, RSET, QUIT)
    rcpt: float = 300.0
    data: float = 120.0  # the reply to DATA (354)
    block: float = 180.0  # handing over the message's data
    end: float = 600.0  # the reply to the final dot: the server may be checking the message


def _timeouts(value: Any) -> SmtpTimeouts:
    """``greeting=300,end=600`` (or a TOML table): overrides of RFC 5321's timeouts, by name."""
    names = [f.name for f in fields(SmtpTimeouts)]
    chosen: dict[str, float] = {}
    if isinstance(value, dict):
        value = ",".join(f"{k}={v}" for k, v in value.items())
    for item in str(value or "").replace(";", ",").split(","):
        if not item.strip():
            continue
        name, sep, seconds = item.partition("=")
        name = name.strip().lower()
        if not sep or name not in names:
            raise ConfigError(
                _("bad smtp timeouts {value!r}: expected name=seconds, names {names}").format(
                    value=value, names=", ".join(names)
                )
            )
        chosen[name] = _seconds(seconds, _("smtp timeout {name}").format(name=name), 0.0)
    return SmtpTimeouts(**chosen)


def _seconds(value: Any, what: str, default: float) -> float:
    """A positive number of seconds (or of anything else counted)."""
    if value is None or str(value).strip() == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            _("bad {what} {value!r}: expected a number").format(what=what, value=value)
        ) from None
    if not 0 < number < 1e9:  # also refuses nan and inf
        raise ConfigError(
            _("bad {what} {value!r}: expected a positive number").format(what=what, value=value)
        )
    return number


def setting_names() -> list[str]:
    return [f.name for f in fields(Settings) if f.name != "sources"]
