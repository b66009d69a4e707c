"""The test county, declared once and entered through whichever door a tier uses: the use cases
(integration), the CLI (in-process or installed), or as a roster of ids (unit: no database)."""

from __future__ import annotations

from dataclasses import dataclass

from followup.app import organisation
from followup.app.runtime import Runtime
from followup.domain.roster import Roster
from tests.helpers import Cli


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    unit: str
    head: bool = False
    roles: tuple[str, ...] = ()

    @property
    def email(self) -> str:
        return f"{self.key}@example.gov.cn"


@dataclass(frozen=True)
class County:
    units: tuple[tuple[str, str, str], ...]  # key, name, kind
    people: tuple[Person, ...]

    def seed(self, rt: Runtime) -> Runtime:
        """Enter the organisation through the use cases (at the runtime's now)."""
        for key, name, kind in self.units:
            organisation.add_unit(rt, key, name, kind)
        for p in self.people:
            organisation.add_official(
                rt, p.key, name=p.name, email=p.email, unit=p.unit, head=p.head, roles=p.roles
            )
        return rt

    def seed_cli(self, run: Cli) -> Cli:
        """Enter the organisation through the CLI, as a bureau operator would."""
        for key, name, kind in self.units:
            run.ok("unit", "add", key, "--name", name, "--kind", kind)
        for p in self.people:
            args = ["official", "add", p.key, "--name", p.name, "--email", p.email, "--unit", p.unit]
            args += ["--head"] if p.head else []
            for role in p.roles:
                args += ["--role", role]
            run.ok(*args)
        return run

    def roster(self) -> Roster:
        """The organisation as the sweep sees it, with ids in the order the people are declared (1, 2, …)
        and units numbered likewise."""
        unit_ids = {key: i for i, (key, _, _) in enumerate(self.units, start=1)}
        heads: dict[int, list[int]] = {}
        holders: dict[str, list[int]] = {}
        for i, p in enumerate(self.people, start=1):
            if p.head:
                heads.setdefault(unit_ids[p.unit], []).append(i)
            for role in p.roles:
                holders.setdefault(role, []).append(i)
        return Roster(frozenset(range(1, len(self.people) + 1)), heads, holders)

    def id_of(self, key: str) -> int:
        return next(i for i, p in enumerate(self.people, start=1) if p.key == key)


#: A township with a case officer and its head; the bureau with a county leader and the supervision office.
SMALL = County(
    units=(("chengguan", "城关镇人民政府", "township"), ("bureau", "县投资促进局", "department")),
    people=(
        Person("lina", "李娜", "chengguan"),
        Person("wangjun", "王军", "chengguan", head=True),
        Person("liuqiang", "刘强", "bureau", roles=("leader",)),
        Person("xuli", "徐丽", "bureau", roles=("supervision",)),
    ),
)

#: The escalation scenarios' county: the government office holds the leaders, supervision and a principal.
LADDER = County(
    units=(("chengguan", "城关镇人民政府", "township"), ("office", "县政府办公室", "department")),
    people=(
        Person("lina", "李娜", "chengguan"),
        Person("wangjun", "王军", "chengguan", head=True),
        Person("liuqiang", "刘强", "office", roles=("leader",)),
        Person("xuli", "徐丽", "office", head=True, roles=("supervision",)),
        Person("huangwei", "黄伟", "office", roles=("leader", "principal")),
    ),
)
