"""What the web app's read pages show (驾驶舱, the project list, "my projects"), read set-based so that
they stay fast at 100k projects: the board's counts in one GROUP BY, every list with a LIMIT and its
full count beside it.

The lights here are the rung each project's ladder had reached when it last changed or was last swept
(``projects.level``, kept by ``records.reschedule`` and the sweep): one indexed column instead of one
ladder assessed per project per page. The sweep runs every few minutes, so the board lags by at most
that; the project page (``ledger.show_project``) assesses its one project as of now.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import aliased

from followup.app import ledgerbook
from followup.app.ledger import ProjectFilter
from followup.app.ledgerio import export_table, ledger_columns
from followup.app.runtime import Runtime
from followup.app.views import Ref, View
from followup.domain.kinds import Light
from followup.domain.metrics import LIFECYCLE
from followup.domain.timeutil import local_day
from followup.domain.workflow import ON_HOLD, TERMINATED
from followup.store.models import Official, Project, Unit

#: how many projects a list on a page shows at most (the page says how many there are in all)
LIST_LIMIT = 50
PAGE_SIZE = 50
#: "due this week": a deadline within this many days; "holds running out": a restart date within these
DUE_DAYS = 7
HOLD_DAYS = 14
LIGHTS = tuple(str(light) for light in Light)
#: levels the board shows as themselves; any other (a county's own) counts as red
_NAMED = ("blue", "yellow", "top")


@dataclass(frozen=True)
class Line(View):
    """A project as a list shows it: where it stands, whose it is, its light and dates."""

    id: int
    name: str
    stage: str
    stage_label: str
    unit: Ref
    officer: Ref
    leader: Ref | None
    chain: str | None
    light: str
    light_label: str
    deadline: date | None
    hold_until: date | None


@dataclass(frozen=True)
class Listed(View):
    """Some lines of a list (the first ``len(lines)`` in its order) and how many it has in all."""

    lines: list[Line]
    total: int


@dataclass
class UnitCounts(View):
    """One responsible unit's active projects: by light (final stages left out, as on the status board)
    and by stage."""

    key: str
    name: str
    lights: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LIGHTS, 0))
    stages: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.stages.values())

    def add(self, stage: str, light: str | None, n: int) -> None:
        self.stages[stage] = self.stages.get(stage, 0) + n
        if light is not None:
            self.lights[light] += n


@dataclass(frozen=True)
class Board(View):
    """The board (驾驶舱) as of ``today``."""

    today: date
    units: list[UnitCounts]
    totals: UnitCounts
    stages: list[tuple[str, str]]  # (key, label) of every stage counted, in lifecycle order
    red: Listed  # red and 约谈, 约谈 first, the longest overdue first
    due: Listed  # a deadline within DUE_DAYS
    holds: Listed  # on hold, the restart date within HOLD_DAYS or past


@dataclass
class ListQuery:
    """The project list's filters, as typed in its form ('' = any)."""

    unit: str = ""
    stage: str = ""
    light: str = ""
    leader: str = ""
    chain: str = ""
    q: str = ""

    def as_filter(self) -> ProjectFilter:
        """The filters ``ledger.list_projects`` (and the ledger's export) know."""
        return ProjectFilter(
            stage=self.stage or None,
            unit=self.unit or None,
            leader=self.leader or None,
            chain=self.chain or None,
        )


@dataclass(frozen=True)
class Choices(View):
    """What the list's filters may choose from: (value, label) pairs."""

    units: list[tuple[str, str]]
    stages: list[tuple[str, str]]
    leaders: list[tuple[str, str]]
    chains: list[str]


def stage_labels(rt: Runtime) -> dict[str, str]:
    """Every stage of the workflows that load, by key, with its label (the default workflow's first)."""
    out: dict[str, str] = {}
    for name in [rt.settings.default_workflow, *rt.workflows.names()]:
        if rt.workflows.problem(name) is None:
            workflow = rt.workflows.get(name)
            for key in workflow.states():
                out.setdefault(key, workflow.label_of(key))
    return out


def _final_stages(rt: Runtime) -> set[tuple[str, str]]:
    """(workflow, stage) of the final stages: their projects have arrived and carry no light."""
    out: set[tuple[str, str]] = set()
    for name in rt.workflows.names():
        if rt.workflows.problem(name) is None:
            workflow = rt.workflows.get(name)
            out |= {(name, key) for key in workflow.states() if workflow.is_final(key)}
    return out


