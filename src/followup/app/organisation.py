"""The organisation: responsible units (乡镇, 部门) and the officials who answer for projects.

Officials who leave office are deactivated (their projects handed over, with history), never deleted
once anything refers to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followup.app import records
from followup.app.runtime import Runtime
from followup.app.views import OfficialView, UnitView
from followup.domain import validate, words
from followup.domain.kinds import HELD_ROLES, EventKind, Role, UnitKind
from followup.domain.workflow import TERMINATED
from followup.errors import DuplicateKey, InvalidInput, StillReferenced
from followup.i18n import _, listed, named, ngettext
from followup.store.models import Official, OfficialRole, Project, ProjectEvent, Unit


def unit_view(row: Unit) -> UnitView:
    return UnitView(row.key, row.name, row.kind, row.active)


def official_view(row: Official) -> OfficialView:
    return OfficialView(
        row.key,
        row.name,
        row.email,
        row.unit.key,
        row.unit.name,
        row.is_head,
        tuple(row.roles),
        row.active,
        tuple(row.aliases or ()),
    )


def _aliases(session: Session, aliases: Iterable[str], official_id: int | None = None) -> list[str] | None:
    """What the county also calls an official in its ledgers (马县长), checked: one line each, and
    nobody else in office is called so (by name or alias); None when there is none."""
    out: list[str] = []
    for alias in aliases:
        alias = validate.line(alias, _("alias"), max_len=50)
        if words.folded(alias) not in {words.folded(a) for a in out}:
            out.append(alias)
    if not out:
        return None
    wanted = {words.folded(a) for a in out}
    for other in session.scalars(select(Official).where(Official.active.is_(True))).unique():
        if other.id == official_id:
            continue
        theirs = {words.folded(other.name)} | {words.folded(a) for a in other.aliases or ()}
        taken = wanted & theirs
        if taken:
            raise DuplicateKey(
                _("{official} is already called {alias}: an alias names one official").format(
                    official=named(other.key, other.name), alias=sorted(taken)[0]
                )
            )
    return out


def _kind(kind: str) -> UnitKind:
    try:
        return UnitKind(kind)
    except ValueError:
        allowed = listed(named(k, k.label) for k in UnitKind)
        message = _("bad unit kind {kind!r}; allowed: {allowed}")
        raise InvalidInput(message.format(kind=kind, allowed=allowed)) from None


def _roles(roles: Iterable[str]) -> list[str]:
    out: set[str] = set()
    for role in roles:
        if role not in HELD_ROLES:
            allowed = listed(named(r, r.label) for r in HELD_ROLES)
            message = _("unknown role {role!r}; allowed: {allowed}")
            raise InvalidInput(message.format(role=role, allowed=allowed))
        out.add(role)
    return sorted(out)


# --------------------------------------------------------------------------- units


def add_unit(rt: Runtime, key: str, name: str, kind: str) -> UnitView:
    validate.key(key, _("unit"))
    name = validate.line(name, _("unit name"), max_len=200)
    checked = _kind(kind)
    with rt.store.transaction() as session:
        if session.scalars(select(Unit.id).where(Unit.key == key)).first() is not None:
            raise DuplicateKey(_("unit {key!r} already exists").format(key=key))
        row = Unit(key=key, name=name, kind=str(checked), active=True, created_at=rt.now())
        session.add(row)
        session.flush()
        return unit_view(row)


def list_units(rt: Runtime, *, include_inactive: bool = False) -> list[UnitView]:
    with rt.store.reading() as session:
        query = select(Unit).order_by(Unit.key)
        if not include_inactive:
            query = query.where(Unit.active.is_(True))
        return [unit_view(r) for r in session.scalars(query)]


def update_unit(
    rt: Runtime, key: str, *, name: str | None = None, kind: str | None = None, active: bool | None = None
) -> UnitView:
    name = validate.line(name, _("unit name"), max_len=200) if name is not None else None
    checked = _kind(kind) if kind is not None else None
    with rt.store.transaction() as session:
        row = records.unit(session, key, active=False)
        if active is False:
            busy = session.scalars(
                select(Project.id)
                .where(Project.unit_id == row.id, Project.stage != TERMINATED)
                .order_by(Project.id)
            ).all()
            if busy:
                raise StillReferenced(
                    ngettext(
                        "unit {key!r} ({name}) is still responsible for {n} active project: {ids}; "
                        "move it first (`followup project edit ID --unit UNIT --by OFFICIAL`) or end it",
                        "unit {key!r} ({name}) is still responsible for {n} active projects: {ids}; "
                        "move them first (`followup project edit ID --unit UNIT --by OFFICIAL`) or end them",
                        len(busy),
                    ).format(key=row.key, name=row.name, n=len(busy), ids=", ".join(map(str, busy)))
                )
        if name is not None:
            row.name = name
        if checked is not None:
            row.kind = str(checked)
        if active is not None:
            row.active = active
        return unit_view(row)


# --------------------------------------------------------------------------- officials


def add_official(
    rt: Runtime,
    key: str,
    *,
    name: str,
    email: str,
    unit: str,
    head: bool = False,
    roles: Sequence[str] = (),
    allow_duplicate: bool = False,
    aliases: Sequence[str] = (),
) -> OfficialView:
    """Add an official; an address another official already has is refused unless
    ``allow_duplicate`` (a shared office mailbox): mostly the same person entered twice. ``aliases``:
    what the county also calls them in a ledger (马县长)."""
    validate.key(key, _("official"))
    name = validate.line(name, _("name"), max_len=200)
    email = validate.email(email)
    checked = _roles(roles)
    with rt.store.transaction() as session:
        if session.scalars(select(Official.id).where(Official.key == key)).first() is not None:
            raise DuplicateKey(_("official {key!r} already exists").format(key=key))
        if not allow_duplicate:
            _refuse_shared_address(session, email)
        checked_aliases = _aliases(session, aliases)
        row = Official(
            key=key,
            name=name,
            email=email,
            unit=records.unit(session, unit),
            is_head=head,
            active=True,
            created_at=rt.now(),
            role_rows=[OfficialRole(role=r) for r in checked],
            aliases=checked_aliases,
        )
        session.add(row)
        session.flush()
        return official_view(row)


def _refuse_shared_address(session: Session, email: str, official_id: int | None = None) -> None:
    """Refuse an address another official has (compared without case): each warning would reach the
    same mailbox twice, and a person entered twice gets both their shares."""
    same = session.execute(
        select(Official.key, Official.name).where(
            func.lower(Official.email) == email.lower(), Official.id != (official_id or 0)
        )
    ).all()
    if same:
        who = listed(named(r.key, r.name) for r in same)
        raise DuplicateKey(
            _(
                "{email} is already the address of {who}; if it really is shared, give --allow-duplicate"
            ).format(email=email, who=who)
        )


def list_officials(
    rt: Runtime, *, unit: str | None = None, role: str | None = None, include_inactive: bool = False
) -> list[OfficialView]:
    with rt.store.reading() as session:
        query = select(Official).order_by(Official.key)
        if unit is not None:
            query = query.where(Official.unit_id == records.unit(session, unit, active=False).id)
        if role is not None:
            _roles([role])
            query = query.where(Official.role_rows.any(OfficialRole.role == role))
        if not include_inactive:
            query = query.where(Official.active.is_(True))
        return [official_view(r) for r in session.scalars(query).unique()]


def get_official(rt: Runtime, key: str) -> OfficialView:
    with rt.store.reading() as session:
        return official_view(records.official(session, key, active=False))


def update_official(
    rt: Runtime,
    key: str,
    *,
    name: str | None = None,
    email: str | None = None,
    unit: str | None = None,
    head: bool | None = None,
    roles: Sequence[str] | None = None,
    allow_duplicate: bool = False,
    aliases: Sequence[str] | None = None,
) -> OfficialView:
    """Change an official; ``aliases`` replaces what the county also calls them ([]: none)."""
    name = validate.line(name, _("name"), max_len=200) if name is not None else None
    email = validate.email(email) if email is not None else None
    checked = _roles(roles) if roles is not None else None
    with rt.store.transaction() as session:
        row = records.official(session, key, active=False)
        if name is not None:
            row.name = name
        if email is not None:
            if not allow_duplicate:
                _refuse_shared_address(session, email, row.id)
            row.email = email
        if unit is not None:
            row.unit = records.unit(session, unit)
        if head is not None:
            row.is_head = head
        if checked is not None:
            if Role.LEADER not in checked and Role.LEADER in row.roles:
                busy = session.scalars(
                    select(Project.id).where(Project.leader_id == row.id, Project.stage != TERMINATED)
                ).first()
                if busy is not None:
                    raise StillReferenced(
                        _("{key!r} is leader in charge of project {id}; reassign first").format(
                            key=key, id=busy
                        )
                    )
            row.role_rows = [OfficialRole(role=r) for r in checked]
        if aliases is not None:
            row.aliases = _aliases(session, aliases, row.id)
        session.flush()
        return official_view(row)


def deactivate_official(
    rt: Runtime, key: str, *, reassign_to: str | None, by: str | None
) -> tuple[OfficialView, list[int]]:
    """Mark someone as having left office; with ``reassign_to``, hand over their active projects.

    Nobody is ever deleted while referenced: the history keeps naming them.
    """
    now = rt.now()
    with rt.store.transaction() as session:
        row = records.official(session, key, active=False)
        if not row.active:
            raise InvalidInput(_("official {key!r} is already deactivated").format(key=key))
        actor = records.official(session, by, what=_("--by official")) if by else None
        successor = records.official(session, reassign_to, what=_("successor")) if reassign_to else None
        if successor is not None and successor.id == row.id:
            raise InvalidInput(_("cannot reassign projects to the official who leaves"))
        projects = _followed(session, row)
        _check_handover(row, projects, successor, actor)
        for project in projects:
            assert successor is not None  # refused above when there are projects to hand over
            changes = _hand_over(project, row, successor, reassign_to)
            project.updated_at = now
            records.record_event(
                rt,
                session,
                project,
                EventKind.REASSIGN,
                at=now,
                now=now,
                by=actor,
                note=f"{row.name} 离任，项目移交 {successor.name}",
                changes=changes,
            )
        row.active = False
        row.left_at = now
        session.flush()
        return official_view(row), [p.id for p in projects]


def _followed(session: Session, row: Official) -> list[Project]:
    """The projects ``row`` follows as case officer or leader in charge that are not terminated, by id."""
    return list(
        session.scalars(
            select(Project)
            .where(
                (Project.officer_id == row.id) | (Project.leader_id == row.id),
                Project.stage != TERMINATED,
            )
            .order_by(Project.id)
        )
        .unique()
        .all()
    )


def _check_handover(
    row: Official, projects: list[Project], successor: Official | None, actor: Official | None
) -> None:
    """Someone who still follows projects leaves only handing them over to a successor, recorded by
    someone."""
    if projects and successor is None:
        ids = ", ".join(str(p.id) for p in projects)
        raise StillReferenced(
            ngettext(
                "{key!r} ({name}) still follows {n} active project: {ids}; "
                "give --reassign-to OFFICIAL --by OFFICIAL to hand it over",
                "{key!r} ({name}) still follows {n} active projects: {ids}; "
                "give --reassign-to OFFICIAL --by OFFICIAL to hand them over",
                len(projects),
            ).format(key=row.key, name=row.name, n=len(projects), ids=ids)
        )
    if projects and actor is None:
        raise InvalidInput(
            ngettext(
                "handing over {n} project writes its history: give --by OFFICIAL (who records the handover)",
                "handing over {n} projects writes their history: "
                "give --by OFFICIAL (who records the handover)",
                len(projects),
            ).format(n=len(projects))
        )


def _hand_over(
    project: Project, leaving: Official, successor: Official, successor_key: str | None
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if project.officer_id == leaving.id:
        project.officer = successor
        changes["officer"] = [leaving.key, successor.key]
    if project.leader_id == leaving.id:
        if Role.LEADER not in successor.roles:
            raise InvalidInput(
                _(
                    "successor {key!r} is not a county leader (role leader) "
                    "but {leaving!r} leads project {id}"
                ).format(key=successor_key, leaving=leaving.key, id=project.id)
            )
        project.leader = successor
        changes["leader"] = [leaving.key, successor.key]
    return changes


def delete_official(rt: Runtime, key: str) -> None:
    """Remove an official entered by mistake; refused once anything refers to them."""
    with rt.store.transaction() as session:
        row = records.official(session, key, active=False)
        if not row.active:
            raise StillReferenced(
                _(
                    "official {key!r} has left office and is kept for the record; "
                    "deactivated officials are never deleted"
                ).format(key=key)
            )
        used = session.scalars(
            select(Project.id).where((Project.officer_id == row.id) | (Project.leader_id == row.id))
        ).first()
        used = used or session.scalars(select(ProjectEvent.id).where(ProjectEvent.by_id == row.id)).first()
        if used is not None:
            raise StillReferenced(
                _(
                    "official {key!r} is referenced by projects or their history; "
                    "use `followup official deactivate {key}` instead"
                ).format(key=key)
            )
        session.delete(row)
