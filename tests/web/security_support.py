"""What the security tests share: a county with two townships, an operator and projects on both sides;
a runtime whose clock the test moves; the sign-in mails of the local maildir; the checks of a
redirect's target."""

from __future__ import annotations

import base64
import dataclasses
import mailbox
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from urllib.parse import urlsplit

from followup.app import ledger, organisation
from followup.app.ledger import ProjectInput
from followup.app.runtime import Runtime
from followup.domain.kinds import EventKind
from followup.store.models import Official
from tests.helpers import NOW
from tests.web.conftest import Browser

LINK_RE = re.compile(r"/signin/([A-Za-z0-9_\-]+)")


@dataclass
class Clock:
    """A clock the test moves: the app reads it on every request."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass(frozen=True)
class Town:
    """The small county grown for these tests: 河西乡 (zhaomin its officer, sunhao its head) and the
    bureau's operator zhouyan; project ``a`` and ``a2`` of 城关镇 (李娜's, ``a`` led by 刘强), ``b`` of
    河西乡 (赵敏's)."""

    rt: Runtime
    clock: Clock
    a: int
    a2: int
    b: int

    def browser(self, key: str | None = None) -> Browser:
        fresh = Browser(self.rt)
        return fresh.sign_in(key) if key else fresh

    def official_id(self, key: str) -> int:
        with self.rt.store.reading() as session:
            found = session.query(Official.id).filter(Official.key == key).scalar()
        assert found is not None
        return int(found)

    def notes(self, project_id: int) -> list[str | None]:
        """The notes of the project's follow-ups (跟进记录)."""
        return [e.note for e in ledger.history(self.rt, project_id) if e.kind == EventKind.FOLLOWUP]


def town(web_rt: Runtime, *, a_name: str = "伊禾乳业") -> Town:
    """The county of :class:`Town` over ``web_rt`` (the small county already entered)."""
    clock = Clock()
    rt = dataclasses.replace(web_rt, clock=clock)
    organisation.add_unit(rt, "hexi", "河西乡人民政府", "township")
    organisation.add_official(rt, "zhaomin", name="赵敏", email="zhaomin@example.gov.cn", unit="hexi")
    organisation.add_official(
        rt, "sunhao", name="孙浩", email="sunhao@example.gov.cn", unit="hexi", head=True
    )
    organisation.add_official(
        rt, "zhouyan", name="周燕", email="zhouyan@example.gov.cn", unit="bureau", roles=("operator",)
    )
    ours = {"officer": "lina", "unit": "chengguan"}
    a = ledger.add_project(rt, ProjectInput(name=a_name, values={"leader": "liuqiang"}, **ours)).id
    a2 = ledger.add_project(rt, ProjectInput(name="华北冷链", **ours)).id
    b = ledger.add_project(rt, ProjectInput(name="河西光伏", officer="zhaomin", unit="hexi")).id
    return Town(rt, clock, a, a2, b)


def mails(rt: Runtime) -> list[EmailMessage]:
    """Every message written to the local maildir, oldest first."""
    if not rt.settings.maildir.is_dir():
        return []
    box = mailbox.Maildir(str(rt.settings.maildir), factory=None, create=False)
    found = [mailbox_message(box, key) for key in box.iterkeys()]
    return sorted(found, key=lambda m: str(m["Date"]))


def mailbox_message(box: mailbox.Maildir, key: str) -> EmailMessage:
    from email import message_from_bytes

    parsed = message_from_bytes(box.get_bytes(key), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def link_secrets(rt: Runtime) -> list[str]:
    """The secrets of the sign-in links in the maildir, in the order the mails were written."""
    found = []
    for message in mails(rt):
        part = message.get_body(preferencelist=("plain",))
        assert part is not None
        hit = LINK_RE.search(part.get_content())
        assert hit, "a sign-in mail without its link"
        found.append(hit.group(1))
    return found


def bits(token: str) -> int:
    """The bits a base64url token carries."""
    return len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8


def is_local(location: str) -> bool:
    """Whether a redirect's target stays on this site: a path, never ``//host``, ``/\\host`` or a scheme."""
    parts = urlsplit(location)
    return (
        not parts.scheme
        and not parts.netloc
        and location.startswith("/")
        and location[1:2] not in ("/", "\\")
        and "\\" not in location
    )
