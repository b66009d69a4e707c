"""``followup project …`` and ``followup history``: the ledger (台账)."""

from __future__ import annotations

import click

from followup.app import ledger
from followup.app.views import jsonable
from followup.cli.root import (
    PROJECT_ID,
    Context,
    F,
    cli,
    emit_json,
    json_option,
    now_option,
    pass_ctx,
    printable,
    set_values,
    table,
)
from followup.domain.fields import PROJECT_FIELDS

METAVARS = {"amount": "万元", "area": "亩", "date": "DATE", "official": "OFFICIAL", "text": "TEXT"}
FIELD_OPTIONS = tuple(PROJECT_FIELDS)


def project_field_options(func: F) -> F:
    """One option per ledger field (fields.PROJECT_FIELDS), e.g. --amount 万元, --signed-on DATE."""
    for spec in reversed(PROJECT_FIELDS.values()):
        help_text = f"{spec.label}" + (f" ({spec.hint})" if spec.hint else "") + "."
        option = click.option(
            f"--{spec.name.replace('_', '-')}", spec.name, metavar=METAVARS[spec.kind], help=help_text
        )
        func = option(func)
    return func


@cli.group()
def project() -> None:
    """The project ledger (台账)."""


@project.command("add")
@click.option("--name", required=True, help="项目名称.")
@click.option("--officer", required=True, metavar="OFFICIAL", help="责任人 (case officer).")
@click.option("--unit", "unit_key", required=True, metavar="UNIT", help="责任单位.")
@click.option("--workflow", metavar="NAME", help="Lifecycle (default: the default workflow).")
@click.option("--stage", metavar="STAGE", help="Enter an existing project at this stage.")
@click.option("--since", metavar="DATE", help="When it reached that stage (default now).")
@click.option("--by", metavar="OFFICIAL", help="Who enters it (for the history).")
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
    by: str | None,
    now: str | None,
    **fields: str | None,
) -> None:
    """Add a project and print its id."""
    values = {k: fields[k] for k in FIELD_OPTIONS if fields.get(k) is not None}
    data = ledger.ProjectInput(name=name, officer=officer, unit=unit_key, workflow=workflow, values=values)
    rt = c.runtime(now)
    view = ledger.add_project(rt, data, stage=stage, since=c.instant(since, "--since"), by=by)
    click.echo(view.id)


@project.command("list")
@click.option("--stage")
@click.option("--unit", "unit_key")
@click.option("--officer")
@click.option("--leader")
@click.option("--chain")
@click.option("--workflow")
@click.option("--all", "include_ended", is_flag=True, help="Include terminated projects.")
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
    table(
        ["id", "项目名称", "阶段", "自", "截止", "预警", "责任单位", "责任人", "包联领导", "金额(万元)"],
        [
            [
                r.id,
                r.name,
                r.stage_label,
                r.stage_since.date(),
                r.deadline or "",
                (r.level_label or "")
                + (" 跟进超时" if r.stale_since else "")
                + (" 不能督办" if r.problem else ""),
                r.unit.name,
                r.officer.name,
                r.leader.name if r.leader else "",
                jsonable(r.amount) if r.amount is not None else "",
            ]
            for r in rows
        ],
    )
    click.echo(f"{len(rows)} projects")


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
    d = view.to_dict()
    lines = [f"[{d['id']}] {d['name']}", f"  阶段: {d['stage_label']} ({d['stage']}) 自 {d['stage_since']}"]
    if d["problem"]:
        lines.append(f"  不能督办: {d['problem']}")
    basis = {"contract": "合同约定", "extended": "已延期", "limit": "阶段时限"}.get(
        d["deadline_basis"] or "", ""
    )
    lines.append(f"  截止: {d['deadline'] or '—'}" + (f"（{basis}）" if basis else ""))
    if d["level"]:
        lines.append(f"  预警: {d['level_label']} ({d['level']})")
    if d["stale_since"]:
        lines.append(f"  跟进超时: 自 {d['stale_since']} 起无跟进记录")
    if d["held_stage"]:
        lines.append(
            f"  暂缓: 自 {d['held_stage']} 阶段, 预计 {d['hold_until']} 恢复; 原因: {d['hold_reason']}"
        )
    if d["end_reason"]:
        lines.append(f"  终止原因: {d['end_reason']}")
    lines.append(
        f"  流程: {d['workflow']}; 责任单位: {d['unit']['name']}; 责任人: {d['officer']['name']}"
        f"; 包联领导: {(d['leader'] or {}).get('name', '—')}"
    )
    for name, spec in PROJECT_FIELDS.items():
        if name != "leader" and d.get(name) is not None:
            lines.append(f"  {spec.label}: {d[name]}")
    lines.append(f"  最近跟进: {d['last_activity_at']}; version {d['version']}")
    for line in lines:  # a reason or a note may hold line breaks: each line escaped on its own
        click.echo("\n".join(printable(part) for part in line.split("\n")))


@project.command("edit")
@click.argument("project_id", type=PROJECT_ID)
@click.option("--name")
@click.option("--officer", metavar="OFFICIAL", help="Reassign the case officer.")
@click.option("--unit", "unit_key", metavar="UNIT")
@click.option("--workflow", metavar="NAME", help="Move the project to another lifecycle.")
@click.option(
    "--stage",
    metavar="STAGE",
    help="Only for a project whose stage its (new) workflow lacks (renamed or removed): the stage it is in.",
)
@click.option(
    "--set", "sets", multiple=True, metavar="FIELD=VALUE", help="Any ledger field; an empty VALUE clears it."
)
@click.option("--by", metavar="OFFICIAL", help="Who makes the change (for the history).")
@click.option("--note", help="Why.")
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
    by: str | None,
    note: str | None,
    now: str | None,
    **fields: str | None,
) -> None:
    """Change a project's fields; recorded in its history."""
    values = {k: fields[k] for k in FIELD_OPTIONS if fields.get(k) is not None}
    values.update(set_values(sets))
    data = ledger.ProjectInput(
        name=name, officer=officer, unit=unit_key, workflow=workflow, values=values, stage=stage
    )
    view = ledger.edit_project(c.runtime(now), project_id, data, by=by, note=note)
    click.echo(f"project {view.id} updated; deadline {view.deadline or '—'}")


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
        at = e.at.strftime("%Y-%m-%d %H:%M")  # already in the configured zone
        move = f"{e.from_stage or ''} → {e.to_stage}" if e.kind == "move" else (e.to_stage or "")
        detail = e.note or ""
        if e.changes:
            shown = ", ".join(f"{k}={v[1] if isinstance(v, list) else v}" for k, v in e.changes.items())
            detail = f"{detail} [{shown}]" if detail else f"[{shown}]"
        rows.append([e.id, at, e.kind, e.by.name if e.by else "", move, detail.replace("\n", " ")])
    table(["#", "时间", "类型", "记录人", "阶段", "内容"], rows)
