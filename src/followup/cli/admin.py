"""Setting up: the database (``init``), the lifecycles (``workflow check|list|show``), a demo county."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from followup.cli.root import Context, cli, emit_json, json_option, now_option, pass_ctx, printable, table
from followup.errors import FollowupError

if TYPE_CHECKING:
    from followup.domain.workflow import Workflow


@cli.command()
@pass_ctx
def init(c: Context) -> None:
    """Create the database, or upgrade it to this version's schema (safe to run again)."""
    rt = c.runtime()
    revision = rt.init()
    click.echo(f"database ready at schema {revision}: {rt.store.url.split('://')[0]}")


# --------------------------------------------------------------------------- workflows


@cli.group()
def workflow() -> None:
    """Check and show lifecycles (workflows/*.yaml)."""


@workflow.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@pass_ctx
def workflow_check(c: Context, files: tuple[str, ...]) -> None:
    """Validate workflow files; each error names the file, the key, the line and what is allowed."""
    from followup.lifecycle import load_workflow_file
    from followup.lifecycle.checker import staleness_advice

    failed: list[FollowupError] = []
    for name in files:
        try:
            wf = load_workflow_file(Path(name))
        except FollowupError as exc:
            failed.append(exc)
            continue
        click.echo(
            printable(f"{name}: ok ({wf.name}: {len(wf.stages)} stages, {len(wf.ladder)} ladder levels)")
        )
        for level in _levels_without_templates(c, wf):
            click.echo(
                f"warning: {name}: ladder level {level!r} has no mail templates ({level}.subject.j2, "
                f"{level}.txt.j2, {level}.html.j2 in FOLLOWUP_TEMPLATE_DIR); its mail uses the yellow ones",
                err=True,
            )
        for advice in staleness_advice(wf):
            click.echo(printable(f"warning: {name}: {advice}"), err=True)
    _raise_last(failed)


def _levels_without_templates(c: Context, wf: Workflow) -> list[str]:
    custom = sorted(wf.level_keys() - {"blue", "yellow", "red", "top"})
    if not custom:
        return []
    from followup.mail.templates import has_kind  # Jinja2 only when a county has levels of its own

    return [key for key in custom if not has_kind(key, c.settings)]


@workflow.command("list")
@pass_ctx
def workflow_list(c: Context) -> None:
    """List the workflows a project can use."""
    from followup.lifecycle import WorkflowRegistry

    registry = WorkflowRegistry(c.settings.workflow_dir)
    broken: list[FollowupError] = []
    for name, path in sorted(registry.paths().items()):
        problem = registry.problem(name)
        if problem is not None:  # listed all the same: one broken file hides none of the others
            broken.append(problem)
            continue
        wf = registry.get(name)
        mark = " (default)" if name == c.settings.default_workflow else ""
        click.echo("\t".join(printable(part) for part in (name + mark, wf.label, str(path))))
    _raise_last(broken)


def _raise_last(failed: list[FollowupError]) -> None:
    """Each error on its own line; the last one raised (its exit code is the command's)."""
    for error in failed[:-1]:
        click.echo(f"error: {printable(str(error))}", err=True)
    if failed:
        raise failed[-1]


@workflow.command("show")
@click.argument("name", required=False)
@click.option("--mermaid", is_flag=True, help="Print a mermaid stateDiagram-v2 instead.")
@json_option
@pass_ctx
def workflow_show(c: Context, name: str | None, mermaid: bool, as_json: bool) -> None:
    """Print a workflow's stages, limits, moves and escalation ladder (default: the default one)."""
    from followup.domain.validate import workflow_name
    from followup.lifecycle import WorkflowRegistry

    chosen = workflow_name(name) if name is not None else c.settings.default_workflow
    wf = WorkflowRegistry(c.settings.workflow_dir).get(chosen)
    if mermaid:
        click.echo(wf.mermaid())
        return
    if as_json:
        emit_json(wf.to_dict())
        return
    click.echo(printable(f"{wf.label} ({wf.name})  {wf.file}"))
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
            click.echo(
                printable(f"  {level.key:<7}{level.label}  {when}  → {', '.join(level.notify)}{repeat}")
            )


@cli.command()
@click.option(
    "--projects", type=click.IntRange(1, 5000), default=30, show_default=True, help="How many demo projects."
)
@now_option
@pass_ctx
def demo(c: Context, projects: int, now: str | None) -> None:
    """Fill an empty database with a demo county: units, officials and projects at every stage."""
    from followup.app.demo import seed

    counts = seed(c.runtime(now), projects=projects)
    click.echo(
        f"demo county ready: {counts['units']} units, {counts['officials']} officials, "
        f"{counts['projects']} projects"
    )
