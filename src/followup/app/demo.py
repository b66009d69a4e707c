"""A demo county: a few units and officials and ~30 projects at every stage, with realistic dates.

Everything goes through the same use cases a user's commands call, so the demo exercises the
real rules (guards, records, deadlines, history). Dates are counted back from ``now`` and the
choice of projects is seeded, so the same ``now`` gives the same county.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from followup.app import ledger, moves, organisation
from followup.app.ledger import ProjectFilter, ProjectInput
from followup.app.moves import Move
from followup.app.runtime import Runtime
from followup.errors import InvalidInput
from followup.i18n import _

UNITS = [
    ("chengguan", "城关镇人民政府", "township"),
    ("hexi", "河西镇人民政府", "township"),
    ("liushu", "柳树乡人民政府", "township"),
    ("park", "县经济开发区管委会", "department"),
    ("bureau", "县投资促进局", "department"),
    ("ziyuan", "县自然资源局", "department"),
    ("office", "县政府办公室", "department"),
]

# key, name, unit, head, roles
OFFICIALS = [
    ("wangjun", "王军", "chengguan", True, ()),
    ("lina", "李娜", "chengguan", False, ()),
    ("zhaolei", "赵磊", "hexi", True, ()),
    ("sunli", "孙丽", "hexi", False, ()),
    ("zhoupeng", "周鹏", "liushu", True, ()),
    ("wuxia", "吴霞", "liushu", False, ()),
    ("zhengtao", "郑涛", "park", True, ()),
    ("fengyu", "冯宇", "park", False, ()),
    ("chenjing", "陈静", "bureau", True, ()),
    ("hegang", "何刚", "bureau", False, ("operator",)),
    ("gaoming", "高明", "ziyuan", True, ()),
    ("liuqiang", "刘强", "office", False, ("leader",)),
    ("yangfan", "杨帆", "office", False, ("leader",)),
    ("huangwei", "黄伟", "office", False, ("leader", "principal")),
    ("xuli", "徐丽", "office", True, ("supervision",)),
]

OFFICERS = {"chengguan": "lina", "hexi": "sunli", "liushu": "wuxia", "park": "fengyu", "bureau": "hegang"}

CHAINS = {
    "健康食品": ["{}健康食品产业园", "{}功能饮品生产线", "{}杂粮深加工"],
    "畜牧屠宰加工": ["{}肉牛屠宰加工", "{}生猪标准化养殖", "{}冷链物流中心"],
    "中药材种植加工": ["{}中药材种植基地", "{}中药饮片加工", "{}黄芪精深加工"],
    "乳品加工": ["{}乳制品加工", "{}奶牛牧场", "{}奶酪生产线"],
    "云服务": ["{}云数据中心", "{}电商直播基地", "{}智慧农业平台"],
}
INVESTORS = ["华北", "伊禾", "天润", "恒通", "蒙元", "康源", "瑞丰", "金穗", "北辰", "远航"]

# (stage, share of projects, how many days ago it entered that stage: low, high)
PLAN = [
    ("lead", 6, 3, 45),
    ("talks", 6, 10, 120),
    ("signing", 5, 15, 90),
    ("land_prep", 5, 30, 160),
    ("groundbreaking", 5, 60, 400),
    ("production", 3, 100, 500),
]


NOTES = [
    "与投资方电话沟通，对方确认下周来县考察。",
    "已报送用地预审材料，等待自然资源局回复。",
    "企业反映水电配套进度慢，已协调供电公司。",
    "召开专题推进会，明确下一步时间节点。",
]
LEADERS = ["liuqiang", "yangfan", "huangwei"]
SIGNED = ("signing", "land_prep", "groundbreaking", "production")


def seed(rt: Runtime, *, projects: int = 30) -> dict[str, int]:
    """Create the demo county in an empty database; refuse a database that already has units."""
    now = rt.now()
    if organisation.list_units(rt, include_inactive=True):
        raise InvalidInput(
            _(
                "the database already has data; the demo needs an empty one "
                "(use another --data-dir or FOLLOWUP_DATABASE_URL)"
            )
        )
    rng = random.Random(20261127)
    start = rt.at(now - timedelta(days=900))
    for key, name, kind in UNITS:
        organisation.add_unit(start, key, name, kind)
    for key, name, unit, head, roles in OFFICIALS:
        email = f"{key}@demo-county.gov.cn"
        organisation.add_official(start, key, name=name, email=email, unit=unit, head=head, roles=roles)

    total = sum(share for _, share, _, _ in PLAN)
    made = 0
    used_names: set[str] = set()
    for stage, share, low, high in PLAN:
        for _i in range(max(1, round(projects * share / total))):
            if made >= projects:
                break
            data, since = _project(rng, stage, now, (low, high), used_names)
            view = ledger.add_project(rt.at(since), data, stage=stage, since=since, by="chenjing")
            made += 1
            for when in _followups(rng, since, now):
                moves.log(rt, view.id, by=OFFICERS[data.unit or ""], text=rng.choice(NOTES), on=when)

    # One project held and one terminated, so the demo shows the side states.
    talks = [p for p in ledger.list_projects(rt, ProjectFilter(include_ended=True)) if p.stage == "talks"]
    if len(talks) >= 2:
        held, ended = talks[0], talks[1]
        until = (now + timedelta(days=60)).date()
        moves.advance(
            rt, Move(held.id, "on_hold", by=held.officer.key, note="投资方资金链调整，暂缓推进", until=until)
        )
        moves.advance(rt, Move(ended.id, "terminated", by=ended.officer.key, note="投资方另选址，项目退出"))
    return {"units": len(UNITS), "officials": len(OFFICIALS), "projects": made}


def _project(
    rng: random.Random, stage: str, now: datetime, days_ago: tuple[int, int], used: set[str]
) -> tuple[ProjectInput, datetime]:
    """A plausible project that reached ``stage`` some days ago, and when it got there."""
    chain = rng.choice(list(CHAINS))
    investor = rng.choice(INVESTORS)
    name = rng.choice(CHAINS[chain]).format(investor)
    for _try in range(50):  # a few random picks, then phases: the combinations run out at a few hundred
        if name not in used:
            break
        investor = rng.choice(INVESTORS)
        name = rng.choice(CHAINS[chain]).format(investor)
    phase = 2
    base = name
    while name in used:
        name = f"{base}（{phase}期）"
        phase += 1
    used.add(name)
    unit = rng.choice(list(OFFICERS))
    since = now - timedelta(days=rng.randint(*days_ago), hours=rng.randint(0, 8))
    values: dict[str, Any] = {
        "chain": chain,
        "source": rng.choice(["以商招商", "驻点招商", "网上招商", "县领导外出招商"]),
    }
    big = rng.random() < 0.3
    if stage != "lead":
        values["investor"] = f"{investor}集团有限公司"
    if stage in SIGNED:
        amount = (
            rng.choice([3000, 8000, 12000, 20000, 35000]) if not big else rng.choice([50000, 80000, 120000])
        )
        values["amount"] = str(amount)
        values["signed_on"] = (since - timedelta(days=rng.randint(0, 60))).date().isoformat()
        values["leader"] = rng.choice(LEADERS)
        values["funds_in_place"] = str(int(amount * rng.choice([0, 0.1, 0.3, 0.6])))
    if stage in SIGNED[1:]:
        values["land"] = str(rng.choice([20, 45, 80, 120, 300]))
        if rng.random() < 0.4:
            values["contract_start"] = (since + timedelta(days=rng.randint(60, 200))).date().isoformat()
    if stage in SIGNED[2:] and rng.random() < 0.4:
        values["contract_production"] = (since + timedelta(days=rng.randint(200, 500))).date().isoformat()
    if stage == "production":
        values["started_on"] = (since - timedelta(days=rng.randint(200, 400))).date().isoformat()
    workflow = "major" if big and stage != "lead" else "investment"
    if workflow == "major" and "leader" not in values:
        values["leader"] = rng.choice(LEADERS)
    data = ProjectInput(name=name, officer=OFFICERS[unit], unit=unit, workflow=workflow, values=values)
    return data, since


def _followups(rng: random.Random, since: datetime, now: datetime) -> list[datetime]:
    """A few follow-up records; most projects were followed up in the last few days, some were left
    alone (those are the ones the staleness warning is for)."""
    when = since
    dates = []
    for _i in range(rng.randint(0, 3)):
        when = when + timedelta(days=rng.randint(3, 20))
        if when < now:
            dates.append(when)
    recent = now - timedelta(days=rng.randint(1, 4), hours=rng.randint(0, 6))
    if rng.random() < 0.7 and recent > since and (not dates or recent > dates[-1]):
        dates.append(recent)
    return dates
