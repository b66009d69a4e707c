"""The chain map report (产业链图谱, ``followup chains``): per chain and link of the map, the projects in
each stage as of a day (rebuilt from the history, as ``app.report`` does), and the empty links (招商缺口).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from followup.app.report import _stage_labels, chain_map, check_as_of
from followup.app.report_rebuild import reconstruct
from followup.app.runtime import Runtime
from followup.app.views import View
from followup.domain.chains import position_label
from followup.domain.metrics import LIFECYCLE, ProjectAsOf
from followup.domain.timeutil import local_day
from followup.domain.workflow import ON_HOLD, TERMINATED


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
