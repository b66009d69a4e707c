"""The county's figures, as counties publish them, computed from where each project stood on a day.

Pure: the caller (``app.report``) reconstructs each project as of the day from its history
(:class:`ProjectAsOf`); here are only the definitions. Every figure counts each project once and
carries its numerator, its denominator, its ratio (None when nothing is counted) and its definition
in words, so that a reader knows what 98.8% is 98.8% of.

Cohorts: the rates of signed projects (履约率, 开工率, 投产率, 资金到位率) and the 四多四少 indicators
of signed projects are over the projects *signed* in the cohort year (the signing date, else the day
the project reached signing); 签约率 (lead conversion) is over the leads *entered* in the cohort year.
A terminated project stays counted (it was signed, and did not perform); a voided one (entered by
mistake) is never given here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation

from followup.errors import ConfigError
from followup.i18n import N_, _

#: The milestones the figures count, by stage key (the shipped workflows' keys).
SIGNING, GROUNDBREAKING, PRODUCTION = "signing", "groundbreaking", "production"
#: The stages of the default lifecycle, in order (the funnel's and the stage times' order).
LIFECYCLE = ("lead", "talks", SIGNING, "land_prep", GROUNDBREAKING, PRODUCTION)

#: Default size threshold of a large project (大项目): 10000 万元 = 1亿元.
LARGE_AMOUNT = Decimal(10000)
#: Default share of the contracted amount in place that counts as progress for a "good" project.
GOOD_FUNDS_RATIO = Decimal("0.3")


@dataclass(frozen=True)
class Stay:
    """A completed stay in a stage: entered on ``start``, left on ``end`` (by ``as_of``)."""

    stage: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days


class _Reached:
    """What a project (or a kind of them) had reached by the report's day: signing, groundbreaking,
    production."""

    reached: frozenset[str]

    @property
    def signed(self) -> bool:
        return SIGNING in self.reached

    @property
    def started(self) -> bool:
        return GROUNDBREAKING in self.reached

    @property
    def produced(self) -> bool:
        return PRODUCTION in self.reached


@dataclass(frozen=True)
class ProjectAsOf(_Reached):
    """One project as it stood at the end of the report's day, rebuilt from its history.

    ``reached``: every lifecycle stage it had reached by then — a stage it entered, and every stage
    before the furthest one it entered (a project entered in the ledger at 开工 reached 签约 too).
    ``was_lead``: it entered the ledger before signing (as a lead or in talks). ``signed_on``: its
    signing date (the field, else the day it reached signing); its year is the project's cohort.
    """

    id: int
    stage: str
    entered_on: date
    reached: frozenset[str]
    was_lead: bool = True
    signed_on: date | None = None
    amount: Decimal | None = None
    funds: Decimal | None = None
    chain: str | None = None
    chain_link: str | None = None
    unit: str | None = None
    officer: str | None = None
    leader: str | None = None
    stays: tuple[Stay, ...] = ()

    @property
    def cohort(self) -> int | None:
        """The signing year (None: not signed)."""
        return self.signed_on.year if self.signed and self.signed_on is not None else None

    @property
    def has_funds(self) -> bool:
        return self.funds is not None and self.funds > 0

    @property
    def performing(self) -> bool:
        """履约: signed, and broke ground or has money in place."""
        return self.signed and (self.started or self.has_funds)

    @property
    def funds_ratio(self) -> Decimal | None:
        if not self.amount or self.amount <= 0:
            return None
        return (self.funds or Decimal(0)) / self.amount


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class GoodCriteria:
    """What makes a signed project "good" (好项目), all declared criteria together:

    - ``large``: its contracted amount is at least the large-project threshold;
    - ``chain``: it is tied to a link of the chain map;
    - ``progress``: it broke ground, or at least ``funds_ratio`` of its contracted amount is in place.

    Written as a setting (FOLLOWUP_GOOD_PROJECT) like ``large,chain,progress`` (the default) with an
    optional ``funds=0.3``; ``none`` declares no criterion (every signed project is good).
    """

    large: bool = True
    chain: bool = True
    progress: bool = True
    funds_ratio: Decimal = GOOD_FUNDS_RATIO

    NAMES = ("large", "chain", "progress")

    @classmethod
    def parse(cls, text: str | None) -> GoodCriteria:
        if text is None or not text.strip():
            return cls()
        chosen: set[str] = set()
        ratio = GOOD_FUNDS_RATIO
        for item in text.replace(";", ",").split(","):
            word = item.strip().lower()
            if not word or word == "none":
                continue
            name, sep, value = word.partition("=")
            if sep and name.strip() == "funds":
                try:
                    ratio = Decimal(value.strip())
                except InvalidOperation:
                    ratio = Decimal(-1)
                if not Decimal(0) <= ratio <= Decimal(1):
                    raise ConfigError(
                        _("bad good project funds ratio {value!r}: expected a number from 0 to 1").format(
                            value=value.strip()
                        )
                    )
            elif word in cls.NAMES:
                chosen.add(word)
            else:
                raise ConfigError(
                    _("bad good project criterion {word!r}; allowed: {allowed}, funds=RATIO, none").format(
                        word=word, allowed=", ".join(cls.NAMES)
                    )
                )
        return cls("large" in chosen, "chain" in chosen, "progress" in chosen, ratio)

    def describe(self, large_amount: Decimal) -> str:
        parts = []
        if self.large:
            parts.append(_("contracted amount ≥ {amount} 万元").format(amount=_number(large_amount)))
        if self.chain:
            parts.append(_("tied to a link of the chain map"))
        if self.progress:
            parts.append(
                _("broke ground or ≥ {share} of the contracted amount in place").format(
                    share=percent(float(self.funds_ratio))
                )
            )
        return _(" and ").join(parts) if parts else _("every signed project")


@dataclass(frozen=True)
class MetricSettings:
    large_amount: Decimal = LARGE_AMOUNT
    good: GoodCriteria = field(default_factory=GoodCriteria)


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Measure:
    """A figure: ``numerator`` ÷ ``denominator`` = ``value`` (None when the denominator is 0)."""

    key: str
    label: str
    numerator: Decimal | int
    denominator: Decimal | int
    value: float | None
    definition: str


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> float | None:
    return None if not denominator else float(Decimal(numerator) / Decimal(denominator))


def percent(value: float | None) -> str:
    """98.8% (one decimal; ROUND_HALF_UP on the exact ratio's float); — when there is no value."""
    if value is None:
        return "—"
    shown = Decimal(repr(value * 100)).quantize(Decimal("0.1"), rounding="ROUND_HALF_UP")
    return f"{shown}%"


def _number(amount: Decimal) -> str:
    return str(int(amount)) if amount == amount.to_integral_value() else str(amount.normalize())


def measure(
    key: str, label: str, numerator: Decimal | int, denominator: Decimal | int, definition: str
) -> Measure:
    return Measure(key, _(label), numerator, denominator, ratio(numerator, denominator), _(definition))


#: The definitions, as English msgids (translated when a figure is made).
DEFINITIONS = {
    "signing_rate": N_(
        "leads that reached signing ÷ leads; a lead is a project entered before signing (as a lead or in "
        "talks), counted in the year it was entered"
    ),
    "performance_rate": N_(
        "signed projects performing their contract — broke ground (reached groundbreaking) or funds in "
        "place > 0 — ÷ projects signed in the year (terminated ones included)"
    ),
    "start_rate": N_("signed projects that reached groundbreaking (开工) ÷ projects signed in the year"),
    "production_rate": N_("signed projects that reached production (投产) ÷ projects signed in the year"),
    "funds_rate": N_(
        "funds in place ÷ contracted amount (万元), both summed over the projects signed in the year "
        "that have a contracted amount"
    ),
    "lead_conversion": N_("线索多、签约少: leads that reached signing ÷ leads entered in the year"),
    "chain_share": N_(
        "单一项目多、产业链项目少: signed projects tied to a link of the chain map (产业链环节 set and "
        "known) ÷ projects signed in the year"
    ),
    "large_share": N_(
        "小项目多、大项目少: signed projects with a contracted amount ≥ {amount} 万元 ÷ projects signed in "
        "the year"
    ),
    "good_share": N_(
        "一般项目多、好项目少: signed projects that are good ({criteria}) ÷ projects signed in the year"
    ),
}
LABELS = {
    "signing_rate": N_("signing rate"),
    "performance_rate": N_("performance rate"),
    "start_rate": N_("start rate"),
    "production_rate": N_("production rate"),
    "funds_rate": N_("funds in place rate"),
    "lead_conversion": N_("leads → signings"),
    "chain_share": N_("chain projects"),
    "large_share": N_("large projects"),
    "good_share": N_("good projects"),
}


def signed_in(projects: Iterable[ProjectAsOf], cohort: int | None) -> list[ProjectAsOf]:
    """The projects signed in ``cohort`` (None: every signed project)."""
    return [p for p in projects if p.signed and (cohort is None or p.cohort == cohort)]


def rates(projects: Sequence[ProjectAsOf], cohort: int | None = None) -> list[Measure]:
    """签约率, 履约率, 开工率, 投产率, 资金到位率 of ``cohort``."""
    return summary_rates(summarise(projects), cohort)


def summary_rates(summary: Summary, cohort: int | None = None) -> list[Measure]:
    """签约率, 履约率, 开工率, 投产率, 资金到位率 of ``cohort``, from the projects' kinds and counts."""
    leads = _leads(summary, cohort)
    signed = _signed(summary, cohort)
    n = sum(t.n for _k, t in signed)
    with_amount = [t for k, t in signed if k.with_amount]
    funds = sum((t.funds for t in with_amount), Decimal(0))
    amount = sum((t.amount for t in with_amount), Decimal(0))
    return [
        _signing(leads, "signing_rate"),
        measure(
            "performance_rate",
            LABELS["performance_rate"],
            sum(t.n for k, t in signed if k.performing),
            n,
            DEFINITIONS["performance_rate"],
        ),
        measure(
            "start_rate",
            LABELS["start_rate"],
            sum(t.n for k, t in signed if k.started),
            n,
            DEFINITIONS["start_rate"],
        ),
        measure(
            "production_rate",
            LABELS["production_rate"],
            sum(t.n for k, t in signed if k.produced),
            n,
            DEFINITIONS["production_rate"],
        ),
        measure("funds_rate", LABELS["funds_rate"], funds, amount, DEFINITIONS["funds_rate"]),
    ]


def _leads(summary: Summary, cohort: int | None) -> list[tuple[Kind, Tally]]:
    return [(k, t) for k, t in summary.items() if k.was_lead and (cohort is None or k.entered_year == cohort)]


def _signed(summary: Summary, cohort: int | None) -> list[tuple[Kind, Tally]]:
    return [(k, t) for k, t in summary.items() if k.signed and (cohort is None or k.cohort == cohort)]


def _signing(leads: Sequence[tuple[Kind, Tally]], key: str) -> Measure:
    return measure(
        key,
        LABELS[key],
        sum(t.n for k, t in leads if k.signed),
        sum(t.n for _k, t in leads),
        DEFINITIONS[key],
    )


def indicators(
    projects: Sequence[ProjectAsOf],
    cohort: int | None,
    settings: MetricSettings,
    on_map: Callable[[str | None, str | None], bool],
) -> list[Measure]:
    """四多四少: lead conversion, chain projects, large projects, good projects (of ``cohort``)."""
    return summary_indicators(summarise(projects, settings, on_map), cohort, settings)


def summary_indicators(summary: Summary, cohort: int | None, settings: MetricSettings) -> list[Measure]:
    """四多四少 of ``cohort`` from the projects' kinds (made with the same ``settings``) and counts."""
    signed = _signed(summary, cohort)
    n = sum(t.n for _k, t in signed)
    amount = _number(settings.large_amount)
    large = sum(t.n for k, t in signed if k.large)
    good = sum(t.n for k, t in signed if k.good(settings.good))
    return [
        _signing(_leads(summary, cohort), "lead_conversion"),
        measure(
            "chain_share",
            LABELS["chain_share"],
            sum(t.n for k, t in signed if k.on_map),
            n,
            DEFINITIONS["chain_share"],
        ),
        Measure(
            "large_share",
            _(LABELS["large_share"]),
            large,
            n,
            ratio(large, n),
            _(DEFINITIONS["large_share"]).format(amount=amount),
        ),
        Measure(
            "good_share",
            _(LABELS["good_share"]),
            good,
            n,
            ratio(good, n),
            _(DEFINITIONS["good_share"]).format(criteria=settings.good.describe(settings.large_amount)),
        ),
    ]


def in_cohort(projects: Iterable[ProjectAsOf], cohort: int | None) -> list[ProjectAsOf]:
    """The projects a cohort's figures look at: its signed projects and its leads."""
    return [
        p
        for p in projects
        if cohort is None or p.cohort == cohort or (p.was_lead and p.entered_on.year == cohort)
    ]


def grouped(
    projects: Sequence[ProjectAsOf], key: Callable[[ProjectAsOf], str | None]
) -> dict[str | None, list[ProjectAsOf]]:
    out: dict[str | None, list[ProjectAsOf]] = {}
    for p in projects:
        out.setdefault(key(p), []).append(p)
    return out


# --------------------------------------------------------------------------- time in each stage


@dataclass(frozen=True)
class StageTime:
    """Days spent in ``stage`` over ``n`` completed stays: median and 90th percentile (None: no stay)."""

    stage: str
    n: int
    median: float | None
    p90: float | None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0 < q ≤ 100): the smallest value with at least q% of the
    values at or below it; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def stage_times(projects: Iterable[ProjectAsOf], stages: Sequence[str] = LIFECYCLE) -> list[StageTime]:
    """Per stage (in ``stages`` order, then any other stage seen), the days of the completed stays —
    entered, then left by a move, both by the report's day; a stay still running is not counted."""
    days: dict[str, dict[int, int]] = {}
    for p in projects:
        for stay in p.stays:
            counts = days.setdefault(stay.stage, {})
            counts[stay.days] = counts.get(stay.days, 0) + 1
    return stage_times_of(days, stages)


