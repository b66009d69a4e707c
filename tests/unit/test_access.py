"""The pure rules of the web app's access (``app.access``): what each relation to a project allows
(``may``), the signatures of a mail's action links and of the CSRF tokens, and where the signing key
lives. The web tests (tests/web/test_security.py) check the same through the app."""

from __future__ import annotations

import base64
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from followup.app import access
from followup.app.access import ProjectFacts, Viewer
from followup.errors import InvalidInput
from followup.settings import Settings, load_settings

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]

#: project 1 of unit 10 (officer 1, leader 3); project 2 of unit 20 (officer 5, no leader)
MINE = ProjectFacts(id=1, unit_id=10, officer_id=1, leader_id=3)
OTHER = ProjectFacts(id=2, unit_id=20, officer_id=5, leader_id=None)
FOLLOW = {"read", "log", "move", "request", "reply", "close_problem"}
EVERY = FOLLOW | {"approve", "notice"}


def person(
    id: int, unit: int = 10, *, head: bool = False, roles: tuple[str, ...] = (), scope: int | None = None
) -> Viewer:
    return Viewer(id, f"p{id}", f"P{id}", unit, head, frozenset(roles), scope)


def rights(who: Viewer, project: ProjectFacts) -> set[str]:
    return {action for action in EVERY if access.may(who, action, project)}


def settings(tmp_path: Path, **values: str) -> Settings:
    return load_settings({"data_dir": str(tmp_path / "data"), **values})


def test_the_case_officer_and_the_unit_head_follow_their_units_projects_only() -> None:
    officer, head = person(1), person(2, head=True)
    assert rights(officer, MINE) == rights(head, MINE) == FOLLOW
    assert rights(officer, OTHER) == rights(head, OTHER) == set()
    # an official of the unit who is neither its head nor the project's officer: nothing
    assert rights(person(4), MINE) == set()
    # the head of another unit: nothing on this unit's project
    assert rights(person(6, unit=20, head=True), MINE) == set()


def test_the_leader_approves_the_projects_in_their_charge_only() -> None:
    leader = person(3, unit=30, roles=("leader",))
    assert rights(leader, MINE) == FOLLOW | {"approve"}
    assert rights(leader, OTHER) == set()  # the role alone gives nothing


def test_supervision_and_principals_read_all_but_do_not_follow_up() -> None:
    for role in ("supervision", "principal"):
        overseer = person(7, unit=30, roles=(role,))
        assert rights(overseer, MINE) == rights(overseer, OTHER) == {"read", "approve", "notice"}
        assert not access.may(overseer, "log", MINE)


def test_the_operator_does_everything_and_a_scoped_session_reaches_its_project_only() -> None:
    operator = person(8, unit=30, roles=("operator",))
    assert rights(operator, MINE) == rights(operator, OTHER) == EVERY
    # a session opened by a mail's link for project 1: nothing on project 2, whoever it belongs to
    assert rights(person(8, unit=30, roles=("operator",), scope=1), OTHER) == set()
    assert rights(person(1, scope=2), MINE) == set()
    assert rights(person(1, scope=1), MINE) == FOLLOW
    assert not access.may(person(1), "delete everything", MINE)  # an unknown action: refused


def test_problems_and_round_reports_go_with_following_or_overseeing_a_project(tmp_path: Path) -> None:
    supervision = {"problem", "report"}
    officer, head, leader = person(1), person(2, head=True), person(3, unit=30, roles=("leader",))
    for who in (officer, head, leader, person(7, unit=30, roles=("supervision",))):
        assert all(access.may(who, action, MINE) for action in supervision), who
    assert not any(access.may(officer, action, OTHER) for action in supervision)
    assert not any(access.may(leader, action, OTHER) for action in supervision)
    assert not any(access.may(person(4), action, MINE) for action in supervision)  # a colleague only
    assert not access.may(officer, "notice", MINE)  # a notice is the overseers' alone
    # a 调度未报 mail's button opens the report form (#report)
    path = access.action_path(settings(tmp_path, secret_key="k" * 40), 2, 1, "report", NOW)
    assert path.removeprefix("/a/").split(".")[2] == "report"


def test_an_action_link_carries_a_256_bit_signature_over_reader_project_action_and_expiry(
    tmp_path: Path,
) -> None:
    cfg = settings(tmp_path, secret_key="k" * 40, link_days="14")
    path = access.action_path(cfg, 1, 7, "log", NOW)
    official, project, action, expires, signature = path.removeprefix("/a/").split(".")
    assert (official, project, action) == ("1", "7", "log")
    assert int(expires) == int(NOW.timestamp()) + 14 * 86400
    assert len(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))) * 8 >= 128
    # the signature depends on every part and on the key
    assert access.action_path(cfg, 2, 7, "log", NOW).rsplit(".", 1)[1] != signature
    assert access.action_path(cfg, 1, 8, "log", NOW).rsplit(".", 1)[1] != signature
    assert access.action_path(cfg, 1, 7, "view", NOW).rsplit(".", 1)[1] != signature
    other_key = settings(tmp_path, secret_key="z" * 40)
    assert access.action_path(other_key, 1, 7, "log", NOW).rsplit(".", 1)[1] != signature
    with pytest.raises(ValueError):
        access.action_path(cfg, 1, 7, "delete", NOW)


def test_a_csrf_token_is_bound_to_the_browsers_seed_and_the_key(tmp_path: Path) -> None:
    cfg = settings(tmp_path, secret_key="k" * 40)
    token = access.csrf_token(cfg, "seed-a")
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128
    assert access.csrf_valid(cfg, "seed-a", token)
    assert not access.csrf_valid(cfg, "seed-b", token)  # another browser's token
    assert not access.csrf_valid(cfg, "seed-a", token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert not access.csrf_valid(cfg, "seed-a", None)
    assert not access.csrf_valid(cfg, None, token)
    assert not access.csrf_valid(cfg, "", access.csrf_token(cfg, ""))
    assert not access.csrf_valid(settings(tmp_path, secret_key="z" * 40), "seed-a", token)


def test_the_signing_key_is_made_once_under_the_data_dir_readable_by_its_owner_only(tmp_path: Path) -> None:
    cfg = settings(tmp_path)
    key = access.signing_key(cfg)
    path = cfg.data_dir / "secret_key"
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 32 and len(bytes.fromhex(key.decode())) * 8 >= 256
    assert access.signing_key(cfg) == key  # made once: the links stay valid
    assert not list(cfg.data_dir.glob("*.new"))
    # FOLLOWUP_SECRET_KEY (the setting) wins, and no file is made for it
    elsewhere = settings(tmp_path / "other", secret_key="s" * 40)
    assert access.signing_key(elsewhere) == b"s" * 40
    assert not (elsewhere.data_dir / "secret_key").exists()
    # a short key is refused rather than used: it could be guessed
    with pytest.raises(InvalidInput, match="FOLLOWUP_SECRET_KEY"):
        access.signing_key(settings(tmp_path, secret_key="short-key" + " " * 30))


def test_no_signing_key_is_kept_in_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert tracked, "not a git checkout"
    assert not [name for name in tracked if "secret_key" in Path(name).name or name.endswith(".key")]
