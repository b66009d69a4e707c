"""A card (what a chat message says, platform-neutral) and its payload for each platform's group robot.

Documents followed (read 2026-11; third-party copies of the official pages where those were not stored):

* 钉钉 自定义机器人, message types (https://open.dingtalk.com/document/development/robot-message-type):
  ``{"msgtype": "markdown", "markdown": {"title", "text"}, "at": {"atMobiles" | "atUserIds",
  "isAtAll"}}``; a mention shows where the text says ``@<mobile>`` / ``@<userid>``.
* 企业微信 群机器人 (https://developer.work.weixin.qq.com/document/path/91770, as copied at
  https://docs.zhuonian.xyz/api/wecom-webhook.html and https://hc.huoban.com/0a90/c72f/d629):
  ``{"msgtype": "markdown", "markdown": {"content"}}`` with ``<@userid>`` in the content and colours
  ``<font color="info|comment|warning">``; mobiles can only be mentioned by a ``text`` message's
  ``mentioned_mobile_list``, so a robot that mentions by mobile gets a text message.
* 飞书 自定义机器人 (https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot, card FAQ as
  copied at https://apifox.com/apidoc/docs-site/532425/doc-1944903): ``{"msg_type": "interactive",
  "card": {"header": {"title", "template"}, "elements": [div with lark_md, action with a button]}}``;
  ``<at id=USER_ID></at>`` in lark_md mentions a user id (a mobile cannot be mentioned in a card).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("dingtalk", "wecom", "feishu")
MENTION_BY = ("mobile", "userid")

#: a level's colour on each platform (Feishu's header templates; WeCom's three font colours; hex)
_FEISHU = {"green": "green", "blue": "blue", "yellow": "yellow", "red": "red", "top": "carmine"}
_WECOM = {"green": "info", "blue": "comment", "yellow": "warning", "red": "warning", "top": "warning"}
_HEX = {"green": "#1E8E3E", "blue": "#1A73E8", "yellow": "#E37400", "red": "#D93025", "top": "#A50E0E"}


@dataclass(frozen=True)
class Mention:
    """Someone to @: their name (shown when they cannot be mentioned) and their chat identities."""

    name: str
    mobile: str | None = None
    user_id: str | None = None

    def handle(self, mention_by: str) -> str | None:
        return self.mobile if mention_by == "mobile" else self.user_id


@dataclass(frozen=True)
class Card:
    """What one chat message says: a title, its light (colour key), markdown lines, link buttons
    (label, address), and the people to mention."""

    title: str
    light: str
    lines: tuple[str, ...]
    buttons: tuple[tuple[str, str], ...] = ()
    mentions: tuple[Mention, ...] = field(default=())


def payload(kind: str, card: Card, mention_by: str) -> dict[str, Any]:
    """The JSON body the platform's robot takes (less Feishu's signature, added when sent)."""
    if kind == "dingtalk":
        return dingtalk(card, mention_by)
    if kind == "wecom":
        return wecom(card, mention_by)
    if kind == "feishu":
        return feishu(card, mention_by)
    raise ValueError(f"unknown chat kind {kind!r}")


def _handles(card: Card, mention_by: str) -> tuple[list[str], list[str]]:
    """(the handles to mention, the names of those who have none)."""
    handles: list[str] = []
    unnamed: list[str] = []
    for person in card.mentions:
        handle = person.handle(mention_by)
        if handle:
            handles.append(handle)
        else:
            unnamed.append(person.name)
    return handles, unnamed


def dingtalk(card: Card, mention_by: str) -> dict[str, Any]:
    handles, unnamed = _handles(card, mention_by)
    colour = _HEX.get(card.light, _HEX["red"])
    text = [f'#### <font color="{colour}">{card.title}</font>', "", *card.lines]
    if card.buttons:
        text += ["", " ".join(f"[{label}]({url})" for label, url in card.buttons)]
    tail = [f"@{h}" for h in handles] + unnamed
    if tail:
        text += ["", " ".join(tail)]
    at: dict[str, Any] = {"isAtAll": False}
    at["atMobiles" if mention_by == "mobile" else "atUserIds"] = handles
    return {"msgtype": "markdown", "markdown": {"title": card.title, "text": "\n".join(text)}, "at": at}


def wecom(card: Card, mention_by: str) -> dict[str, Any]:
    handles, unnamed = _handles(card, mention_by)
    links = [f"[{label}]({url})" for label, url in card.buttons]
    if mention_by == "mobile":  # a markdown message cannot mention by mobile: a text message can
        lines = [card.title, *card.lines, *(f"{label}: {url}" for label, url in card.buttons), *unnamed]
        return {
            "msgtype": "text",
            "text": {"content": "\n".join(_plain(x) for x in lines), "mentioned_mobile_list": handles},
        }
    colour = _WECOM.get(card.light, "warning")
    text = [f'### <font color="{colour}">{card.title}</font>', *card.lines]
    if links:
        text.append(" ".join(links))
    tail = [f"<@{h}>" for h in handles] + unnamed
    if tail:
        text.append(" ".join(tail))
    return {"msgtype": "markdown", "markdown": {"content": "\n".join(text)}}


def feishu(card: Card, mention_by: str) -> dict[str, Any]:
    handles, unnamed = _handles(card, mention_by)
    if mention_by == "mobile":  # a card mentions user ids only: the others by name
        handles, unnamed = [], [p.name for p in card.mentions]
    tail = [f"<at id={h}></at>" for h in handles] + unnamed
    content = "\n".join([*card.lines, *([" ".join(tail)] if tail else [])])
    elements: list[dict[str, Any]] = [{"tag": "div", "text": {"tag": "lark_md", "content": content}}]
    if card.buttons:
        elements.append(
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "text": {"tag": "plain_text", "content": label},
                        "type": "primary" if i == 0 else "default",
                        "url": url,
                    }
                    for i, (label, url) in enumerate(card.buttons)
                ],
            }
        )
    header = {
        "title": {"tag": "plain_text", "content": card.title},
        "template": _FEISHU.get(card.light, "red"),
    }
    return {"msg_type": "interactive", "card": {"header": header, "elements": elements}}


def _plain(line: str) -> str:
    """A markdown line as plain text: bold marks dropped."""
    return line.replace("**", "")
