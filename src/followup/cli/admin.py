"""Setting up: the database (``init``), the lifecycles (``workflow check|list|show``), a demo county."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from followup.cli.output import NONE, listed
from followup.cli.root import Context, cli, emit_json, json_option, now_option, pass_ctx, printable, table
from followup.domain.fields import PROJECT_FIELDS
from followup.domain.kinds import Role
from followup.errors import FollowupError
from followup.i18n import _

if TYPE_CHECKING:
    from followup.domain.workflow import Workflow


@cli.command()
@pass_ctx
def init(c: Context) -> None:
    """Create the database, or upgrade it to this version's schema (safe to run again)."""
    rt = c.runtime()
    revision = rt.init()
    click.echo(
        _("database ready at schema {revision}: {kind}").format(
            revision=revision, kind=rt.store.url.split("://")[0]
        )
    )


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
        ok = _("{file}: ok ({workflow}: {stages} stages, {levels} ladder levels)")
        click.echo(
            printable(ok.format(file=name, workflow=wf.name, stages=len(wf.stages), levels=len(wf.ladder)))
        )
        for level in _levels_without_templates(c, wf):
            click.echo(
                _(
                    "warning: {file}: ladder level {level!r} has no mail templates ({level}.subject.j2, "
                    "{level}.txt.j2, {level}.html.j2 in FOLLOWUP_TEMPLATE_DIR); its mail uses the yellow ones"
                ).format(file=name, level=level),
                err=True,
            )
        for advice in staleness_advice(wf):
            click.echo(printable(_("warning: {file}: {advice}").format(file=name, advice=advice)), err=True)
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
        shown = _("{name} (default)").format(name=name) if name == c.settings.default_workflow else name
        click.echo("\t".join(printable(part) for part in (shown, wf.label, str(path))))
    _raise_last(broken)


def _raise_last(failed: list[FollowupError]) -> None:
    """Each error on its own line; the last one raised (its exit code is the command's)."""
    for error in failed[:-1]:
        click.echo(_("error: {message}").format(message=printable(str(error))), err=True)
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
    click.echo(printable(_("{label} ({name})  {file}").format(label=wf.label, name=wf.name, file=wf.file)))
    rows = []
    for stage in wf.stages.values():
        limit = NONE if stage.limit is None else stage.limit.label()
        if stage.contract_deadline:
            limit = _("{limit} (or {field})").format(limit=limit, field=_field(stage.contract_deadline))
        rows.append(
            [
                stage.key,
                stage.label,
                limit,
                stage.staleness.label() if stage.staleness else NONE,
                listed(_field(f) for f in stage.requires) or NONE,
                listed(wf.label_of(t) for t in wf.allowed_from(stage.key)) or _("(final)"),
            ]
        )
    table(
        [_("key"), _("stage"), _("time limit"), _("no follow-up warning"), _("requires"), _("moves to")], rows
    )
    held = listed(wf.label_of(s) for s in wf.hold_from)
    click.echo(
        printable(
            _("{label} (on_hold) from: {stages}; resumes to the stage it was held in").format(
                label=wf.hold_label, stages=held
            )
        )
    )
    ended = listed(wf.label_of(s) for s in wf.terminate_from)
    click.echo(
        printable(_("{label} (terminated) from: {stages}").format(label=wf.terminate_label, stages=ended))
    )
    if wf.ladder:
        click.echo(_("warning ladder:"))
        for level in wf.ladder:
            at = level.at.label()
            when = (_("{limit} before the deadline") if level.at.amount < 0 else _("{limit} overdue")).format(
                limit=at
            )
            notify = listed(_role(r) for r in level.notify)
            line = (
                _("{key} {label}  {when}  → {notify}; repeated every {repeat}")
                if level.repeat
                else _("{key} {label}  {when}  → {notify}")
            )
            shown = line.format(
                key=f"{level.key:<6}",
                label=level.label,
                when=when,
                notify=notify,
                repeat=level.repeat.label() if level.repeat else "",
            )
            click.echo(printable("  " + shown))


def _field(key: str) -> str:
    """A ledger field by its label (the key when it is none of the ledger's)."""
    spec = PROJECT_FIELDS.get(key)
    return spec.label if spec else key


def _role(key: str) -> str:
    """A role by its label (责任人, 包联领导 …)."""
    return Role(key).label if key in Role._value2member_map_ else key


@cli.command()
@click.option(
    "--projects",
    type=click.IntRange(1, 5000),
    default=30,
    show_default=True,
    metavar="N",
    help="How many demo projects.",
)
@now_option
@pass_ctx
def demo(c: Context, projects: int, now: str | None) -> None:
    """Fill an empty database with a demo county: units, officials and projects at every stage."""
    from followup.app.demo import seed

    counts = seed(c.runtime(now), projects=projects)
    click.echo(
        _("demo county ready: {units} units, {officials} officials, {projects} projects").format(**counts)
    )