def _ordered_stages(labels: dict[str, str], seen: set[str]) -> list[tuple[str, str]]:
    order = [*LIFECYCLE, ON_HOLD]
    keys = [k for k in order if k in seen] + sorted(seen - set(order))
    return [(k, labels.get(k, k)) for k in keys]


def light_of(level: str | None) -> Light:
    return Light.of_level(level)


# --- the SQL ----------------------------------------------------------------------------------------

_leader = aliased(Official)


def _active() -> Any:
    return and_(Project.voided_at.is_(None), Project.stage != TERMINATED)


def _lines_query() -> Select[Any]:
    columns: list[Any] = [
        Project.id, Project.name, Project.workflow, Project.stage, Project.level, Project.deadline,
        Project.hold_until, Project.chain, Unit.key, Unit.name, Official.key, Official.name,
        _leader.key, _leader.name,
    ]  # fmt: skip
    return (
        select(*columns)
        .join(Unit, Unit.id == Project.unit_id)
        .join(Official, Official.id == Project.officer_id)
        .outerjoin(_leader, _leader.id == Project.leader_id)
    )


def _light_is(light: str) -> Any:
    """The SQL condition of a light on the stored level."""
    if light == Light.GREEN:
        return Project.level.is_(None)
    if light == Light.RED:
        return and_(Project.level.is_not(None), Project.level.not_in(_NAMED))
    return Project.level == light


def _urgency() -> Any:
    """约谈 4, red (or a county's own level) 3, yellow 2, blue 1, none 0."""
    return case(
        (Project.level.is_(None), 0),
        (Project.level == "blue", 1),
        (Project.level == "yellow", 2),
        (Project.level == "top", 4),
        else_=3,
    )


def _lines(rt: Runtime, query: Select[Any], labels: dict[str, str]) -> list[Line]:
    with rt.store.reading() as session:
        rows = session.execute(query).all()
    out = []
    for r in rows:
        light, stage = light_of(r[4]), str(r[3])
        line = Line(
            id=r[0], name=r[1], stage=stage, stage_label=labels.get(stage, stage),
            unit=Ref(r[8], r[9]), officer=Ref(r[10], r[11]),
            leader=Ref(r[12], r[13]) if r[12] is not None else None,
            chain=r[7], light=str(light), light_label=light.label, deadline=r[5], hold_until=r[6],
        )  # fmt: skip
        out.append(line)
    return out


def _listed(rt: Runtime, where: Any, order: list[Any], labels: dict[str, str], *,
            limit: int = LIST_LIMIT, offset: int = 0) -> Listed:  # fmt: skip
    """The lines ``where`` chooses, in ``order``, ``limit`` from ``offset``, and their count."""
    with rt.store.reading() as session:
        total = session.scalar(select(func.count()).select_from(Project).where(where)) or 0
    if total == 0 or offset >= total:
        return Listed([], total)
    query = _lines_query().where(where).order_by(*order).limit(limit).offset(offset)
    return Listed(_lines(rt, query, labels), total)


# --- the board --------------------------------------------------------------------------------------


def board(rt: Runtime) -> Board:
    """The board: active projects by unit, light and stage (one GROUP BY), red and 约谈, due this week,
    holds running out (each its first ``LIST_LIMIT`` and its count)."""
    today = local_day(rt.now(), rt.zone)
    labels = stage_labels(rt)
    finals = _final_stages(rt)
    counts = (
        select(Project.unit_id, Project.workflow, Project.stage, Project.level, func.count())
        .where(_active())
        # in this order SQLite scans the table once rather than walking the unit index row by row
        .group_by(Project.workflow, Project.stage, Project.level, Project.unit_id)
    )
    with rt.store.reading() as session:
        units = {uid: (key, name) for uid, key, name in session.execute(select(Unit.id, Unit.key, Unit.name))}
        rows = session.execute(counts).all()
    by_unit: dict[int, UnitCounts] = {}
    totals = UnitCounts("", "")
    seen: set[str] = set()
    for unit_id, workflow, stage, level, n in rows:
        key, name = units.get(unit_id, (str(unit_id), str(unit_id)))
        line = by_unit.setdefault(unit_id, UnitCounts(key, name))
        light = None if (workflow, stage) in finals else str(light_of(level))
        seen.add(stage)
        for counted in (line, totals):
            counted.add(stage, light, n)
    red = _listed(
        rt, and_(_active(), _light_is(Light.RED) | (Project.level == "top")),
        [_urgency().desc(), Project.deadline.asc(), Project.id], labels,
    )  # fmt: skip
    week = Project.deadline.between(today, today + timedelta(DUE_DAYS))
    due = _listed(rt, and_(_active(), Project.stage != ON_HOLD, week), [Project.deadline, Project.id], labels)
    holds = _listed(
        rt, and_(Project.voided_at.is_(None), Project.stage == ON_HOLD,
                 Project.hold_until <= today + timedelta(HOLD_DAYS)),
        [Project.hold_until, Project.id], labels,
    )  # fmt: skip
    return Board(
        today=today,
        units=sorted(by_unit.values(), key=lambda u: u.key),
        totals=totals,
        stages=_ordered_stages(labels, seen),
        red=red,
        due=due,
        holds=holds,
    )


