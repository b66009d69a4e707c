"""Supervision (督办): ``problem`` (问题清单), ``notice`` and ``reply`` (督办通知, 情况说明), ``round``
(调度: reporting rounds and their 填报率)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import click

from followup.app import rounds, supervision
from followup.app.evidence import uploads_from
from followup.app.rounds import RoundStatus
from followup.app.supervision import NoticeView, ProblemView
from followup.cli.moves import evidence_option
from followup.cli.output import Column, table, when
from followup.cli.root import PROJECT_ID, Context, cli, emit_json, json_option, now_option, pass_ctx
from followup.domain.timeutil import parse_day
from followup.i18n import _

BY_HELP = "Who acts: an official's key or name."

# --------------------------------------------------------------------------- problems (问题清单)


@cli.group()
def problem() -> None:
    """The problem list (问题清单): what holds projects up, owned by a unit, closed one by one (销号)."""


@problem.command("add")
@click.argument("project_id", type=PROJECT_ID)
@click.argument("text")
@click.option(
    "--level", required=True, metavar="LEVEL", help="一般, 协调 or 重大 (general, coordination, major)."
)
@click.option("--owner", required=True, metavar="UNIT", help="The unit that owns the problem: key or name.")
@click.option("--due", required=True, metavar="DATE", help="When it must be solved (2026-11-20).")
@click.option("--by", required=True, metavar="OFFICIAL", help=BY_HELP)
@now_option
@pass_ctx
def problem_add(
    c: Context, project_id: int, text: str, level: str, owner: str, due: str, by: str, now: str | None
) -> None:
    """Open a problem on a project (TEXT says what holds it up)."""
    view = supervision.add_problem(
        c.runtime(now),
        project_id,
        level=level,
        owner=owner,
        due=parse_day(due, what="--due"),
        by=by,
        text=text,
    )
    click.echo(
        _("problem {id} opened on project {project}: {owner}, due {due}").format(
            id=view.id, project=view.project_id, owner=view.owner.name, due=when(view.due_on)
        )
    )


@problem.command("close")
@click.argument("problem_id", type=click.IntRange(1, 2**63 - 1))
@click.option("--by", required=True, metavar="OFFICIAL", help=BY_HELP)
@click.option("--resolution", required=True, metavar="TEXT", help="How it was resolved.")
@evidence_option
@now_option
@pass_ctx
def problem_close(
    c: Context, problem_id: int, by: str, resolution: str, evidence: tuple[Path, ...], now: str | None
) -> None:
    """Close a problem (销号) with how it was resolved."""
    view = supervision.close_problem(
        c.runtime(now), problem_id, by=by, resolution=resolution, evidence=uploads_from(evidence)
    )
    click.echo(_("problem {id} closed").format(id=view.id))


@problem.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only open problems.")
@click.option("--overdue", is_flag=True, help="Only open problems past their due date.")
@click.option("--project", "project_id", type=PROJECT_ID, help="Only the problems of this project.")
@click.option("--unit", metavar="UNIT", help="Only the problems this unit owns: key or name.")
@json_option
@now_option
@pass_ctx
def problem_list(
    c: Context,
    open_only: bool,
    overdue: bool,
    project_id: int | None,
    unit: str | None,
    as_json: bool,
    now: str | None,
) -> None:
    """List the problems, oldest first."""
    views = supervision.list_problems(
        c.runtime(now), open_only=open_only, overdue_only=overdue, project_id=project_id, unit=unit
    )
    if as_json:
        emit_json([v.to_dict() for v in views])
        return
    table(problem_columns(), [_problem_row(v) for v in views])


def problem_columns() -> list[Column]:
    return [
        Column("#", ">", "keep"),
        Column(_("project"), floor=8),
        Column(_("level"), squeeze="keep"),
        Column(_("owner"), floor=6, drop=1),
        Column(_("due"), squeeze="keep"),
        Column(_("state"), squeeze="keep"),
        Column(_("problem"), squeeze="wrap", floor=10),
    ]


def _problem_row(v: ProblemView) -> list[object]:
    if not v.open:
        state = _("closed {day}").format(day=when(v.closed_at)[:10])
    elif v.overdue_days > 0:
        state = _("overdue {days} days").format(days=v.overdue_days)
    else:
        state = _("open")
    return [
        v.id,
        f"{v.project_id} {v.project_name}",
        v.level_label,
        v.owner.name,
        when(v.due_on),
        state,
        v.text,
    ]


def supervision_lines(problems: Sequence[ProblemView], notices: Sequence[NoticeView]) -> list[str]:
    """A project's open problems and its 督办 notices, a line each (``project show``)."""
    lines = [
        _("  problem {id} [{level}] {text} — {owner}, due {due}{late}").format(
            id=v.id,
            level=v.level_label,
            text=v.text.replace("\n", " "),
            owner=v.owner.name,
            due=when(v.due_on),
            late=_(", overdue {days} days").format(days=v.overdue_days) if v.overdue_days else "",
        )
        for v in problems
    ]
    for n in notices:
        if n.replied_at is not None:
            state = _("replied {day}").format(day=when(n.replied_at)[:10])
        else:
            state = _("reply due {day}").format(day=when(n.reply_due))
        lines.append(
            _("  notice {number} issued {day}: {state}").format(
                number=n.number, day=when(n.issued_at)[:10], state=state
            )
        )
    return lines


