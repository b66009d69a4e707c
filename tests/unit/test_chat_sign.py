"""The platforms' signatures, against the documents' own Python examples (钉钉 加签, 飞书 签名校验), and
the masking of secrets and webhook credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from datetime import UTC, datetime

from followup.app.channels import _masked_webhook
from followup.chat.payloads import Card
from followup.chat.transport import Robot, dingtalk_sign, feishu_sign, mask, request


def test_dingtalk_sign_is_the_documented_url_encoded_hmac_of_timestamp_and_secret() -> None:
    # DingTalk's example: hmac.new(secret, f"{timestamp}\n{secret}", sha256), base64, quote_plus
    timestamp, secret = "1577262236757", "this is secret"
    code = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), digestmod=hashlib.sha256).digest()
    assert dingtalk_sign(secret, int(timestamp)) == urllib.parse.quote_plus(base64.b64encode(code))
    assert dingtalk_sign(secret, int(timestamp)) != dingtalk_sign(secret + "x", int(timestamp))


def test_feishu_sign_keys_the_hmac_with_timestamp_and_secret_over_nothing() -> None:
    timestamp, secret = 1599360473, "demo"
    code = hmac.new(f"{timestamp}\n{secret}".encode(), b"", digestmod=hashlib.sha256).digest()
    assert feishu_sign(secret, timestamp) == base64.b64encode(code).decode()


def test_signed_requests_carry_the_timestamp_where_each_platform_reads_it() -> None:
    at = datetime(2026, 10, 19, 1, 0, tzinfo=UTC)
    card = Card("t", "yellow", ("x",))
    url, _body = request(
        Robot("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=a", "s", "mobile"), card, at
    )
    assert f"&timestamp={int(at.timestamp() * 1000)}&sign=" in url
    url, body = request(
        Robot("feishu", "https://open.feishu.cn/open-apis/bot/v2/hook/a", "s", "userid"), card, at
    )
    assert (body["timestamp"], body["sign"]) == (
        str(int(at.timestamp())),
        feishu_sign("s", int(at.timestamp())),
    )
    url, body = request(
        Robot("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", None, "userid"), card, at
    )
    assert "sign" not in url and "sign" not in body


def test_secrets_and_credentials_are_masked() -> None:
    assert mask("SECabcdef123456") == "SEC…******"
    assert mask("env:DING_SECRET") == "env:DING_SECRET"
    assert _masked_webhook("https://oapi.dingtalk.com/robot/send?access_token=abcdef123456") == (
        "https://oapi.dingtalk.com/robot/send?access_token=abcd****"
    )
    assert _masked_webhook("https://open.feishu.cn/open-apis/bot/v2/hook/0a1b2c3d-9999") == (
        "https://open.feishu.cn/open-apis/bot/v2/hook/0a1b****"
    )
