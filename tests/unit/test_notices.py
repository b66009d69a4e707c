"""A notification's identity and when a queued one is obsolete (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from followup.domain.kinds import NoticeKind
from followup.domain.notices import NoticeKey, ProjectClock

CLOCK = ProjectClock(
    "investment", "talks", date(2026, 10, 1), 2, 5, datetime(2026, 10, 15, 2, 0, 30, tzinfo=UTC)
)


def test_keys_name_their_ladder() -> None:
    assert NoticeKey.deadline(CLOCK, "yellow", 1) == NoticeKey(5, NoticeKind.DEADLINE, "d2", "yellow", 1)
    assert NoticeKey.stale(CLOCK, 0) == NoticeKey(5, NoticeKind.STALE, "s20261015T020030", "stale", 0)
    assert NoticeKey.digest(2026, 3) == NoticeKey(0, NoticeKind.DIGEST, "2026-W03", "digest", 0)
    assert NoticeKey.deadline(CLOCK, "yellow", 1).columns() == {
        "stage_seq": 5,
        "kind": "deadline",
        "round": "d2",
        "level": "yellow",
        "repeat_no": 1,
    }


def test_the_same_notification_is_equal_and_a_row_gives_it_back() -> None:
    key = NoticeKey.deadline(CLOCK, "red", 0)
    assert key == NoticeKey.deadline(replace(CLOCK, deadline=date(2026, 12, 1)), "red", 0)  # same ladder
    assert len({key, NoticeKey.deadline(CLOCK, "red", 0), NoticeKey.deadline(CLOCK, "red", 1)}) == 2

    class Row:
        stage_seq, kind, round, level, repeat_no = 5, "deadline", "d2", "red", 0

    assert NoticeKey.from_row(Row) == key


@pytest.mark.parametrize(
    ("change", "obsolete"),
    [
        ({}, False),
        ({"stage_seq": 6}, True),  # moved to another stage since
        ({"deadline_version": 3}, True),  # extended: a fresh ladder
        ({"stage": "on_hold"}, True),
        ({"stage": "terminated"}, True),
        (
            {"last_activity_at": datetime(2026, 10, 20, tzinfo=UTC)},
            False,
        ),  # a follow-up: the deadline still holds
        ({"deadline": date(2026, 11, 1)}, False),
    ],
)
def test_a_deadline_warning_is_obsolete_when_its_ladder_is_gone(
    change: dict[str, object], obsolete: bool
) -> None:
    key = NoticeKey.deadline(CLOCK, "yellow", 0)
    assert key.is_obsolete(replace(CLOCK, **change)) is obsolete  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "obsolete"),
    [
        ({}, False),
        ({"last_activity_at": datetime(2026, 10, 20, tzinfo=UTC)}, True),  # followed up since
        ({"deadline_version": 3}, False),
        ({"stage_seq": 6}, True),
    ],
)
def test_a_staleness_warning_is_obsolete_after_a_follow_up(change: dict[str, object], obsolete: bool) -> None:
    key = NoticeKey.stale(CLOCK, 0)
    assert key.is_obsolete(replace(CLOCK, **change)) is obsolete  # type: ignore[arg-type]


def test_a_vanished_project_makes_its_warnings_obsolete_not_the_digest() -> None:
    assert NoticeKey.deadline(CLOCK, "yellow", 0).is_obsolete(None)
    assert not NoticeKey.digest(2026, 42).is_obsolete(None)


def test_a_stranded_notice_is_one_per_problem_and_stage_entry() -> None:
    key = NoticeKey.stranded(CLOCK, "no workflow named 'fast'")
    assert key.kind is NoticeKind.STRANDED and key.level == "stranded" and key.stage_seq == 5
    assert key == NoticeKey.stranded(replace(CLOCK, deadline_version=9), "no workflow named 'fast'")
    assert key != NoticeKey.stranded(CLOCK, "no stage 'talks'")
    assert not key.is_obsolete(CLOCK)
    assert not key.is_obsolete(replace(CLOCK, stage="on_hold"))  # a held project can be stranded too
    assert key.is_obsolete(replace(CLOCK, stage="terminated"))
    assert key.is_obsolete(replace(CLOCK, stage_seq=6))
    assert key.is_obsolete(None)


def test_a_hold_expiry_warning_is_one_ladder_per_hold_and_restart_date() -> None:
    held = replace(CLOCK, stage="on_hold", deadline=None, stage_seq=6, hold_until=date(2026, 9, 30))
    key = NoticeKey.hold(held, "yellow", 1)
    assert key == NoticeKey(6, NoticeKind.HOLD, "h20260930", "yellow", 1)
    assert key.ladder == (6, NoticeKind.HOLD, "h20260930") == NoticeKey.hold(held, "red", 0).ladder
    assert key.ladder != NoticeKey.deadline(CLOCK, "yellow", 1).ladder
    assert not key.is_obsolete(held)
    assert key.is_obsolete(replace(held, stage="talks", stage_seq=7))  # resumed
    assert key.is_obsolete(replace(held, stage="terminated", stage_seq=7))
    assert key.is_obsolete(replace(held, hold_until=date(2026, 12, 31)))  # another restart date
    assert key.is_obsolete(None)
