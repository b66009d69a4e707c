"""``followup import``, ``followup export`` and ``followup funds``: the ledger (台账) in and out, and the
money in place."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn, TypeVar

import click

from followup.app import funds as funds_app
from followup.app import ledgerbook, ledgerio
from followup.app.ledger import ProjectFilter
from followup.cli.ledger import project_filters
from followup.cli.output import Column, label, money, printable, table, when
from followup.cli.root import (
    PROJECT_ID,
    Context,
    StagesInHelp,
    cli,
    emit_json,
    json_option,
    now_option,
    pass_ctx,
)
from followup.domain.kinds import Role
from followup.errors import InvalidInput
from followup.i18n import _, ngettext

T = TypeVar("T")
#: files shorter than this get no progress bar: they are read in a blink
PROGRESS_FROM = 500


def _progress(items: Iterable[T], total: int, what: str) -> Iterable[T]:
    """A progress bar on stderr (tqdm) for a long file, when stderr is a terminal."""
    if total < PROGRESS_FROM or not sys.stderr.isatty():
        return items
    from tqdm import tqdm

    bar: Iterable[T] = tqdm(items, total=total, desc=what, unit=_("rows"), file=sys.stderr, leave=False)
    return bar


def report_path(source: Path, given: str | None) -> Path:
    """Where the report of bad cells goes: ``--report``, else beside the file (NAME.errors.xlsx)."""
    return Path(given) if given else source.with_name(f"{source.stem}.errors.xlsx")


@cli.command("import")
@click.argument("file", metavar="FILE.xlsx|FILE.csv", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--by", required=True, metavar="OFFICIAL", help="Who imports it (for the history): key or name."
)
@click.option("--sheet", metavar="NAME", help="The sheet to read (default: the first with a ledger header).")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what would be created and changed and what the first sweep would then send; write nothing.",
)
@click.option(
    "--report",
    metavar="PATH",
    help="Where to write the bad cells, marked, as xlsx (default: FILE.errors.xlsx beside the file).",
)
@json_option
@now_option
@pass_ctx
def import_(
    c: Context,
    file: Path,
    by: str,
    sheet: str | None,
    dry_run: bool,
    report: str | None,
    as_json: bool,
    now: str | None,
) -> None:
    """Import a county ledger (台账): an xlsx or CSV sheet with Chinese headers (see the README).

    Every line is checked before anything is written: one cell that cannot be read and nothing is
    imported; each bad cell is listed and marked in a copy of the sheet (exit 2). Known projects
    (by 项目编号, else by name and unit) are updated, with their history; importing the same file
    twice changes nothing."""
    rt = c.runtime(now)
    result, book, marks = ledgerio.import_ledger(
        rt, file, by=by, sheet=sheet, dry_run=dry_run, progress=_progress
    )
    if result.problems:
        _refuse(result, book, marks, file, report_path(file, report), as_json)
    if as_json:
        emit_json(result.to_dict())
        return
    if result.unread_columns:
        click.echo(
            printable(
                _("columns not imported: {columns}").format(columns=_("、").join(result.unread_columns))
            )
        )
    if dry_run and result.planned:
        _planned(result)
    _summary(result, file, dry_run)
    _notes(result)
    if dry_run:
        _forecast(result)


def _refuse(
    result: ledgerio.ImportResult,
    book: ledgerbook.Sheet,
    marks: list[ledgerbook.Mark],
    file: Path,
    out: Path,
    as_json: bool,
) -> NoReturn:
    """Writes the report of bad cells to ``out``, lists them, and refuses the import (exit 2)."""
    lines = [[p.sheet, str(p.row), p.column, p.header, p.value, p.problem] for p in result.problems]
    ledgerbook.write_report(book, marks, lines, out)
    if as_json:
        emit_json({**result.to_dict(), "report": str(out)})
    else:
        table(_problem_columns(), [[p.row, p.column, p.header, p.value, p.problem] for p in result.problems])
    raise InvalidInput(
        ngettext(
            "{n} problem in {file}: nothing was imported; the cells are marked in {report}",
            "{n} problems in {file}: nothing was imported; the cells are marked in {report}",
            len(result.problems),
        ).format(n=len(result.problems), file=file.name, report=out)
    )


def _planned(result: ledgerio.ImportResult) -> None:
    """What a dry run would do to each line's project, one line each."""
    table(
        [
            Column(_("row"), ">", "keep"),
            Column(_("action")),
            Column(_("id"), ">", "keep"),
            Column(_("project name"), floor=8),
            Column(_("changes"), squeeze="wrap", floor=10),
        ],
        [
            [
                p.row,
                _("create") if p.action == "create" else _("change"),
                p.project_id or "",
                p.name,
                ledgerio.describe(p.changes),
            ]
            for p in result.planned
        ],
    )


