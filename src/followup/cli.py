"""The ``followup`` command: a thin shell over :class:`followup.service.Followup`.

Library errors become one line on stderr and the error's exit code, here in ``main`` and nowhere else;
``--verbose`` adds the traceback. Every option can also come from the environment variable named in
its help.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
import unicodedata
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from followup.errors import FollowupError, InvalidInput
from followup.fields import PROJECT_FIELDS
from followup.settings import SETTINGS_HELP, Settings, load_settings
from followup.timeutil import parse_day, parse_instant, utcnow

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("followup")


# --------------------------------------------------------------------------- plumbing


class Context:
    """What every command shares: settings and the application, made on first use."""

    def __init__(self, overrides: dict[str, Any], config: str | None, verbose: bool) -> None:
        self.overrides = overrides
        self.config = config
        self.verbose = verbose
        self._settings: Settings | None = None
        self._app: Any = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.overrides, config_file=self.config)
        return self._settings

    @property
    def app(self) -> Any:
        if self._app is None:
            from followup.service import Followup

            self._app = Followup(self.settings)
            if _GC_DEFERRED:
                # Everything imported so far lives until exit: keep the collector from walking it
                # again and again (and once more at exit): ~100 ms of a ~300 ms command.
                gc.freeze()
                gc.enable()
        return self._app

    def now(self, text: str | None) -> datetime:
        return parse_instant(text, self.settings.zone, what="--now") if text else utcnow()

    def instant(self, text: str | None, what: str) -> datetime | None:
        return parse_instant(text, self.settings.zone, what=what) if text else None


pass_ctx = click.make_pass_decorator(Context)


def now_option(func: F) -> F:
    return click.option(
        "--now",
        envvar="FOLLOWUP_NOW",
        metavar="TIME",
        help="Act as if it were this time (ISO 8601; for replaying a scenario). Env: FOLLOWUP_NOW.",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Columns aligned for a terminal, counting a Chinese character as two columns."""
    cells = [[str("" if v is None else v) for v in row] for row in rows]
    widths = [max([_width(h)] + [_width(r[i]) for r in cells]) for i, h in enumerate(headers)]
    click.echo("  ".join(_pad(h, w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip())


def _set_values(pairs: Sequence[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for pair in pairs:
        if "=" not in pair:
            raise InvalidInput(f"bad --set {pair!r}: expected FIELD=VALUE")
        name, value = pair.split("=", 1)
        out[name.strip()] = value
    return out


# --------------------------------------------------------------------------- the group


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db",
    "database_url",
    metavar="URL",
    help=SETTINGS_HELP["database_url"][1] + " Env: FOLLOWUP_DATABASE_URL.",
)
@click.option("--data-dir", metavar="DIR", help=SETTINGS_HELP["data_dir"][1] + " Env: FOLLOWUP_DATA_DIR.")
@click.option("--timezone", metavar="ZONE", help=SETTINGS_HELP["timezone"][1] + " Env: FOLLOWUP_TIMEZONE.")
@click.option(
    "--workflow-dir", metavar="DIR", help=SETTINGS_HELP["workflow_dir"][1] + " Env: FOLLOWUP_WORKFLOW_DIR."
)
@click.option("--config", metavar="FILE", help="Config file (TOML). Env: FOLLOWUP_CONFIG.")
@click.option("-v", "--verbose", is_flag=True, help="Log more, and show tracebacks on errors.")
@click.version_option(package_name="followup")
@click.pass_context
def cli(
    ctx: click.Context,
    database_url: str | None,
    data_dir: str | None,
    timezone: str | None,
    workflow_dir: str | None,
    config: str | None,
    verbose: bool,
) -> None:
    """followup: keep a county's investment projects (招商引资项目) moving.

    Projects move through a declared lifecycle (workflows/*.yaml); every change is kept in an
    append-only history. Start with `followup init`.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    overrides = {
        "database_url": database_url,
        "data_dir": data_dir,
        "timezone": timezone,
        "workflow_dir": workflow_dir,
    }
    ctx.obj = Context(overrides, config, verbose)


@cli.command()
@pass_ctx
def init(c: Context) -> None:
    """Create the database, or upgrade it to this version's schema (safe to run again)."""
    revision = c.app.init()
    click.echo(f"database ready at schema {revision}: {c.app.store.url.split('://')[0]}")


# --------------------------------------------------------------------------- workflows


@cli.group()
def workflow() -> None:
    """Check and show lifecycles (workflows/*.yaml)."""


@workflow.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@pass_ctx
def workflow_check(c: Context, files: tuple[str, ...]) -> None:
    """Validate workflow files; each error names the file, the key, the line and what is allowed."""
    from followup.workflow import load_workflow_file

    failed: list[FollowupError] = []
    for name in files:
        try:
            wf = load_workflow_file(Path(name))
        except FollowupError as exc:
            failed.append(exc)
            continue
        click.echo(f"{name}: ok ({wf.name}: {len(wf.stages)} stages, {len(wf.ladder)} ladder levels)")
        for level in _levels_without_templates(c, wf):
            click.echo(
                f"warning: {name}: ladder level {level!r} has no mail templates ({level}.subject.j2, "
                f"{level}.txt.j2, {level}.html.j2 in FOLLOWUP_TEMPLATE_DIR); its mail uses the yellow ones",
                err=True,
            )
    if len(failed) == 1:
        raise failed[0]
    if failed:
        for error in failed[:-1]:
            click.echo(f"error: {error}", err=True)
        raise failed[-1]


def _levels_without_templates(c: Context, wf: Any) -> list[str]:
    keys = {level.key for level in wf.ladder} | {
        level.key for stage in wf.stages.values() for level in stage.ladder
    }
    custom = sorted(keys - {"blue", "yellow", "red", "top"})
    if not custom:
        return []
    from followup.compose import has_kind  # Jinja2 only when a county has levels of its own

    return [key for key in custom if not has_kind(key, c.settings)]


@workflow.command("list")
@pass_ctx
def workflow_list(c: Context) -> None:
    """List the workflows a project can use."""
    from followup.workflow import WorkflowRegistry

    registry = WorkflowRegistry(c.settings.workflow_dir)
    for name, path in sorted(registry.paths().items()):
        wf = registry.get(name)
        mark = " (default)" if name == c.settings.default_workflow else ""
        click.echo(f"{name}{mark}\t{wf.label}\t{path}")


@workflow.command("show")
@click.argument("name", required=False)
@click.option("--mermaid", is_flag=True, help="Print a mermaid stateDiagram-v2 instead.")
@json_option
@pass_ctx
def workflow_show(c: Context, name: str | None, mermaid: bool, as_json: bool) -> None:
    """Print a workflow's stages, limits, moves and escalation ladder (default: the default one)."""
    from followup.workflow import WorkflowRegistry

    wf = WorkflowRegistry(c.settings.workflow_dir).get(name or c.settings.default_workflow)
    if mermaid:
        click.echo(wf.mermaid())
        return
    if as_json:
        emit_json(wf.to_dict())
        return
    click.echo(f"{wf.label} ({wf.name})  {wf.file}")
    rows = []
    for stage in wf.stages.values():
        limit = "—" if stage.limit is None else stage.limit.label()
        if stage.contract_deadline:
            limit += f"（或{stage.contract_deadline}）"
        rows.append(
            [
                stage.key,
                stage.label,
                limit,
                stage.staleness.label() if stage.staleness else "—",
                ", ".join(stage.requires) or "—",
                ", ".join(f"{t}" for t in wf.allowed_from(stage.key)) or "（终点）",
            ]
        )
    table(["stage", "阶段", "时限", "无跟进预警", "须先登记", "可转入"], rows)
    click.echo(f"暂缓 (on_hold) from: {', '.join(wf.hold_from)}; resumes to the stage it was held in")
    click.echo(f"终止 (terminated) from: {', '.join(wf.terminate_from)}")
    if wf.ladder:
        click.echo("预警梯度 (ladder):")
        for level in wf.ladder:
            when = ("截止前" if level.at.amount < 0 else "超期") + level.at.label()
            repeat = f"，每{level.repeat.label()}重复" if level.repeat else ""
            click.echo(f"  {level.key:<7}{level.label}  {when}  → {', '.join(level.notify)}{repeat}")


# --------------------------------------------------------------------------- units


@cli.group()
def unit() -> None:
    """Responsible units: townships (乡镇) and departments (部门)."""


@unit.command("add")
@click.argument("key")
@click.option("--name", required=True, help="Full name, e.g. 城关镇人民政府.")
@click.option(
    "--kind", type=click.Choice(["township", "department"]), default="department", show_default=True
)
@now_option
@pass_ctx
def unit_add(c: Context, key: str, name: str, kind: str, now: str | None) -> None:
    """Add a unit."""
    view = c.app.add_unit(key, name, kind, c.now(now))
    click.echo(f"unit {view.key} added: {view.name}")


@unit.command("list")
@click.option("--all", "include_inactive", is_flag=True, help="Include deactivated units.")
@json_option
@pass_ctx
def unit_list(c: Context, include_inactive: bool, as_json: bool) -> None:
    """List units."""
    units = c.app.list_units(include_inactive=include_inactive)
    if as_json:
        emit_json([u.to_dict() for u in units])
        return
    table(
        ["key", "名称", "类型", "active"],
        [[u.key, u.name, u.kind, "yes" if u.active else "no"] for u in units],
    )


@unit.command("update")
@click.argument("key")
@click.option("--name")
@click.option("--kind", type=click.Choice(["township", "department"]))
@pass_ctx
def unit_update(c: Context, key: str, name: str | None, kind: str | None) -> None:
    """Rename a unit or change its kind."""
    if name is None and kind is None:
        raise InvalidInput("nothing to change: give --name or --kind")
    view = c.app.update_unit(key, name=name, kind=kind)
    click.echo(f"unit {view.key} updated: {view.name} ({view.kind})")


@unit.command("deactivate")
@click.argument("key")
@pass_ctx
def unit_deactivate(c: Context, key: str) -> None:
    """Deactivate a unit that no longer answers for any active project."""
    c.app.update_unit(key, active=False)
    click.echo(f"unit {key} deactivated")


# --------------------------------------------------------------------------- officials


@cli.group()
def official() -> None:
    """Officials: case officers, unit heads, county leaders, the supervision office."""


ROLE_HELP = (
    "leader (县领导, can be a project's leader in charge), supervision (督查室), "
    "principal (主要领导); repeat for several."
)


@official.command("add")
@click.argument("key")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--unit", "unit_key", required=True, help="Key of the official's unit.")
@click.option("--head", is_flag=True, help="Heads the unit (gets its yellow warnings).")
@click.option("--role", "roles", multiple=True, help=ROLE_HELP)
@now_option
@pass_ctx
def official_add(
    c: Context,
    key: str,
    name: str,
    email: str,
    unit_key: str,
    head: bool,
    roles: tuple[str, ...],
    now: str | None,
) -> None:
    """Add an official."""
    view = c.app.add_official(
        key, name=name, email=email, unit=unit_key, head=head, roles=roles, now=c.now(now)
    )
    click.echo(f"official {view.key} added: {view.name} <{view.email}>, {view.unit_name}")


@official.command("list")
@click.option("--unit", "unit_key")
@click.option("--role")
@click.option("--all", "include_inactive", is_flag=True, help="Include those who left office.")
@json_option
@pass_ctx
def official_list(
    c: Context, unit_key: str | None, role: str | None, include_inactive: bool, as_json: bool
) -> None:
    """List officials."""
    rows = c.app.list_officials(unit=unit_key, role=role, include_inactive=include_inactive)
    if as_json:
        emit_json([o.to_dict() for o in rows])
        return
    table(
        ["key", "姓名", "email", "单位", "负责人", "roles", "active"],
        [
            [
                o.key,
                o.name,
                o.email,
                o.unit_name,
                "是" if o.head else "",
                ",".join(o.roles),
                "yes" if o.active else "no",
            ]
            for o in rows
        ],
    )


@official.command("show")
@click.argument("key")
@json_option
@pass_ctx
def official_show(c: Context, key: str, as_json: bool) -> None:
    """Show one official."""
    view = c.app.get_official(key)
    if as_json:
        emit_json(view.to_dict())
        return
    for name, value in view.to_dict().items():
        click.echo(f"{name}: {value}")


@official.command("update")
@click.argument("key")
@click.option("--name")
@click.option("--email")
@click.option("--unit", "unit_key")
@click.option("--head/--no-head", default=None)
@click.option("--role", "roles", multiple=True, help="Replace the roles: " + ROLE_HELP)
@click.option("--no-roles", is_flag=True, help="Remove every role.")
@pass_ctx
def official_update(
    c: Context,
    key: str,
    name: str | None,
    email: str | None,
    unit_key: str | None,
    head: bool | None,
    roles: tuple[str, ...],
    no_roles: bool,
) -> None:
    """Change an official's name, address, unit, headship or roles."""
    new_roles: list[str] | None = [] if no_roles else (list(roles) if roles else None)
    if all(v is None for v in (name, email, unit_key, head, new_roles)):
        raise InvalidInput("nothing to change: give --name, --email, --unit, --head or --role")
    view = c.app.update_official(key, name=name, email=email, unit=unit_key, head=head, roles=new_roles)
    click.echo(
        f"official {view.key} updated: {view.name} <{view.email}>, {view.unit_name}, "
        f"roles: {','.join(view.roles) or '-'}"
    )


@official.command("deactivate")
@click.argument("key")
@click.option(
    "--reassign-to",
    metavar="OFFICIAL",
    help="Hand their active projects (as case officer or leader) to this official.",
)
@click.option("--by", metavar="OFFICIAL", help="Who records the handover.")
@now_option
@pass_ctx
def official_deactivate(
    c: Context, key: str, reassign_to: str | None, by: str | None, now: str | None
) -> None:
    """Record that someone left office. They stay in the history; they are never deleted."""
    view, moved = c.app.deactivate_official(key, reassign_to=reassign_to, by=by, now=c.now(now))
    suffix = f"; projects {', '.join(map(str, moved))} handed to {reassign_to}" if moved else ""
    click.echo(f"official {view.key} deactivated{suffix}")


@official.command("delete")
@click.argument("key")
@pass_ctx
def official_delete(c: Context, key: str) -> None:
    """Delete an official entered by mistake (refused once referenced)."""
    c.app.delete_official(key)
    click.echo(f"official {key} deleted")


# --------------------------------------------------------------------------- projects


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
    from followup.service import ProjectInput

    data = ProjectInput(
        name=name,
        officer=officer,
        unit=unit_key,
        workflow=workflow,
        values={k: fields[k] for k in FIELD_OPTIONS if fields.get(k) is not None},
    )
    view = c.app.add_project(data, stage=stage, since=c.instant(since, "--since"), by=by, now=c.now(now))
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
    from followup.service import ProjectFilter

    rows = c.app.list_projects(
        ProjectFilter(
            stage=stage,
            unit=unit_key,
            officer=officer,
            leader=leader,
            chain=chain,
            workflow=workflow,
            include_ended=include_ended,
        ),
        c.now(now),
    )
    if as_json:
        emit_json([r.to_dict() for r in rows])
        return
    table(
        ["id", "项目名称", "阶段", "自", "截止", "预警", "责任单位", "责任人", "包联领导", "金额(万元)"],
        [
            [
                r["id"],
                r["name"],
                r["stage_label"],
                (r["stage_since"] or "")[:10],
                r["deadline"] or "",
                (r["level_label"] or "") + (" 跟进超时" if r["stale_since"] else ""),
                r["unit"]["name"],
                r["officer"]["name"],
                (r["leader"] or {}).get("name", ""),
                r["amount"] if r["amount"] is not None else "",
            ]
            for r in rows
        ],
    )
    click.echo(f"{len(rows)} projects")


@project.command("show")
@click.argument("project_id", type=int)
@json_option
@now_option
@pass_ctx
def project_show(c: Context, project_id: int, as_json: bool, now: str | None) -> None:
    """Show every field of a project, its stage and since when, its deadline and warning level."""
    view = c.app.get_project(project_id, c.now(now))
    if as_json:
        emit_json(view.to_dict())
        return
    d = view.to_dict()
    click.echo(f"[{d['id']}] {d['name']}")
    click.echo(f"  阶段: {d['stage_label']} ({d['stage']}) 自 {d['stage_since']}")
    basis = {"contract": "合同约定", "extended": "已延期", "limit": "阶段时限"}.get(
        d["deadline_basis"] or "", ""
    )
    click.echo(f"  截止: {d['deadline'] or '—'}" + (f"（{basis}）" if basis else ""))
    if d["level"]:
        click.echo(f"  预警: {d['level_label']} ({d['level']})")
    if d["stale_since"]:
        click.echo(f"  跟进超时: 自 {d['stale_since']} 起无跟进记录")
    if d["held_stage"]:
        click.echo(
            f"  暂缓: 自 {d['held_stage']} 阶段, 预计 {d['hold_until']} 恢复; 原因: {d['hold_reason']}"
        )
    if d["end_reason"]:
        click.echo(f"  终止原因: {d['end_reason']}")
    click.echo(
        f"  流程: {d['workflow']}; 责任单位: {d['unit']['name']}; 责任人: {d['officer']['name']}"
        f"; 包联领导: {(d['leader'] or {}).get('name', '—')}"
    )

    for name, spec in PROJECT_FIELDS.items():
        if name != "leader" and d.get(name) is not None:
            click.echo(f"  {spec.label}: {d[name]}")
    click.echo(f"  最近跟进: {d['last_activity_at']}; version {d['version']}")


@project.command("edit")
@click.argument("project_id", type=int)
@click.option("--name")
@click.option("--officer", metavar="OFFICIAL", help="Reassign the case officer.")
@click.option("--unit", "unit_key", metavar="UNIT")
@click.option("--workflow", metavar="NAME")
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
    sets: tuple[str, ...],
    by: str | None,
    note: str | None,
    now: str | None,
    **fields: str | None,
) -> None:
    """Change a project's fields; recorded in its history."""
    from followup.service import ProjectInput

    values = {k: fields[k] for k in FIELD_OPTIONS if fields.get(k) is not None}
    values.update(_set_values(sets))
    data = ProjectInput(name=name, officer=officer, unit=unit_key, workflow=workflow, values=values)
    view = c.app.edit_project(project_id, data, by=by, note=note, now=c.now(now))
    click.echo(f"project {view.id} updated; deadline {view['deadline'] or '—'}")


# --------------------------------------------------------------------------- moves


def _move(
    c: Context,
    project_id: int,
    target: str | None,
    by: str,
    note: str | None,
    on: str | None,
    until: str | None,
    sets: Sequence[str],
    now: str | None,
) -> None:
    view = c.app.advance(
        project_id,
        target,
        by=by,
        note=note,
        on=c.instant(on, "--on"),
        until=parse_day(until, what="--until") if until else None,
        values=_set_values(sets),
        now=c.now(now),
    )
    deadline = f"; deadline {view['deadline']}" if view["deadline"] else ""
    click.echo(f"project {view.id} → {view['stage_label']} ({view['stage']}){deadline}")


def move_options(func: F) -> F:
    for option in reversed(
        [
            click.option("--by", required=True, metavar="OFFICIAL", help="Who records the move."),
            click.option("--on", metavar="DATE", help="When it happened (default now)."),
            click.option(
                "--set",
                "sets",
                multiple=True,
                metavar="FIELD=VALUE",
                help="Record a field in the same step, e.g. --set amount=5000.",
            ),
        ]
    ):
        func = option(func)
    return now_option(func)


@cli.command()
@click.argument("project_id", type=int)
@click.argument("stage")
@move_options
@click.option("--note", help="What happened (the reason, for on_hold and terminated).")
@click.option("--until", metavar="DATE", help="Expected restart date (for on_hold).")
@pass_ctx
def advance(
    c: Context,
    project_id: int,
    stage: str,
    by: str,
    on: str | None,
    sets: tuple[str, ...],
    now: str | None,
    note: str | None,
    until: str | None,
) -> None:
    """Move a project to STAGE (also on_hold or terminated), as the workflow allows."""
    _move(c, project_id, stage, by, note, on, until, sets, now)


@cli.command()
@click.argument("project_id", type=int)
@move_options
@click.option("--reason", required=True, help="Why it is paused.")
@click.option("--until", required=True, metavar="DATE", help="Expected restart date.")
@pass_ctx
def hold(
    c: Context,
    project_id: int,
    by: str,
    on: str | None,
    sets: tuple[str, ...],
    now: str | None,
    reason: str,
    until: str,
) -> None:
    """Put a project on hold (暂缓); its clock pauses."""
    _move(c, project_id, "on_hold", by, reason, on, until, sets, now)


@cli.command()
@click.argument("project_id", type=int)
@move_options
@click.option("--note")
@pass_ctx
def resume(
    c: Context,
    project_id: int,
    by: str,
    on: str | None,
    sets: tuple[str, ...],
    now: str | None,
    note: str | None,
) -> None:
    """Resume a project on hold in the stage it was held in; its deadline moves by the pause."""
    _move(c, project_id, None, by, note, on, None, sets, now)


@cli.command()
@click.argument("project_id", type=int)
@move_options
@click.option("--reason", required=True, help="Why it ends (终止/退出).")
@pass_ctx
def terminate(
    c: Context, project_id: int, by: str, on: str | None, sets: tuple[str, ...], now: str | None, reason: str
) -> None:
    """Terminate a project (终止/退出); it leaves the active list but never the history."""
    _move(c, project_id, "terminated", by, reason, on, None, sets, now)


@cli.command("log")
@click.argument("project_id", type=int)
@click.argument("text")
@click.option("--by", required=True, metavar="OFFICIAL", help="Who followed up.")
@click.option("--on", metavar="DATE", help="When (default now).")
@now_option
@pass_ctx
def log_cmd(c: Context, project_id: int, text: str, by: str, on: str | None, now: str | None) -> None:
    """Record a follow-up (跟进记录) on a project."""
    event = c.app.log(project_id, by=by, text=text, on=c.instant(on, "--on"), now=c.now(now))
    click.echo(f"follow-up {event.id} recorded on project {project_id}")


@cli.command()
@click.argument("project_id", type=int)
@json_option
@pass_ctx
def history(c: Context, project_id: int, as_json: bool) -> None:
    """Every change of a project, oldest first: who, when, from, to, note (append-only)."""
    events = c.app.history(project_id)
    if as_json:
        emit_json([e.to_dict() for e in events])
        return
    rows = []
    for e in events:
        at = (e.at or "")[:16].replace("T", " ")  # already in the configured zone
        move = f"{e.from_stage or ''} → {e.to_stage}" if e.kind == "move" else (e.to_stage or "")
        detail = e.note or ""
        if e.changes:
            shown = ", ".join(f"{k}={v[1] if isinstance(v, list) else v}" for k, v in e.changes.items())
            detail = f"{detail} [{shown}]" if detail else f"[{shown}]"
        rows.append([e.id, at, e.kind, (e.by or {}).get("name", ""), move, detail.replace("\n", " ")])
    table(["#", "时间", "类型", "记录人", "阶段", "内容"], rows)


@cli.command()
@click.argument("project_id", type=int)
@click.option("--days", type=int, required=True, help="Calendar days to add to the current deadline.")
@click.option(
    "--by",
    required=True,
    metavar="OFFICIAL",
    help="The approver: leader in charge, supervision or principal.",
)
@click.option("--reason", required=True, help="Why (recorded).")
@now_option
@pass_ctx
def extend(c: Context, project_id: int, days: int, by: str, reason: str, now: str | None) -> None:
    """Move a project's deadline later (延期); starts a fresh warning ladder."""
    view = c.app.extend(project_id, days=days, by=by, reason=reason, now=c.now(now))
    click.echo(f"project {view.id} deadline now {view['deadline']}")


# --------------------------------------------------------------------------- escalation


@cli.command()
@now_option
@click.option("--dry-run", is_flag=True, help="Show what would be queued; write nothing.")
@json_option
@pass_ctx
def sweep(c: Context, now: str | None, dry_run: bool, as_json: bool) -> None:
    """Queue the warnings every due project owes (idempotent: a second run queues nothing)."""
    from followup.outbox import sweep as run_sweep

    result = run_sweep(c.app, c.now(now), dry_run=dry_run)
    if as_json:
        emit_json(result.to_dict())
        return
    if dry_run:
        for item in result.planned:
            click.echo(
                f"would queue: project {item['project_id']} {item['kind']} {item['level']}"
                f" #{item['repeat_no']} → official {item['recipient_id']} ({item['role']})"
            )
    click.echo(f"{result.looked_at} projects due, {result.queued} notifications queued")


@cli.command()
@now_option
@click.option(
    "--any-time", is_flag=True, help="Send even outside working days and hours (a demo, an urgent run)."
)
@json_option
@pass_ctx
def send(c: Context, now: str | None, any_time: bool, as_json: bool) -> None:
    """Deliver queued notifications: SMTP if FOLLOWUP_SMTP_HOST is set, else the local maildir."""
    from followup.outbox import send as run_send

    result = run_send(c.app, c.now(now), ignore_hours=any_time)
    if as_json:
        emit_json(result.to_dict())
        return
    if result.skipped_reason:
        click.echo(f"nothing sent: {result.skipped_reason} (waiting; --any-time overrides)")
        return
    where = c.settings.smtp_host or str(c.settings.maildir)
    click.echo(
        f"{result.messages} messages ({result.sent} notifications) delivered to {where}; "
        f"{result.retried} to retry, {result.failed} failed, {result.obsolete} obsolete"
    )


@cli.command()
@now_option
@pass_ctx
def digest(c: Context, now: str | None) -> None:
    """Queue this week's digest (周调度) for every official with projects, once the schedule has come."""
    from followup.outbox import digest_round, queue_digests

    queued = queue_digests(c.app, c.now(now))
    round_, due = digest_round(c.app, c.now(now))
    click.echo(f"{queued} digests queued for {round_} (due {due.strftime('%Y-%m-%d %H:%M')})")


@cli.command()
@click.option("--status", "status_", type=click.Choice(["pending", "sending", "sent", "failed", "obsolete"]))
@click.option("--limit", default=200, show_default=True, help="At most this many (the newest).")
@json_option
@pass_ctx
def outbox(c: Context, status_: str | None, limit: int, as_json: bool) -> None:
    """List queued and delivered notifications."""
    from followup.outbox import list_outbox

    rows = [r.to_dict() for r in list_outbox(c.app, status=status_, limit=limit)]
    if as_json:
        emit_json(rows)
        return
    table(
        ["id", "项目", "类型", "级别", "收件人", "状态", "尝试", "下次尝试", "错误"],
        [
            [
                r["id"],
                r["project_id"] or "",
                r["kind"],
                f"{r['level']}#{r['repeat_no']}",
                f"{r['recipient']['name']} <{r['recipient']['email']}>",
                r["status"],
                r["attempts"],
                (r["next_attempt_at"] or "")[:16] if r["status"] == "pending" else "",
                (r["last_error"] or "")[:40],
            ]
            for r in rows
        ],
    )


@cli.command()
@now_option
@json_option
@pass_ctx
def status(c: Context, now: str | None, as_json: bool) -> None:
    """The board: green/blue/yellow/red/top by unit, and warnings about the system itself."""
    from followup.escalation import LIGHT_LABELS, LIGHTS
    from followup.outbox import status_board

    board = status_board(c.app, c.now(now))
    if as_json:
        emit_json(board.to_dict())
        return
    headers = ["单位", *(LIGHT_LABELS[k] for k in LIGHTS), "跟进超时", "暂缓"]
    rows = [[u["name"], *(u[k] for k in LIGHTS), u["stale"], u["on_hold"]] for u in board.units]
    rows.append(["合计", *(board.totals[k] for k in LIGHTS), board.totals["stale"], board.totals["on_hold"]])
    click.echo(f"项目预警看板 {board.now}")
    table(headers, rows)
    for warning in board.warnings:
        click.echo(f"warning: {warning}", err=True)


@cli.command()
@click.option(
    "--now",
    "start",
    envvar="FOLLOWUP_NOW",
    metavar="TIME",
    help="Start the daemon's clock at this time (it then runs at real speed). Env: FOLLOWUP_NOW.",
)
@click.option("--sweep-every", default=300, show_default=True, help="Seconds between sweeps.")
@click.option("--send-every", default=60, show_default=True, help="Seconds between deliveries.")
@pass_ctx
def daemon(c: Context, start: str | None, sweep_every: int, send_every: int) -> None:
    """Run sweep, send and the weekly digest on a schedule, in the foreground, until SIGTERM."""
    from followup.daemon import run

    if sweep_every < 1 or send_every < 1:
        raise InvalidInput("--sweep-every and --send-every must be at least 1 second")
    run(c.app, start=c.instant(start, "--now"), sweep_every=sweep_every, send_every=send_every)


@cli.command()
@click.option("--projects", default=30, show_default=True, help="How many demo projects.")
@now_option
@pass_ctx
def demo(c: Context, projects: int, now: str | None) -> None:
    """Fill an empty database with a demo county: units, officials and projects at every stage."""
    from followup.demo import seed

    counts = seed(c.app, now=c.now(now), projects=projects)
    click.echo(
        f"demo county ready: {counts['units']} units, {counts['officials']} officials, "
        f"{counts['projects']} projects"
    )


# --------------------------------------------------------------------------- entry point


_GC_DEFERRED = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; map every followup error to one line on stderr and its exit code."""
    global _GC_DEFERRED
    if argv is None and gc.isenabled():  # the console script, not an in-process caller
        gc.disable()
        _GC_DEFERRED = True
    verbose = "-v" in (argv or sys.argv[1:]) or "--verbose" in (argv or sys.argv[1:])
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="followup", standalone_mode=False)
    except FollowupError as exc:
        if verbose:
            log.exception("failed")
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        return 1
    except click.ClickException as exc:
        message = exc.format_message().replace("\n", " ")
        click.echo(f"error: {message} (see --help)", err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except Exception as exc:
        if verbose:
            raise
        click.echo(
            f"error: unexpected {type(exc).__name__}: {exc} (run with --verbose for details)", err=True
        )
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
