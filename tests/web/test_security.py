"""The web app's security (issue 10), each test through the app in-process over a real database: who
may act on which project, sign-in and action links refused when expired, altered or replayed, CSRF,
session fixation, open redirects, the signing key, the security headers and cookie flags.

Escaping, SQL injection, the sign-in form's answers and its rate limit: test_security_input.py."""

from __future__ import annotations

import dataclasses
import stat
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from followup.app import access
from followup.app.runtime import Runtime
from followup.web import create_app
from tests.web.conftest import Browser, csrf_of
from tests.web.security_support import Town, bits, is_local, link_secrets, town

EVIL = (
    "//evil.example",
    "https://evil.example/x",
    "/\\evil.example",
    "javascript:alert(1)",
    "\\\\evil.example",
    "http:/evil.example",
    " //evil.example",
)


@pytest.fixture
def county(web_rt: Runtime) -> Iterator[Town]:
    yield town(web_rt)


def log(who: Browser, project_id: int, text: str, *, page: str = "/signin") -> str:
    """Post a follow-up with a valid form token of ``who``'s browser: "done", "signin" (sent to sign in
    fully) or the refusal's status."""
    response = who.post_form(page, f"/projects/{project_id}/log", {"text": text}, follow_redirects=False)
    location = response.headers.get("location", "")
    if response.status_code == 303 and location.startswith(f"/projects/{project_id}?done="):
        return "done"
    if response.status_code == 303 and location.startswith("/signin"):
        return "signin"
    return str(response.status_code)


def ask_link(who: Browser, email: str, next_path: str = "/my") -> str:
    """Ask for a sign-in link through the form and take it out of the maildir (its secret)."""
    before = set(link_secrets(who.rt))
    response = who.post_form("/signin", "/signin", {"email": email, "next": next_path})
    assert response.status_code == 200
    fresh = [s for s in link_secrets(who.rt) if s not in before]
    assert len(fresh) == 1, "no sign-in mail was written"
    return fresh[0]


def use_link(who: Browser, secret: str, next_path: str = "/my"):  # type: ignore[no-untyped-def]
    """Confirm a sign-in link with the form of its page (no redirect followed)."""
    token = csrf_of(who.get("/signin").text)
    return who.client.post(
        f"/signin/{secret}", data={"csrf": token, "next": next_path}, follow_redirects=False
    )


# --------------------------------------------------------------------------- who may act on what


def test_an_official_acts_on_their_own_projects_only(county: Town) -> None:
    lina, zhaomin = county.browser("lina"), county.browser("zhaomin")
    assert lina.get(f"/projects/{county.a}").status_code == 200
    assert lina.get(f"/projects/{county.b}").status_code == 403
    assert log(zhaomin, county.a, "越权记录") == "403"  # another unit's official: no relation to project a
    assert log(lina, county.b, "越权记录") == "403"
    assert county.notes(county.a) == county.notes(county.b) == []
    assert log(lina, county.a, "本人记录") == "done"  # the same browser and token on their own project
    assert county.notes(county.a) == ["本人记录"]
    # a project that does not exist answers as one they may not see
    assert lina.get("/projects/99999").status_code == 403
    assert lina.get("/projects/abc").status_code == 403  # no such project: as absent as one not hers


def test_a_unit_head_acts_on_their_units_projects_but_not_another_units(county: Town) -> None:
    wangjun, sunhao = county.browser("wangjun"), county.browser("sunhao")
    assert log(wangjun, county.a2, "镇长督促") == "done"
    assert log(wangjun, county.b, "越权") == "403"
    assert log(sunhao, county.a, "越权") == "403"
    assert log(sunhao, county.b, "乡长督促") == "done"
    assert county.notes(county.a2) == ["镇长督促"] and county.notes(county.b) == ["乡长督促"]
    assert county.notes(county.a) == []