def stage_times_of(
    days: Mapping[str, Mapping[int, int]], stages: Sequence[str] = LIFECYCLE
) -> list[StageTime]:
    """:func:`stage_times` from how many stays of each stage lasted each number of days."""
    out = []
    for stage in [*stages, *(s for s in days if s not in stages)]:
        counts = days.get(stage, {})
        n = sum(counts.values())
        if not n:
            out.append(StageTime(stage, 0, None, None))
            continue
        ordered = sorted((d, c) for d, c in counts.items() if c)
        if n % 2:
            median = float(_nth(ordered, n // 2 + 1))
        else:
            median = (float(_nth(ordered, n // 2)) + float(_nth(ordered, n // 2 + 1))) / 2
        out.append(StageTime(stage, n, median, float(_nth(ordered, max(1, math.ceil(90 / 100 * n))))))
    return out


def _nth(ordered: Sequence[tuple[int, int]], rank: int) -> int:
    """The ``rank``-th smallest (from 1) of values given with their counts, in order."""
    seen = 0
    for value, count in ordered:
        seen += count
        if seen >= rank:
            return value
    raise IndexError(rank)


def funnel(projects: Iterable[ProjectAsOf], stages: Sequence[str] = LIFECYCLE) -> list[tuple[str, int]]:
    """How many projects reached each stage, in lifecycle order."""
    return summary_funnel(summarise(projects), stages)


def summary_funnel(summary: Summary, stages: Sequence[str] = LIFECYCLE) -> list[tuple[str, int]]:
    counts = dict.fromkeys(stages, 0)
    for kind, tally in summary.items():
        for stage in kind.reached:
            if stage in counts:
                counts[stage] += tally.n
    return list(counts.items())


# --------------------------------------------------------------------------- kinds of projects


@dataclass(frozen=True)
class Kind(_Reached):
    """What the figures ask of a project: projects of one kind are counted alike by every figure, so
    that the figures can be worked out from how many projects there are of each kind (:class:`Tally`)
    without one object per project. ``large``, ``on_map`` and ``funded`` are for the settings and the
    chain map the kind was made with; ``group``: the unit, chain … the report is grouped by."""

    reached: frozenset[str]
    was_lead: bool
    entered_year: int
    cohort: int | None  # the signing year (None: not signed, or no date)
    with_amount: bool  # a contracted amount > 0
    has_funds: bool  # funds in place > 0
    large: bool = False  # contracted amount ≥ the large-project threshold
    on_map: bool = False  # tied to a link of the chain map
    funded: bool = False  # at least the good funds ratio of its contracted amount in place
    group: str | None = None

    @property
    def performing(self) -> bool:
        return self.signed and (self.started or self.has_funds)

    def counted(self, cohort: int | None) -> bool:
        """Among the projects the figures of ``cohort`` look at (:func:`in_cohort`)."""
        return cohort is None or self.cohort == cohort or (self.was_lead and self.entered_year == cohort)

    def good(self, good: GoodCriteria) -> bool:
        if good.large and not self.large:
            return False
        if good.chain and not self.on_map:
            return False
        return not (good.progress and not (self.started or self.funded))


@dataclass
class Tally:
    """How many projects of a kind, and their contracted amounts and funds in place (万元) summed over
    those with a contracted amount > 0."""

    n: int = 0
    amount: Decimal = Decimal(0)
    funds: Decimal = Decimal(0)

    def add(self, other: Tally) -> None:
        self.n += other.n
        self.amount += other.amount
        self.funds += other.funds


Summary = dict[Kind, Tally]


def _nowhere(chain: str | None, link: str | None) -> bool:
    return False


def kind_of(
    project: ProjectAsOf,
    settings: MetricSettings | None = None,
    on_map: Callable[[str | None, str | None], bool] = _nowhere,
    group: str | None = None,
) -> Kind:
    settings = settings or MetricSettings()
    share = project.funds_ratio
    return Kind(
        reached=project.reached,
        was_lead=project.was_lead,
        entered_year=project.entered_on.year,
        cohort=project.cohort,
        with_amount=project.amount is not None and project.amount > 0,
        has_funds=project.has_funds,
        large=project.amount is not None and project.amount >= settings.large_amount,
        on_map=on_map(project.chain, project.chain_link),
        funded=share is not None and share >= settings.good.funds_ratio,
        group=group,
    )


def summarise(
    projects: Iterable[ProjectAsOf],
    settings: MetricSettings | None = None,
    on_map: Callable[[str | None, str | None], bool] = _nowhere,
    key: Callable[[ProjectAsOf], str | None] | None = None,
    into: Summary | None = None,
) -> Summary:
    """The projects by kind (grouped by ``key``), added to ``into`` if given."""
    out: Summary = {} if into is None else into
    for p in projects:
        kind = kind_of(p, settings, on_map, key(p) if key else None)
        with_amount = kind.with_amount
        tally = Tally(
            1,
            (p.amount or Decimal(0)) if with_amount else Decimal(0),
            (p.funds or Decimal(0)) if with_amount else Decimal(0),
        )
        found = out.get(kind)
        if found is None:
            out[kind] = tally
        else:
            found.add(tally)
    return out


def summary_in_cohort(summary: Summary, cohort: int | None) -> Summary:
    """The kinds a cohort's figures look at (:func:`in_cohort`)."""
    return {k: t for k, t in summary.items() if k.counted(cohort)}


def summary_groups(summary: Summary) -> dict[str | None, Summary]:
    """The summary split by the kinds' ``group`` (their groups left out)."""
    out: dict[str | None, Summary] = {}
    for kind, tally in summary.items():
        part = out.setdefault(kind.group, {})
        plain = replace(kind, group=None)
        found = part.get(plain)
        if found is None:
            part[plain] = Tally(tally.n, tally.amount, tally.funds)
        else:
            found.add(tally)
    return out
