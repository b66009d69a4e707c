"""``followup project …`` and ``followup history``: the ledger (台账)."""

from __future__ import annotations

import click

from followup.app import ledger
from followup.app.views import ProjectView
from followup.cli.output import Column, money, printable, table, when
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
@click.option("--name", required=True, help="项目名称.")
@click.option("--officer", required=True, metavar="OFFICIAL", help="责任人 (case officer): key or name.")
@click.option("--unit", "unit_key", required=True, metavar="UNIT", help="责任单位: key or name.")
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


@project.command("list", cls=StagesInHelp)
@click.option("--stage", help="Key or label (see below).")
@click.option("--unit", "unit_key", metavar="UNIT", help="Key or name.")
@click.option("--officer", metavar="OFFICIAL", help="Key or name.")
@click.option("--leader", metavar="OFFICIAL", help="Key or name.")
@click.option("--chain")
@click.option("--workflow")
@click.option("--all", "include_ended", is_flag=True, help="Include terminated and voided projects.")
@json_option
@now_option
@pass_ctx
def project_list(
    c: Context,
    stage: str | None,
    unit_key: str | None,
    officer: str | None,
    leader: str | None,
    chain: str | None,
    workflow: str | None,
    include_ended: bool,
    as_json: bool,
    now: str | None,
) -> None:
    """List projects (terminated ones only with --all or --stage terminated)."""
    rows = ledger.list_projects(
        c.runtime(now),
        ledger.ProjectFilter(
            stage=stage,
            unit=unit_key,
            officer=officer,
            leader=leader,
            chain=chain,
            workflow=workflow,
            include_ended=include_ended,
        ),
    )
    if as_json:
        emit_json([r.to_dict() for r in rows])
        return
    table(LIST_COLUMNS, [_list_row(r) for r in rows])
    click.echo(f"{len(rows)} projects")


#: On a narrow terminal the name keeps 5 characters and the unit 3; since when, then the leader, are
#: left out first (``project show`` has everything).
LIST_COLUMNS = [
    Column("id", ">", "keep"),
    Column("项目名称", floor=12),
    Column("阶段"),
    Column("自", squeeze="keep", drop=1),
    Column("截止", squeeze="keep"),
    Column("预警"),
    Column("责任单位", floor=8),
    Column("责任人"),
    Column("包联领导", drop=2),
    Column("金额(万元)", ">", "keep"),
]


def _list_row(r: ProjectView) -> list[object]:
    warning = " ".join(
        part
        for part, shown in (
            (r.level_label or "", True),
            ("跟进超时", r.stale_since is not None),
            ("不能督办", r.problem is not None),
            ("已作废", r.voided_at is not None),
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
    view = ledger.get_project(c.runtime(now), project_id)
    if as_json:
        emit_json(view.to_dict())
        return
    for line in _shown(view):  # a reason or a note may hold line breaks: each line escaped on its own
        click.echo("\n".join(printable(part) for part in line.split("\n")))


BASIS = {"contract": "合同约定", "extended": "已延期", "limit": "阶段时限"}


def _shown(v: ProjectView) -> list[str]:
    """``project show`` for people: times as 2026-11-20 09:30, amounts with separators, labels."""
    lines = [f"[{v.id}] {v.name}", f"  阶段: {v.stage_label} ({v.stage}) 自 {when(v.stage_since)}"]
    if v.voided_at:
        lines.append(f"  已作废: {when(v.voided_at)}（录入有误）; 原因: {v.end_reason}")
    if v.problem:
        lines.append(f"  不能督办: {v.problem}")
    basis = BASIS.get(v.deadline_basis or "", "")
    lines.append(f"  截止: {when(v.deadline) or '—'}" + (f"（{basis}）" if basis else ""))
    if v.level:
        lines.append(f"  预警: {v.level_label} ({v.level})")
    if v.stale_since:
        lines.append(f"  跟进超时: 自 {when(v.stale_since)} 起无跟进记录")
    if v.held_stage:
        lines.append(f"  暂缓: 自 {v.held_stage} 阶段, 预计 {when(v.hold_until)} 恢复; 原因: {v.hold_reason}")
    if v.end_reason and not v.voided_at:
        lines.append(f"  终止原因: {v.end_reason}")
    lines.append(
        f"  流程: {v.workflow}; 责任单位: {v.unit.name}; 责任人: {v.officer.name}"
        f"; 包联领导: {v.leader.name if v.leader else '—'}"
    )
    for name, spec in PROJECT_FIELDS.items():
        value = getattr(v, name, None)
        if name == "leader" or value is None:
            continue
        shown = (
            money(value) if spec.kind in ("amount", "area") else when(value) if spec.kind == "date" else value
        )
        lines.append(f"  {spec.label}: {shown}")
    lines.append(f"  最近跟进: {when(v.last_activity_at)}; version {v.version}")
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
    click.echo(f"project {view.id} updated; deadline {when(view.deadline) or '—'}")


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
    click.echo(f"project {view.id} voided")


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
        move = f"{e.from_stage or ''} → {e.to_stage}" if e.kind in ("move", "void") else (e.to_stage or "")
        detail = e.note or ""
        if e.changes:
            shown = ", ".join(f"{k}={v[1] if isinstance(v, list) else v}" for k, v in e.changes.items())
            detail = f"{detail} [{shown}]" if detail else f"[{shown}]"
        by = e.by.name if e.by else ""
        rows.append([e.id, when(e.at), e.kind, by, e.entered_by or "", move, detail.replace("\n", " ")])
    table(HISTORY_COLUMNS, rows)


HISTORY_COLUMNS = [
    Column("#", ">", "keep"),
    Column("时间", squeeze="keep"),
    Column("类型", squeeze="keep"),
    Column("记录人"),
    Column("录入人"),
    Column("阶段", floor=8),
    Column("内容", squeeze="wrap", floor=10),
]
