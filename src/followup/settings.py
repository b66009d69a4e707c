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
from decimal import Decimal
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
    "notice_reply_days": (
        "FOLLOWUP_NOTICE_REPLY_DAYS",
        "Working days a unit has to reply in writing (情况说明) to a 督办 notice issued when one of its "
        "projects reaches red (default 5).",
    ),
    "overdue_escalation_days": (
        "FOLLOWUP_OVERDUE_ESCALATION_DAYS",
        "Working days after its due date an overdue problem, a missing notice reply or a missing round "
        "report goes up to the leader in charge and the supervision office (default 5).",
    ),
    "long_hold_months": (
        "FOLLOWUP_LONG_HOLD_MONTHS",
        "A hold (暂缓) longer than this many months is listed to the supervision office in the weekly "
        "county summary (default 6).",
    ),
    "county_name": (
        "FOLLOWUP_COUNTY_NAME",
        "The county's name as documents print it, e.g. XX县 (default 本县): the monthly bulletin's title.",
    ),
    "bulletin_issuer": (
        "FOLLOWUP_BULLETIN_ISSUER",
        "The office that issues the monthly bulletin (月通报) (default 县招商引资工作领导小组办公室).",
    ),
    "bulletin_score": (
        "FOLLOWUP_BULLETIN_SCORE",
        "How the monthly bulletin ranks units (红黑榜): weights as name=weight, e.g. the default "
        "start_rate=1,followup=0.5,red=-5,top=-10,overdue_problems=-2 (rates count in percent).",
    ),
    "bulletin_schedule": (
        "FOLLOWUP_BULLETIN_SCHEDULE",
        "When the daemon mails the monthly bulletin: day of the month and time (default '5 09:00'; a "
        "rest day moves it to the next working day).",
    ),
    "bulletin_attachment": (
        "FOLLOWUP_BULLETIN_ATTACHMENT",
        "What the bulletin's mail carries attached: pdf, xlsx or none (default pdf).",
    ),
    "chains_file": (
        "FOLLOWUP_CHAINS_FILE",
        "A county's own industry-chain map (产业链图谱, YAML), replacing the shipped chains/default.yaml.",
    ),
    "large_project": (
        "FOLLOWUP_LARGE_PROJECT",
        "The contracted amount from which a project is large (大项目) in the report, in 万元 (default "
        "10000, i.e. 1亿元; 1亿 is understood).",
    ),
    "good_project": (
        "FOLLOWUP_GOOD_PROJECT",
        "What makes a signed project good (好项目) in the report: criteria among large, chain, progress, "
        "and funds=RATIO (default 'large,chain,progress,funds=0.3'; none: every signed project).",
    ),
    "web_url": (
        "FOLLOWUP_WEB_URL",
        "Public address of the web app (followup web), a host of its own, e.g. https://zsj.example.gov.cn; "
        "when set, mails carry buttons (signed links for their reader) instead of commands.",
    ),
    "secret_key": (
        "FOLLOWUP_SECRET_KEY",
        "Key that signs the web app's links (default: made once into <data_dir>/secret_key; never in "
        "the repository, never logged).",
    ),
    "link_days": ("FOLLOWUP_LINK_DAYS", "Days a mail's action link stays valid (default 14)."),
    "upload_limit": ("FOLLOWUP_UPLOAD_LIMIT", "Largest evidence file (photo, PDF) in MB (default 10)."),
    "replay": (
        "FOLLOWUP_REPLAY",
        "1 declares a replay: writing commands then accept a --now more than a day ahead of the real "
        "clock (default 0: refused as a typo).",
    ),
}

SMTP_SECURITY = ("none", "starttls", "ssl")
#: the monthly bulletin's default score (红黑榜): 开工率 in percent, the share of projects followed up in
#: time in percent (half weight), minus 5 per red project, 10 per 约谈 project, 2 per overdue problem
BULLETIN_SCORE: tuple[tuple[str, float], ...] = (
    ("start_rate", 1.0),
    ("followup", 0.5),
    ("red", -5.0),
    ("top", -10.0),
    ("overdue_problems", -2.0),
)
BULLETIN_ATTACHMENTS = ("pdf", "xlsx", "none")
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
    notice_reply_days: int = 5  # working days to reply to a 督办 notice
    overdue_escalation_days: int = 5  # working days overdue before the leader and supervision are told
    county_name: str = "本县"  # the monthly bulletin's title
    bulletin_issuer: str = "县招商引资工作领导小组办公室"
    bulletin_score: tuple[tuple[str, float], ...] = BULLETIN_SCORE  # the 红黑榜's weights
    bulletin_schedule: tuple[int, time] = (5, time(9, 0))  # day of the month, local time
    bulletin_attachment: str = "pdf"  # pdf | xlsx | none
    chains_file: Path | None = None  # the county's chain map (default: the shipped one)
    large_project: Decimal = Decimal(10000)  # 万元: a large project (大项目) from this amount
    good_project: str = "large,chain,progress,funds=0.3"  # domain.metrics.GoodCriteria
    web_url: str | None = None  # the web app's public address: mails carry signed links to it
    secret_key: str | None = field(default=None, repr=False)  # None: <data_dir>/secret_key
    link_days: int = 14  # a mail's action link is valid this many days
    upload_limit: int = 10  # MB: the largest evidence file
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
        notice_reply_days=_working_days(values.get("notice_reply_days"), _("notice reply days")),
        overdue_escalation_days=_working_days(
            values.get("overdue_escalation_days"), _("overdue escalation days")
        ),
        county_name=_one_line(values.get("county_name"), "本县", _("county name")),
        bulletin_issuer=_one_line(
            values.get("bulletin_issuer"), "县招商引资工作领导小组办公室", _("bulletin issuer")
        ),
        bulletin_score=_weights(values.get("bulletin_score")),
        bulletin_schedule=_monthly(str(values.get("bulletin_schedule") or "5 09:00")),
        bulletin_attachment=_choice(
            values.get("bulletin_attachment"), "pdf", BULLETIN_ATTACHMENTS, _("bulletin attachment")
        ),
        chains_file=_existing_file(values.get("chains_file"), _("chains file")),
        large_project=_amount(values.get("large_project")),
        good_project=_good(values.get("good_project")),
        **_web(values),
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


