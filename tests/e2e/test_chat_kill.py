"""A chat sender killed with SIGKILL mid-batch (issue 11): the installed ``followup send`` posts cards to
a loopback DingTalk robot that hangs on the third; the process is killed while it waits. After the
claim's lease a second sender posts the rest: every card arrives exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from followup.app import channels, escalation
from tests.chatserver import ChatServer
from tests.helpers import Cli, followup_executable, make_runtime
from tests.integration.test_chat import SECRET, enter
from tests.outbox_county import MONDAY, at, iso, township


def test_a_sender_killed_mid_batch_loses_and_doubles_nothing(sqlite_url: str, tmp_path: Path) -> None:
    rt = make_runtime(sqlite_url, tmp_path, now=at("2026-01-05"))
    township(1).seed(rt)
    enter(rt, 3)  # 6 cards: a yellow warning and a 跟进超时 per project
    with ChatServer("dingtalk", SECRET) as robot:
        channels.add_channel(rt, "chengguan", kind="dingtalk", webhook=robot.webhook, secret=SECRET)
        escalation.sweep(rt.at(at(MONDAY)))
        rt.close()
        robot.script = ["", "", "hang"]
        env = Cli(sqlite_url, tmp_path).process_env(FOLLOWUP_CLAIM_LEASE="1")
        command = [followup_executable(), "send", "--now", iso(MONDAY), "--json"]
        sender = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert robot.hanging.wait(60)
            os.kill(sender.pid, signal.SIGKILL)
            sender.wait(10)
        finally:
            robot.release.set()
        assert len(robot.received) == 2
        time.sleep(1.5)  # the dead sender's lease (1 s, by the database's clock) runs out
        again = subprocess.run(
            [followup_executable(), "send", "--now", iso(MONDAY, "09:05"), "--json"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
    titles = [p["markdown"]["title"] for p in robot.received]
    texts = [p["markdown"]["text"] for p in robot.received]
    assert len(robot.received) == 6 and len(set(texts)) == 6, titles
