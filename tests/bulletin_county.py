"""A small county for the monthly bulletin (月通报): three townships and two departments, five projects
entered in August 2026 and moved through September and October, so that the October bulletin (issued
2026-11-05) has a month before to compare with, a red and a 约谈 project, and a ranking whose order can be
worked out by hand. Entered through the use cases, each step at its own (past) time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from followup.app import ledger, moves
from followup.app.evidence import Upload
from followup.app.ledger import ProjectInput
from followup.app.moves import Move
from followup.app.runtime import Runtime
from followup.store.models import SupervisionNotice, Unit
from tests.county import County, Person

ZONE = ZoneInfo("Asia/Shanghai")
#: 开工 needs evidence (以图为证): a photo of the site
SITE_PHOTO = (Upload("现场照片.jpg", (Path(__file__).parent / "data" / "site-photo.jpg").read_bytes()),)

BULLETIN_COUNTY = County(
    units=(
        ("chengguan", "城关镇人民政府", "township"),
        ("dongcheng", "东城乡人民政府", "township"),
        ("xicheng", "西城镇人民政府", "township"),
        ("bureau", "县投资促进局", "department"),
        ("office", "县政府办公室", "department"),
    ),
    people=(
        Person("lina", "李娜", "chengguan"),
        Person("wangjun", "王军", "chengguan", head=True),
        Person("zhaomin", "赵敏", "dongcheng", head=True),
        Person("sunli", "孙丽", "xicheng", head=True),
        Person("zhouqi", "周琪", "bureau", head=True),  # the bureau head: reads the bulletin
        Person("chenjie", "陈杰", "bureau"),
        Person("liuqiang", "刘强", "office", roles=("leader",)),
        Person("xuli", "徐丽", "office", head=True, roles=("supervision",)),
        Person("huangwei", "黄伟", "office", roles=("leader", "principal")),
    ),
)
#: who reads the bulletin: the leaders, the supervision office, the principal leader, the bureau head
READERS = {"zhouqi", "liuqiang", "xuli", "huangwei"}
#: the October bulletin's day (a Thursday, a working day)
ISSUED = "2026-11-05 09:30"


def at(text: str) -> datetime:
    """A local time in the county's zone, as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).astimezone(UTC)


def seed(rt: Runtime) -> dict[str, int]:
    """The county and its projects; their ids by short name. Lights on 2026-11-05: 中药材 (a lead since
    August 3) at 约谈, 冷链 (signing since August 1) at 红灯, the others green and followed up."""
    start = rt.at(at("2026-08-03 09:00"))
    BULLETIN_COUNTY.seed(start)

    def add(name: str, officer: str, unit: str, stage: str, **values: str) -> int:
        data = ProjectInput(name=name, officer=officer, unit=unit, values={"investor": "某公司", **values})
        return ledger.add_project(start, data, stage=stage).id

    ids = {
        "dairy": add("乳品加工", "lina", "chengguan", "talks", amount="2亿", leader="liuqiang"),
        "cold": add("冷链物流园", "zhaomin", "dongcheng", "signing", amount="8000"),
        "herbs": add("中药材种植基地", "lina", "chengguan", "lead"),
        "cloud": add("云服务数据中心", "sunli", "xicheng", "talks", amount="3亿"),
    }
    moves.advance(rt.at(at("2026-08-20 10:00")), Move(ids["cloud"], "signing", by="sunli"))
    moves.advance(
        rt.at(at("2026-09-05 10:00")), Move(ids["cloud"], "land_prep", by="sunli", values={"land": "80"})
    )
    moves.advance(rt.at(at("2026-09-10 10:00")), Move(ids["dairy"], "signing", by="lina"))
    moves.advance(
        rt.at(at("2026-09-25 10:00")), Move(ids["cloud"], "groundbreaking", by="sunli", evidence=SITE_PHOTO)
    )
    october = rt.at(at("2026-10-08 10:00"))
    data = ProjectInput(
        name="健康食品产业园",
        officer="chenjie",
        unit="bureau",
        values={"investor": "某食品", "amount": "1.5亿"},
    )
    ids["food"] = ledger.add_project(october, data, stage="signing").id
    moves.advance(
        rt.at(at("2026-10-12 10:00")), Move(ids["dairy"], "land_prep", by="lina", values={"land": "50"})
    )
    moves.advance(
        rt.at(at("2026-10-12 10:30")), Move(ids["dairy"], "groundbreaking", by="lina", evidence=SITE_PHOTO)
    )
    followed = rt.at(at("2026-11-02 10:00"))
    for key, who in (("cloud", "sunli"), ("food", "chenjie"), ("dairy", "lina")):
        moves.log(followed, ids[key], by=who, text="现场调度")
    return ids


def red_notice(rt: Runtime, project_id: int, unit: str, issued_at: datetime, reply_due: date) -> None:
    """督〔2026〕第7号 on ``project_id``'s first deadline ladder, as the sweep issues one at red (written
    directly: the tests set its day and its reply's due date)."""
    with rt.store.transaction() as session:
        session.add(
            SupervisionNotice(
                year=2026,
                number=7,
                project_id=project_id,
                unit_id=session.scalar(select(Unit.id).where(Unit.key == unit)),
                stage_seq=1,
                round="d1",
                level="red",
                issued_at=issued_at,
                reply_due=reply_due,
            )
        )
