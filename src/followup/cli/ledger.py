"""``followup project …`` and ``followup history``: the ledger (台账)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from followup.app import ledger
from followup.app.views import ProjectView
from followup.cli.output import NONE, Column, label, money, printable, table, when
from followup.cli.root import (
    PROJECT_ID,
    Context,
    F,
    StagesInHelp,
    cli,
    emit_json,
    json_option,
    now_option,
    pass_ctx,
    set_values,
)
from followup.domain.fields import PROJECT_FIELDS
from followup.domain.kinds import EventKind
from followup.i18n import N_, _, ngettext

METAVARS = {"amount": "万元", "area": "亩", "date": "DATE", "official": "OFFICIAL", "text": "TEXT"}
#: what each kind of field takes, in the county's forms (domain.words, domain.timeutil)
KIND_HINTS = {
    "amount": "5000, 5,000, 5000万 or 1.2亿",
    "area": "80 or 80亩",
    "date": "2026-11-20, 2026/11/20 or 2026年11月20日",
    "official": "key or name",
    "text": "",
}
FIELD_OPTIONS = tuple(PROJECT_FIELDS)
SET_HELP = (
    "Any ledger field by key, label or alias (--set 金额=1.2亿, --set 投资方=伊禾集团; see the README); "
    "an empty VALUE clears it."
)


def project_field_options(func: F) -> F:
    """One option per ledger field (fields.PROJECT_FIELDS), e.g. --amount 万元, --signed-on DATE."""
    for spec in reversed(PROJECT_FIELDS.values()):
        hints = [h for h in (spec.hint, KIND_HINTS[spec.kind]) if h]
        help_text = spec.label + (f" ({'; '.join(hints)})" if hints else "") + "."
        option = click.option(
            f"--{spec.name.replace('_', '-')}", spec.name, metavar=METAVARS[spec.kind], help=help_text
        )
        func = option(func)
    return func


@cli.group()
def project() -> None:
    """The project ledger (台账)."""


@project.command("add", cls=StagesInHelp)
@click.option("--name", required=True, help="The project's name (项目名称).")
@click.option("--officer", required=True, metavar="OFFICIAL", help="The case officer (责任人): key or name.")
@click.option(
    "--unit", "unit_key", required=True, metavar="UNIT", help="The responsible unit (责任单位): key or name."
)
@click.option("--workflow", metavar="NAME", help="Lifecycle (default: the default workflow).")
@click.option(
    "--stage", metavar="STAGE", help="Enter an existing project at this stage (key or label, see below)."
)
@click.option("--since", metavar="DATE", help="When it reached that stage (default now).")
@click.option(
    "--last-followup",
    metavar="DATE",
    help="The ledger's last follow-up (跟进): the quiet clock starts there (default: at entry).",
)
@click.option("--by", metavar="OFFICIAL", help="Who enters it (for the history): key or name.")
@click.option(
    "--allow-duplicate", is_flag=True, help="Enter it although the unit has a project of that name."
)
@project_field_options
@now_option
@pass_ctx
def project_add(
    c: Context,
    /,
    name: str,
    officer: str,
    unit_key: str,
    workflow: str | None,
    stage: str | None,
    since: str | None,
    last_followup: str | None,
    by: str | None,
    allow_duplicate: bool,
    now: str | None,
    **fields: str | None,
) -> None:
    """Add a project and print its id."""
    values = {k: fields[k] for k in FIELD_OPTIONS if fields.get(k) is not None}
    data = ledger.ProjectInput(name=name, officer=officer, unit=unit_key, workflow=workflow, values=values)
    rt = c.runtime(now)
    view = ledger.add_project(
        rt,
        data,
        stage=stage,
        since=c.instant(since, "--since"),
        by=by,
        last_followup=c.instant(last_followup, "--last-followup"),
        allow_duplicate=allow_duplicate,
    )
    click.echo(view.id)


def project_filters(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options that choose projects (``project list``, ``export``), handed over as one ``filters``."""
    options = [
        click.option("--stage", metavar="STAGE", help="Key or label (see below)."),
        click.option("--unit", "unit_key", metavar="UNIT", help="Key or name."),
        click.option("--officer", metavar="OFFICIAL", help="Key or name."),
        click.option("--leader", metavar="OFFICIAL", help="Key or name."),
        click.option("--chain", metavar="CHAIN", help="Industry chain (产业链), as recorded."),
        click.option("--workflow", metavar="NAME", help="Workflow key (`followup workflow list`)."),
        click.option("--all", "include_ended", is_flag=True, help="Include terminated and voided projects."),
    ]

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        names = ("stage", "unit_key", "officer", "leader", "chain", "workflow", "include_ended")
        given = {name: kwargs.pop(name) for name in names}
        given["unit"] = given.pop("unit_key")
        return command(*args, filters=ledger.ProjectFilter(**given), **kwargs)

    for option in reversed(options):
        run = option(run)
    return run


