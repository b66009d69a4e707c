"""Several web workers on one PostgreSQL database: the installed ``followup web --workers 2`` (uvicorn's
processes), a session made by one worker accepted by the other, a follow-up posted through one visible
through the other and in the history the CLI reads — nothing is kept in a worker's memory that another
needs."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import httpx2
import pytest

from followup.app import access
from followup.domain.timeutil import utcnow
from tests.county import SMALL
from tests.helpers import Cli, followup_executable, make_runtime

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_two_workers_share_sessions_and_writes_through_postgresql(pg_url: str, tmp_path: Path) -> None:
    rt = make_runtime(pg_url, tmp_path)
    SMALL.seed(rt)
    cli = Cli(pg_url, tmp_path, subprocess=True)
    cli.ok("project", "add", "--name", "云服务数据中心", "--officer", "lina", "--unit", "chengguan")
    live = rt.at(utcnow())  # the server runs on the real clock
    made = access.request_sign_in(live, "lina@example.gov.cn")
    assert made is not None
    session = access.redeem_sign_in(live, made.secret)
    port = _free_port()
    server = subprocess.Popen(
        [followup_executable(), "web", "--port", str(port), "--workers", "2"],
        env=cli.process_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx2.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                time.sleep(0.1)
        with httpx2.Client(base_url=base, cookies={"fu_session": session}) as browser:
            page = browser.get("/projects/1")
            assert page.status_code == 200 and "云服务数据中心" in page.text
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert token
            # the seed cookie this worker set is honoured by whichever worker takes the post
            posted = browser.post(
                "/projects/1/log", data={"csrf": token.group(1), "text": "两个进程都认得这个会话"}
            )
            assert posted.status_code == 303  # back to the project page
            for _ in range(40):  # new connections: uvicorn's workers share the socket, both answer
                with httpx2.Client(base_url=base, cookies={"fu_session": session}) as other:
                    answer = other.get("/projects/1")
                    assert answer.status_code == 200
                    assert "两个进程都认得这个会话" in answer.text
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
        pids = set(re.findall(r"Started server process \[(\d+)\]", out.decode()))
    assert len(pids) == 2, out.decode()
    history = Cli(pg_url, tmp_path).ok("history", "1", "--json").json()
    assert history[-1]["note"] == "两个进程都认得这个会话" and history[-1]["entered_by"] == "web"