# --------------------------------------------------------------------------- 督办 notices and replies


@cli.group()
def notice() -> None:
    """督办 notices: issued by the sweep when a project reaches red, each asking for a written reply."""


@notice.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only notices not replied to.")
@click.option("--overdue", is_flag=True, help="Only notices whose reply is overdue.")
@json_option
@now_option
@pass_ctx
def notice_list(c: Context, open_only: bool, overdue: bool, as_json: bool, now: str | None) -> None:
    """List the 督办 notices by number."""
    views = supervision.list_notices(c.runtime(now), open_only=open_only, overdue_only=overdue)
    if as_json:
        emit_json([v.to_dict() for v in views])
        return
    table(
        [
            Column(_("number"), squeeze="keep"),
            Column(_("project"), floor=8),
            Column(_("unit"), floor=6, drop=1),
            Column(_("issued"), squeeze="keep"),
            Column(_("reply due"), squeeze="keep"),
            Column(_("reply"), squeeze="wrap", floor=10),
        ],
        [_notice_row(v) for v in views],
    )


def _notice_row(v: NoticeView) -> list[object]:
    if v.replied_at is not None:
        state = _("replied {day}: {text}").format(day=when(v.replied_at)[:10], text=v.reply_text or "")
    elif v.overdue_days > 0:
        state = _("overdue {days} days").format(days=v.overdue_days)
    else:
        state = _("awaited")
    return [
        v.number,
        f"{v.project_id} {v.project_name}",
        v.unit.name,
        when(v.issued_at)[:10],
        when(v.reply_due),
        state.replace("\n", " "),
    ]


@cli.command()
@click.argument("notice_word", metavar="NOTICE")
@click.argument("text")
@click.option("--by", required=True, metavar="OFFICIAL", help=BY_HELP)
@now_option
@pass_ctx
def reply(c: Context, notice_word: str, text: str, by: str, now: str | None) -> None:
    """Record the written reply (情况说明) to a 督办 notice: NOTICE is its number (督〔2026〕第12号 or
    2026-12) or id. An official of the responsible unit, the leader in charge, the supervision office or
    a principal leader may reply."""
    view = supervision.reply(c.runtime(now), notice_word, by=by, text=text)
    click.echo(_("reply to {number} recorded").format(number=view.number))


# --------------------------------------------------------------------------- reporting rounds (调度)


@cli.group("round")
def round_() -> None:
    """Reporting rounds (调度): units report on each of their active projects by a due date."""


