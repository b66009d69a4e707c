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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Connection

from followup.app import board, report_lights
from followup.app.report_rebuild import (
    _DEFAULT_ORDER,
    _rank_sql,
    _stage_orders,
    _stored,
    paired_stays,
    reconstruct,
)
from followup.app.report_rebuild import TRACKED as TRACKED
from followup.app.report_replay import reconstruct_by_replay as reconstruct_by_replay
from followup.app.report_replay import replay as replay
from followup.app.runtime import Runtime
from followup.app.views import View
from followup.domain import metrics
from followup.domain.chains import ChainMap
from followup.domain.metrics import LIFECYCLE, Measure, MetricSettings, ProjectAsOf
from followup.domain.timeutil import local_day, start_of_day
from followup.domain.workflow import ON_HOLD, SIDE_STATES
from followup.errors import InvalidInput
from followup.i18n import _
from followup.store import reporting

#: What a report may be grouped by.
GROUPINGS = ("unit", "chain", "officer", "leader")


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
    lights: list[board.UnitLights]  # lights by unit (正常/提示/黄灯/红灯/约谈): as of the report's day
    indicators: list[Figure]  # 四多四少
    funnel: list[tuple[str, str, int]]  # (stage key, label, projects that reached it), in lifecycle order
    #: when the lights are from: now (today's status board), or the end of a past report's day
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
    unit unless ``with_lights`` is false: today's status board, or for a past day each project's
    ladder as it stood at the end of that day (``app.report_lights``)."""
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
    lights, lights_at = report_lights.lights(rt, as_of, today) if with_lights else ([], None)
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
        lights=lights,
        indicators=indicators,
        funnel=funnel,
        lights_at=lights_at,
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
        notes.append(
            _(
                "lights by unit as of the end of {day}: each project's ladder with the stage, deadline "
                "and follow-ups it had then"
            ).format(day=as_of.isoformat())
        )
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
    orders = _summary_orders(rt, conn)
    # every project's workflow is in ``orders``, or orders its stages as every workflow does (a
    # workflow that does not load, or is gone: the default lifecycle)
    rank, signed = _rank_sql(orders, every=True)
    last_year = max(as_of.year, local_day(rt.now(), zone).year) + 1
    rows = reporting.kinds(
        conn,
        params=_summary_params(conn, zone, end, as_of, settings, last_year),
        years=list(range(last_year, _FIRST_YEAR - 1, -1)),
        rank=rank,
        signed=signed,
        by=by,
        per_project=cohort is not None,
        needs_workflow="p.workflow" in rank or "p.workflow" in signed,
    )
    summary, members, changed = _count_kinds(rows, orders, on_map, cohort)
    if changed:
        listed = changed if len(changed) <= _ONE_BY_ONE else None
        rebuilt = reconstruct(rt, conn, as_of, ids=listed, with_stays=False)
        rebuilt = [p for p in rebuilt if p.id in changed]
        metrics.summarise(rebuilt, settings, on_map, _GROUP_OF[by] if by else None, into=summary)
        if cohort is not None:
            members.update(p.id for p in metrics.in_cohort(rebuilt, cohort))
    return summary, paired_stays(rt, conn, end, zone, members if cohort is not None else None)


def _summary_orders(rt: Runtime, conn: Connection) -> dict[str, dict[str, int]]:
    """The stage orders of the workflows (of the projects' workflows when they order stages apart)."""
    orders = _stage_orders(rt, rt.workflows.names())
    if len({tuple(o.items()) for o in orders.values()} | {tuple(_DEFAULT_ORDER.items())}) > 1:
        # workflows order their stages differently: the rank depends on each project's workflow
        workflows = [r[0] for r in conn.execute(text("SELECT DISTINCT workflow FROM projects"))]
        orders = _stage_orders(rt, workflows)
    return orders


def _summary_params(
    conn: Connection, zone: ZoneInfo, end: datetime, as_of: date, settings: MetricSettings, last_year: int
) -> dict[str, Any]:
    """The bound parameters of :func:`reporting.kinds`."""
    num, den = settings.good.funds_ratio.as_integer_ratio()
    return {
        "end": end if conn.dialect.name == "postgresql" else _stored(end),
        "as_of": as_of if conn.dialect.name == "postgresql" else as_of.isoformat(),
        "large": reporting.large_hundredths(settings.large_amount),
        "fnum": num,
        "fden": den,
        **reporting.year_bounds(conn, zone, _FIRST_YEAR, last_year),
    }


def _count_kinds(
    rows: Iterable[Any],
    orders: dict[str, dict[str, int]],
    on_map: Callable[[str | None, str | None], bool],
    cohort: int | None,
) -> tuple[metrics.Summary, set[int], set[int]]:
    """The summary of the rows :func:`reporting.kinds` gives, the ids of the ``cohort``'s members
    among them, and the ids of the projects whose fields changed after the day (not counted)."""
    summary: metrics.Summary = {}
    members: set[int] = set()
    made: dict[tuple[Any, ...], metrics.Kind] = {}
    changed: set[int] = set()
    for row in rows:
        pid, later = row[0], row[1]
        if later:  # a field may have changed after the day: rebuilt by the caller
            changed.add(pid)
            continue
        head: tuple[Any, ...] = tuple(row[2:8])
        kind = made.get(head)
        if kind is None:
            kind = made[head] = _kind_of(head, orders, on_map)
        n, amount, funds, amount_places, funds_places = tuple(row[-5:])
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
    return summary, members, changed


def _kind_of(
    head: tuple[Any, ...],
    orders: dict[str, dict[str, int]],
    on_map: Callable[[str | None, str | None], bool],
) -> metrics.Kind:
    """The kind a row of :func:`reporting.kinds` counts (its workflow, first stage, chain, link, group
    and packed flags)."""
    workflow, first_stage, chain, link, group, packed = head
    furthest, with_amount, has_funds, large, funded, entered_year, signed_year = reporting.unpack(packed)
    order = orders.get(workflow) or _DEFAULT_ORDER
    signing_rank = order.get(metrics.SIGNING)
    reached = frozenset(list(order)[: furthest + 1]).difference(SIDE_STATES)
    return metrics.Kind(
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


#: The first year a local year is told for (an earlier instant is counted in the year before it).
_FIRST_YEAR = 1900
#: Up to how many projects are rebuilt by their ids; more: every project, then kept by id.
_ONE_BY_ONE = 5000


def _names(conn: Connection) -> dict[tuple[str, str], str]:
    out = {("unit", k): n for k, n in conn.execute(text("SELECT key, name FROM units"))}
    out.update({("official", k): n for k, n in conn.execute(text("SELECT key, name FROM officials"))})
    return out
