"""What the use cases return: frozen, typed values, one JSON shape each (``to_dict``). The ledger's
views are here; the board's and the escalation's live beside their use cases (``board``, ``escalation``),
so that a command imports only the views it shows.

Times are aware datetimes in the configured zone and dates are dates; ``to_dict`` turns them into
ISO 8601 text (``2026-05-06T00:00:00+08:00``, ``2026-07-01``), amounts into numbers, enums into their
values. A field's JSON name is its own unless its metadata says otherwise (``json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from followup.domain.fields import PROJECT_FIELDS


def jsonable(value: Any) -> Any:
    """A value as JSON carries it."""
    if isinstance(value, View):
        return value.to_dict()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


class View:
    """A dataclass whose ``to_dict`` is its JSON shape."""

    def to_dict(self) -> dict[str, Any]:
        assert is_dataclass(self)
        return {f.metadata.get("json", f.name): jsonable(getattr(self, f.name)) for f in fields(self)}


def renamed(json: str, **default: Any) -> Any:
    """A field shown under another name in JSON (``from`` is a keyword in Python)."""
    return field(metadata={"json": json}, **default)


@dataclass(frozen=True)
class Ref(View):
    """Someone or something named by key: ``{"key": "lina", "name": "李娜"}``."""

    key: str
    name: str


@dataclass(frozen=True)
class UnitView(View):
    key: str
    name: str
    kind: str
    active: bool


@dataclass(frozen=True)
class OfficialView(View):
    key: str
    name: str
    email: str
    unit: str
    unit_name: str
    head: bool
    roles: tuple[str, ...]
    active: bool
    #: what the county also calls them in a ledger (马县长, 张常委)
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProjectView(View):
    """A project as shown to users and scripts: where it stands, its ledger fields, its clock."""

    id: int
    name: str
    workflow: str
    stage: str
    stage_label: str
    stage_since: datetime
    deadline: date | None
    officer: Ref
    unit: Ref
    leader: Ref | None
    # the ledger fields (fields.PROJECT_FIELDS but the leader, shown above)
    investor: str | None
    investor_contact: str | None
    amount: Decimal | None
    funds_in_place: Decimal | None
    code: str | None
    chain: str | None
    chain_link: str | None
    land: Decimal | None
    source: str | None
    signed_on: date | None
    contract_start: date | None
    contract_production: date | None
    started_on: date | None
    production_on: date | None
    remarks: str | None
    # side states
    held_stage: str | None
    hold_until: date | None
    hold_reason: str | None
    end_reason: str | None
    last_activity_at: datetime
    created_at: datetime
    updated_at: datetime
    version: int
    # the escalation clock
    deadline_basis: str | None
    deadline_version: int
    level: str | None
    level_label: str | None
    stale_since: date | None
    next_escalation_at: datetime | None
    #: why escalation cannot follow the project (its workflow does not load, or lacks its stage)
    problem: str | None = None
    #: when the project was voided (entered by mistake; its stage is then terminated), else None
    voided_at: datetime | None = None

    def ledger_fields(self) -> dict[str, Any]:
        """The ledger fields by name, as stored (the leader by key)."""
        return {
            name: (self.leader.key if self.leader else None) if name == "leader" else getattr(self, name)
            for name in PROJECT_FIELDS
        }


@dataclass(frozen=True)
class EventView(View):
    """One line of a project's history."""

    id: int
    kind: str
    at: datetime
    recorded_at: datetime
    by: Ref | None
    from_stage: str | None = renamed("from", default=None)
    to_stage: str | None = renamed("to", default=None)
    note: str | None = None
    changes: dict[str, Any] | None = None
    #: 录入人: the operating-system user who typed the command (None before it was recorded)
    entered_by: str | None = None
    #: the stages as the project's workflow names them (None when it cannot be loaded)
    from_label: str | None = None
    to_label: str | None = None
