"""The bulletin's ranking of the units (红黑榜, ``app.bulletin``): each unit's score and what it is made of,
the units of a kind ranked best first, and the red and black lists.

The score (``FOLLOWUP_BULLETIN_SCORE``) is a weighted sum of a unit's components: any rate of the report
by key (``start_rate``, ``performance_rate`` … in percent, 0-100), ``followup`` (the share of its active
projects followed up in time, in percent: not 跟进超时), ``red`` and ``top`` (its projects at 红灯 and at
约谈), ``overdue_problems`` (its open problems past their due date), ``unreplied_notices`` (its 督办
notices past their reply date without a reply) and ``report_rate`` (its 填报率 in the month's reporting
round, 调度, in percent). A rate with nothing to count (no signed project) counts 0. Townships and
departments are ranked apart; the best and the worst three of each (at most half of them) are the 红榜
and the 黑榜.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from followup.app.report import Figure, ReportView
from followup.app.runtime import Runtime
from followup.app.views import View
from followup.domain.kinds import Light, UnitKind
from followup.domain.metrics import percent
from followup.errors import ConfigError
from followup.i18n import N_, _
from followup.store.models import Unit

if TYPE_CHECKING:
    from followup.app.bulletin_state import NoticeLine, ProblemLine, _Assessed

#: the score's own components (beside the report's rates, by key), with what they are called
COMPONENTS: dict[str, str] = {
    "followup": N_("followed up in time (%)"),
    "red": N_("red projects"),
    "top": N_("约谈 projects"),
    "overdue_problems": N_("overdue problems"),
    "unreplied_notices": N_("notices past their reply date"),
    "report_rate": N_("reported in the month's round (%)"),
}
#: the red and black lists: this many units at most, and never more than half of those ranked
LISTED = 3

Weights = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class UnitScore(View):
    """A unit's line in the ranking: its score and what it is made of."""

    rank: int
    key: str
    name: str
    kind: str
    score: float
    components: dict[str, float]  # by weight name: the raw value (a rate in percent)
    projects: int  # not voided, any stage
    active: int  # active projects assessed (not final, not terminated)
    signed: int
    started: int
    start_rate: str  # 89.9% or —
    lights: dict[str, int]  # green, blue, yellow, red, top
    stale: int


@dataclass(frozen=True)
class Ranking(View):
    """The units of one kind (township or department), best first, with the red and black lists."""

    kind: str
    kind_label: str
    units: list[UnitScore]
    best: list[UnitScore]
    worst: list[UnitScore]  # the lowest first


def checked_weights(rt: Runtime) -> Weights:
    """The score's weights (``FOLLOWUP_BULLETIN_SCORE``), each naming a known component."""
    from followup.domain.metrics import LABELS

    weights = rt.settings.bulletin_score
    allowed = [*(k for k in LABELS if k.endswith("_rate")), *COMPONENTS]
    for name, _weight in weights:
        if name not in allowed:
            raise ConfigError(
                _("bulletin score: unknown component {name!r}; allowed: {allowed}").format(
                    name=name, allowed=", ".join(allowed)
                )
            )
    return weights


def score_definition(weights: Weights, report: ReportView) -> str:
    """The score in words: 开工率（%）×1 + 按时跟进率（%）×0.5 − 红灯项目数×5 …"""
    labels = {f.key: _("{label} (%)").format(label=f.label) for f in report.figures}
    parts: list[str] = []
    for name, weight in weights:
        label = labels.get(name) or _(COMPONENTS.get(name, name))
        number = f"{abs(weight):g}"
        sign = "−" if weight < 0 else "+"
        parts.append(f"{sign} {label}×{number}" if parts or weight < 0 else f"{label}×{number}")
    return " ".join(parts)


@dataclass
class _Tallies:
    """Per unit: its active projects' lights and how many are stale (by unit id), its overdue problems
    and its notices past their reply date (by unit name)."""

    lights: dict[int, dict[str, int]]
    stale: dict[int, int]
    late_problems: dict[str, int]
    late_notices: dict[str, int]