@project.command("list", cls=StagesInHelp)
@project_filters
@json_option
@now_option
@pass_ctx
def project_list(c: Context, filters: ledger.ProjectFilter, as_json: bool, now: str | None) -> None:
    """List projects (terminated ones only with --all or --stage terminated)."""
    rows = ledger.list_projects(c.runtime(now), filters)
    if as_json:
        emit_json([r.to_dict() for r in rows])
        return
    table(list_columns(), [_list_row(r) for r in rows])
    click.echo(ngettext("{n} project", "{n} projects", len(rows)).format(n=len(rows)))


def list_columns() -> list[Column]:
    """On a narrow terminal the name keeps 5 characters and the unit 3; since when, then the leader, are
    left out first (``project show`` has everything)."""
    return [
        Column(_("id"), ">", "keep"),
        Column(_("project name"), floor=12),
        Column(_("stage")),
        Column(_("since"), squeeze="keep", drop=1),
        Column(_("deadline"), squeeze="keep"),
        Column(_("warning")),
        Column(_("responsible unit"), floor=8),
        Column(_("case officer")),
        Column(_("leader in charge"), drop=2),
        Column(_("amount (万元)"), ">", "keep"),
    ]


def _list_row(r: ProjectView) -> list[object]:
    warning = " ".join(
        part
        for part, shown in (
            (r.level_label or "", True),
            (_("no follow-up"), r.stale_since is not None),
            (_("not escalated"), r.problem is not None),
            (_("voided"), r.voided_at is not None),
        )
        if shown and part
    )
    return [
        r.id,
        r.name,
        r.stage_label,
        when(r.stage_since.date()),
        when(r.deadline),
        warning,
        r.unit.name,
        r.officer.name,
        r.leader.name if r.leader else "",
        money(r.amount),
    ]


@project.command("show")
@click.argument("project_id", type=PROJECT_ID)
@json_option
@now_option
@pass_ctx
def project_show(c: Context, project_id: int, as_json: bool, now: str | None) -> None:
    """Show every field of a project, its stage and since when, its deadline and warning level."""
    detail = ledger.show_project(c.runtime(now), project_id)
    if as_json:
        emit_json(detail.to_dict())
        return
    # a reason or a note may hold line breaks: each line escaped on its own
    for line in _shown(detail.project):
        click.echo("\n".join(printable(part) for part in line.split("\n")))
    from followup.cli.supervision import supervision_lines  # issue 9: open problems, 督办 notices

    for line in supervision_lines(detail.problems, detail.notices):
        click.echo(printable(line))


#: what a deadline is based on (``deadline_basis``), as ``project show`` says it
BASIS = {"contract": N_("by contract"), "extended": N_("extended"), "limit": N_("stage time limit")}


def _shown(v: ProjectView) -> list[str]:
    """``project show`` for people: times as 2026-11-20 09:30, amounts with separators, labels."""
    stage = _("stage: {label} ({key}) since {since}")
    lines = [
        f"[{v.id}] {v.name}",
        "  " + stage.format(label=v.stage_label, key=v.stage, since=when(v.stage_since)),
    ]
    if v.voided_at:
        voided = _("voided: {when} (entered by mistake); reason: {reason}")
        lines.append("  " + voided.format(when=when(v.voided_at), reason=v.end_reason))
    if v.problem:
        lines.append("  " + _("not escalated: {problem}").format(problem=v.problem))
    deadline = when(v.deadline) or NONE
    basis = BASIS.get(v.deadline_basis or "")
    if basis:
        lines.append("  " + _("deadline: {deadline} ({basis})").format(deadline=deadline, basis=_(basis)))
    else:
        lines.append("  " + _("deadline: {deadline}").format(deadline=deadline))
    if v.level:
        lines.append("  " + _("warning: {label} ({level})").format(label=v.level_label, level=v.level))
    if v.stale_since:
        lines.append("  " + _("no follow-up recorded since {since}").format(since=when(v.stale_since)))
    if v.held_stage:
        held = _("on hold: from stage {stage}, expected to resume {until}; reason: {reason}")
        lines.append(
            "  " + held.format(stage=v.held_stage, until=when(v.hold_until) or NONE, reason=v.hold_reason)
        )
    if v.end_reason and not v.voided_at:
        lines.append("  " + _("terminated: {reason}").format(reason=v.end_reason))
    people = _(
        "workflow: {workflow}; responsible unit: {unit}; case officer: {officer}; leader in charge: {leader}"
    )
    lines.append(
        "  "
        + people.format(
            workflow=v.workflow,
            unit=v.unit.name,
            officer=v.officer.name,
            leader=v.leader.name if v.leader else NONE,
        )
    )
    for name, spec in PROJECT_FIELDS.items():
        value = getattr(v, name, None)
        if name == "leader" or value is None:
            continue
        shown = (
            money(value) if spec.kind in ("amount", "area") else when(value) if spec.kind == "date" else value
        )
        lines.append("  " + _("{label}: {value}").format(label=spec.label, value=shown))
    last = _("last follow-up: {when}; version {version}")
    lines.append("  " + last.format(when=when(v.last_activity_at), version=v.version))
    return lines