# --- the project list -------------------------------------------------------------------------------


def _list_where(query: ListQuery) -> Any:
    """The SQL condition of the list's filters (unknown values choose nothing)."""
    terms: list[Any] = [Project.voided_at.is_(None)]
    terms.append(Project.stage == query.stage if query.stage else Project.stage != TERMINATED)
    if query.unit:
        terms.append(Project.unit_id.in_(select(Unit.id).where(Unit.key == query.unit)))
    if query.leader:
        terms.append(Project.leader_id.in_(select(Official.id).where(Official.key == query.leader)))
    if query.chain:
        terms.append(Project.chain == query.chain)
    if query.light:
        terms.append(_light_is(query.light) if query.light in LIGHTS else Project.id.is_(None))
    if query.q:
        terms.append(Project.name.contains(query.q, autoescape=True))
    return and_(*terms)


def project_list(rt: Runtime, query: ListQuery, page: int = 1) -> Listed:
    """Page ``page`` (from 1, PAGE_SIZE a page, by id) of the projects the filters choose."""
    offset = (max(page, 1) - 1) * PAGE_SIZE
    return _listed(rt, _list_where(query), [Project.id], stage_labels(rt), limit=PAGE_SIZE, offset=offset)


def choices(rt: Runtime) -> Choices:
    """The units, stages, leaders in charge and chains the list's filters offer."""
    labels = stage_labels(rt)
    with rt.store.reading() as session:
        units = [(k, n) for k, n in session.execute(select(Unit.key, Unit.name).order_by(Unit.key))]
        leading = select(Project.leader_id).where(Project.leader_id.is_not(None)).distinct()
        leaders = [
            (k, n)
            for k, n in session.execute(
                select(Official.key, Official.name).where(Official.id.in_(leading)).order_by(Official.key)
            )
        ]
        chains = list(
            session.scalars(
                select(Project.chain).where(Project.chain.is_not(None)).distinct().order_by(Project.chain)
            )
        )
    stages = _ordered_stages(labels, set(labels))
    return Choices(units, stages, leaders, [c for c in chains if c])


def export_xlsx(rt: Runtime, query: ListQuery) -> bytes:
    """The ledger (台账) of the projects the list's filters choose, as an xlsx workbook: the ledger's
    own export (``ledgerio.export_table``) over the filters it knows, then kept to the light and the
    name searched for."""
    table = export_table(rt, query.as_filter())
    keys = [c.key for c in ledger_columns()]
    seq_at, name_at = keys.index("seq"), keys.index("name")
    keep = [
        i
        for i, row in enumerate(table.rows)
        if (not query.q or query.q in str(row[name_at] or ""))
        and (not query.light or (table.lights[i] or str(Light.GREEN)) == query.light)
    ]
    rows = [list(table.rows[i]) for i in keep]
    for seq, row in enumerate(rows, start=1):
        row[seq_at] = seq
    table = replace(table, rows=rows, lights=[table.lights[i] for i in keep])
    with tempfile.TemporaryDirectory(prefix="followup-export-") as folder:
        path = Path(folder) / "ledger.xlsx"
        ledgerbook.write(path, table)
        return path.read_bytes()


# --- my projects ------------------------------------------------------------------------------------


def my_projects(rt: Runtime, official_id: int, *, unit_id: int, is_head: bool, limit: int = 200) -> Listed:
    """The projects of one official — as case officer, as head of their unit, as leader in charge —,
    the most urgent first (约谈, red, yellow, blue, then the nearest deadline)."""
    mine = [Project.officer_id == official_id, Project.leader_id == official_id]
    if is_head:
        mine.append(Project.unit_id == unit_id)
    order = [_urgency().desc(), Project.deadline.is_(None), Project.deadline, Project.id]
    return _listed(rt, and_(_active(), or_(*mine)), order, stage_labels(rt), limit=limit)


def today(rt: Runtime) -> date:
    """The county's day now (what the pages count days to a deadline from)."""
    return local_day(rt.now(), rt.zone)