def _tallies(
    assessed: Iterable[_Assessed], problems: Iterable[ProblemLine], notices: Iterable[NoticeLine]
) -> _Tallies:
    lights: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys((str(x) for x in Light), 0))
    stale: dict[int, int] = defaultdict(int)
    for a in assessed:
        lights[a.unit_id][str(a.light)] += 1
        stale[a.unit_id] += a.stale
    late_problems: dict[str, int] = defaultdict(int)
    for p in problems:
        late_problems[p.unit] += 1
    late_notices: dict[str, int] = defaultdict(int)
    for n in notices:
        late_notices[n.unit] += n.days_overdue > 0
    return _Tallies(lights, stale, late_problems, late_notices)


def rankings(
    report: ReportView,
    units: dict[str, Unit],
    counts: dict[int, int],
    assessed: list[_Assessed],
    problems: list[ProblemLine],
    notices: list[NoticeLine],
    weights: Weights,
    report_rates: dict[str, float | None],
) -> list[Ranking]:
    """The units with projects (``counts``: by unit id), scored and ranked per kind (townships, then
    departments; a kind with none left out)."""
    figures = {g.key: {f.key: f for f in g.figures} for g in report.groups}
    by_id = {u.id: u for u in units.values()}
    tallies = _tallies(assessed, problems, notices)
    scored: dict[str, list[UnitScore]] = defaultdict(list)
    for unit_id, count in counts.items():
        unit = by_id.get(unit_id)
        if unit is None or not count:
            continue
        mine = figures.get(unit.key, {})
        line = _unit_score(unit, count, mine, tallies, weights, report_rates.get(unit.key) or 0.0)
        scored[unit.kind].append(line)
    out = [_ranking(kind, scored.get(kind.value, [])) for kind in (UnitKind.TOWNSHIP, UnitKind.DEPARTMENT)]
    return [r for r in out if r.units]


def _unit_score(
    unit: Unit, count: int, mine: dict[str, Figure], tallies: _Tallies, weights: Weights, report_rate: float
) -> UnitScore:
    """A unit's line (rank 0: ranked by :func:`_ranking`)."""
    line = tallies.lights[unit.id]
    stale = tallies.stale[unit.id]
    active = sum(line.values())
    components: dict[str, float] = {
        "followup": 100.0 * (active - stale) / active if active else 0.0,
        "red": float(line[Light.RED]),
        "top": float(line[Light.TOP]),
        "overdue_problems": float(tallies.late_problems[unit.name]),
        "unreplied_notices": float(tallies.late_notices[unit.name]),
        "report_rate": report_rate,
    }
    for key, f in mine.items():
        components[key] = 100.0 * f.value if f.value is not None else 0.0
    score = round(sum(weight * components.get(name, 0.0) for name, weight in weights), 1)
    started = mine.get("start_rate")
    return UnitScore(
        rank=0,
        key=unit.key,
        name=unit.name,
        kind=unit.kind,
        score=score,
        components={name: round(components.get(name, 0.0), 1) for name, _w in weights},
        projects=count,
        active=active,
        signed=int(started.denominator) if started else 0,
        started=int(started.numerator) if started else 0,
        start_rate=percent(started.value) if started else "—",
        lights=dict(line),
        stale=stale,
    )


def _ranking(kind: UnitKind, scored: list[UnitScore]) -> Ranking:
    """The units of ``kind`` best first (ties share a rank), with the red and black lists."""
    lines = sorted(scored, key=lambda u: (-u.score, u.name))
    ranked: list[UnitScore] = []
    for i, u in enumerate(lines):
        tied = ranked[-1].rank if ranked and ranked[-1].score == u.score else i + 1
        ranked.append(replace(u, rank=tied))
    listed = min(LISTED, len(ranked) // 2)
    return Ranking(
        kind=kind.value,
        kind_label=kind.label,
        units=ranked,
        best=ranked[:listed],
        worst=list(reversed(ranked[-listed:])) if listed else [],
    )
