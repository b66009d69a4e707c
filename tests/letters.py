"""Template contexts as the escalation code builds them, shared by the template and mail tests."""

from __future__ import annotations

from typing import Any

LEVELS = {
    "blue": ("提示", -7),
    "yellow": ("黄灯", 3),
    "red": ("红灯", 95),
    "top": ("约谈", 160),
    "stale": ("无跟进", -20),
    "hold": ("黄灯", None),
}

RECIPIENTS = {
    "case_officer": ("李娜", "lina", "责任人"),
    "unit_head": ("王军", "wangjun", "责任单位负责人"),
    "leader": ("刘强", "liuqiang", "包联领导"),
    "supervision": ("徐丽", "xuli", "督查室"),
    "principal": ("黄伟", "huangwei", "县主要领导"),
}


def recipient(role: str = "case_officer") -> dict[str, Any]:
    name, key, label = RECIPIENTS[role]
    return {"name": name, "email": f"{key}@example.gov.cn", "key": key, "role": role, "role_label": label}


def commands(project_id: int, role: str = "case_officer", kind: str = "deadline") -> list[dict[str, str]]:
    """The commands a reader of ``role`` is shown (as app.blocks.commands makes them)."""
    show = {"label": "查看项目", "line": f"followup project show {project_id}"}
    if role == "case_officer":
        move = (
            {"label": "恢复推进", "line": f"followup resume {project_id} --by lina"}
            if kind == "hold"
            else {"label": "推进阶段", "line": f"followup advance {project_id} <阶段> --by lina"}
        )
        return [{"label": "记录跟进", "line": f'followup log {project_id} "跟进情况" --by lina'}, move, show]
    if role == "unit_head":
        return [{"label": "记录跟进", "line": f'followup log {project_id} "跟进情况" --by wangjun'}, show]
    return [show]


def alert_context(
    kind: str = "yellow", *, name: str = "伊禾乳制品加工", project_id: int = 12, role: str = "case_officer"
) -> dict[str, Any]:
    """The context of a mail about one project with one warning (blue, yellow, red, top, stale or hold),
    as the escalation code builds it."""
    label, days_past = LEVELS[kind]
    held = kind == "hold"
    notice_kind = "stale" if kind == "stale" else "hold" if held else "deadline"
    level = {"key": "yellow" if held else kind, "label": label}
    return {
        "recipient": recipient(role),
        "project": {
            "id": project_id,
            "name": name,
            "unit": "城关镇人民政府",
            "officer": "李娜",
            "officer_key": "lina",
            "leader": "刘强" if kind != "blue" else None,
            "workflow": "investment",
            "stage": "on_hold" if held else "talks",
            "stage_label": "暂缓" if held else "洽谈",
            "stage_since": "2026-05-06",
            "deadline": None if held else "2026-07-01",
            "days_past": None if held else days_past,
            "last_activity": "2026-06-20",
            "stale_days": 32 if kind == "stale" else None,
            "held": held,
            "held_stage_label": "洽谈" if held else None,
            "hold_until": "2026-06-29" if held else None,
            "hold_days_past": 3 if held else None,
        },
        "kind": notice_kind,
        "level": level,
        "role": role,
        "warnings": [{"kind": notice_kind, "level": level}],
        "escalation": (
            []
            if kind == "blue"
            else [
                {"label": "提示", "date": "2026-06-24", "to": "李娜", "note": ""},
                {"label": "黄灯", "date": "2026-07-02", "to": ["李娜", "王军"], "note": ""},
            ]
        ),
        "commands": commands(project_id, role, notice_kind),
        "now": "2026-07-02 09:00",
    }


def block(context: dict[str, Any]) -> dict[str, Any]:
    """A one-project context as a block of a mail about several projects."""
    return {k: v for k, v in context.items() if k not in ("recipient", "now")}


def several_context() -> dict[str, Any]:
    items = [
        block(alert_context("red")),
        block(alert_context("yellow", name="华北冷链物流中心", project_id=14)),
    ]
    items.append(block(alert_context("stale", name="云服务数据中心", project_id=15)))
    return {
        "recipient": recipient(),
        "items": items,
        "highest": items[0]["level"],
        "now": "2026-07-02 09:00",
    }


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
