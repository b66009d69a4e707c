"""Bad input only a real process shows (issue 7): bytes that are not UTF-8 in the arguments (Python
hands them over as lone surrogates), and the daemon given a ``--now`` typo decades ahead, which must
refuse to start instead of running (and sweeping) in 2062."""

from __future__ import annotations

import subprocess as sp
from pathlib import Path

from tests.helpers import Cli, followup_executable, snapshot


def test_invalid_utf8_in_a_name_is_one_line_exit_2(installed: Cli, tmp_path: Path) -> None:
    Cli(installed.url, tmp_path).ok("unit", "add", "chengguan", "--name", "城关镇")  # in-process: quicker
    before = snapshot(installed.url)
    args = [
        followup_executable(),
        "official",
        "add",
        "zz",
        "--name",
        b"\xe6\x9d\x8e\xff",
        "--unit",
        "chengguan",
    ]
    proc = sp.run(
        [*args, "--email", "zz@example.gov.cn"], capture_output=True, timeout=60, env=installed.process_env()
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.decode("utf-8") == "error: name is not valid UTF-8 text: '李\\udcff'\n"
    assert snapshot(installed.url) == before


def test_the_daemon_refuses_a_now_far_ahead_of_the_real_clock(installed: Cli) -> None:
    result = installed("daemon", "--now", "2062-06-01T09:00+08:00", "--sweep-every", "1")
    assert result.code == 2
    assert result.err.startswith("error: --now '2062-06-01T09:00+08:00' is more than a day ahead of the real")
    assert len(result.err.splitlines()) == 1
