"""A simulated county-year on the real 2026 calendar: how much mail reaches whom, and when.

A seeded county (19 units, 69 officials, at least 300 projects) lives through 2026 day by day. Ledger lines
are entered on the first working day of January at the stage they have reached; new leads arrive through
the year. Officials follow up now and then (some diligently, some not), move projects on when their work
is done, put a few on hold, end a few, and react to warnings (a lit project or a 跟进超时 they were sent
makes a follow-up likely; a hold is resumed on its restart date or, some of the time, a little later,
once its 暂缓到期 warning comes); leaders grant a few extensions. ``--original-sim`` keeps the first
version's officials, who ignored 跟进超时 and always resumed on the day. The sweep, the weekly mail (once
a week when its time has come, as the daemon queues it) and delivery run at 09:00, 14:00 and 22:00
every day, rest days and nights included, through the real use cases on a SQLite file, delivering to
a maildir. Then it prints what officials received, and where the time went:

- breaches notified within one working day: each time a stage deadline passes (the first rung after the
  deadline is reached), did a warning about it reach the case officer by the end of the first working day
  on or after that day? (target 100%)
- mails per official per week: each official's mean over the year; median and 90th percentile over all
  officials (targets ≤ 1.0 and ≤ 1.5), the supervision office (≤ 2), and by role;
- mails outside working hours (target 0), superseded warnings delivered (a mail that carries two rungs of
  one ladder of one project; target 0), the same warning to the same person on consecutive working days
  (target 0), empty digests (a weekly digest with nothing lit and nothing due; target 0).

Run it (under two minutes on the development machine; the README records the figures)::

    .venv/bin/python bench/county_year.py [--projects 300] [--seed 2026] [--keep DIR] [--original-sim]
"""

from __future__ import annotations

import argparse
import mailbox
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.header import decode_header, make_header
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from followup.app import delivery, escalation, ledger, moves, organisation
from followup.app.ledger import ProjectInput
from followup.app.moves import Move
from followup.app.runtime import Runtime
from followup.domain.calendar import WorkCalendar
from followup.domain.timeutil import as_utc
from followup.errors import FollowupError
from followup.settings import load_settings

SH = ZoneInfo("Asia/Shanghai")
YEAR = 2026
TICKS = ((9, 0), (14, 0), (22, 0))
STAGES = ("lead", "talks", "signing", "land_prep", "groundbreaking", "production")
TOWNSHIPS = [f"t{i:02d}" for i in range(1, 11)]
DEPARTMENTS = [f"d{i:02d}" for i in range(1, 8)]
NOTES = ["电话沟通，企业确认推进计划。", "赴企业现场调研。", "协调要素保障问题。", "召开项目推进会。"]


@dataclass
class Person:
    key: str
    unit: str
    role: str  # case officer, unit head, leader, supervision, principal, bureau head
    diligence: float = 0.0


@dataclass
class Project:
    id: int
    workflow: str
    officer: str
    leader: str | None
    stage: str
    entered: date
    done_on: date  # when the work of this stage is done and the project moves on
    hold_until: date | None = None
    ended: bool = False


@dataclass
class County:
    rt: Runtime
    rng: random.Random
    calendar: WorkCalendar
    people: dict[str, Person] = field(default_factory=dict)
    officers: dict[str, list[str]] = field(default_factory=dict)  # unit -> case officers
    leaders: list[str] = field(default_factory=list)
    projects: dict[int, Project] = field(default_factory=dict)
    breaches: list[tuple[int, int, int, date, str]] = field(
        default_factory=list
    )  # id, seq, version, day, officer
    actions: Counter[str] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)  # where the simulation's time went
    original: bool = False  # the reaction model as first filed: 跟进超时 ignored, holds resumed on the day
    weekly: str | None = None  # the ISO week whose weekly mail was queued


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SH)


# --------------------------------------------------------------------------- the county


