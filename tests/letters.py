"""Template contexts as the escalation code builds them, shared by the template and mail tests."""

from __future__ import annotations

from typing import Any

LEVELS = {
    "blue": ("提示", -7),
    "yellow": ("黄灯", 3),
    "red": ("红灯", 95),
    "top": ("约谈", 160),
    "stale": ("无跟进", -20),
}


def alert_context(
    kind: str = "yellow", *, name: str = "伊禾乳制品加工", project_id: int = 12
) -> dict[str, Any]:
    """The context of one warning (blue, yellow, red, top or stale), as the escalation code builds it."""
    label, days_past = LEVELS[kind]
    return {
        "recipient": {
            "name": "李娜",
            "email": "lina@example.gov.cn",
            "role": "case_officer",
            "role_label": "责任人",
        },
        "project": {
            "id": project_id,
            "name": name,
            "unit": "城关镇人民政府",
            "officer": "李娜",
            "officer_key": "lina",
            "leader": "刘强" if kind != "blue" else None,
            "workflow": "investment",
            "stage": "talks",
            "stage_label": "洽谈",
            "stage_since": "2026-05-06",
            "deadline": "2026-07-01",
            "days_past": days_past,
            "last_activity": "2026-06-20",
            "stale_days": 32 if kind == "stale" else None,
        },
        "level": {"key": kind, "label": label},
        "escalation": (
            []
            if kind == "blue"
            else [
                {"label": "提示", "date": "2026-06-24", "to": "李娜"},
                {"label": "黄灯", "date": "2026-07-02", "to": ["李娜", "王军"]},
            ]
        ),
        "commands": {
            "log": f'followup log {project_id} "跟进情况" --by lina',
            "advance": f"followup advance {project_id} <阶段> --by lina",
            "show": f"followup project show {project_id}",
        },
        "now": "2026-07-02 09:00",
    }


def several_context() -> dict[str, Any]:
    items = [alert_context("red"), alert_context("yellow", name="华北冷链物流中心", project_id=14)]
    items.append(alert_context("stale", name="云服务数据中心", project_id=15))
    return {"recipient": items[0]["recipient"], "items": items, "now": "2026-07-02 09:00"}


def stranded_context() -> dict[str, Any]:
    """Projects escalation cannot follow, as the supervision office is told of them."""
    project = {"workflow": "county", "unit": "城关镇人民政府", "officer": "李娜"}
    return {
        "recipient": {
            "name": "徐丽",
            "email": "xuli@example.gov.cn",
            "role": "supervision",
            "role_label": "督查室",
        },
        "items": [
            {
                "project": {**project, "id": 3, "name": "伊禾乳制品加工", "stage": "talks"},
                "problem": "its workflow cannot be loaded: no workflow named 'county'",
                "hint": "move it with `followup project edit 3 --workflow NAME [--stage STAGE]` or end it",
            },
        ],
        "now": "2026-07-02 09:00",
    }
