"""What the bureau looks at: the status board (lights by unit, warnings about the system itself) and
the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from followup.app.escalation import Stranded, stranded_projects
from followup.app.records import placements
from followup.app.runtime import Runtime
from followup.app.views import View
from followup.domain.kinds import Light, NoticeStatus
from followup.domain.ladder import Memo, assess
from followup.domain.notices import ProjectClock
from followup.domain.timeutil import in_zone, local_day
from followup.domain.workflow import ON_HOLD, Workflow
from followup.errors import InvalidInput
from followup.i18n import _, ngettext
from followup.store import chatting, queries


@dataclass(frozen=True)
class Recipient(View):
    key: str
    name: str
    email: str


@dataclass(frozen=True)
class OutboxRow(View):
    id: int
    project_id: int | None
    kind: str
    level: str
    repeat_no: int
    recipient: Recipient
    role: str
    status: str
    attempts: int
    due_at: datetime
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    message_id: str | None


@dataclass
class UnitLights(View):
    """One unit's line on the board: its active projects by light, stale, on hold (a hold that has run out
    is counted on hold and in the light its hold-expiry ladder gives it)."""

    key: str
    name: str
    green: int = 0
    blue: int = 0
    yellow: int = 0
    red: int = 0
    top: int = 0
    stale: int = 0
    on_hold: int = 0

    def count(self, column: str) -> None:
        setattr(self, column, getattr(self, column) + 1)


@dataclass(frozen=True)
class StatusBoard(View):
    now: datetime
    units: list[UnitLights]
    totals: UnitLights
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["totals"] = {k: v for k, v in out["totals"].items() if k not in ("key", "name")}
        return out


def status_board(rt: Runtime) -> StatusBoard:
    """Green/blue/yellow/red/top counts by unit, stale counts, and warnings about the system itself."""
    now = rt.now()
    units: dict[str, UnitLights] = {}
    totals = UnitLights("", "")
    deadline_years: set[int] = set()
    memo: Memo = {}
    seen: set[tuple[str, str, date]] = set()
    placed_in = placements(rt)
    with rt.store.reading() as session:
        conn = session.connection()
        for row in queries.active_clocks(conn):
            unit = units.setdefault(row.key, UnitLights(row.key, row.name))
            placed = placed_in(row.workflow, row.stage)
            if row.stage == ON_HOLD:
                for line in (unit, totals):
                    line.count("on_hold")
                if placed.workflow is not None and row.hold_until is not None:  # 暂缓到期 lights it too
                    clock = ProjectClock.from_row(row)
                    light = assess(placed.workflow, clock, now, rt.calendar, rt.zone, memo).light
                    for line in (unit, totals):
                        if light is not Light.GREEN:
                            line.count(light)
                continue
            workflow = placed.workflow
            if workflow is None or placed.problem is not None:
                continue  # stranded: said below, in the warnings
            if workflow.is_final(row.stage):
                continue
            assessment = assess(workflow, ProjectClock.from_row(row), now, rt.calendar, rt.zone, memo)
            for line in (unit, totals):
                line.count(assessment.light)
                if assessment.stale_since:
                    line.count("stale")
            if row.deadline is not None and (row.workflow, row.stage, row.deadline) not in seen:
                seen.add((row.workflow, row.stage, row.deadline))
                deadline_years |= _years_of_ladder(rt, workflow, row.stage, row.deadline)
        failed, stuck = queries.outbox_health(conn, now)
        delivery = queries.delivery_health(conn, now)
        stranded = stranded_projects(rt, conn)
        mailed_instead = chatting.chat_only_without_robot(conn)
    warnings = _warnings(rt, deadline_years | {local_day(now, rt.zone).year}, failed, stuck)
    warnings += _stranded_warnings(stranded)
    warnings += _delivery_warnings(rt, delivery)
    if mailed_instead:  # issue 11: --notify chat without a group robot in their unit (app.chat_only)
        warnings.append(
            ngettext(
                "{n} official chose chat only but their unit has no group robot: mailed instead ({who})",
                "{n} officials chose chat only but their unit has no group robot: mailed instead ({who})",
                len(mailed_instead),
            ).format(n=len(mailed_instead), who=", ".join(mailed_instead))
        )
    return StatusBoard(in_zone(now, rt.zone), [units[k] for k in sorted(units)], totals, warnings)


def _years_of_ladder(rt: Runtime, workflow: Workflow, stage: str, deadline: date) -> set[int]:
    """The years a deadline's ladder counts days in (each must be in the calendar)."""
    return {deadline.year} | {
        level.at.apply(deadline, rt.calendar).year for level in workflow.ladder_for(stage)
    }


