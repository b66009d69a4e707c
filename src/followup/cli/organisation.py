"""``followup unit …`` and ``followup official …``: the organisation."""

from __future__ import annotations

import click

from followup.app import organisation
from followup.app.views import OfficialView
from followup.cli.output import NONE, label, listed, printable, table, yes_no
from followup.cli.root import Context, cli, emit_json, json_option, now_option, pass_ctx
from followup.domain.kinds import Role, UnitKind
from followup.errors import InvalidInput
from followup.i18n import _


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
    view = organisation.add_unit(c.runtime(now), key, name, kind)
    click.echo(_("unit {key} added: {name}").format(key=view.key, name=view.name))


@unit.command("list")
@click.option("--all", "include_inactive", is_flag=True, help="Include deactivated units.")
@json_option
@pass_ctx
def unit_list(c: Context, include_inactive: bool, as_json: bool) -> None:
    """List units."""
    units = organisation.list_units(c.runtime(), include_inactive=include_inactive)
    if as_json:
        emit_json([u.to_dict() for u in units])
        return
    table(
        [_("key"), _("unit name"), _("kind"), _("active")],
        [[u.key, u.name, label(UnitKind, u.kind), yes_no(u.active)] for u in units],
    )


@unit.command("update")
@click.argument("key")
@click.option("--name")
@click.option("--kind", type=click.Choice(["township", "department"]))
@pass_ctx
def unit_update(c: Context, key: str, name: str | None, kind: str | None) -> None:
    """Rename a unit or change its kind."""
    if name is None and kind is None:
        raise InvalidInput(_("nothing to change: give --name or --kind"))
    view = organisation.update_unit(c.runtime(), key, name=name, kind=kind)
    click.echo(
        _("unit {key} updated: {name} ({kind})").format(
            key=view.key, name=view.name, kind=label(UnitKind, view.kind)
        )
    )


@unit.command("deactivate")
@click.argument("key")
@pass_ctx
def unit_deactivate(c: Context, key: str) -> None:
    """Deactivate a unit that no longer answers for any active project."""
    view = organisation.update_unit(c.runtime(), key, active=False)
    click.echo(_("unit {key} deactivated").format(key=view.key))


# --------------------------------------------------------------------------- officials


@cli.group()
def official() -> None:
    """Officials: case officers, unit heads, county leaders, the supervision office."""


ALIAS_HELP = (
    "What the county also calls them in a ledger, e.g. 马县长 (`followup import` and every OFFICIAL option "
    "accept it); repeat for several."
)
ROLE_HELP = (
    "leader (县领导, can be a project's leader in charge), supervision (督查室), "
    "principal (主要领导); repeat for several."
)


@official.command("add")
@click.argument("key")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--unit", "unit_key", required=True, help="The official's unit: key or name.")
@click.option("--head", is_flag=True, help="Heads the unit (gets its yellow warnings).")
@click.option("--role", "roles", multiple=True, help=ROLE_HELP)
@click.option("--alias", "aliases", multiple=True, metavar="NAME", help=ALIAS_HELP)
@click.option("--allow-duplicate", is_flag=True, help="Allow an address another official already has.")
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
    aliases: tuple[str, ...],
    allow_duplicate: bool,
    now: str | None,
) -> None:
    """Add an official."""
    rt = c.runtime(now)
    view = organisation.add_official(
        rt,
        key,
        name=name,
        email=email,
        unit=unit_key,
        head=head,
        roles=roles,
        allow_duplicate=allow_duplicate,
        aliases=aliases,
    )
    click.echo(
        _("official {key} added: {name} <{email}>, {unit}").format(
            key=view.key, name=view.name, email=view.email, unit=view.unit_name
        )
    )


@official.command("list")
@click.option("--unit", "unit_key", metavar="UNIT", help="Key or name.")
@click.option("--role")
@click.option("--all", "include_inactive", is_flag=True, help="Include those who left office.")
@json_option
@pass_ctx
def official_list(
    c: Context, unit_key: str | None, role: str | None, include_inactive: bool, as_json: bool
) -> None:
    """List officials."""
    rows = organisation.list_officials(
        c.runtime(), unit=unit_key, role=role, include_inactive=include_inactive
    )
    if as_json:
        emit_json([o.to_dict() for o in rows])
        return
    table(
        [_("key"), _("name"), _("e-mail"), _("unit"), _("unit head"), _("roles"), _("in office")],
        [
            [
                o.key,
                o.name,
                o.email,
                o.unit_name,
                _("yes") if o.head else "",
                _roles(o),
                yes_no(o.active),
            ]
            for o in rows
        ],
    )


def _roles(o: OfficialView) -> str:
    return listed(label(Role, r) for r in o.roles)