def build_organisation(c: County) -> None:
    rt = c.rt.at(local(date(YEAR - 1, 12, 1), 9))
    units = [(k, f"{k}乡镇人民政府", "township") for k in TOWNSHIPS]
    units += [(k, f"县第{k[1:]}部门", "department") for k in DEPARTMENTS]
    units += [("bureau", "县投资促进局", "department"), ("office", "县政府办公室", "department")]
    for key, name, kind in units:
        organisation.add_unit(rt, key, name, kind)

    def person(key: str, unit: str, role: str, *, head: bool = False, roles: tuple[str, ...] = ()) -> None:
        organisation.add_official(
            rt,
            key,
            name=f"干部{key}",
            email=f"{key}@county.example.gov.cn",
            unit=unit,
            head=head,
            roles=roles,
        )
        c.people[key] = Person(key, unit, role, diligence=c.rng.uniform(0.15, 0.8))

    for unit in [*TOWNSHIPS, *DEPARTMENTS]:
        person(f"{unit}h", unit, "unit head", head=True)
        c.officers[unit] = []
        for i in range(2):
            person(f"{unit}o{i}", unit, "case officer")
            c.officers[unit].append(f"{unit}o{i}")
    person("bureauh", "bureau", "bureau head", head=True)
    c.officers["bureau"] = []
    for i in range(8):
        person(f"bureauo{i}", "bureau", "case officer")
        c.officers["bureau"].append(f"bureauo{i}")
    for i in range(5):
        person(f"leader{i}", "office", "leader", roles=("leader",))
        c.leaders.append(f"leader{i}")
    person("duban", "office", "supervision", head=True, roles=("supervision",))
    person("duban2", "office", "supervision", roles=("supervision",))
    person("shuji", "office", "principal", roles=("principal",))
    person("xianzhang", "office", "principal", roles=("principal",))


def stage_days(c: County, workflow: str, stage: str) -> int:
    """How long the work of a stage takes this time: around its limit, often longer."""
    base = {"lead": 25, "talks": 80, "signing": 55, "land_prep": 110, "groundbreaking": 330}[stage]
    if workflow == "major":
        base = int(base * 0.8)
    return max(3, int(base * c.rng.uniform(0.5, 1.5)))


def values_for(c: County, workflow: str, stage: str, leader: str | None) -> dict[str, str | None]:
    """The ledger fields a project has by ``stage`` (enough for every guard up to it)."""
    out: dict[str, str | None] = {"chain": c.rng.choice(["健康食品", "乳品加工", "云服务", "中药材种植加工"])}
    index = STAGES.index(stage)
    if index >= 1:
        out["investor"] = "某某集团有限公司"
    if index >= 2:
        out["amount"] = str(c.rng.choice([3000, 8000, 20000, 60000]))
    if index >= 3:
        out["land"] = str(c.rng.choice([30, 80, 150]))
    if leader and (index >= 2 or (workflow == "major" and index >= 1)):
        out["leader"] = leader
    return out


def enter(c: County, day: date, stage: str, since: date) -> None:
    unit = c.rng.choice([*TOWNSHIPS, *DEPARTMENTS, "bureau", "bureau"])
    officer = c.rng.choice(c.officers[unit])
    workflow = "major" if c.rng.random() < 0.15 else "investment"
    leader = c.rng.choice(c.leaders)
    data = ProjectInput(
        name=f"项目{len(c.projects) + 1:04d}",
        officer=officer,
        unit=unit,
        workflow=workflow,
        values=values_for(c, workflow, stage, leader),
    )
    view = ledger.add_project(c.rt.at(local(day, 9, 30)), data, stage=stage, since=local(since, 9))
    done = since + timedelta(days=stage_days(c, workflow, stage)) if stage != "production" else date.max
    c.projects[view.id] = Project(
        view.id, workflow, officer, leader, stage, since, max(done, day + timedelta(days=3))
    )
    c.actions["entered"] += 1


def load_ledger(c: County, count: int) -> None:
    """The ledger lines a county brings on day one, at the stages they have reached."""
    first = next(d for d in days_of(YEAR) if c.calendar.is_workday(d))
    mix = {
        "lead": 0.12,
        "talks": 0.22,
        "signing": 0.14,
        "land_prep": 0.18,
        "groundbreaking": 0.26,
        "production": 0.08,
    }
    for stage, share in mix.items():
        for _ in range(round(count * share)):
            enter(c, first, stage, first - timedelta(days=c.rng.randint(5, 200)))


# --------------------------------------------------------------------------- a day


def days_of(year: int) -> list[date]:
    start = date(year, 1, 1)
    return [start + timedelta(days=i) for i in range((date(year + 1, 1, 1) - start).days)]


