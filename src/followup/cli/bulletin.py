"""``followup bulletin``: the monthly bulletin (月通报) as HTML, xlsx or PDF, or queued for its readers."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from followup.app import bulletin, bulletin_files
from followup.cli.output import when
from followup.cli.root import Context, cli, emit_json, json_option, now_option, pass_ctx
from followup.errors import InvalidInput
from followup.i18n import _, ngettext


@cli.command("bulletin")
@click.option("--month", metavar="YYYY-MM", help="The month (2026-11; default: the month before --now).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(bulletin_files.FORMATS),
    default="html",
    show_default=True,
    help="html (a page to print or mail), xlsx (with charts) or pdf (A4).",
)
@click.option(
    "--output",
    "-o",
    metavar="FILE",
    help="Where to write it (default 月通报YYYY-MM.<format> in the current folder; - for standard output).",
)
@click.option(
    "--queue",
    is_flag=True,
    help="Queue the month's bulletin for its readers now (once per reader and month), instead of a file.",
)
@now_option
@json_option
@pass_ctx
def bulletin_command(
    c: Context,
    month: str | None,
    fmt: str,
    output: str | None,
    queue: bool,
    now: str | None,
    as_json: bool,
) -> None:
    """Make the monthly bulletin (月通报): the month's figures against the month before, units ranked
    (红黑榜), red and 约谈 projects, overdue problems, open 督办 notices, a funnel and charts.

    The daemon mails it by itself to the county leaders, the supervision office, the principal leaders and
    the bureau head (FOLLOWUP_BULLETIN_SCHEDULE, default the 5th at 09:00 or the next working day)."""
    rt = c.runtime(now)
    if queue:
        if output is not None:
            raise InvalidInput(_("--queue writes no file: leave out --output"))
        result = bulletin.queue_bulletin(rt, month or bulletin.month_key(*bulletin.default_month(rt)))
        if as_json:
            emit_json(result.to_dict())
            return
        click.echo(
            ngettext(
                "{n} bulletin of {month} queued ({readers} readers); `followup send` delivers it",
                "{n} bulletins of {month} queued ({readers} readers); `followup send` delivers them",
                result.queued,
            ).format(n=result.queued, month=result.month, readers=result.recipients)
        )
        return
    view = bulletin.build_bulletin(rt, month)
    if as_json:
        emit_json(view.to_dict())
        return
    if output == "-" and fmt != "html":
        raise InvalidInput(_("only --format html can go to standard output; give --output FILE"))
    data = bulletin_files.write(rt, view, fmt)
    if output == "-":
        sys.stdout.write(data.decode("utf-8"))
        return
    target = Path(output) if output else Path(bulletin_files.file_name(view, fmt))
    try:
        target.write_bytes(data)
    except OSError as exc:
        problem = _("cannot write {path}: {reason}").format(path=target, reason=exc.strerror)
        raise InvalidInput(problem) from exc
    click.echo(
        _("bulletin of {month} ({title}) written to {path}; figures as of {day}").format(
            month=view.month, title=view.title, path=target, day=when(view.as_of)
        )
    )
