"""Loopback group robots for the work-chat tests: one small stdlib HTTP server per platform, in a thread,
that checks what the platform checks — its token or key, the signature and its timestamp (within an
hour of the server's clock), the payload's schema, that each mention is one the message can show — and
answers as the platform does: success, rate limited (more than 20 messages in 60 s by the request's
timestamp), bad token or signature. Every accepted message is kept in ``received``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "t0ken-1234567890"
RATE, WINDOW = 20, 60.0
#: the platforms' answers: (ok, rate limited, bad token, bad signature)
ANSWERS = {
    "dingtalk": ("errcode", 0, 130101, 300001, 310000),
    "wecom": ("errcode", 0, 45009, 93000, 93000),
    "feishu": ("code", 0, 11232, 19001, 19021),
}


class ChatServer:
    """A platform's robot on 127.0.0.1. ``clock``: the server's now (the tests' injected time)."""

    def __init__(self, kind: str, secret: str | None = None, clock: Callable[[], datetime] | None = None):
        self.kind, self.secret = kind, secret
        self.clock = clock or (lambda: datetime.now(UTC))
        self.received: list[dict[str, Any]] = []
        self.stamps: list[float] = []  # when each accepted message was sent, by its timestamp
        self.refused: list[str] = []
        self.limited = 0
        self.script: list[str] = []  # answers to give next, in order: "rate", "bad_token", "hang"
        self.release = threading.Event()  # ends a "hang"
        self.hanging = threading.Event()  # set while a request hangs
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def webhook(self) -> str:
        host, port = self.server.server_address[:2]
        base = f"http://{host}:{port}"
        if self.kind == "dingtalk":
            return f"{base}/robot/send?access_token={TOKEN}"
        if self.kind == "wecom":
            return f"{base}/cgi-bin/webhook/send?key={TOKEN}"
        return f"{base}/open-apis/bot/v2/hook/{TOKEN}"

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def stop(self) -> None:
        """Take the robot away (an outage): connections are refused until :meth:`restart`."""
        self.server.shutdown()
        self.server.server_close()

    def restart(self) -> None:
        port = self.server.server_address[1]
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def max_in_window(self) -> int:
        """The most messages accepted within any 60 s, by their timestamps."""
        stamps = sorted(self.stamps)
        best, start = 0, 0
        for end, t in enumerate(stamps):
            while t - stamps[start] >= WINDOW:
                start += 1
            best = max(best, end - start + 1)
        return best

    # ------------------------------------------------------------------ what the platform checks

    def answer(self, path: str, body: bytes) -> dict[str, Any]:
        field, ok, rate, bad_token, bad_sign = ANSWERS[self.kind]
        query = parse_qs(urlsplit(path).query)
        if self._token(path, query) != TOKEN:
            return {field: bad_token, "msg": "token invalid"}
        payload = json.loads(body)
        stamp, problem = self._signature(query, payload)
        if problem:
            self.refused.append(problem)
            return {field: bad_sign, "msg": problem}
        problem = self._schema(payload)
        if problem:
            self.refused.append(problem)
            return {field: 40035 if self.kind != "feishu" else 9499, "msg": problem}
        with self.lock:
            window = [s for s in self.stamps if stamp - WINDOW < s <= stamp]
            if len(window) >= RATE:
                self.limited += 1
                return {field: rate, "msg": "send too fast"}
            self.stamps.append(stamp)
            self.received.append(payload)
        return {field: ok, "msg": "ok"}

    def _token(self, path: str, query: dict[str, list[str]]) -> str | None:
        if self.kind == "dingtalk":
            return query.get("access_token", [None])[0]
        if self.kind == "wecom":
            return query.get("key", [None])[0]
        return urlsplit(path).path.rsplit("/", 1)[-1]

    def _signature(self, query: dict[str, list[str]], payload: dict[str, Any]) -> tuple[float, str | None]:
        now = self.clock().timestamp()
        if self.kind == "wecom" or not self.secret:
            return now, None
        if self.kind == "dingtalk":
            raw, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
            if not raw.isdigit():
                return now, "timestamp missing"
            stamp = int(raw) / 1000
            mac = hmac.new(self.secret.encode(), f"{raw}\n{self.secret}".encode(), hashlib.sha256)
        else:
            raw, sign = str(payload.get("timestamp", "")), str(payload.get("sign", ""))
            if not raw.isdigit():
                return now, "timestamp missing"
            stamp = float(raw)
            mac = hmac.new(f"{raw}\n{self.secret}".encode(), b"", hashlib.sha256)
        if abs(stamp - now) > timedelta(hours=1).total_seconds():
            return stamp, "timestamp out of window"
        if not hmac.compare_digest(base64.b64encode(mac.digest()).decode(), sign):
            return stamp, "sign mismatch"
        return stamp, None

    def _schema(self, p: dict[str, Any]) -> str | None:
        if self.kind == "dingtalk":
            md, at = p.get("markdown") or {}, p.get("at") or {}
            if p.get("msgtype") != "markdown" or not isinstance(md.get("title"), str) or not md.get("text"):
                return "markdown.title and markdown.text required"
            for m in at.get("atMobiles", []) + at.get("atUserIds", []):
                if f"@{m}" not in md["text"]:
                    return f"@{m} mentioned but not in the text"
            return None
        if self.kind == "wecom":
            if p.get("msgtype") == "markdown":
                return (
                    None if isinstance((p.get("markdown") or {}).get("content"), str) else "content required"
                )
            text = p.get("text") or {}
            ok = p.get("msgtype") == "text" and isinstance(text.get("content"), str)
            return None if ok and isinstance(text.get("mentioned_mobile_list", []), list) else "bad text"
        card = p.get("card") or {}
        title = ((card.get("header") or {}).get("title") or {}).get("content")
        if p.get("msg_type") != "interactive" or not title or not card.get("elements"):
            return "interactive card with a header title and elements required"
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                step = robot.script.pop(0) if robot.script else None
                if step == "hang":  # never answers: the sender is killed meanwhile
                    robot.hanging.set()
                    robot.release.wait(60)
                    self.close_connection = True
                    return
                if step == "rate":
                    answer = {ANSWERS[robot.kind][0]: ANSWERS[robot.kind][2], "msg": "too fast"}
                elif step == "bad_token":
                    answer = {ANSWERS[robot.kind][0]: ANSWERS[robot.kind][3], "msg": "token invalid"}
                else:
                    answer = robot.answer(self.path, body)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
