"""Officials act from their inbox, in a real browser: the installed ``followup web`` served by uvicorn on
loopback, the mail delivered by ``followup send`` to a real SMTP server (aiosmtpd), the links taken out of
the received mails and opened in headless Chromium (Debian's ``chromium`` driven by Playwright with
``executable_path``; ``scripts/test`` installs it when missing).

- A project left without a follow-up is swept and its warning mailed to its case officer; her 记录进展
  button opens the project page signed in for that project; she records progress, and the next sweep owes
  nothing.
- She asks for an extension from the 申请延期 button; the leader in charge approves it from the button of
  the approval mail; the deadline moves, and the decision is mailed back to her.
- The supervision office signs in with a sign-in link by mail and sees the board. Screenshots of the board
  and the project page, desktop and 390 px wide, go to ``artifacts/``.

The scenario runs at fixed times (``--now``; the web app's clock stands at the sweep's instant).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.county import SMALL
from tests.helpers import Cli, followup_executable
from tests.mailserver import MailServer, smtp_server_fixture  # noqa: F401

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
ENTERED = "2026-10-12 10:00"  # a Monday
SWEPT = "2026-10-26 10:00"  # ten working days later: five without a follow-up is too long in 线索
LATER = "2026-10-26 14:00"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def _link(message: EmailMessage, base: str, label: str) -> str:
    """The address of the button ``label`` in a mail's text part (``label：URL``)."""
    found = re.search(re.escape(label) + r"[:：]\s*(" + re.escape(base) + r"/\S+)", _text(message))
    assert found, f"no {label} link in:\n{_text(message)}"
    return found.group(1)


