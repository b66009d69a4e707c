"""The county's figures (``followup report``): 签约率, 履约率, 开工率, 投产率, 资金到位率 per signing-year
cohort as of a day, time spent in each stage, lights by unit, the 四多四少 indicators and the funnel.

The state of each project as of the day is rebuilt from its history (``project_events``), never read
from today's row: what stage it was in, which stages it had reached, and its fields (amount, funds in
place, chain, unit, officer, leader, signing date) as the history says they were. One pass over the
history, ordered by project and line, in one query; the definitions are in ``domain.metrics``.

"As of a day" means what had happened by the end of that day in the county's zone (each history line's
``at``: when it happened, as recorded), not what had been typed by then. Voided projects (entered by
mistake) never count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Connection

from followup.app import board
from followup.app.runtime import Runtime
from followup.app.views import View
from followup.domain import metrics
from followup.domain.chains import ChainMap
from followup.domain.kinds import EventKind
from followup.domain.metrics import LIFECYCLE, Measure, MetricSettings, ProjectAsOf, Stay
from followup.domain.timeutil import local_day, start_of_day
from followup.domain.workflow import ON_HOLD, SIDE_STATES, TERMINATED
from followup.errors import InvalidInput
from followup.i18n import _
from followup.store import reporting

#: What a report may be grouped by.
GROUPINGS = ("unit", "chain", "officer", "leader")
#: The fields the reconstruction follows through the history.
TRACKED = ("amount", "funds_in_place", "chain", "chain_link", "unit", "officer", "leader", "signed_on")
#: The history lines that change what the figures count (follow-ups, notices … change nothing).
_KINDS = (EventKind.CREATED, EventKind.MOVE, EventKind.EDIT, EventKind.FUNDS, EventKind.VOID)


@dataclass(frozen=True)
class Figure(View):
    """One figure: ``numerator`` ÷ ``denominator`` = ``value`` (0..1; None when the denominator is 0),
    with its ``definition`` in the user's language."""

    key: str  # "signing_rate", "performance_rate", "start_rate", "production_rate", "funds_rate", …
    label: str  # 签约率 … (translated)
    numerator: Decimal | int
    denominator: Decimal | int
    value: float | None
    definition: str

    @classmethod
    def of(cls, m: Measure) -> Figure:
        return cls(m.key, m.label, m.numerator, m.denominator, m.value, m.definition)

    @property
    def percent(self) -> str:
        """98.8% (— when there is no denominator)."""
        return metrics.percent(self.value)


@dataclass(frozen=True)
class GroupFigures(View):
    """The figures of one unit, chain, officer or leader (``key`` "" : none set)."""

    key: str
    name: str
    figures: list[Figure]


@dataclass(frozen=True)
class StageTimeView(View):
    """Days spent in a stage over ``n`` completed stays (entered and left by the report's day)."""

    stage: str
    label: str
    n: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class ReportView(View):
    as_of: date
    cohort: int | None
    by: str | None
    figures: list[Figure]  # the county's rates for the cohort
    groups: list[GroupFigures]  # per ``by``
    stage_times: list[StageTimeView]  # per stage: median, p90 days, n
    lights: list[board.UnitLights]  # lights by unit (正常/提示/黄灯/红灯/约谈): the status board, as of now
    indicators: list[Figure]  # 四多四少
    funnel: list[tuple[str, str, int]]  # (stage key, label, projects that reached it), in lifecycle order
    #: when the lights are from: the board is today's (lights are not rebuilt from history)
    lights_at: datetime | None = None
    #: projects counted (in the cohort: its leads and its signed projects; else every project by then)
    projects: int = 0
    #: what "good" means here, and the large-project threshold (万元)
    good_criteria: str = ""
    large_amount: Decimal = metrics.LARGE_AMOUNT
    notes: list[str] = field(default_factory=list)


def metric_settings(rt: Runtime) -> MetricSettings:
    settings = rt.settings
    large = getattr(settings, "large_project", None)
    good = getattr(settings, "good_project", None)
    return MetricSettings(
        large_amount=Decimal(large) if large is not None else metrics.LARGE_AMOUNT,
        good=good if isinstance(good, metrics.GoodCriteria) else metrics.GoodCriteria.parse(good),
    )


def chain_map(rt: Runtime) -> ChainMap:
    """The county's chain map (FOLLOWUP_CHAINS_FILE, else the shipped default)."""
    from followup.lifecycle.chains import load_chain_map

    return load_chain_map(getattr(rt.settings, "chains_file", None))