def _units(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [part.strip() for part in re.split(r"[,，、]", text) if part.strip()] or None


@round_.command("open")
@click.option("--month", required=True, metavar="YYYY-MM", help="The period reported on (2026-11).")
@click.option("--due", metavar="DATE", help="When the reports are due (default: 5 working days on).")
@click.option("--units", metavar="U1,U2", help="Only these units (keys or names; default: every unit).")
@click.option("--by", required=True, metavar="OFFICIAL", help=BY_HELP)
@now_option
@pass_ctx
def round_open(c: Context, month: str, due: str | None, units: str | None, by: str, now: str | None) -> None:
    """Open the reporting round of a month."""
    rt = c.runtime(now)
    view = rounds.open_round(
        rt, month=month, by=by, due=parse_day(due, what="--due") if due else None, units=_units(units)
    )
    state = rounds.status(rt, view.period)
    click.echo(
        _("round {period} opened: {asked} projects asked, due {due}").format(
            period=view.period, asked=state.asked, due=when(view.due_on)
        )
    )


@round_.command("report")
@click.argument("period", metavar="PERIOD")
@click.argument("project_id", type=PROJECT_ID)
@click.option("--by", required=True, metavar="OFFICIAL", help=BY_HELP)
@click.option("--progress", required=True, metavar="TEXT", help="Progress this period.")
@click.option("--problems", metavar="TEXT", help="Problems met.")
@click.option("--next", "next_step", metavar="TEXT", help="The next step.")
@click.option("--funds", metavar="万元", help="Funds in place this period (万元: 500, 500万, 0.5亿).")
@now_option
@pass_ctx
def round_report(
    c: Context,
    period: str,
    project_id: int,
    by: str,
    progress: str,
    problems: str | None,
    next_step: str | None,
    funds: str | None,
    now: str | None,
) -> None:
    """Enter a project's report in the round of PERIOD (once per project and round)."""
    view = rounds.report(
        c.runtime(now),
        period,
        project_id,
        by=by,
        progress=progress,
        problems=problems,
        next_step=next_step,
        funds=funds,
    )
    click.echo(
        _("report on project {id} in round {period} recorded").format(id=view.project_id, period=view.period)
    )


@round_.command("status")
@click.argument("period", metavar="PERIOD", required=False)
@json_option
@now_option
@pass_ctx
def round_status(c: Context, period: str | None, as_json: bool, now: str | None) -> None:
    """The 填报率 of a round by unit (default: the newest round)."""
    state = rounds.status(c.runtime(now), period)
    if as_json:
        emit_json(state.to_dict())
        return
    _print_status(state)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _print_status(state: RoundStatus) -> None:
    r = state.round
    head = _("round {period}: due {due}").format(period=r.period, due=when(r.due_on))
    if r.closed_at is not None:
        head += _(" (closed)")
    elif state.overdue:
        head += _(" (overdue)")
    click.echo(head)
    rows: list[list[object]] = [
        [u.unit.name, u.asked, u.reported, _rate(u.rate), " ".join(map(str, u.missing))] for u in state.units
    ]
    rows.append([_("total"), state.asked, state.reported, _rate(state.rate), ""])
    table(
        [
            Column(_("unit"), floor=6),
            Column(_("asked"), ">", "keep"),
            Column(_("reported"), ">", "keep"),
            Column(_("rate"), ">", "keep"),
            Column(_("not reported"), squeeze="wrap", floor=8),
        ],
        rows,
    )


@round_.command("list")
@json_option
@now_option
@pass_ctx
def round_list(c: Context, as_json: bool, now: str | None) -> None:
    """List the reporting rounds with their 填报率."""
    states = rounds.list_rounds(c.runtime(now))
    if as_json:
        emit_json([s.to_dict() for s in states])
        return
    table(
        [
            Column(_("period"), squeeze="keep"),
            Column(_("due"), squeeze="keep"),
            Column(_("asked"), ">", "keep"),
            Column(_("reported"), ">", "keep"),
            Column(_("rate"), ">", "keep"),
            Column(_("state"), squeeze="keep"),
        ],
        [
            [
                s.round.period,
                when(s.round.due_on),
                s.asked,
                s.reported,
                _rate(s.rate),
                _("closed") if s.round.closed_at else _("overdue") if s.overdue else _("open"),
            ]
            for s in states
        ],
    )


@round_.command("close")
@click.argument("period", metavar="PERIOD")
@click.option("--by", required=True, metavar="OFFICIAL", help=BY_HELP)
@now_option
@pass_ctx
def round_close(c: Context, period: str, by: str, now: str | None) -> None:
    """Close a round: no more reports, no more reminders."""
    view = rounds.close_round(c.runtime(now), period, by=by)
    click.echo(_("round {period} closed").format(period=view.period))