def test_supervision_reads_all_but_posts_no_follow_up_and_the_operator_does(county: Town) -> None:
    xuli, zhouyan, liuqiang = county.browser("xuli"), county.browser("zhouyan"), county.browser("liuqiang")
    for pid in (county.a, county.b):
        assert xuli.get(f"/projects/{pid}").status_code == 200
        assert log(xuli, pid, "督办室记录") == "403"
    assert 'action="/projects/' + str(county.a) + '/log"' not in xuli.get(f"/projects/{county.a}").text
    assert log(liuqiang, county.b, "越权") == "403"  # the leader: only the projects in their charge
    assert log(liuqiang, county.a, "领导批示") == "done"
    assert log(zhouyan, county.b, "招商局补录") == "done"
    assert county.notes(county.a) == ["领导批示"] and county.notes(county.b) == ["招商局补录"]


def test_a_mail_links_session_reaches_its_project_only(county: Town) -> None:
    lina = county.browser()
    path = access.action_path(county.rt.settings, county.official_id("lina"), county.a, "log", county.clock())
    opened = lina.get(path, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == f"/projects/{county.a}#log"
    given = [c.split("=", 1)[0] for c in opened.headers.get_list("set-cookie")]
    assert sorted(given) == ["fu_seed", "fu_session"]  # one new seed with the new session, not two
    assert lina.get(f"/projects/{county.a}").status_code == 200
    # project a2 is lina's too, but this session was opened for project a only
    # (the session is sent to sign in fully: a mail's link reaches its own project only)
    denied = lina.get(f"/projects/{county.a2}", follow_redirects=False)
    assert denied.status_code == 303 and denied.headers["location"].startswith("/signin")
    assert log(lina, county.a2, "越权", page=f"/projects/{county.a}") == "signin"
    assert log(lina, county.b, "越权", page=f"/projects/{county.a}") == "signin"
    assert log(lina, county.a, "邮件链接记录", page=f"/projects/{county.a}") == "done"
    assert county.notes(county.a2) == [] and county.notes(county.a) == ["邮件链接记录"]
    for listing in ("/", "/projects", "/my"):  # the board and the lists need a full sign-in
        answer = lina.get(listing, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin"), listing


# --------------------------------------------------------------------------- links


def test_a_sign_in_link_is_refused_when_altered_replayed_or_expired(county: Town) -> None:
    victim = county.browser()
    secret = ask_link(victim, "lina@example.gov.cn")
    assert bits(secret) >= 128
    altered = secret[:-2] + ("AA" if secret[-2:] != "AA" else "BB")
    assert victim.get(f"/signin/{altered}").status_code == 400
    assert use_link(victim, altered).status_code == 400
    assert use_link(victim, secret[:-1]).status_code == 400
    assert "fu_session" not in victim.client.cookies

    first = use_link(victim, secret)
    assert first.status_code == 303 and "fu_session" in first.cookies
    assert bits(first.cookies["fu_session"]) >= 128
    replay = county.browser()
    assert replay.get(f"/signin/{secret}").status_code == 400  # used: its page no longer opens
    again = use_link(replay, secret)
    assert again.status_code == 400 and "fu_session" not in again.cookies

    late = ask_link(victim, "lina@example.gov.cn")
    county.clock.advance(minutes=30, seconds=1)
    assert victim.get(f"/signin/{late}").status_code == 400
    assert use_link(victim, late).status_code == 400
    county.clock.advance(minutes=-2)  # still within its 30 minutes: it works
    assert use_link(victim, late).status_code == 303


def test_an_action_link_is_refused_when_altered_or_expired(county: Town) -> None:
    lina_id = county.official_id("lina")
    path = access.action_path(county.rt.settings, lina_id, county.a, "log", county.clock())
    official, project, action, expires, signature = path.removeprefix("/a/").split(".")
    assert bits(signature) >= 128
    forged = (
        f"/a/{lina_id}.{county.b}.{action}.{expires}.{signature}",  # another project
        f"/a/{county.official_id('zhouyan')}.{project}.{action}.{expires}.{signature}",  # another official
        f"/a/{official}.{project}.approve.{expires}.{signature}",  # another action
        f"/a/{official}.{project}.{action}.{int(expires) + 86400}.{signature}",  # a later expiry
        f"/a/{official}.{project}.{action}.{expires}.{signature[:-1]}",
        f"/a/{official}.{project}.{action}.{expires}.{'A' * len(signature)}",
        f"/a/{official}.{project}.{action}.{expires}",
    )
    for bad in forged:
        who = county.browser()
        answer = who.get(bad, follow_redirects=False)
        assert answer.status_code == 400, bad
        assert "fu_session" not in answer.cookies
    who = county.browser()
    county.clock.advance(days=14)
    assert who.get(path, follow_redirects=False).status_code == 400
    county.clock.advance(seconds=-1)
    assert who.get(path, follow_redirects=False).status_code == 303


# --------------------------------------------------------------------------- CSRF


def test_a_form_without_this_browsers_token_is_refused(county: Town) -> None:
    lina, other = county.browser("lina"), county.browser("wangjun")
    target = f"/projects/{county.a}/log"
    assert lina.client.post(target, data={"text": "无令牌"}).status_code == 403
    assert lina.client.post(target, data={"csrf": "", "text": "空令牌"}).status_code == 403
    assert lina.client.post(target, data={"csrf": "x" * 43, "text": "伪造"}).status_code == 403
    theirs = csrf_of(other.get(f"/projects/{county.a}").text)  # valid, but for another browser's seed
    assert theirs != csrf_of(lina.get(f"/projects/{county.a}").text)
    assert lina.client.post(target, data={"csrf": theirs, "text": "他人令牌"}).status_code == 403
    assert county.notes(county.a) == []
    # sign-out and the sign-in form need the token as well
    assert lina.client.post("/signout", data={}).status_code == 403
    assert lina.get(f"/projects/{county.a}").status_code == 200  # still signed in
    before = link_secrets(county.rt)
    assert lina.client.post("/signin", data={"email": "lina@example.gov.cn"}).status_code == 403
    assert link_secrets(county.rt) == before
    assert log(lina, county.a, "有令牌") == "done"


# --------------------------------------------------------------------------- sessions


def test_a_session_is_new_at_sign_in_invented_ones_open_nothing_and_sign_out_ends_it(county: Town) -> None:
    victim = county.browser()
    victim.client.cookies.set("fu_session", "planted-by-the-attacker")
    assert victim.get(f"/projects/{county.a}", follow_redirects=False).status_code == 303
    seed_before = victim.client.cookies.get("fu_seed")
    signed = use_link(victim, ask_link(victim, "lina@example.gov.cn"))
    session = signed.cookies["fu_session"]
    assert session != "planted-by-the-attacker"
    assert signed.cookies["fu_seed"] != seed_before  # a new CSRF seed with the new session
    victim.client.cookies.set("fu_session", session)
    assert victim.get(f"/projects/{county.a}").status_code == 200

    attacker = county.browser()
    attacker.client.cookies.set("fu_session", "planted-by-the-attacker")
    assert attacker.get(f"/projects/{county.a}", follow_redirects=False).status_code == 303

    out = victim.post_form(f"/projects/{county.a}", "/signout", {}, follow_redirects=False)
    assert out.status_code == 303
    stolen = county.browser()
    stolen.client.cookies.set("fu_session", session)
    answer = stolen.get(f"/projects/{county.a}", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")
    assert access.viewer(county.rt, session) is None


# --------------------------------------------------------------------------- redirects


@pytest.mark.parametrize("target", EVIL)
def test_no_redirect_leaves_the_site(web_rt: Runtime, target: str) -> None:
    county = town(web_rt)
    who = county.browser()
    page = who.get("/signin", params={"next": target}).text
    assert 'name="next" value="/my"' in page
    asked = ask_link(who, "lina@example.gov.cn", next_path=target)
    confirm = who.get(f"/signin/{asked}", params={"next": target}).text
    assert 'name="next" value="/my"' in confirm
    mailed = who.rt.settings.maildir
    assert "evil" not in "".join(p.read_text(errors="replace") for p in mailed.rglob("*") if p.is_file())
    answer = use_link(who, asked, next_path=target)
    assert answer.status_code == 303 and is_local(answer.headers["location"]), answer.headers["location"]
    assert answer.headers["location"] == "/my"


def test_a_local_next_is_kept(county: Town) -> None:
    who = county.browser()
    answer = use_link(who, ask_link(who, "lina@example.gov.cn"), next_path=f"/projects/{county.a}")
    assert answer.headers["location"] == f"/projects/{county.a}"
    anonymous = county.browser().get(f"/projects/{county.a}?x=1", follow_redirects=False)
    assert anonymous.headers["location"] == f"/signin?next=/projects/{county.a}%3Fx%3D1"


# --------------------------------------------------------------------------- key, headers, cookies


def test_the_signing_key_is_made_under_the_data_dir_or_taken_from_the_setting(county: Town) -> None:
    key_file = county.rt.settings.data_dir / "secret_key"
    county.browser().get("/signin")
    assert key_file.is_file() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    path = access.action_path(
        county.rt.settings, county.official_id("lina"), county.a, "view", county.clock()
    )
    assert county.browser().get(path, follow_redirects=False).status_code == 303
    # with FOLLOWUP_SECRET_KEY the links are signed with it: the file's links no longer open
    keyed = dataclasses.replace(
        county.rt, settings=dataclasses.replace(county.rt.settings, secret_key="q" * 48)
    )
    assert Browser(keyed).get(path, follow_redirects=False).status_code == 400


def assert_guarded(response, what: str) -> None:  # type: ignore[no-untyped-def]
    csp = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp, what
    assert "frame-ancestors 'none'" in csp, what
    assert response.headers.get("x-frame-options") == "DENY", what
    assert response.headers.get("referrer-policy") == "no-referrer", what
    assert response.headers.get("x-content-type-options") == "nosniff", what


def test_every_answer_carries_the_security_headers(county: Town) -> None:
    lina = county.browser("lina")
    anonymous = TestClient(create_app(county.rt), follow_redirects=False)
    answers = {
        "page": lina.get(f"/projects/{county.a}"),
        "sign-in page": anonymous.get("/signin"),
        "redirect": anonymous.get(f"/projects/{county.a}"),
        "403": lina.get(f"/projects/{county.b}"),
        "403 csrf": lina.client.post(f"/projects/{county.a}/log", data={"text": "x"}),
        "404": anonymous.get("/no/such/page"),
        "400 link": anonymous.get("/a/1.1.view.1.x"),
        "405": anonymous.get("/signout"),
        "static": anonymous.get("/static/site.css"),
        "health": anonymous.get("/health"),
    }
    assert answers["static"].status_code == 200 and answers["redirect"].status_code == 303
    for what, response in answers.items():
        assert_guarded(response, what)
    assert answers["page"].headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("web_url", "secure"), [("https://zhaoshang.example.gov.cn", True), (None, False)])
def test_cookies_are_http_only_same_site_and_secure_behind_https(
    county: Town, web_url: str | None, secure: bool
) -> None:
    rt = dataclasses.replace(county.rt, settings=dataclasses.replace(county.rt.settings, web_url=web_url))
    who = Browser(rt)
    first = who.get("/signin")
    # the test client (plain http) keeps a Secure cookie to itself: hand the seed back as a browser would
    seed = first.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    who.client.cookies.set("fu_seed", seed)
    made = access.request_sign_in(rt, "lina@example.gov.cn")
    assert made is not None
    signed = use_link(who, made.secret)
    cookies = first.headers.get_list("set-cookie") + signed.headers.get_list("set-cookie")
    assert {c.split("=", 1)[0] for c in cookies} == {"fu_seed", "fu_session"}
    for cookie in cookies:
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert "httponly" in flags and "samesite=lax" in flags, cookie
        assert ("secure" in flags) is secure, cookie


def test_an_unexpected_error_says_nothing_of_itself_and_keeps_the_headers(web_rt: Runtime) -> None:
    from starlette.routing import Route

    app = create_app(web_rt)

    def boom(request: object) -> None:
        raise RuntimeError("secret detail of the database")

    app.router.routes.insert(0, Route("/boom", boom))
    answer = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert answer.status_code == 500
    assert "secret detail" not in answer.text
    assert "unsafe-inline" not in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "no-referrer"