def build_report(
    rt: Runtime,
    *,
    as_of: date | None = None,
    cohort: int | None = None,
    by: str | None = None,
    with_lights: bool = True,
) -> ReportView:
    """The figures as of the end of ``as_of`` (default today), for the projects signed in ``cohort``
    (None: all years), grouped ``by`` unit, chain, officer or leader (None: no groups); the lights by
    unit (today's status board) unless ``with_lights`` is false."""
    now = rt.now()
    today = local_day(now, rt.zone)
    as_of = check_as_of(as_of, today)
    if cohort is not None and not 1900 <= cohort <= 2200:
        raise InvalidInput(_("bad cohort {year}: give a signing year such as 2026").format(year=cohort))
    if by is not None and by not in GROUPINGS:
        raise InvalidInput(
            _("bad --by {by!r}; allowed: {allowed}").format(by=by, allowed=", ".join(GROUPINGS))
        )
    settings = metric_settings(rt)
    chains = chain_map(rt)
    with rt.store.reading() as session:
        conn = session.connection()
        summary, days = summarise(rt, conn, as_of, cohort, by, settings, chains.knows)
        names = _names(conn) if by in ("unit", "officer", "leader") else {}
    lights = board.status_board(rt) if with_lights else None
    counted = metrics.summary_in_cohort(summary, cohort)
    figures = [Figure.of(m) for m in metrics.summary_rates(summary, cohort)]
    groups = _groups(counted, cohort, by, names) if by else []
    labels = _stage_labels(rt)
    times = [
        StageTimeView(t.stage, labels.get(t.stage, t.stage), t.n, t.median, t.p90)
        for t in metrics.stage_times_of(days, _time_stages())
    ]
    indicators = [Figure.of(m) for m in metrics.summary_indicators(summary, cohort, settings)]
    funnel = [(stage, labels.get(stage, stage), n) for stage, n in metrics.summary_funnel(counted)]
    n_counted = sum(t.n for t in counted.values())
    return ReportView(
        as_of=as_of,
        cohort=cohort,
        by=by,
        figures=figures,
        groups=groups,
        stage_times=times,
        lights=lights.units if lights else [],
        indicators=indicators,
        funnel=funnel,
        lights_at=lights.now if lights else None,
        projects=n_counted,
        good_criteria=settings.good.describe(settings.large_amount),
        large_amount=settings.large_amount,
        notes=_notes(as_of, today),
    )


def check_as_of(as_of: date | None, today: date) -> date:
    if as_of is None:
        return today
    if as_of > today:
        raise InvalidInput(
            _("--as-of {day} is after today ({today}): figures are of what has happened").format(
                day=as_of, today=today
            )
        )
    return as_of


def _notes(as_of: date, today: date) -> list[str]:
    notes = [_("time in a stage: completed stays only (entered and left by the report's day), in days")]
    if as_of != today:
        notes.append(_("lights by unit are today's: the ladder is not rebuilt from history"))
    return notes


def _time_stages() -> tuple[str, ...]:
    return (*LIFECYCLE, ON_HOLD)


def _stage_labels(rt: Runtime) -> dict[str, str]:
    """Stage labels of the default workflow (else of any that loads), by key."""
    out: dict[str, str] = {}
    names = [rt.settings.default_workflow, *rt.workflows.names()]
    for name in names:
        if rt.workflows.problem(name) is not None:
            continue
        wf = rt.workflows.get(name)
        for key in wf.states():
            out.setdefault(key, wf.label_of(key))
    return out


def _groups(
    counted: metrics.Summary, cohort: int | None, by: str, names: dict[tuple[str, str], str]
) -> list[GroupFigures]:
    kind = "unit" if by == "unit" else "official"
    out = []
    parts = metrics.summary_groups(counted)
    for key in sorted(parts, key=lambda k: (k is None, k or "")):
        name = _("(not set)") if key is None else names.get((kind, key), key)
        out.append(
            GroupFigures(key or "", name, [Figure.of(m) for m in metrics.summary_rates(parts[key], cohort)])
        )
    return out


#: How a report's group is read from a project rebuilt one by one.
_GROUP_OF: dict[str, Callable[[ProjectAsOf], str | None]] = {
    "unit": lambda p: p.unit,
    "chain": lambda p: p.chain,
    "officer": lambda p: p.officer,
    "leader": lambda p: p.leader,
}


