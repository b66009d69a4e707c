"""Moving projects: ``advance``, ``hold``, ``resume``, ``terminate``, ``log``, ``extend``."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from followup.app import moves
from followup.app.evidence import uploads_from
from followup.app.moves import Move
from followup.app.moves import advance as advance_project
from followup.cli.output import when
from followup.cli.root import PROJECT_ID, Context, F, StagesInHelp, cli, now_option, pass_ctx, set_values
from followup.domain.timeutil import local_day, parse_day
from followup.i18n import _


@dataclass(frozen=True)
class MoveOptions:
    """What every move command takes: who records it, when it happened, fields set in the same step."""

    by: str
    on: str | None
    sets: tuple[str, ...]
    now: str | None


def evidence_option(func: F) -> F:
    """Add --evidence FILE (repeatable): photos or PDFs attached to what the command records."""
    return click.option(
        "--evidence",
        "evidence",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        metavar="FILE",
        help="Attach a photo (JPEG, PNG, WebP) or PDF as evidence (以图为证); repeatable.",
    )(func)


def move_options(func: F) -> F:
    """Add --by, --on, --set and --now; the command gets them as one ``opts`` argument."""

    @functools.wraps(func)
    def collect(
        *args: Any, by: str, on: str | None, sets: tuple[str, ...], now: str | None, **kwargs: Any
    ) -> Any:
        return func(*args, opts=MoveOptions(by, on, sets, now), **kwargs)

    for option in reversed(
        [
            click.option(
                "--by", required=True, metavar="OFFICIAL", help="Who records the move: key or name."
            ),
            click.option("--on", metavar="DATE", help="When it happened (default now)."),
            click.option(
                "--set",
                "sets",
                multiple=True,
                metavar="FIELD=VALUE",
                help="Record a field in the same step by key, label or alias, e.g. --set 金额=5000万.",
            ),
        ]
    ):
        collect = option(collect)
    return now_option(collect)  # type: ignore[return-value]


def _move(
    c: Context,
    opts: MoveOptions,
    project_id: int,
    target: str | None,
    note: str | None,
    until: str | None,
    evidence: tuple[Path, ...] = (),
) -> None:
    move = Move(
        project_id,
        target,
        by=opts.by,
        note=note,
        on=c.instant(opts.on, "--on"),
        until=parse_day(until, what="--until") if until else None,
        values=set_values(opts.sets),
        evidence=uploads_from(evidence),
    )
    view = advance_project(c.runtime(opts.now), move)
    shown = (
        _("project {id} → {label} ({key}); deadline {deadline}")
        if view.deadline
        else _("project {id} → {label} ({key})")
    )
    click.echo(shown.format(id=view.id, label=view.stage_label, key=view.stage, deadline=when(view.deadline)))


@cli.command(cls=StagesInHelp)
@click.argument("project_id", type=PROJECT_ID)
@click.argument("stage")
@move_options
@click.option("--note", help="What happened (the reason, for on_hold and terminated).")
@click.option("--until", metavar="DATE", help="Expected restart date (for on_hold).")
@evidence_option
@pass_ctx
def advance(
    c: Context,
    project_id: int,
    stage: str,
    opts: MoveOptions,
    note: str | None,
    until: str | None,
    evidence: tuple[Path, ...],
) -> None:
    """Move a project to STAGE, by key or label (签约, also 暂缓 or 终止), as the workflow allows."""
    _move(c, opts, project_id, stage, note, until, evidence)


@cli.command()
@click.argument("project_id", type=PROJECT_ID)
@move_options
@click.option("--reason", required=True, help="Why it is paused.")
@click.option("--until", required=True, metavar="DATE", help="Expected restart date.")
@pass_ctx
def hold(c: Context, project_id: int, opts: MoveOptions, reason: str, until: str) -> None:
    """Put a project on hold (暂缓); its clock pauses."""
    _move(c, opts, project_id, "on_hold", reason, until)


@cli.command()
@click.argument("project_id", type=PROJECT_ID)
@move_options
@click.option("--note")
@pass_ctx
def resume(c: Context, project_id: int, opts: MoveOptions, note: str | None) -> None:
    """Resume a project on hold in the stage it was held in; its deadline moves by the pause."""
    _move(c, opts, project_id, None, note, None)


@cli.command()
@click.argument("project_id", type=PROJECT_ID)
@move_options
@click.option("--reason", required=True, help="Why it ends (终止/退出).")
@pass_ctx
def terminate(c: Context, project_id: int, opts: MoveOptions, reason: str) -> None:
    """Terminate a project (终止/退出); it leaves the active list but never the history."""
    _move(c, opts, project_id, "terminated", reason, None)


@cli.command("log")
@click.argument("project_id", type=PROJECT_ID)
@click.argument("text")
@click.option("--by", required=True, metavar="OFFICIAL", help="Who followed up: key or name.")
@click.option("--on", metavar="DATE", help="When (default now).")
@evidence_option
@now_option
@pass_ctx
def log_cmd(
    c: Context,
    project_id: int,
    text: str,
    by: str,
    on: str | None,
    evidence: tuple[Path, ...],
    now: str | None,
) -> None:
    """Record a follow-up (跟进记录) on a project."""
    event = moves.log(
        c.runtime(now),
        project_id,
        by=by,
        text=text,
        on=c.instant(on, "--on"),
        evidence=uploads_from(evidence),
    )
    click.echo(_("follow-up {id} recorded on project {project}").format(id=event.id, project=project_id))


@cli.command()
@click.argument("project_id", type=PROJECT_ID)
@click.option("--days", type=int, metavar="N", help="Calendar days to add to the current deadline.")
@click.option("--until", metavar="DATE", help="The new deadline (instead of --days).")
@click.option(
    "--by",
    required=True,
    metavar="OFFICIAL",
    help="The approver: leader in charge, supervision or principal (key or name).",
)
@click.option("--reason", required=True, help="Why (recorded).")
@now_option
@pass_ctx
def extend(
    c: Context, project_id: int, days: int | None, until: str | None, by: str, reason: str, now: str | None
) -> None:
    """Move a project's deadline later (延期) by --days N or to --until DATE; starts a fresh warning
    ladder. Warns when the new deadline has already passed."""
    rt = c.runtime(now)
    day = parse_day(until, what="--until") if until is not None else None
    view = moves.extend(rt, project_id, days=days, until=day, by=by, reason=reason)
    click.echo(_("project {id} deadline now {deadline}").format(id=view.id, deadline=when(view.deadline)))
    today = local_day(rt.now(), rt.zone)
    if view.deadline is not None and view.deadline < today:
        click.echo(
            _(
                "warning: the new deadline {deadline} is already past (today is {today}): "
                "its warnings start again at once"
            ).format(deadline=when(view.deadline), today=when(today)),
            err=True,
        )
