"""Rendering the mail templates (followup.mail.templates): every kind, one-line subjects, loud failures,
county overrides. The shipped notifications folder and real county template files; no database."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from followup.errors import ConfigError
from followup.mail.templates import KINDS, render
from followup.settings import Settings, load_settings
from tests.letters import LEVELS, alert_context, block, several_context, stranded_context


def digest_context(*, summary: bool = False) -> dict[str, Any]:
    """The weekly mail of a unit head (as app.weekly makes it), with the county summary if ``summary``."""
    projects: list[dict[str, Any]] = [
        {
            "id": 12,
            "name": "伊禾乳制品加工",
            "stage_label": "洽谈",
            "deadline": "2026-07-01",
            "light": "yellow",
        },
        {
            "id": 14,
            "name": "华北冷链物流中心",
            "stage_label": "签约",
            "deadline": "2026-07-06",
            "light": "blue",
        },
        {"id": 15, "name": "云服务数据中心", "stage_label": "开工", "deadline": None, "light": "green"},
    ]
    labels = {"green": "正常", "blue": "提示", "yellow": "黄灯", "red": "红灯", "top": "约谈"}
    for p in projects:
        p.update(
            light_label=labels[p["light"]],
            unit="城关镇人民政府",
            stale=p["id"] == 15,
            stale_days=25 if p["id"] == 15 else None,
            held=False,
            hold_until=None,
            held_since=None,
            days_past=3 if p["id"] == 12 else None,
        )
    return {
        "recipient": {
            "name": "王军",
            "email": "wangjun@example.gov.cn",
            "key": "wangjun",
            "role": "digest",
            "role_label": "责任单位负责人",
        },
        "week": "2026年第27周（2026-06-29 至 2026-07-05）",
        "week_label": "2026年第27周",
        "roles": "责任单位负责人",
        "by": "wangjun",
        "projects": projects,
        "due_this_week": [projects[1]],
        "stale": [projects[2]],
        "lit": 2,
        "problems": [],
        "problems_overdue": 0,
        "summary": county_summary(projects) if summary else None,
        "items": [],
        "highest": None,
        "now": "2026-06-29 08:30",
    }


def county_summary(projects: list[dict[str, Any]]) -> dict[str, Any]:
    line = {"green": 1, "blue": 1, "yellow": 1, "red": 0, "top": 0, "stale": 1, "on_hold": 0}
    return {
        "units": [{"name": "城关镇人民政府", **line}],
        "totals": {"name": "合计", **line},
        "lit": 2,
        "newly_red": [],
        "newly_top": [],
        "holds_running_out": [],
        "long_holds": [],
        "long_hold_months": 6,
        "red_and_top": [],
        "longest_overdue": [projects[0]],
        "problems_open": 0,
        "problems_overdue": 0,
    }


def context_for(kind: str) -> dict[str, Any]:
    if kind == "several":
        return several_context()
    if kind == "digest":
        return digest_context()
    if kind == "stranded":
        return stranded_context()
    return alert_context(kind)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(env={"FOLLOWUP_DATA_DIR": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path)})


TAG = re.compile(r"</?[a-zA-Z][^>]*>")


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders(kind: str, settings: Settings) -> None:
    subject, text, html = render(kind, context_for(kind), settings)
    assert subject and "\n" not in subject and subject == subject.strip()
    assert text.endswith("\n") and not TAG.search(text.replace("<阶段>", "").replace("<项目编号>", ""))
    assert html.lstrip().startswith("<!DOCTYPE html>") and "</html>" in html
    assert '<meta name="viewport"' in html
    if kind != "digest":
        assert "李娜" in text and "李娜" in html


@pytest.mark.parametrize("kind", ["blue", "yellow", "red", "top", "stale", "hold"])
def test_a_warning_says_what_where_since_when_who_and_how(kind: str, settings: Settings) -> None:
    subject, text, html = render(kind, alert_context(kind), settings)
    label = LEVELS[kind][0]
    assert subject.startswith(f"【{label}】伊禾乳制品加工") and subject.endswith(
        "洽谈阶段）" if kind == "hold" else "（洽谈）"
    )
    stage = "暂缓（2026-05-06起，原洽谈阶段）" if kind == "hold" else "洽谈（2026-05-06进入）"
    for fact in (
        "#12 伊禾乳制品加工",
        stage,
        "2026-07-01" if kind != "hold" else "2026-06-29",
        "责任人：李娜",
    ):
        assert fact in text, fact
    assert "城关镇人民政府" in text
    assert 'followup log 12 "跟进情况" --by lina' in text
    move = "followup resume 12 --by lina" if kind == "hold" else "followup advance 12 <阶段> --by lina"
    assert move in text
    assert "followup project show 12" in text
    # the same command in HTML, escaped, so that it reads the same
    assert "followup log 12 &#34;跟进情况&#34; --by lina" in html
    assert (
        "followup resume 12 --by lina" if kind == "hold" else "followup advance 12 &lt;阶段&gt; --by lina"
    ) in html
    if kind == "blue":
        assert "还有7天到期" in subject and "包联领导：未明确" in text and "督办经过" not in text
    else:
        assert "包联领导：刘强" in text
        assert "督办经过" in text and "2026-07-02 黄灯 → 李娜、王军" in text


def test_subjects_of_the_ladder(settings: Settings) -> None:
    assert (
        render("yellow", alert_context("yellow"), settings)[0] == "【黄灯】伊禾乳制品加工 已超期3天（洽谈）"
    )
    assert render("red", alert_context("red"), settings)[0] == "【红灯】伊禾乳制品加工 已超期95天（洽谈）"
    assert (
        render("stale", alert_context("stale"), settings)[0]
        == "【无跟进】伊禾乳制品加工 已32天无跟进（洽谈）"
    )
    due_today = alert_context("blue")
    due_today["project"]["days_past"] = 0
    assert render("blue", due_today, settings)[0] == "【提示】伊禾乳制品加工 今天到期（洽谈）"
    no_deadline = alert_context("stale")
    no_deadline["project"]["deadline"] = None
    assert "期限：不设期限" in render("stale", no_deadline, settings)[1]


def test_several_and_digest(settings: Settings) -> None:
    subject, text, html = render("several", several_context(), settings)
    assert subject == "【红灯】3个项目预警：伊禾乳制品加工等"
    assert text.count("记录跟进：followup log") == 3
    assert "1. 伊禾乳制品加工（洽谈）：【红灯】已超期95天" in text
    assert "followup log 14" in text and "followup log 15" in html
    subject, text, html = render("digest", digest_context(), settings)
    assert subject == "【周调度】2026年第27周 在办项目3个，亮灯2个，本周到期1个"
    assert "【黄灯】#12 伊禾乳制品加工｜洽谈｜期限2026-07-01" in text
    assert "【正常】【无跟进25天】#15 云服务数据中心｜开工｜期限不设" in text  # stale shows as stale
    assert "周调度 2026年第27周（2026-06-29 至 2026-07-05）：" in text and "王军（责任单位负责人）" in html
    assert 'followup log <项目编号> "跟进情况" --by wangjun' in text  # pastes as it is
    assert "全县督办周报" not in text


def test_the_weekly_mail_with_the_county_summary_and_warnings(settings: Settings) -> None:
    context = digest_context(summary=True)
    subject, text, html = render("digest", context, settings)
    assert subject == "【督办周报】2026年第27周 全县亮灯2个"
    assert "城关镇人民政府：正常1，提示1，黄灯1，红灯0，约谈0；无跟进1，暂缓0" in text
    assert "1. #12 伊禾乳制品加工（城关镇人民政府，洽谈）已超期3天【黄灯】" in text
    assert "全县督办周报" in html
    context["items"] = [{**block(alert_context("red", role="unit_head"))}]
    context["highest"] = context["items"][0]["level"]
    subject, text, _ = render("digest", context, settings)
    assert subject == "【红灯】伊禾乳制品加工 已超期95天；督办周报（2026年第27周）"
    assert "请督促责任人抓紧推进，说明原因和解决时限。" in text
    assert 'followup log 12 "跟进情况" --by wangjun' in text and "--by lina" not in text


@pytest.mark.parametrize(
    ("role", "asked", "not_shown"),
    [
        ("case_officer", "请尽快推进，记录进展和存在的问题。", "followup extend"),
        ("unit_head", "请督促责任人抓紧推进", "advance 12"),
        ("leader", "请您过问推动", "followup log"),
        ("supervision", "请督查室跟踪督办", "followup log"),
        ("principal", "提请您约谈", "followup log"),
    ],
)
def test_the_request_fits_the_readers_role(role: str, asked: str, not_shown: str, settings: Settings) -> None:
    context = alert_context("top" if role == "principal" else "red", role=role)
    _, text, html = render(context["level"]["key"], context, settings)
    assert asked in text and asked in html
    assert not_shown not in text
    assert text.startswith(f"{context['recipient']['name']}（{context['recipient']['role_label']}）：")


def test_html_is_escaped_text_is_literal(settings: Settings) -> None:
    name = "<script>alert(1)</script>乳业"
    subject, text, html = render("yellow", alert_context("yellow", name=name), settings)
    assert name in text and name in subject
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;乳业" in html


def test_a_missing_key_fails_loudly(settings: Settings) -> None:
    context = alert_context("yellow")
    del context["project"]["leader"]
    with pytest.raises(ConfigError, match=r"mail template yellow\.(txt|html)\.j2: .*leader"):
        render("yellow", context, settings)
    context = copy.deepcopy(alert_context("red"))
    del context["commands"]
    with pytest.raises(ConfigError, match="commands"):
        render("red", context, settings)


def test_unknown_kind_and_bad_names(settings: Settings) -> None:
    with pytest.raises(ConfigError, match=r"orange\.subject\.j2 not found"):
        render("orange", alert_context(), settings)
    with pytest.raises(ConfigError, match="bad notification kind"):
        render("../etc/passwd", alert_context(), settings)


def county_settings(tmp_path: Path, files: dict[str, str]) -> Settings:
    folder = tmp_path / "county-templates"
    folder.mkdir(exist_ok=True)
    for name, body in files.items():
        (folder / name).write_text(body, encoding="utf-8")
    env = {
        "FOLLOWUP_DATA_DIR": str(tmp_path / "data"),
        "FOLLOWUP_TEMPLATE_DIR": str(folder),
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    return load_settings(env=env)


def test_a_county_file_overrides_the_shipped_one(tmp_path: Path) -> None:
    settings = county_settings(
        tmp_path,
        {
            "yellow.subject.j2": "【城关镇督办·{{ level.label }}】{{ project.name }}\n",
            "_alert.txt.j2": "{{ recipient.name }}同志：{% block intro %}{% endblock %}（县委督查室）\n",
        },
    )
    subject, text, html = render("yellow", alert_context("yellow"), settings)
    assert subject == "【城关镇督办·黄灯】伊禾乳制品加工"
    assert text.startswith("李娜同志：“伊禾乳制品加工”洽谈阶段已过期限") and text.endswith("（县委督查室）\n")
    assert "城关镇人民政府" in html  # not overridden: the shipped HTML
    # the other kinds still come from the shipped folder
    assert render("red", alert_context("red"), settings)[0] == "【红灯】伊禾乳制品加工 已超期95天（洽谈）"


def test_a_subject_must_be_one_line(tmp_path: Path) -> None:
    settings = county_settings(tmp_path, {"red.subject.j2": "【红灯】\n{{ project.name }}\n"})
    with pytest.raises(ConfigError, match=r"red\.subject\.j2: the subject must be one line"):
        render("red", alert_context("red"), settings)


def test_a_broken_county_template_names_file_and_line(tmp_path: Path) -> None:
    settings = county_settings(tmp_path, {"top.txt.j2": "第一行\n{% if project.name %}没有结束\n"})
    with pytest.raises(ConfigError, match=r"top\.txt\.j2:\d+: "):
        render("top", alert_context("top"), settings)
    (tmp_path / "county-templates" / "top.txt.j2").unlink()
    settings = county_settings(tmp_path, {"top.html.j2": "<p>{{ projcet.name }}</p>"})
    with pytest.raises(ConfigError, match=r"top\.html\.j2: 'projcet' is undefined"):
        render("top", alert_context("top"), settings)