class Scene:
    """The county, its mail server and its web app, as one test drives them."""

    def __init__(self, tmp_path: Path, db: str, smtp: MailServer, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.smtp = smtp
        self.cli = Cli(db, tmp_path)
        self.cli.env.update(
            {
                "FOLLOWUP_SMTP_HOST": "127.0.0.1",
                "FOLLOWUP_SMTP_PORT": str(smtp.port),
                "FOLLOWUP_WEB_URL": self.base,
                "FOLLOWUP_LANG": "",
            }
        )
        self.port = port
        self.server: subprocess.Popen[bytes] | None = None

    def serve(self, now: str) -> None:
        """Start ``followup web`` with its clock at ``now`` (stopping the one before)."""
        self.stop()
        self.server = subprocess.Popen(
            [followup_executable(), "web", "--host", "127.0.0.1", "--port", str(self.port), "--now", now],
            env=self.cli.process_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import urllib.request

        for _ in range(150):
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("followup web did not start")

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=30)
            self.server = None

    def mails_to(self, address: str) -> list[EmailMessage]:
        return [m.message for m in self.smtp.messages if address in m.rcpt_tos]


@pytest.fixture
def scene(tmp_path: Path, smtp_server: MailServer) -> Iterator[Scene]:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: install Debian's chromium and fonts-noto-cjk (scripts/test does)")
    made = Scene(tmp_path, f"sqlite:///{tmp_path / 'county.db'}", smtp_server, _free_port())
    made.cli.ok("init")
    SMALL.seed_cli(made.cli)
    made.cli.ok(
        "official",
        "add",
        "ops",
        "--name",
        "赵敏",
        "--email",
        "ops@example.gov.cn",
        "--unit",
        "bureau",
        "--role",
        "operator",
    )
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield made
    finally:
        made.stop()


def _browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    browser = driver.chromium.launch(
        executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
    )
    return driver, browser


def test_a_warned_officer_acts_from_her_mail_and_the_leader_approves_from_his(
    scene: Scene,
) -> None:
    cli = scene.cli
    added = cli.ok(
        "project", "add", "--name", "乳品加工项目", "--officer", "lina", "--unit", "chengguan",
        "--leader", "liuqiang", "--amount", "2亿", "--now", ENTERED,
    )  # fmt: skip
    pid = int(re.findall(r"\d+", added.out)[0])
    assert json.loads(cli.ok("sweep", "--now", SWEPT, "--json").out)["queued"] >= 1
    cli.ok("send", "--now", SWEPT)
    warned = scene.mails_to("lina@example.gov.cn")
    assert warned, "the case officer got no warning"
    link = _link(warned[-1], scene.base, "记录进展")
    assert "followup log" not in _text(warned[-1])  # buttons instead of commands

    scene.serve(SWEPT)
    driver, browser = _browser()
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(link)
        assert page.url.startswith(f"{scene.base}/projects/{pid}")
        assert "乳品加工项目" in page.inner_text("h1")
        page.fill("#log-text", "今天与企业视频洽谈，对方下周来县考察厂房。")
        page.click("#log button[type=submit], form[action$='/log'] button[type=submit]")
        page.wait_for_load_state("load")
        assert "已记录进展" in page.inner_text("main")
        assert "今天与企业视频洽谈" in page.inner_text(".history")
        page.screenshot(path=str(ARTIFACTS / "web-project-desktop.png"), full_page=True)
        phone = browser.new_page(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
        )
        phone.goto(link)
        phone.screenshot(path=str(ARTIFACTS / "web-project-390.png"), full_page=True)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the project page is {width}px wide on a 390px phone"

        # She asks for an extension from the 申请延期 button of the same mail ...
        before = cli.ok("project", "show", str(pid), "--json").json()["deadline"]
        page.goto(_link(warned[-1], scene.base, "申请延期"))
        page.fill("#extend-days", "30")
        page.fill("#extend-reason", "企业董事会改期至12月，需顺延洽谈期限。")
        page.click("#extend button[type=submit]")
        page.wait_for_load_state("load")
        assert "等待审批" in page.inner_text("main")
        cli.ok("send", "--now", SWEPT)
        # ... the leader in charge approves it from the button of the approval mail ...
        asked = scene.mails_to("liuqiang@example.gov.cn")
        assert asked, "the leader in charge got no approval mail"
        approve = re.search(re.escape(scene.base) + r"/a/\S+", _text(asked[-1]))
        assert approve, _text(asked[-1])
        leader = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        leader.goto(approve.group(0))
        assert "企业董事会改期" in leader.inner_text("#requests ~ section")
        leader.screenshot(path=str(ARTIFACTS / "web-approval-390.png"), full_page=True)
        leader.click("#approve button[value=approve]")
        leader.wait_for_load_state("load")
        assert "审批已记录" in leader.inner_text("main")
    finally:
        browser.close()
        driver.stop()

    # ... and the deadline moves, and she is told.
    shown = cli.ok("project", "show", str(pid), "--json").json()
    assert (date.fromisoformat(shown["deadline"]) - date.fromisoformat(before)).days == 30
    cli.ok("send", "--now", SWEPT)
    told = [m for m in scene.mails_to("lina@example.gov.cn") if "已批准" in _text(m)]
    assert told, "the decision was not mailed back"

    history = cli.ok("history", str(pid), "--json").json()
    logged = [e for e in history if e["kind"] == "followup"]
    assert logged and logged[-1]["by"]["key"] == "lina" and logged[-1]["entered_by"] == "web"
    decided = [e for e in history if e["kind"] == "decision"]
    assert decided and decided[-1]["by"]["key"] == "liuqiang"
    again = json.loads(cli.ok("sweep", "--now", LATER, "--json").out)
    assert again["queued"] == 0, again


def test_the_supervision_office_signs_in_by_mail_and_sees_the_board(scene: Scene) -> None:
    cli = scene.cli
    cli.ok(
        "project", "add", "--name", "中药饮片加工", "--officer", "lina", "--unit", "chengguan",
        "--leader", "liuqiang", "--now", ENTERED,
    )  # fmt: skip
    cli.ok("sweep", "--now", SWEPT)
    scene.serve(SWEPT)
    driver, browser = _browser()
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(scene.base + "/")
        assert page.url.startswith(scene.base + "/signin")
        page.fill("#email", "xuli@example.gov.cn")
        page.click("form button[type=submit]")
        assert "请查收邮件" in page.inner_text("main")
        for _ in range(50):
            if scene.mails_to("xuli@example.gov.cn"):
                break
            time.sleep(0.1)
        mail = scene.mails_to("xuli@example.gov.cn")[-1]
        link = re.search(re.escape(scene.base) + r"/signin/\S+", _text(mail))
        assert link, _text(mail)
        page.goto(link.group(0))
        page.click("#confirm")
        page.wait_for_load_state("load")
        page.goto(scene.base + "/")
        assert "驾驶舱" in page.inner_text("body")
        assert "城关镇人民政府" in page.inner_text("main")
        page.screenshot(path=str(ARTIFACTS / "web-board-desktop.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        page.screenshot(path=str(ARTIFACTS / "web-board-390.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the board is {width}px wide on a 390px phone"
        # the link was used: a second use is refused
        second = browser.new_page()
        second.goto(link.group(0))
        assert "此链接无法使用" in second.inner_text("main")
    finally:
        browser.close()
        driver.stop()