def _summary(result: ledgerio.ImportResult, file: Path, dry_run: bool) -> None:
    """The import's counts in one line."""
    done = (
        _(
            "would import {file} (sheet {sheet}): {created} created, {changed} changed, "
            "{unchanged} unchanged; {skipped} lines skipped (blank, 小计/合计)"
        )
        if dry_run
        else _(
            "imported {file} (sheet {sheet}): {created} created, {changed} changed, {unchanged} unchanged; "
            "{skipped} lines skipped (blank, 小计/合计)"
        )
    )
    click.echo(
        printable(
            done.format(
                file=file.name,
                sheet=result.sheet,
                created=result.created,
                changed=result.changed,
                unchanged=result.unchanged,
                skipped=result.skipped,
            )
        )
    )


#: how many notes the terminal shows (--json has them all)
NOTES_SHOWN = 50


def _notes(result: ledgerio.ImportResult) -> None:
    """The lines whose date was taken as the import day, one each."""
    if not result.notes:
        return
    click.echo(
        ngettext(
            "{n} line had no date for its stage; the import day was taken:",
            "{n} lines had no date for their stage; the import day was taken:",
            len(result.notes),
        ).format(n=len(result.notes))
    )
    for n in result.notes[:NOTES_SHOWN]:
        if n.what == "recorded":
            text = _("row {row} project {name}: no {field} given, so {field} is the import day {day}")
        else:
            text = _(
                "row {row} project {name}: no {field} given, so it entered {stage} on the import day {day}"
            )
        click.echo(
            printable(
                "  "
                + text.format(
                    row=n.row, name=n.name, field=n.field_label, stage=n.stage_label, day=n.day.isoformat()
                )
            )
        )
    if len(result.notes) > NOTES_SHOWN:
        click.echo("  " + _("… and {n} more (see --json)").format(n=len(result.notes) - NOTES_SHOWN))


def _problem_columns() -> list[Column]:
    return [
        Column(_("row"), ">", "keep"),
        Column(_("column"), squeeze="keep"),
        Column(_("header"), floor=6),
        Column(_("value"), floor=6),
        Column(_("problem"), squeeze="wrap", floor=12),
    ]


def _forecast(result: ledgerio.ImportResult) -> None:
    if not result.mails:
        click.echo(_("the first sweep after it would queue no warnings"))
        return
    click.echo(
        ngettext(
            "the first sweep after it would queue {n} notification for {people} officials:",
            "the first sweep after it would queue {n} notifications for {people} officials:",
            result.notifications,
        ).format(n=result.notifications, people=len(result.mails))
    )
    table(
        [
            Column(_("official")),
            Column(_("name")),
            Column(_("roles")),
            Column(_("notifications"), ">", "keep"),
        ],
        [
            [m.key, m.name, _("、").join(label(Role, r) for r in m.roles), m.notifications]
            for m in result.mails
        ],
    )


@cli.command("export", cls=StagesInHelp)
@click.argument("file", metavar="FILE.xlsx|FILE.csv", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--template",
    is_flag=True,
    help="Write an empty ledger: the header, one example line and the instructions.",
)
@project_filters
@now_option
@pass_ctx
def export(c: Context, file: Path, template: bool, filters: ProjectFilter, now: str | None) -> None:
    """Write the ledger (台账) as xlsx (title, frozen header, lights as colours) or CSV (UTF-8 with a
    BOM, for Excel); the projects are chosen as `project list` chooses them. It imports back unchanged."""
    n = ledgerio.export_ledger(c.runtime(now), file, filters, template=template)
    if template:
        click.echo(printable(_("template written to {file}").format(file=file)))
    else:
        click.echo(
            printable(
                ngettext("{n} project written to {file}", "{n} projects written to {file}", n).format(
                    n=n, file=file
                )
            )
        )


@cli.command("funds")
@click.argument("project_id", type=PROJECT_ID)
@click.option(
    "--amount",
    required=True,
    metavar="万元",
    help="The money that newly arrived (added to the funds in place): 500, 1,200, 0.5亿.",
)
@click.option("--on", "on", metavar="DATE", help="The day it arrived (default: now; not in the future).")
@click.option(
    "--by", required=True, metavar="OFFICIAL", help="Who records it (for the history): key or name."
)
@click.option("--note", help="Where it came from, what it is for.")
@json_option
@now_option
@pass_ctx
def funds(
    c: Context,
    project_id: int,
    amount: str,
    on: str | None,
    by: str,
    note: str | None,
    as_json: bool,
    now: str | None,
) -> None:
    """Record money actually in place (资金到位) for a project: the amount is what newly arrived."""
    rt = c.runtime(now)
    result = funds_app.record_funds(rt, project_id, amount=amount, on=c.instant(on, "--on"), by=by, note=note)
    if as_json:
        emit_json(result.to_dict())
        return
    line = _("project {id}: {arrived} 万元 in place on {on}; funds in place {before} → {after} 万元")
    text = line.format(
        id=result.project_id,
        arrived=money(result.arrived),
        on=when(result.on.date()),
        before=money(result.before),
        after=money(result.after),
    )
    if result.amount:
        share = result.after / result.amount * 100
        text += _(" ({share:.1f}% of {amount} 万元)").format(share=share, amount=money(result.amount))
    click.echo(printable(text))
