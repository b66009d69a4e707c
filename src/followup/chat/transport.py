"""Posting a card to a group robot over HTTP (httpx2), signed as each platform asks, and the platform's
answer sorted: delivered, not tried (the connection failed, or the robot's rate limit: no attempt
counted, tried again later), of unknown outcome (sent, no answer), refused for now or for good.

Signing, as documented (read 2026-11; copies of the official pages cited where those were not stored):

* 钉钉 自定义机器人 加签 (https://open.dingtalk.com/document/robots/customize-robot-security-settings,
  as copied at https://www.mihaoyun.com/wordpress/?p=391 and https://apifox.com/apidoc/docs-site/467052/
  doc-3550006): ``timestamp`` in milliseconds, within an hour of the platform's clock;
  ``sign = urlencode(base64(HmacSHA256(key=secret, msg=f"{timestamp}\\n{secret}")))``, both appended to
  the webhook's query (``&timestamp=…&sign=…``). Answers ``{"errcode": 0}``; 130101 (send too fast)
  and 90030 (webhook over limit) are temporary, 310000 (sign, keyword or IP refused) and 300001
  (token missing or wrong) permanent.
* 企业微信 群机器人 (https://developer.work.weixin.qq.com/document/path/91770): no signature; the robot's
  ``key`` is in the webhook's query. ``errcode`` 0 ok, 45009 (API frequency limit) temporary, 93000
  (invalid webhook URL, the robot removed) permanent.
* 飞书 自定义机器人 签名校验 (https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot, as copied
  at http://www.createh5.com/post/277.html): ``timestamp`` in seconds (within an hour),
  ``sign = base64(HmacSHA256(key=f"{timestamp}\\n{secret}", msg=b""))``, both in the JSON body.
  ``code`` (or ``StatusCode``) 0 ok, 9499 and 11232 (frequency limited) temporary, 19021 (sign match
  fail), 19001 / 19024 (param invalid, bot not in chat) permanent.

Other non-zero codes count as one refused attempt (retried with backoff, failed after the budget).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

import httpx2

from followup.chat.payloads import Card, payload
from followup.errors import DeliveryError, InvalidInput, NotTried, OutcomeUnknown
from followup.i18n import _

TIMEOUT = httpx2.Timeout(10.0, connect=5.0)


def client() -> httpx2.Client:
    """An HTTP client for one batch of cards (keep-alive to each robot), with the robots' timeouts."""
    return httpx2.Client(timeout=TIMEOUT)


#: (temporary, permanent) error codes per platform
CODES: dict[str, tuple[frozenset[int], frozenset[int]]] = {
    "dingtalk": (frozenset({130101, 90030}), frozenset({310000, 300001, 400013})),
    "wecom": (frozenset({45009}), frozenset({93000, 93004})),
    "feishu": (frozenset({9499, 11232}), frozenset({19021, 19001, 19024})),
}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature, URL-encoded as it goes into the query."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature: the HMAC of nothing, keyed by ``timestamp\\nsecret``."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def resolve_secret(secret: str | None) -> str | None:
    """A stored secret, or ``env:NAME`` read from the environment now (refused when unset)."""
    if secret is None or not secret.startswith("env:"):
        return secret
    name = secret[4:]
    value = os.environ.get(name)
    if not value:
        raise DeliveryError(f"the robot's secret is in ${name}, which is not set", permanent=False)
    return value


def mask(secret: str | None) -> str:
    """A secret as listed: ``env:NAME`` as it is (a name, not a secret), else its first 3 characters."""
    if not secret:
        return ""
    if secret.startswith("env:"):
        return secret
    return secret[:3] + "…" + "*" * 6


@dataclass(frozen=True)
class Robot:
    """One group robot: its platform, full webhook address, secret (resolved) and how it mentions."""

    kind: str
    webhook: str
    secret: str | None
    mention_by: str


def request(robot: Robot, card: Card, at: datetime) -> tuple[str, dict[str, Any]]:
    """The address and JSON body of one card, signed at ``at``."""
    body = payload(robot.kind, card, robot.mention_by)
    url = robot.webhook
    if robot.kind == "dingtalk" and robot.secret:
        ms = int(at.timestamp() * 1000)
        url += ("&" if "?" in url else "?") + f"timestamp={ms}&sign={dingtalk_sign(robot.secret, ms)}"
    elif robot.kind == "feishu" and robot.secret:
        seconds = int(at.timestamp())
        body = {"timestamp": str(seconds), "sign": feishu_sign(robot.secret, seconds), **body}
    return url, body


def check_webhook(url: str) -> str:
    """A webhook address as given: http(s) with a host."""
    url = url.strip()
    if not url.startswith(("https://", "http://")) or len(url.split("/")) < 3 or not url.split("/")[2]:
        raise InvalidInput(_("not a webhook address: {url} (expected https://…)").format(url=url))
    return url


def post(client: httpx2.Client, robot: Robot, card: Card, at: datetime) -> None:
    """Send one card; returns when the platform said it took it, else raises (see the module)."""
    url, body = request(robot, card, at)
    data = json.dumps(body, ensure_ascii=False).encode()
    try:
        response = client.post(url, content=data, headers={"Content-Type": "application/json"})
    except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:
        raise NotTried(f"cannot reach the {robot.kind} robot: {exc}") from exc
    except httpx2.TransportError as exc:  # sent, the answer lost: it may have been posted
        raise OutcomeUnknown(f"no answer from the {robot.kind} robot: {exc}") from exc
    _judge(robot.kind, response)


def _judge(kind: str, response: httpx2.Response) -> None:
    if response.status_code == 429:
        raise NotTried(f"{kind}: HTTP 429 (rate limited)")
    if response.status_code >= 500:
        raise OutcomeUnknown(f"{kind}: HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise DeliveryError(f"{kind}: HTTP {response.status_code}, not a JSON answer", permanent=False)
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
    message = answer.get("errmsg", answer.get("msg", answer.get("StatusMessage", "")))
    if response.status_code == 200 and code == 0:
        return
    temporary, permanent = CODES[kind]
    said = f"{kind}: error {code} {message}".strip()
    if code in temporary:
        raise NotTried(said + " (rate limited)")
    raise DeliveryError(said, permanent=code in permanent or response.status_code in (401, 403, 404))