def _web(values: dict[str, Any]) -> dict[str, Any]:
    """The web app's settings: its public address, the signing key, how long a mail's link lives, the
    largest evidence file."""
    return {
        "web_url": _web_url(values.get("web_url")),
        "secret_key": values.get("secret_key") or None,
        "link_days": int(_seconds(values.get("link_days"), _("link days"), 14)),
        "upload_limit": int(_seconds(values.get("upload_limit"), _("upload limit"), 10)),
    }


def _web_url(value: Any) -> str | None:
    """An http(s) address of a host (the app serves from its root), without a trailing slash, or None."""
    text = str(value or "").strip().rstrip("/")
    if not text:
        return None
    if not re.fullmatch(r"https?://[^\s/?#@]+", text):
        raise ConfigError(
            _(
                "web url {value!r} is not the http(s) address of a host (e.g. https://zsj.example.gov.cn)"
            ).format(value=text)
        )
    return text


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


def _monthly(text: str) -> tuple[int, time]:
    """``5 09:00``: a day of the month (1 to 28, so that every month has it) and a time."""
    day, _sep, clock = text.strip().partition(" ")
    if not day.isdigit() or not 1 <= int(day) <= 28 or not clock.strip():
        raise ConfigError(
            _("bad bulletin schedule {value!r}: expected a day (1-28) and a time such as '5 09:00'").format(
                value=text
            )
        )
    return int(day), _clock(clock, _("bulletin schedule"))


def _weights(value: Any) -> tuple[tuple[str, float], ...]:
    """``start_rate=1,red=-5`` (or a TOML table): the bulletin's score weights, by name; the names are
    checked where the score is made (they include the report's figure keys)."""
    if value is None or str(value).strip() == "":
        return BULLETIN_SCORE
    if isinstance(value, dict):
        value = ",".join(f"{k}={v}" for k, v in value.items())
    out: list[tuple[str, float]] = []
    for item in str(value).replace(";", ",").split(","):
        if not item.strip():
            continue
        name, sep, weight = item.partition("=")
        try:
            number = float(weight)
        except ValueError:
            number = float("nan")
        if not sep or not re.fullmatch(r"[a-z][a-z0-9_]*", name.strip()) or number != number:
            raise ConfigError(
                _("bad bulletin score {value!r}: expected name=weight such as start_rate=1,red=-5").format(
                    value=value
                )
            )
        out.append((name.strip(), number))
    if not out:
        raise ConfigError(_("bad bulletin score {value!r}: no weights").format(value=value))
    return tuple(out)


def _one_line(value: Any, default: str, what: str) -> str:
    text = str(value).strip() if value is not None else ""
    if any(c in text for c in "\r\n"):
        raise ConfigError(_("{what} must be one line").format(what=what))
    return text or default


def _choice(value: Any, default: str, allowed: tuple[str, ...], what: str) -> str:
    text = str(value or default).strip().lower()
    if text not in allowed:
        raise ConfigError(
            _("{what} {value!r}; allowed: {allowed}").format(
                what=what, value=value, allowed=", ".join(allowed)
            )
        )
    return text


def _working_days(value: Any, what: str) -> int:
    """A whole number of working days from 1 to 60 (default 5)."""
    if value is None or str(value).strip() == "":
        return 5
    try:
        days = int(str(value).strip())
    except ValueError:
        raise ConfigError(
            _("bad {what} {value!r}: expected a whole number of working days").format(what=what, value=value)
        ) from None
    if not 0 < days <= 60:
        raise ConfigError(_("bad {what} {value!r}: expected 1 to 60").format(what=what, value=value))
    return days


def _amount(value: Any) -> Decimal:
    """An amount in 万元 (10000, 1亿, 5000万); default 10000 (1亿元)."""
    text = str(value).strip().replace(",", "") if value is not None else ""
    if not text:
        return Decimal(10000)
    factor = Decimal(10000) if text.endswith("亿") else Decimal(1)
    number = text.removesuffix("元").removesuffix("万").removesuffix("亿")
    if not re.fullmatch(r"\d+(\.\d+)?", number) or Decimal(number) * factor <= 0:
        raise ConfigError(
            _("bad large project {value!r}: expected 万元 such as 10000, 5000万 or 1亿").format(value=value)
        )
    return Decimal(number) * factor


#: What FOLLOWUP_GOOD_PROJECT may name (``domain.metrics.GoodCriteria`` reads it)
GOOD_CRITERIA = ("large", "chain", "progress", "none")


def _good(value: Any) -> str:
    """The good-project criteria: names among GOOD_CRITERIA and funds=RATIO (0 to 1)."""
    text = str(value).strip().lower() if value is not None else ""
    if not text:
        return "large,chain,progress,funds=0.3"
    for item in text.replace(";", ",").split(","):
        word = item.strip()
        name, sep, ratio = word.partition("=")
        if sep and name.strip() == "funds" and re.fullmatch(r"0(\.\d+)?|1(\.0+)?", ratio.strip()):
            continue
        if word and word not in GOOD_CRITERIA:
            raise ConfigError(
                _(
                    "bad good project {value!r}: expected criteria among {allowed} and funds=RATIO (0 to 1)"
                ).format(value=value, allowed=", ".join(GOOD_CRITERIA))
            )
    return text


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