def _warnings(rt: Runtime, years: set[int], failed: int, stuck: int) -> list[str]:
    warnings: list[str] = []
    uncovered = sorted(y for y in years if not rt.calendar.covers(y))
    if uncovered:
        warnings.append(
            _(
                "no official holiday calendar for {years}: working days there are counted as plain weekdays; "
                "declare them in a county calendar file (FOLLOWUP_CALENDAR_FILE)"
            ).format(years=", ".join(map(str, uncovered)))
        )
    if failed:
        warnings.append(
            ngettext(
                "{n} notification failed for good: see `followup outbox --status failed`",
                "{n} notifications failed for good: see `followup outbox --status failed`",
                failed,
            ).format(n=failed)
        )
    if stuck:
        warnings.append(
            ngettext(
                "{n} notification has waited more than a day: is `followup send` running?",
                "{n} notifications have waited more than a day: is `followup send` running?",
                stuck,
            ).format(n=stuck)
        )
    return warnings


def _delivery_warnings(rt: Runtime, health: queries.DeliveryHealth) -> list[str]:
    """Retries piling up, messages of unknown outcome, a login in clear text: one line each."""
    out: list[str] = []
    if health.overdue and health.oldest_due is not None:
        since = in_zone(health.oldest_due, rt.zone).strftime("%Y-%m-%d %H:%M")
        out.append(
            ngettext(
                "{n} notification is overdue by more than an hour and still waiting for a retry "
                "(the oldest due {since}); last error: {error}",
                "{n} notifications are overdue by more than an hour and still waiting for a retry "
                "(the oldest due {since}); last error: {error}",
                health.overdue,
            ).format(n=health.overdue, since=since, error=health.last_error)
        )
    if health.deferrals >= 3:
        out.append(
            _(
                "the mail server could not be used for the last {n} deliveries in a row "
                "(the notifications wait, no attempt is lost): {error}"
            ).format(n=health.deferrals, error=health.last_error)
        )
    if health.unknown:
        out.append(
            ngettext(
                "{n} notification went to the mail server without its confirmation: it is sent "
                "again an hour later, or see `followup outbox --status unknown`",
                "{n} notifications went to the mail server without its confirmation: they are sent "
                "again an hour later, or see `followup outbox --status unknown`",
                health.unknown,
            ).format(n=health.unknown)
        )
    settings = rt.settings
    if settings.smtp_host and settings.smtp_user and settings.smtp_security == "none":
        out.append(
            _(
                "the SMTP login to {host} goes out in clear text (FOLLOWUP_SMTP_ALLOW_PLAINTEXT=1): "
                "use FOLLOWUP_SMTP_SECURITY=starttls or ssl"
            ).format(host=settings.smtp_host)
        )
    return out


def _stranded_warnings(stranded: list[Stranded]) -> list[str]:
    """One warning per project escalation cannot follow (at most 20, then how many more)."""
    out = [
        _("project {id} ({name}) is not escalated: {problem}; {hint}").format(
            id=s.id, name=s.name, problem=s.problem, hint=s.hint
        )
        for s in stranded[:20]
    ]
    if len(stranded) > 20:
        more = len(stranded) - 20
        out.append(
            ngettext(
                "{n} more project is not escalated: see its `problem` in `followup project list --json`",
                "{n} more projects are not escalated: see their `problem` in `followup project list --json`",
                more,
            ).format(n=more)
        )
    return out


def list_outbox(rt: Runtime, *, status: str | None = None, limit: int = 200) -> list[OutboxRow]:
    """The newest ``limit`` notifications (of ``status``), oldest first."""
    if status is not None and status not in NoticeStatus._value2member_map_:
        raise InvalidInput(
            _("unknown status {status!r}; allowed: {allowed}").format(
                status=status, allowed=", ".join(NoticeStatus)
            )
        )
    zone = rt.zone
    with rt.store.reading() as session:
        rows = queries.outbox(session.connection(), status, limit)
    out = [
        OutboxRow(
            id=m.id,
            project_id=m.project_id,
            kind=m.kind,
            level=m.level,
            repeat_no=m.repeat_no,
            recipient=Recipient(m.who_key, m.who_name, m.who_email),
            role=m.role,
            status=m.status,
            attempts=m.attempts,
            due_at=in_zone(m.due_at, zone),
            created_at=in_zone(m.created_at, zone),
            next_attempt_at=in_zone(m.next_attempt_at, zone),
            sent_at=in_zone(m.sent_at, zone),
            last_error=m.last_error,
            message_id=m.message_id,
        )
        for m in rows
    ]
    return list(reversed(out))