def summarise(
    rt: Runtime,
    conn: Connection,
    as_of: date,
    cohort: int | None,
    by: str | None,
    settings: MetricSettings,
    on_map: Callable[[str | None, str | None], bool],
) -> tuple[metrics.Summary, dict[str, dict[int, int]]]:
    """The projects as of the end of ``as_of``, by kind (:class:`metrics.Kind`, grouped ``by``), and
    the days of the completed stays of the projects a ``cohort``'s figures look at, per stage: what
    :func:`reconstruct` and the figures over its projects give, without one object per project.

    The database counts the projects by kind in one GROUP BY (:func:`reporting.kinds`); the few
    whose fields changed after the day are rebuilt one by one (:func:`reconstruct`) and added; the
    stays are paired from the stage lines in one ordered read."""
    zone = rt.zone
    end = start_of_day(as_of + timedelta(days=1), zone)
    orders = _stage_orders(rt, rt.workflows.names())
    if len({tuple(o.items()) for o in orders.values()} | {tuple(_DEFAULT_ORDER.items())}) > 1:
        # workflows order their stages differently: the rank depends on each project's workflow
        workflows = [r[0] for r in conn.execute(text("SELECT DISTINCT workflow FROM projects"))]
        orders = _stage_orders(rt, workflows)
    # every project's workflow is in ``orders``, or orders its stages as every workflow does (a
    # workflow that does not load, or is gone: the default lifecycle)
    rank, signed = _rank_sql(orders, every=True)
    last_year = max(as_of.year, local_day(rt.now(), zone).year) + 1
    years = list(range(last_year, _FIRST_YEAR - 1, -1))
    num, den = settings.good.funds_ratio.as_integer_ratio()
    params: dict[str, Any] = {
        "end": end if conn.dialect.name == "postgresql" else _stored(end),
        "as_of": as_of if conn.dialect.name == "postgresql" else as_of.isoformat(),
        "large": reporting.large_hundredths(settings.large_amount),
        "fnum": num,
        "fden": den,
        **reporting.year_bounds(conn, zone, _FIRST_YEAR, last_year),
    }
    rows = reporting.kinds(
        conn,
        params=params,
        years=years,
        rank=rank,
        signed=signed,
        by=by,
        per_project=cohort is not None,
        needs_workflow="p.workflow" in rank or "p.workflow" in signed,
    )
    summary: metrics.Summary = {}
    members: set[int] = set()
    made: dict[tuple[Any, ...], metrics.Kind] = {}
    changed: set[int] = set()
    for row in rows:
        pid, later = row[0], row[1]
        if later:  # a field may have changed after the day: rebuilt below
            changed.add(pid)
            continue
        head: tuple[Any, ...] = tuple(row[2:8])
        workflow, first_stage, chain, link, group, packed = head
        n, amount, funds, amount_places, funds_places = tuple(row[-5:])
        key = head
        kind = made.get(key)
        if kind is None:
            furthest, with_amount, has_funds, large, funded, entered_year, signed_year = reporting.unpack(
                packed
            )
            order = orders.get(workflow) or _DEFAULT_ORDER
            signing_rank = order.get(metrics.SIGNING)
            reached = frozenset(list(order)[: furthest + 1]).difference(SIDE_STATES)
            kind = made[key] = metrics.Kind(
                reached=reached,
                was_lead=signing_rank is None or order.get(first_stage or "", 0) < signing_rank,
                entered_year=entered_year,
                cohort=signed_year if metrics.SIGNING in reached else None,
                with_amount=bool(with_amount),
                has_funds=bool(has_funds),
                large=bool(large),
                on_map=on_map(chain, link),
                funded=bool(funded),
                group=group,
            )
        tally = metrics.Tally(
            n,
            reporting.hundredths(amount, amount_places) if kind.with_amount else Decimal(0),
            reporting.hundredths(funds, funds_places) if kind.with_amount else Decimal(0),
        )
        found = summary.get(kind)
        if found is None:
            summary[kind] = tally
        else:
            found.add(tally)
        if cohort is not None and kind.counted(cohort):
            members.add(pid)
    if changed:
        listed = changed if len(changed) <= _ONE_BY_ONE else None
        rebuilt = reconstruct(rt, conn, as_of, ids=listed, with_stays=False)
        rebuilt = [p for p in rebuilt if p.id in changed]
        metrics.summarise(rebuilt, settings, on_map, _GROUP_OF[by] if by else None, into=summary)
        if cohort is not None:
            members.update(p.id for p in metrics.in_cohort(rebuilt, cohort))
    return summary, _stays(rt, conn, end, zone, members if cohort is not None else None)


#: The first year a local year is told for (an earlier instant is counted in the year before it).
_FIRST_YEAR = 1900
#: Up to how many projects are rebuilt by their ids; more: every project, then kept by id.
_ONE_BY_ONE = 5000


