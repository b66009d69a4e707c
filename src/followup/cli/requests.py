"""Extension and hold requests from the command line: ``request`` (申请延期/暂缓) and ``approve`` (审批)."""

from __future__ import annotations

import click

from followup.app import requests
from followup.cli.output import when
from followup.cli.root import PROJECT_ID, Context, cli, emit_json, json_option, now_option, pass_ctx
from followup.domain.timeutil import parse_day
from followup.i18n import _


@cli.command("request")
@click.argument("kind", type=click.Choice(requests.KINDS))
@click.argument("project_id", type=PROJECT_ID)
@click.option("--by", required=True, metavar="OFFICIAL", help="Who asks: key or name.")
@click.option("--reason", required=True, help="Why (recorded, and mailed to the approver).")
@click.option(
    "--days", type=int, metavar="N", help="Extension: calendar days to add to the current deadline."
)
@click.option("--until", metavar="DATE", help="Extension: the new deadline; hold: the expected restart date.")
@json_option
@now_option
@pass_ctx
def request_cmd(
    c: Context,
    kind: str,
    project_id: int,
    by: str,
    reason: str,
    days: int | None,
    until: str | None,
    as_json: bool,
    now: str | None,
) -> None:
    """Ask for an extension (延期) or a hold (暂缓) of a project; its leader in charge (else the
    supervision office) is mailed the request to approve."""
    day = parse_day(until, what="--until") if until is not None else None
    view = requests.ask(c.runtime(now), project_id, by=by, kind=kind, reason=reason, days=days, until=day)
    if as_json:
        emit_json(view.to_dict())
        return
    click.echo(
        _("request {id} ({kind}) of project {project} is awaiting approval").format(
            id=view.id, kind=view.kind_label, project=view.project_id
        )
    )


@cli.command("approve")
@click.argument("request_id", type=PROJECT_ID, metavar="REQUEST")
@click.option(
    "--by",
    required=True,
    metavar="OFFICIAL",
    help="The approver: leader in charge, supervision or principal (key or name).",
)
@click.option("--reject", is_flag=True, help="Reject the request instead of approving it.")
@click.option("--note", help="The approver's note (mailed back with the decision).")
@json_option
@now_option
@pass_ctx
def approve_cmd(
    c: Context, request_id: int, by: str, reject: bool, note: str | None, as_json: bool, now: str | None
) -> None:
    """Approve (or --reject) an extension or hold request; the one who asked is mailed the decision."""
    view = requests.decide(c.runtime(now), request_id, by=by, approve=not reject, note=note)
    if as_json:
        emit_json(view.to_dict())
        return
    click.echo(
        _("request {id} ({kind}) of project {project}: {status}; deadline {deadline}").format(
            id=view.id,
            kind=view.kind_label,
            project=view.project_id,
            status=view.status_label,
            deadline=when(view.deadline),
        )
    )
