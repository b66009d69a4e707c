"""``followup channel …``: the units' group robots in the work chats (政务钉钉, 企业微信, 飞书)."""

from __future__ import annotations

import click

from followup.app import channels
from followup.cli.output import table, yes_no
from followup.cli.root import MAX_ID, Context, cli, emit_json, json_option, now_option, pass_ctx
from followup.i18n import _

CHANNEL_ID = click.IntRange(1, MAX_ID)


@cli.group()
def channel() -> None:
    """Group robots in the work chats: warnings, notices, the weekly summary and the bulletin's
    headline go to a unit's group as cards."""


@channel.command("add")
@click.argument("unit")
@click.option("--kind", required=True, type=click.Choice(["dingtalk", "wecom", "feishu"]))
@click.option("--webhook", required=True, metavar="URL", help="The robot's full webhook address.")
@click.option(
    "--secret",
    metavar="S",
    help="The robot's signing secret (钉钉 加签 SEC…, 飞书 签名校验), or env:NAME to read it from the "
    "environment when sending.",
)
@click.option(
    "--mention-by",
    type=click.Choice(["mobile", "userid"]),
    default="mobile",
    show_default=True,
    help="How officials are @-mentioned: by mobile number or chat user id.",
)
@now_option
@pass_ctx
def channel_add(
    c: Context, unit: str, kind: str, webhook: str, secret: str | None, mention_by: str, now: str | None
) -> None:
    """Give a unit a group robot (UNIT: key or name)."""
    view = channels.add_channel(
        c.runtime(now), unit, kind=kind, webhook=webhook, secret=secret, mention_by=mention_by
    )
    click.echo(
        _("channel {id} added: {kind} robot of {unit}").format(
            id=view.id, kind=view.kind, unit=view.unit_name
        )
    )


@channel.command("list")
@click.option("--all", "include_inactive", is_flag=True, help="Include removed channels.")
@json_option
@pass_ctx
def channel_list(c: Context, include_inactive: bool, as_json: bool) -> None:
    """List the group robots (secrets masked) and how their cards went."""
    views = channels.list_channels(c.runtime(), include_inactive=include_inactive)
    if as_json:
        emit_json([v.to_dict() for v in views])
        return
    table(
        [_("id"), _("unit"), _("kind"), _("webhook"), _("secret"), _("mention by"), _("active"), _("sent"),
         _("failed")],
        [
            [str(v.id), v.unit_name, v.kind, v.webhook, v.secret or "-", v.mention_by, yes_no(v.active),
             str(v.sent), str(v.failed)]
            for v in views
        ],
    )  # fmt: skip
    for v in views:
        if v.failed and v.last_error:
            click.echo(_("channel {id}: {n} cards failed; last error: {error}").format(
                id=v.id, n=v.failed, error=v.last_error))  # fmt: skip


@channel.command("test")
@click.argument("channel_id", type=CHANNEL_ID, metavar="ID")
@pass_ctx
def channel_test(c: Context, channel_id: int) -> None:
    """Post a test card to a robot now."""
    view = channels.try_channel(c.runtime(), channel_id)
    click.echo(_("test card posted to channel {id} ({kind}, {unit})").format(
        id=view.id, kind=view.kind, unit=view.unit_name))  # fmt: skip


@channel.command("remove")
@click.argument("channel_id", type=CHANNEL_ID, metavar="ID")
@pass_ctx
def channel_remove(c: Context, channel_id: int) -> None:
    """Stop using a robot (its waiting cards are dropped as obsolete)."""
    view = channels.remove_channel(c.runtime(), channel_id)
    click.echo(
        _("channel {id} removed ({kind}, {unit})").format(id=view.id, kind=view.kind, unit=view.unit_name)
    )