@contextmanager
def timed(c: County, phase: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    c.seconds[phase] += time.perf_counter() - started


def tick(c: County, when: datetime) -> None:
    rt = c.rt.at(when)
    with timed(c, "sweep"):
        escalation.sweep(rt)
    with timed(c, "weekly mail"):  # as the daemon does: once a week, when its time has come
        key, due = escalation.digest_round(rt)
        if c.weekly != key.round and as_utc(rt.now()) >= due:
            escalation.queue_digests(rt)
            c.weekly = key.round
    with timed(c, "send"):
        delivery.send(rt)


def act(c: County, day: date, levels: dict[int, str | None], told: set[int]) -> None:
    """What officials do on a working day: follow up, move on, hold, end, and react to warnings
    (``levels``: the ladder's light of each project; ``told``: projects whose case officer was told
    of 跟进超时 and has not followed up since)."""
    rt = c.rt.at(local(day, 10, 30))
    for p in list(c.projects.values()):
        if p.ended:
            continue
        try:
            act_on(c, rt, day, p, levels.get(p.id), p.id in told)
        except FollowupError as exc:  # a move the workflow refuses here is the model's mistake, not a result
            c.actions[f"refused: {type(exc).__name__}"] += 1


def act_on(c: County, rt: Runtime, day: date, p: Project, level: str | None, stale: bool) -> None:
    officer = c.people[p.officer]
    lit = level is not None and level != "blue"
    if p.hold_until is not None:
        # Back to work on the expected restart date, or a little later: a hold that ran out is lit
        # (暂缓到期) and its warning gets the official moving.
        late_ok = c.original or c.rng.random() < 0.3 + officer.diligence / 2 + (0.35 if lit else 0.0)
        if day >= p.hold_until and late_ok:
            moves.advance(rt, Move(p.id, None, by=p.officer))
            p.hold_until = None
            p.done_on = day + timedelta(days=stage_days(c, p.workflow, p.stage) // 2)
            c.actions["resumed"] += 1
        return
    if p.stage != "production" and day >= p.done_on:
        move_on(c, rt, day, p)
        return
    # A warning about the deadline, or about the silence (跟进超时), makes a follow-up likely.
    warned = lit or (stale and not c.original)
    chance = officer.diligence / 5 + (0.35 if warned else 0.0)
    if c.rng.random() < chance:
        moves.log(rt, p.id, by=p.officer, text=c.rng.choice(NOTES))
        c.actions["follow-up"] += 1
    if level in ("red", "top") and p.leader and c.rng.random() < 0.04:
        moves.extend(rt, p.id, days=c.rng.choice([30, 60]), by=p.leader, reason="客观原因，同意延期")
        c.actions["extended"] += 1


def move_on(c: County, rt: Runtime, day: date, p: Project) -> None:
    roll = c.rng.random()
    if roll < 0.03:
        moves.advance(rt, Move(p.id, "terminated", by=p.officer, note="投资方放弃"))
        p.ended = True
        c.actions["terminated"] += 1
        return
    if roll < 0.06:
        until = day + timedelta(days=c.rng.randint(30, 150))
        moves.advance(rt, Move(p.id, "on_hold", by=p.officer, note="投资方资金调整", until=until))
        p.hold_until = until
        c.actions["held"] += 1
        return
    target = STAGES[STAGES.index(p.stage) + 1]
    moves.advance(rt, Move(p.id, target, by=p.officer, values=values_for(c, p.workflow, target, p.leader)))
    p.stage, p.entered = target, day
    p.done_on = (
        day + timedelta(days=stage_days(c, p.workflow, target)) if target != "production" else date.max
    )
    c.actions[f"to {target}"] += 1


def watch_breaches(c: County, db: Path, day: date, previous_workday: date) -> None:
    """Stage deadlines whose first rung after the deadline came after the previous working day and by
    today (a working day): a warning must reach the case officer today."""
    rows = query(db, "SELECT id, stage_seq, deadline_version, deadline, workflow, stage FROM projects "
                 "WHERE deadline IS NOT NULL AND stage NOT IN ('on_hold', 'terminated')")  # fmt: skip
    for pid, seq, version, deadline, workflow, stage in rows:
        p = c.projects.get(pid)
        if p is None:
            continue
        ladder = c.rt.workflows.get(workflow).ladder_for(stage)
        first_after = next(level for level in ladder if level.at.amount > 0)
        breach = first_after.at.apply(date.fromisoformat(deadline), c.calendar)
        if previous_workday < breach <= day and breach > p.entered:
            c.breaches.append((pid, seq, version, day, p.officer))


def levels_now(db: Path) -> dict[int, str | None]:
    return dict(query(db, "SELECT id, level FROM projects"))  # type: ignore[arg-type]


def told_stale(db: Path) -> set[int]:
    """Projects whose case officer received a 跟进超时 and has not followed up since."""
    rows = query(db, "SELECT DISTINCT n.project_id FROM notifications n "
                 "JOIN projects p ON p.id = n.project_id WHERE n.kind = 'stale' AND n.status = 'sent' "
                 "AND n.recipient_id = p.officer_id AND n.sent_at > p.last_activity_at")  # fmt: skip
    return {pid for (pid,) in rows}


def query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def simulate(c: County, db: Path, new_leads: int) -> int:
    arrivals = Counter(
        c.rng.choice([d for d in days_of(YEAR) if c.calendar.is_workday(d)]) for _ in range(new_leads)
    )
    ticks = 0
    previous_workday = date(YEAR - 1, 12, 31)
    for day in days_of(YEAR):
        working = c.calendar.is_workday(day)
        if working:
            with timed(c, "watch"):
                watch_breaches(c, db, day, previous_workday)
        tick(c, local(day, *TICKS[0]))
        if working:
            with timed(c, "enter"):
                for _ in range(arrivals[day]):
                    enter(c, day, "lead", day)
            with timed(c, "officials"):
                act(c, day, levels_now(db), told_stale(db))
            previous_workday = day
        for hour, minute in TICKS[1:]:
            tick(c, local(day, hour, minute))
        ticks += len(TICKS)
    return ticks


# --------------------------------------------------------------------------- what was received


@dataclass
class Mail:
    to: str
    sent: datetime
    subject: str
    text: str
    message_id: str


def read_mails(maildir: Path) -> list[Mail]:
    """Every delivered mail, read back from the maildir. The legacy ``compat32`` policy: the modern one
    builds a header object per header and took most of the report's time."""
    box = mailbox.Maildir(maildir, factory=None, create=False)
    out = []
    for key in box.iterkeys():
        msg = BytesParser(policy=policy.compat32).parsebytes(box.get_bytes(key))
        text = ""
        for part in msg.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                text = (
                    payload.decode(part.get_content_charset() or "utf-8")
                    if isinstance(payload, bytes)
                    else ""
                )
                break
        to = parseaddr(str(msg["To"]))[1]
        sent = parsedate_to_datetime(str(msg["Date"])).astimezone(SH)
        subject = str(make_header(decode_header(str(msg["Subject"]))))
        out.append(Mail(to, sent, subject, text, str(msg["Message-ID"]).strip()))
    return out


def local_day(stored: str) -> date:
    """The local day of a UTC instant as SQLite stores it (naive)."""
    return datetime.fromisoformat(stored).replace(tzinfo=UTC).astimezone(SH).date()


@dataclass(frozen=True)
class Sent:
    """One delivered notification, as the outbox recorded it."""

    message_id: str
    project: int | None
    seq: int
    round: str
    kind: str
    level: str
    who: str
    day: date


def sent_rows(db: Path) -> list[Sent]:
    officials = dict(query(db, "SELECT id, key FROM officials"))
    rows = query(db, "SELECT message_id, project_id, stage_seq, round, kind, level, recipient_id, sent_at "
                 "FROM notifications WHERE status = 'sent'")  # fmt: skip
    return [Sent(m, p, s, r, k, lv, officials[w], local_day(at)) for m, p, s, r, k, lv, w, at in rows]


def breaches_on_time(c: County, sent: list[Sent]) -> tuple[int, int]:
    """(breaches whose case officer had a warning about them by the end of the day, breaches)."""
    delivered: dict[tuple[Any, ...], list[date]] = defaultdict(list)
    for n in sent:
        if n.kind == "deadline" and n.level != "blue":
            delivered[(n.project, n.seq, n.round, n.who)].append(n.day)
    on_time = sum(
        1
        for pid, seq, version, day, officer in c.breaches
        if any(d <= day for d in delivered.get((pid, seq, f"d{version}", officer), []))
    )
    return on_time, len(c.breaches)


def per_week(c: County, mails: list[Mail]) -> dict[str, float]:
    """Each official's mails per week over the year."""
    weeks = len(days_of(YEAR)) / 7
    key_of = {f"{k}@county.example.gov.cn": k for k in c.people}
    received = Counter(key_of.get(m.to, m.to) for m in mails)
    return {k: received.get(k, 0) / weeks for k in c.people}


def superseded(sent: list[Sent]) -> tuple[int, int]:
    """(pairs of rungs of one ladder delivered in one mail, mails carrying such a pair)."""
    ladders: dict[str, dict[tuple[Any, ...], set[str]]] = defaultdict(lambda: defaultdict(set))
    for n in sent:
        if n.kind == "deadline":
            ladders[n.message_id][(n.project, n.seq, n.round)].add(n.level)
    pairs = sum(len(levels) - 1 for m in ladders.values() for levels in m.values() if len(levels) > 1)
    mails = sum(1 for m in ladders.values() if any(len(levels) > 1 for levels in m.values()))
    return pairs, mails


def repeated_next_day(c: County, sent: list[Sent]) -> int:
    """The same warning to the same person on two consecutive working days."""
    days: dict[tuple[Any, ...], set[date]] = defaultdict(set)
    for n in sent:
        if n.kind != "digest":
            days[(n.who, n.project, n.seq, n.round, n.kind, n.level)].add(n.day)
    return sum(c.calendar.add_working_days(d, 1) in ds for ds in days.values() for d in ds)


def report(c: County, db: Path, mails: list[Mail], ticks: int, seconds: float) -> None:
    sent = sent_rows(db)
    print(f"county-year {YEAR}: {len(c.projects)} projects, {len(c.people)} officials, {ticks} ticks "
          f"(sweep, digest, send at 09:00, 14:00, 22:00 daily); simulated in {seconds:.1f} s")  # fmt: skip
    print("  actions: " + ", ".join(f"{k} {v}" for k, v in sorted(c.actions.items())))
    print("  time: " + ", ".join(f"{k} {v:.1f} s" for k, v in c.seconds.most_common()))
    on_time, breaches = breaches_on_time(c, sent)
    share = on_time / breaches if breaches else 1.0
    print(f"breaches notified within one working day: {on_time} / {breaches} ({share:.1%})   target 100%")
    rates = per_week(c, mails)
    values = sorted(rates.values())
    p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
    supervision = max(rates[k] for k, p in c.people.items() if p.role == "supervision")
    median = statistics.median(values)
    print(f"mails: {len(mails)} in all; per official per week: median {median:.2f} (≤ 1.0), "
          f"p90 {p90:.2f} (≤ 1.5), supervision office {supervision:.2f} (≤ 2)")  # fmt: skip
    by_role: dict[str, list[float]] = defaultdict(list)
    for k, p in c.people.items():
        by_role[p.role].append(rates[k])
    shown = ", ".join(f"{role} {statistics.mean(v):.2f} ({len(v)})" for role, v in sorted(by_role.items()))
    print(f"  by role (mean of the officials' weekly means, how many): {shown}")
    opening, closing = c.rt.settings.work_hours
    outside = sum(
        1 for m in mails if not (c.calendar.is_workday(m.sent.date()) and opening <= m.sent.time() < closing)
    )
    print(f"mails outside working hours: {outside}   target 0")
    pairs, in_mails = superseded(sent)
    print(f"superseded warnings delivered: {pairs} in {in_mails} mails   target 0")
    print(f"the same warning on consecutive working days: {repeated_next_day(c, sent)}   target 0")
    digest_re = re.compile(r"亮灯(\d+)个，本周到期(\d+)个")
    digests = [m for m in mails if "周调度" in m.subject]
    empty = sum(1 for m in digests if (found := digest_re.search(m.text)) and found.groups() == ("0", "0"))
    share_of_all = empty / max(len(mails), 1)
    print(f"empty digests: {empty} of {len(digests)} digests ({share_of_all:.0%} of all mail)   target 0")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--projects", type=int, default=300, help="projects over the year (default 300)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", type=Path, help="keep the database and maildir in this folder")
    parser.add_argument(
        "--original-sim",
        action="store_true",
        help="officials as first simulated: they ignore 跟进超时 and always resume a hold on its day",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="followup-year-") as name:
        folder = args.keep or Path(name)
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / "year.db"
        for stale in folder.glob("year.db*"):
            stale.unlink()
        settings = load_settings({"database_url": f"sqlite:///{db}", "data_dir": str(folder)}, env={})
        rt = Runtime.open(settings)
        rt.init()
        c = County(rt, random.Random(args.seed), rt.calendar, original=args.original_sim)
        started = time.perf_counter()
        build_organisation(c)
        load_ledger(c, args.projects * 2 // 3)
        ticks = simulate(c, db, args.projects - len(c.projects))
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        received = read_mails(folder / "maildir")
        c.seconds["reading the maildir"] = time.perf_counter() - started
        report(c, db, received, ticks, seconds)
        rt.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