@official.command("show")
@click.argument("key")
@json_option
@pass_ctx
def official_show(c: Context, key: str, as_json: bool) -> None:
    """Show one official."""
    view = organisation.get_official(c.runtime(), key)
    if as_json:
        emit_json(view.to_dict())
        return
    lines = [
        (_("key"), view.key),
        (_("name"), view.name),
        (_("e-mail"), view.email),
        (_("unit"), _("{name} ({key})").format(name=view.unit_name, key=view.unit)),
        (_("unit head"), yes_no(view.head)),
        (_("roles"), _roles(view) or NONE),
        (_("aliases"), listed(view.aliases) or NONE),
        (_("in office"), yes_no(view.active)),
    ]
    for name, value in lines:
        click.echo(printable(_("{label}: {value}").format(label=name, value=value)))


@official.command("update")
@click.argument("key")
@click.option("--name")
@click.option("--email")
@click.option("--unit", "unit_key", metavar="UNIT", help="Another unit: key or name.")
@click.option("--head/--no-head", default=None)
@click.option("--role", "roles", multiple=True, help="Replace the roles: " + ROLE_HELP)
@click.option("--no-roles", is_flag=True, help="Remove every role.")
@click.option("--alias", "aliases", multiple=True, metavar="NAME", help="Replace the aliases: " + ALIAS_HELP)
@click.option("--no-aliases", is_flag=True, help="Remove every alias.")
@click.option("--allow-duplicate", is_flag=True, help="Allow an address another official already has.")
@click.option("--mobile", metavar="NUMBER", help='Mobile number, @-mentioned in work chats ("" clears).')
@click.option("--chat-user-id", metavar="ID", help='User id in the work chats, @-mentioned ("" clears).')
@click.option(
    "--notify", type=click.Choice(["mail", "chat", "both"]), help="Where warnings reach them (default: both)."
)
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
    aliases: tuple[str, ...],
    no_aliases: bool,
    allow_duplicate: bool,
    mobile: str | None,
    chat_user_id: str | None,
    notify: str | None,
) -> None:
    """Change an official's name, address, unit, headship, roles, aliases or chat identity."""
    new_roles: list[str] | None = [] if no_roles else (list(roles) if roles else None)
    new_aliases: list[str] | None = [] if no_aliases else (list(aliases) if aliases else None)
    chat = (mobile, chat_user_id, notify)
    if all(v is None for v in (name, email, unit_key, head, new_roles, new_aliases, *chat)):
        raise InvalidInput(_("nothing to change: give --name, --email, --unit, --head, --role or --alias"))
    rt = c.runtime()
    if any(v is not None for v in chat):  # issue 11 — chat channels
        from followup.app.channels import set_chat_contact

        shown = set_chat_contact(rt, key, mobile=mobile, chat_user_id=chat_user_id, notify=notify)
        click.echo(_("official {key}: mobile {mobile}, chat user id {user}, notified by {notify}").format(
            key=key, mobile=shown[0] or NONE, user=shown[1] or NONE, notify=shown[2]))  # fmt: skip
        if all(v is None for v in (name, email, unit_key, head, new_roles, new_aliases)):
            return
    view = organisation.update_official(
        rt,
        key,
        name=name,
        email=email,
        unit=unit_key,
        head=head,
        roles=new_roles,
        allow_duplicate=allow_duplicate,
        aliases=new_aliases,
    )
    click.echo(
        _("official {key} updated: {name} <{email}>, {unit}, roles: {roles}").format(
            key=view.key, name=view.name, email=view.email, unit=view.unit_name, roles=_roles(view) or NONE
        )
    )


@official.command("deactivate")
@click.argument("key")
@click.option(
    "--reassign-to",
    metavar="OFFICIAL",
    help="Hand their active projects (as case officer or leader) to this official (key or name).",
)
@click.option(
    "--by", metavar="OFFICIAL", help="Who records the handover (key or name; needed when there is one)."
)
@now_option
@pass_ctx
def official_deactivate(
    c: Context, key: str, reassign_to: str | None, by: str | None, now: str | None
) -> None:
    """Record that someone left office. They stay in the history; they are never deleted."""
    view, moved = organisation.deactivate_official(c.runtime(now), key, reassign_to=reassign_to, by=by)
    if moved:
        done = _("official {key} deactivated; projects {ids} handed to {successor}")
    else:
        done = _("official {key} deactivated")
    click.echo(done.format(key=view.key, ids=", ".join(map(str, moved)), successor=reassign_to))


@official.command("delete")
@click.argument("key")
@pass_ctx
def official_delete(c: Context, key: str) -> None:
    """Delete an official entered by mistake (refused once referenced)."""
    organisation.delete_official(c.runtime(), key)
    click.echo(_("official {key} deleted").format(key=key))