@project.command("edit", cls=StagesInHelp)
@click.argument("project_id", type=PROJECT_ID)
@click.option("--name")
@click.option("--officer", metavar="OFFICIAL", help="Reassign the case officer (key or name).")
@click.option("--unit", "unit_key", metavar="UNIT", help="Another responsible unit (key or name).")
@click.option("--workflow", metavar="NAME", help="Move the project to another lifecycle.")
@click.option(
    "--stage",
    metavar="STAGE",
    help="Only for a project whose stage its (new) workflow lacks (renamed or removed): the stage it is in.",
)
@click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE", help=SET_HELP)
@click.option(
    "--by", required=True, metavar="OFFICIAL", help="Who makes the change (for the history): key or name."
)
@click.option("--note", help="Why.")
@click.option(
    "--allow-duplicate", is_flag=True, help="Rename or move it although the unit has a project of that name."
)
@project_field_options
@now_option
@pass_ctx
def project_edit(
    c: Context,
    /,
    project_id: int,
    name: str | None,
    officer: str | None,
    unit_key: str | None,
    workflow: str | None,
    stage: str | None,
    sets: tuple[str, ...],
    by: str,
    note: str | None,
    allow_duplicate: bool,
    now: str | None,
    **fields: str | None,
) -> None:
    """Change a project's fields; recorded in its history."""
    values: dict[str, str | None] = {k: fields[k] for k in FIELD_OPTIONS if fields.get(k) is not None}
    for key, value in set_values(sets).items():
        if key in values:
            values[f" {key}"] = value  # given both ways: refused as given twice, not silently merged
        else:
            values[key] = value
    data = ledger.ProjectInput(
        name=name, officer=officer, unit=unit_key, workflow=workflow, values=values, stage=stage
    )
    view = ledger.edit_project(
        c.runtime(now), project_id, data, by=by, note=note, allow_duplicate=allow_duplicate
    )
    click.echo(
        _("project {id} updated; deadline {deadline}").format(
            id=view.id, deadline=when(view.deadline) or NONE
        )
    )


@project.command("void")
@click.argument("project_id", type=PROJECT_ID)
@click.option("--by", required=True, metavar="OFFICIAL", help="Who voids it (for the history): key or name.")
@click.option("--reason", required=True, help="Why it was entered by mistake (recorded).")
@now_option
@pass_ctx
def project_void(c: Context, project_id: int, by: str, reason: str, now: str | None) -> None:
    """Void a project entered by mistake: it leaves the lists (but --all), the board, the sweep and
    the metrics, and takes no more changes; its history keeps it."""
    view = ledger.void_project(c.runtime(now), project_id, by=by, reason=reason)
    click.echo(_("project {id} voided").format(id=view.id))


@cli.command()
@click.argument("project_id", type=PROJECT_ID)
@json_option
@pass_ctx
def history(c: Context, project_id: int, as_json: bool) -> None:
    """Every change of a project, oldest first: who, when, from, to, note (append-only)."""
    events = ledger.history(c.runtime(), project_id)
    if as_json:
        emit_json([e.to_dict() for e in events])
        return
    rows = []
    for e in events:
        before, after = e.from_label or e.from_stage or "", e.to_label or e.to_stage or ""
        move = f"{before} → {after}" if e.kind in ("move", "void") else after
        detail = e.note or ""
        if e.changes:
            shown = ", ".join(
                f"{_change(k)}={v[1] if isinstance(v, list) else v}" for k, v in e.changes.items()
            )
            detail = f"{detail} [{shown}]" if detail else f"[{shown}]"
        by = e.by.name if e.by else ""
        kind = label(EventKind, e.kind)
        rows.append([e.id, when(e.at), kind, by, e.entered_by or "", move, detail.replace("\n", " ")])
    table(history_columns(), rows)


def history_columns() -> list[Column]:
    return [
        Column("#", ">", "keep"),
        Column(_("time"), squeeze="keep"),
        Column(_("kind"), floor=6),
        Column(_("by")),
        Column(_("entered by")),
        Column(_("stage"), floor=8),
        Column(_("details"), squeeze="wrap", floor=10),
    ]


#: what a history line's changes name besides the ledger's fields
CHANGES = {
    "name": N_("project name"),
    "officer": N_("case officer"),
    "unit": N_("responsible unit"),
    "workflow": N_("workflow"),
    "stage": N_("stage"),
    "held_stage": N_("held stage"),
    "deadline": N_("deadline"),
    "until": N_("expected restart"),
    "last_followup": N_("last follow-up"),
    # supervision (问题清单, 督办 notices, reporting rounds)
    "problem": N_("problem no."),
    "level": N_("problem level"),
    "owner": N_("owner"),
    "due_on": N_("problem due date"),
    "notice": N_("notice number"),
    "notice_id": N_("notice id"),
    "reply_due": N_("reply due"),
    "round": N_("reporting round"),
    "problems": N_("problems"),
    "next_step": N_("next step"),
    "funds": N_("funds reported"),
}


def _change(key: str) -> str:
    """A changed field as a history line names it: the ledger field's label, else what it is."""
    spec = PROJECT_FIELDS.get(key)
    if spec is not None:
        return spec.label
    return _(CHANGES[key]) if key in CHANGES else key