def _stays(
    rt: Runtime, conn: Connection, end: datetime, zone: ZoneInfo, members: set[int] | None
) -> dict[str, dict[int, int]]:
    """Per stage, how many completed stays (of ``members``; None: every project) lasted each number of
    days: each stage line dated by ``end`` ends the stay its project's line before it began."""
    names = _stage_names(rt)
    codes = {name: i for i, name in enumerate(names)}
    space, other, terminated = reporting.STAGE_SPACE, reporting.OTHER, codes[TERMINATED]
    last: dict[int, int] = {}
    get = last.get
    counts: dict[int, int] = {}
    lines = reporting.stage_lines(conn, end, zone, codes)
    if members is None:
        for pid, packed in lines:
            before = get(pid)
            last[pid] = packed
            if before is not None and before % space != terminated:
                key = (packed // space - before // space) * space + before % space
                counts[key] = counts.get(key, 0) + 1
    else:
        for pid, packed in lines:
            before = get(pid)
            last[pid] = packed
            if before is not None and before % space != terminated and pid in members:
                key = (packed // space - before // space) * space + before % space
                counts[key] = counts.get(key, 0) + 1
    if any(key % space == other for key in counts):  # a stay in a stage no workflow declares
        return _stays_named(conn, end, zone, members, names)
    out: dict[str, dict[int, int]] = {}
    for key, n in counts.items():
        days, code = divmod(key, space)
        out.setdefault(names[code], {})[days] = n
    return out


def _stays_named(
    conn: Connection, end: datetime, zone: ZoneInfo, members: set[int] | None, names: list[str]
) -> dict[str, dict[int, int]]:
    """:func:`_stays` when some stage lines name a stage no workflow declares (read with their names)."""
    codes = {name: i for i, name in enumerate(names)}
    last: dict[int, tuple[str, int]] = {}
    out: dict[str, dict[int, int]] = {}
    for pid, packed, unnamed in reporting.stage_lines(conn, end, zone, codes, named=True):
        day, code = divmod(packed, reporting.STAGE_SPACE)
        stage = names[code] if unnamed is None else unnamed
        before = last.get(pid)
        last[pid] = (stage, day)
        if before is not None and before[0] != TERMINATED and (members is None or pid in members):
            counts = out.setdefault(before[0], {})
            counts[day - before[1]] = counts.get(day - before[1], 0) + 1
    return out


def _stage_names(rt: Runtime) -> list[str]:
    """Every stage name the workflows declare (plain keys, safe as SQL literals), terminated first."""
    out = [TERMINATED, *LIFECYCLE, ON_HOLD]
    for name in rt.workflows.names():
        if rt.workflows.problem(name) is None:
            out.extend(rt.workflows.get(name).states())
    seen: list[str] = []
    for key in out:
        if key not in seen and _SAFE_KEY.fullmatch(key) and len(seen) < reporting.OTHER:
            seen.append(key)
    return seen


def _names(conn: Connection) -> dict[tuple[str, str], str]:
    out = {("unit", k): n for k, n in conn.execute(text("SELECT key, name FROM units"))}
    out.update({("official", k): n for k, n in conn.execute(text("SELECT key, name FROM officials"))})
    return out


# --------------------------------------------------------------------------- reconstruction


def _utc(value: Any) -> datetime:
    """A stored instant as an aware UTC datetime (SQLite gives text, PostgreSQL an aware datetime)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
    return value.astimezone(UTC)  # type: ignore[no-any-return]


def _changes(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    loaded = json.loads(value)
    return loaded if isinstance(loaded, dict) else None


def _stage_orders(rt: Runtime, names: Iterable[str]) -> dict[str, dict[str, int]]:
    """Each workflow's stages in lifecycle order (a workflow that does not load: the default lifecycle)."""
    out: dict[str, dict[str, int]] = {}
    for name in names:
        if rt.workflows.problem(name) is None:
            out[name] = {s: i for i, s in enumerate(rt.workflows.get(name).stages)}
        else:
            out[name] = {s: i for i, s in enumerate(LIFECYCLE)}
    return out


@dataclass
class _Current:
    """A project's row as it is now: where the history's first values come from when it never says."""

    workflow: str
    created_at: datetime
    values: dict[str, Any]


def _current_rows(conn: Connection, end: datetime, only: str = "") -> dict[int, _Current]:
    rows = conn.execute(
        text(
            "SELECT p.id, p.workflow, p.created_at, p.amount, p.funds_in_place, p.chain, p.chain_link, "
            "u.key, o.key, l.key, p.signed_on "
            "FROM projects p JOIN units u ON u.id = p.unit_id JOIN officials o ON o.id = p.officer_id "
            "LEFT JOIN officials l ON l.id = p.leader_id WHERE p.voided_at IS NULL" + only.format(id="p.id")
        )
    )
    out: dict[int, _Current] = {}
    for pid, wf, created, amount, funds, chain, link, unit, officer, leader, signed_on in rows:
        values = {
            "amount": None if amount is None else Decimal(amount) / 100,
            "funds_in_place": None if funds is None else Decimal(funds) / 100,
            "chain": chain,
            "chain_link": link,
            "unit": unit,
            "officer": officer,
            "leader": leader,
            "signed_on": _value("signed_on", signed_on),
        }
        out[pid] = _Current(wf, _utc(created), values)
    return out


def _events(conn: Connection, end: datetime) -> Iterator[tuple[Any, ...]]:
    """Every line of history that matters to the figures, by project and line, up to ``end`` (their
    ``at``); the ones after ``end`` are still read for the first values of the fields they change."""
    kinds = ", ".join(f"'{k.value}'" for k in _KINDS)
    yield from conn.execute(
        text(
            "SELECT project_id, kind, at, from_stage, to_stage, changes FROM project_events "
            f"WHERE kind IN ({kinds}) ORDER BY project_id, id"
        )
    )


def reconstruct_by_replay(rt: Runtime, conn: Connection, as_of: date) -> list[ProjectAsOf]:
    """Every project (but voided ones) that existed by the end of ``as_of``, as it stood then: the
    reference, reading every line of history in Python (:func:`replay`); :func:`reconstruct` gives the
    same from the database's aggregates, much faster (a test keeps them equal)."""
    zone = rt.zone
    end = start_of_day(as_of + timedelta(days=1), zone)
    current = _current_rows(conn, end)
    orders = _stage_orders(rt, {c.workflow for c in current.values()})
    out: list[ProjectAsOf] = []
    batch: list[tuple[Any, ...]] = []
    last: int | None = None
    for row in _events(conn, end):
        if row[0] != last:
            if batch and last in current:
                built = replay(last, batch, current[last], orders, end, zone)
                if built is not None:
                    out.append(built)
            batch, last = [], row[0]
        batch.append(row)
    if batch and last in current:
        built = replay(last, batch, current[last], orders, end, zone)
        if built is not None:
            out.append(built)
    return out


_SAFE_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")


def _literal(key: str) -> str:
    """A workflow or stage key as an SQL literal (keys are checked plain names: nothing to escape)."""
    if not _SAFE_KEY.fullmatch(key):
        raise InvalidInput(_("bad key {key!r} in the history").format(key=key))
    return f"'{key}'"


def _rank_sql(orders: dict[str, dict[str, int]], every: bool = False) -> tuple[str, str]:
    """SQL for a history line's stage rank in its project's workflow, and for "signing or later"
    (``every``: ``orders`` has the workflow of every project, so that when they all order their
    stages alike the project's workflow need not be asked)."""
    by_order: dict[tuple[tuple[str, int], ...], list[str]] = {}
    for name, order in orders.items():
        by_order.setdefault(tuple(order.items()), []).append(name)
    ranks, signed = [], []
    for order_items, names in by_order.items():
        order = dict(order_items)
        cases = " ".join(f"WHEN {_literal(k)} THEN {i}" for k, i in order.items() if k not in SIDE_STATES)
        which = f"p.workflow IN ({', '.join(map(_literal, names))})"
        if every and len(by_order) == 1:
            ranks.append(f"CASE e.to_stage {cases} ELSE -1 END")
            if metrics.SIGNING in order:
                later = [k for k, i in order.items() if i >= order[metrics.SIGNING] and k not in SIDE_STATES]
                signed.append(f"e.to_stage IN ({', '.join(map(_literal, later))})")
            return ranks[0], signed[0] if signed else "1 = 0"
        ranks.append(f"WHEN {which} THEN CASE e.to_stage {cases} ELSE -1 END")
        if metrics.SIGNING in order:
            later = [k for k, i in order.items() if i >= order[metrics.SIGNING] and k not in SIDE_STATES]
            signed.append(f"({which} AND e.to_stage IN ({', '.join(map(_literal, later))}))")
    rank = f"CASE {' '.join(ranks)} ELSE -1 END" if ranks else "-1"
    return rank, " OR ".join(signed) or "1 = 0"


def _days_sql(dialect: str, zone: ZoneInfo, end: datetime) -> str:
    """SQL for the calendar days between the local days of ``x.prev_at`` and ``x.at``."""
    if dialect == "postgresql":
        return "CAST((x.at AT TIME ZONE :zone) AS DATE) - CAST((x.prev_at AT TIME ZONE :zone) AS DATE)"
    offset = end.astimezone(zone).utcoffset() or timedelta(0)  # SQLite knows no zones: the day's offset
    shift = f"'{int(offset.total_seconds()):+d} seconds'"
    return f"CAST(julianday(date(x.at, {shift})) - julianday(date(x.prev_at, {shift})) AS INTEGER)"


def reconstruct(
    rt: Runtime,
    conn: Connection,
    as_of: date,
    ids: Iterable[int] | None = None,
    with_stays: bool = True,
) -> list[ProjectAsOf]:
    """Every project (but voided ones) that existed by the end of ``as_of``, as it stood then.

    The database aggregates the stage lines (created, move, void) dated by then per project — its
    last stage, the furthest rank reached, when it first reached signing or later, its first line — and
    the stays between consecutive stage lines; the fields are today's, rewound through the changes
    dated after the day (the before of each field's first later change; funds in place less the later
    arrivals). A few queries, no Python pass over the whole history. ``ids``: only these projects;
    ``with_stays`` false: no stays (the slowest query)."""
    zone = rt.zone
    end = start_of_day(as_of + timedelta(days=1), zone)
    only = "" if ids is None else _only(ids)
    current = _current_rows(conn, end, only)
    orders = _stage_orders(rt, {c.workflow for c in current.values()})
    rank, signed = _rank_sql(orders)
    stage_kinds = "('created', 'move', 'void')"
    params: dict[str, Any] = {"end": end if conn.dialect.name == "postgresql" else _stored(end)}
    rows = conn.execute(
        text(
            "WITH s AS (SELECT e.project_id, MAX(e.id) AS last_id, "
            "MIN(CASE WHEN e.kind = 'created' THEN e.id END) AS first_id, "
            f"MAX({rank}) AS furthest, MIN(CASE WHEN {signed} THEN e.at END) AS signed_at "
            "FROM project_events e JOIN projects p ON p.id = e.project_id "
            f"WHERE e.kind IN {stage_kinds} AND e.at < :end AND p.voided_at IS NULL "
            + only.format(id="e.project_id")
            + " GROUP BY e.project_id) "
            "SELECT s.project_id, s.furthest, s.signed_at, l.to_stage, f.at, f.to_stage "
            "FROM s JOIN project_events l ON l.id = s.last_id "
            "LEFT JOIN project_events f ON f.id = s.first_id"
        ),
        params,
    ).all()
    later = _later_changes(conn, params, only)
    stays: dict[int, list[Stay]] = {}
    days = _days_sql(conn.dialect.name, zone, end)
    stay_rows: Iterable[Any] = (
        []
        if not with_stays
        else conn.execute(
            text(
                f"SELECT x.project_id, x.prev_stage, {days} FROM (SELECT e.project_id, e.at, "
                "LAG(e.to_stage) OVER (PARTITION BY e.project_id ORDER BY e.id) AS prev_stage, "
                "LAG(e.at) OVER (PARTITION BY e.project_id ORDER BY e.id) AS prev_at "
                f"FROM project_events e WHERE e.kind IN {stage_kinds} AND e.at < :end"
                + only.format(id="e.project_id")
                + ") x "
                f"WHERE x.prev_stage IS NOT NULL AND x.prev_stage <> '{TERMINATED}'"
            ),
            {**params, "zone": zone.key},
        )
    )
    origin = date(2000, 1, 1)
    for pid, stage, n in stay_rows:
        stays.setdefault(pid, []).append(Stay(stage, origin, origin + timedelta(days=int(n))))
    out = []
    day_of = _LocalDays(zone)
    for pid, furthest, signed_at, stage, first_at, first_stage in rows:
        row = current.get(pid)
        if row is None:
            continue
        order = orders.get(row.workflow) or _DEFAULT_ORDER
        stages = list(order)
        signing_rank = order.get(metrics.SIGNING)
        values = dict(row.values)
        changed = later.get(pid)
        if changed:
            values.update(changed)
        funds_back = values.pop("_funds_back", None)
        if funds_back:
            values["funds_in_place"] = (values["funds_in_place"] or Decimal(0)) - funds_back
        if "_funds_before" in values and values.pop("_funds_before") is None:
            values["funds_in_place"] = None  # none had arrived before the first later arrival
        signed_on = None
        if signed_at is not None:
            signed_on = values["signed_on"]
            if signed_on is None or signed_on > as_of:
                signed_on = day_of(signed_at)
        entered = day_of(first_at) if first_at is not None else day_of(row.created_at)
        out.append(
            ProjectAsOf(
                id=pid,
                stage=stage,
                entered_on=entered,
                reached=frozenset(stages[: furthest + 1]).difference(SIDE_STATES),
                was_lead=signing_rank is None or order.get(first_stage or "", 0) < signing_rank,
                signed_on=signed_on,
                amount=values["amount"],
                funds=values["funds_in_place"],
                chain=values["chain"],
                chain_link=values["chain_link"],
                unit=values["unit"],
                officer=values["officer"],
                leader=values["leader"],
                stays=tuple(stays.get(pid, ())),
            )
        )
    return out


def _only(ids: Iterable[int]) -> str:
    """An SQL condition keeping the projects ``ids`` (``{id}``: the column; whole numbers)."""
    listed = ", ".join(str(int(i)) for i in sorted(ids)) or "0"
    return " AND {id} IN (" + listed + ")"


def _stored(instant: datetime) -> str:
    """An instant as SQLite stores it (UTC, naive, ISO text), to compare with the stored ones."""
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class _LocalDays:
    """The local day of a stored instant, the zone's offset remembered per UTC hour."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.offsets: dict[tuple[date, int], timedelta] = {}

    def __call__(self, raw: Any) -> date:
        at = _utc(raw)
        key = (at.date(), at.hour)
        offset = self.offsets.get(key)
        if offset is None:
            offset = self.offsets[key] = at.astimezone(self.zone).utcoffset() or timedelta(0)
        return (at + offset).date()


def _later_changes(conn: Connection, params: dict[str, Any], only: str = "") -> dict[int, dict[str, Any]]:
    """Per project, the tracked fields as they were before their first change dated after the day
    (``_funds_back``: the funds that arrived after it)."""
    out: dict[int, dict[str, Any]] = {}
    rows = conn.execute(
        text(
            "SELECT project_id, changes FROM project_events "
            "WHERE at >= :end AND changes IS NOT NULL AND kind IN ('move', 'edit', 'funds')"
            + only.format(id="project_id")
            + " ORDER BY project_id, id"
        ),
        params,
    )
    for pid, raw in rows:
        changes = _changes(raw)
        if not changes:
            continue
        found = out.setdefault(pid, {})
        for name, change in changes.items():
            if name not in _TRACKED_SET or not isinstance(change, list) or len(change) != 2:
                continue
            before, after = change
            if name == "funds_in_place":
                back = (_amount(after) or Decimal(0)) - (_amount(before) or Decimal(0))
                found["_funds_back"] = found.get("_funds_back", Decimal(0)) + back
                found.setdefault("_funds_before", before)
            elif name not in found:
                found[name] = _value(name, before)
    return out


def _value(field_name: str, raw: Any) -> Any:
    if raw is None:
        return None
    if field_name in ("amount", "funds_in_place"):
        return _amount(raw)
    if field_name == "signed_on":
        return raw if isinstance(raw, date) else date.fromisoformat(str(raw)[:10])
    return str(raw)


def replay(
    pid: int,
    events: Sequence[tuple[Any, ...]],
    row: _Current,
    orders: dict[str, dict[str, int]],
    end: datetime,
    zone: ZoneInfo,
) -> ProjectAsOf | None:
    """One project as it stood just before ``end``, from its history lines (in order: project_id,
    kind, at, from_stage, to_stage, changes); None if it was not entered by then.

    A field's value is the one its latest change by ``end`` set (by ``at``); a field changed only
    later had the value that change found; a field the history never changed has today's value. Funds
    in place are the sum of the arrivals (and corrections) dated by ``end``, so that an arrival recorded
    late with an earlier date counts from its date."""
    order = orders.get(row.workflow) or _DEFAULT_ORDER
    stages = list(order)
    signing_rank = order.get(metrics.SIGNING)
    latest: dict[str, tuple[datetime, Any]] = {}
    first_before: dict[str, Any] = {}
    funds_base: Decimal | None = None
    funds_delta = Decimal(0)
    funds_seen = False
    stage: str | None = None
    since: datetime | None = None
    entered: datetime | None = None
    first_stage: str | None = None
    furthest = -1
    signed_at: datetime | None = None
    stays: list[Stay] = []
    for _pid, kind, at_raw, _from, to_stage, changes_raw in events:
        at = _utc(at_raw)
        done = at < end
        changes = _changes(changes_raw) if changes_raw is not None else None
        if kind == _CREATED:
            if not done:
                return None  # not entered yet
            entered, first_stage = at, to_stage
            if changes:
                for name in TRACKED:
                    if name in changes:
                        if name == "funds_in_place":
                            funds_base, funds_seen = _amount(changes[name]), True
                        else:
                            _set(latest, name, at, changes[name])
        elif changes:
            for name, change in changes.items():
                if name not in _TRACKED_SET or not isinstance(change, list) or len(change) != 2:
                    continue
                before, after = change
                if name == "funds_in_place":
                    if not funds_seen:
                        funds_base, funds_seen = _amount(before), True
                    if done:
                        funds_delta += (_amount(after) or Decimal(0)) - (_amount(before) or Decimal(0))
                    continue
                if name not in first_before and name not in latest:
                    first_before[name] = before
                if done:
                    _set(latest, name, at, after)
            if kind == _EDIT:
                placed = changes.get("stage")
                to_stage = placed[1] if isinstance(placed, list) and len(placed) == 2 else None
        if not done or to_stage is None or kind not in _STAGE_KINDS:
            continue
        if stage is not None and since is not None and stage != TERMINATED:
            stays.append(Stay(stage, local_day(since, zone), local_day(at, zone)))
        stage, since = to_stage, at
        rank = order.get(to_stage, -1)
        if rank > furthest:
            furthest = rank
            if signed_at is None and signing_rank is not None and rank >= signing_rank:
                signed_at = at
    if entered is None:
        if row.created_at >= end or stage is None:
            return None
        entered = row.created_at
    values: dict[str, Any] = {}
    for name in TRACKED:
        if name in latest:
            values[name] = _value(name, latest[name][1])
        elif name in first_before:
            values[name] = _value(name, first_before[name])
        else:
            values[name] = row.values[name]
    if funds_seen:
        total = (funds_base or Decimal(0)) + funds_delta
        values["funds_in_place"] = None if funds_base is None and not funds_delta else total
    first_rank = order.get(first_stage or "", 0)
    signed_on: date | None = None
    if signed_at is not None:
        signed_on = values["signed_on"]
        if signed_on is None or signed_on >= end.astimezone(zone).date():
            signed_on = local_day(signed_at, zone)
    return ProjectAsOf(
        id=pid,
        stage=stage or (first_stage or stages[0]),
        entered_on=local_day(entered, zone),
        reached=frozenset(stages[: furthest + 1]).difference(SIDE_STATES),
        was_lead=signing_rank is None or first_rank < signing_rank,
        signed_on=signed_on,
        amount=values["amount"],
        funds=values["funds_in_place"],
        chain=values["chain"],
        chain_link=values["chain_link"],
        unit=values["unit"],
        officer=values["officer"],
        leader=values["leader"],
        stays=tuple(stays),
    )


_DEFAULT_ORDER = {s: i for i, s in enumerate(LIFECYCLE)}
_TRACKED_SET = frozenset(TRACKED)
_CREATED, _EDIT = str(EventKind.CREATED), str(EventKind.EDIT)
#: the history lines that put a project in a stage (an edit only when it places a stranded project)
_STAGE_KINDS = frozenset(
    {str(EventKind.CREATED), str(EventKind.MOVE), str(EventKind.VOID), str(EventKind.EDIT)}
)


def _amount(raw: Any) -> Decimal | None:
    return None if raw is None else Decimal(str(raw))


def _set(latest: dict[str, tuple[datetime, Any]], name: str, at: datetime, value: Any) -> None:
    held = latest.get(name)
    if held is None or at >= held[0]:
        latest[name] = (at, value)


# --------------------------------------------------------------------------- the chain map (产业链图谱)


@dataclass(frozen=True)
class LinkView(View):
    """One link of a chain: its projects by stage (as of the day), and whether it is empty (招商缺口)."""

    chain: str
    link: str
    position: str  # upstream | midstream | downstream
    position_label: str
    stages: dict[str, int]  # stage key → projects in it (terminated ones not counted)
    projects: list[int]  # project ids (active or ended well; terminated not listed)
    empty: bool  # 招商缺口: no project on this link


@dataclass(frozen=True)
class ChainView(View):
    name: str
    description: str | None
    links: list[LinkView]
    gaps: list[str]  # the empty links


@dataclass(frozen=True)
class ChainsView(View):
    as_of: date
    source: str  # the map's file
    chains: list[ChainView]
    stage_labels: dict[str, str]  # stage key → label, in lifecycle order
    off_map: int  # projects with a chain or link the map does not know (not counted above)


def chains_report(rt: Runtime, *, as_of: date | None = None) -> ChainsView:
    """Per chain and link of the map, the projects in each stage as of ``as_of`` (default today), and
    the empty links (招商缺口). Terminated projects are not counted: a link only they reached is a gap."""
    today = local_day(rt.now(), rt.zone)
    as_of = check_as_of(as_of, today)
    chains = chain_map(rt)
    with rt.store.reading() as session:
        projects = reconstruct(rt, session.connection(), as_of)
    on: dict[tuple[str, str], list[ProjectAsOf]] = {}
    off_map = 0
    for p in projects:
        if p.stage == TERMINATED:
            continue
        placed = chains.place(p.chain, p.chain_link)
        if placed is None:
            off_map += bool(p.chain or p.chain_link)
            continue
        on.setdefault((placed[0].name, placed[1].name), []).append(p)
    labels = _stage_labels(rt)
    order = [s for s in (*LIFECYCLE, ON_HOLD) if s in labels or s in LIFECYCLE]
    out = []
    from followup.domain.chains import position_label

    for chain in chains.chains:
        links = []
        for link in chain.links:
            members = sorted(on.get((chain.name, link.name), []), key=lambda p: p.id)
            counts = dict.fromkeys(order, 0)
            for p in members:
                counts[p.stage] = counts.get(p.stage, 0) + 1
            links.append(
                LinkView(
                    chain.name,
                    link.name,
                    link.position,
                    position_label(link.position),
                    counts,
                    [p.id for p in members],
                    not members,
                )
            )
        out.append(ChainView(chain.name, chain.description, links, [k.link for k in links if k.empty]))
    return ChainsView(as_of, chains.source, out, {s: labels.get(s, s) for s in order}, off_map)
