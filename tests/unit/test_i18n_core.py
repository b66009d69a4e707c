"""The core's messages speak the user's language: what a user typed wrong, a broken workflow file, a bad
setting, and the labels of history lines, outbox states and notification kinds (no database)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from followup import i18n
from followup.domain import validate, words
from followup.domain.kinds import EventKind, NoticeKind, NoticeStatus
from followup.domain.timeutil import parse_day
from followup.domain.workflow import MoveSubject
from followup.errors import FollowupError
from followup.lifecycle.registry import WorkflowRegistry, parse_workflow
from followup.settings import load_settings


def chinese(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


@pytest.fixture
def zh() -> Iterator[None]:
    i18n.use("zh_CN")
    try:
        yield
    finally:
        i18n.use("en")


def refusal(call: Callable[[], object]) -> str:
    with pytest.raises(FollowupError) as caught:
        call()
    return str(caught.value)


def test_the_labels_of_kinds_follow_the_language(zh: None) -> None:
    assert [k.label for k in EventKind][:2] == ["录入", "阶段变更"]
    assert NoticeStatus.SENT.label == "已发送" and NoticeStatus.UNKNOWN.label == "结果不明"
    assert NoticeKind.STALE.label == "跟进超时" and NoticeKind.STRANDED.label == "无法督办"
    i18n.use("en")
    assert NoticeStatus.SENT.label == "sent" and EventKind.MOVE.label == "stage change"


def test_refusals_of_what_a_user_typed_are_chinese(zh: None) -> None:
    workflow = WorkflowRegistry().get("investment")
    assert refusal(lambda: validate.key("a b", "单位")).startswith("单位代号 'a b' 无效")
    assert refusal(lambda: words.amount("5000元")) == "金额 '5000元' 无效：金额以万元计（5000元请写作 0.5万）"
    assert "是否指 signing（签约）" in refusal(lambda: words.stage_key(workflow, "签"))
    assert refusal(lambda: parse_day("2026-13-01")).startswith("日期 '2026-13-01' 无效：")
    moved = refusal(lambda: workflow.check_move(MoveSubject(state="lead", values={}), "production"))
    assert moved.startswith("不能从线索（lead）转入投产（production）；可转入：")


def test_a_broken_workflow_file_and_a_bad_setting_are_explained_in_chinese(zh: None, tmp_path: Path) -> None:
    assert refusal(lambda: parse_workflow("a: &x 1\n", "x.yaml")) == (
        "x.yaml:1: YAML 格式错误：锚点 &x：不允许使用锚点和别名，请直接写出取值"
    )
    assert "缺少 'label'" in refusal(lambda: parse_workflow("name: x\n", "x.yaml"))
    bad = refusal(lambda: load_settings({"timezone": "Mars/Base"}, env={"HOME": str(tmp_path)}))
    assert bad == "时区 'Mars/Base' 不是有效的 IANA 时区（如 Asia/Shanghai）"


def test_english_stays_the_source_text() -> None:
    i18n.use("en")
    assert (
        refusal(lambda: words.amount("5000元"))
        == "bad amount '5000元': amounts are in 万元 (write 0.5万 for 5000元)"
    )
    assert not chinese(refusal(lambda: parse_workflow("", "x.yaml")))
