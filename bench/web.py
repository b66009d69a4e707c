"""Benchmark: the web app's board and project page at 100k projects under 20 concurrent clients, against a
trivial page served by the same app in the same run; and the memory of the web worker.

What it does, in a temporary folder removed at the end:
    * builds the county of ``bench/report.py`` (12 units, 60 case officers, a leader; ``--projects``
      projects with their whole history over 2023–2026, bulk-inserted as the ORM stores them), and adds
      an operator (who may read every project) signed in through ``app.access`` (a real session);
    * starts ``followup web`` (the installed command: uvicorn, one worker) on a free loopback port;
    * for each page — ``/ping`` (the trivial page: the same layout, no database), ``/`` (the board),
      ``/projects/<id>`` (a random project each request), ``/projects`` (the list, first page) — runs
      ``--clients`` concurrent clients (one asyncio task each, keep-alive connections) for ``--seconds``
      after a short warm-up, and prints requests per second, p50 and p95 latency (the board is kept 30 s
      per worker: the run also times its data made afresh, in-process, as a worker does twice a minute);
    * prints the ratio of each page's p95 to the trivial page's (target for the board: ≤ 5×) and the web
      worker's resident memory (VmRSS now, VmHWM peak) read from ``/proc``.

Run from the repository root::

    .venv/bin/python bench/web.py [--projects 100000] [--clients 20] [--seconds 15]

Exit status: 0 when the board's p95 is within 5× the trivial page's, 1 when over.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import bulk_load, make_org

from followup.app import access, dashboard, organisation
from followup.domain.timeutil import utcnow

TARGET = 5.0
PAGES = ("/ping", "/", "/projects/{id}", "/projects")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) // 1024
    return found["VmRSS"], found["VmHWM"]


async def load(base: str, cookie: str, path: str, clients: int, seconds: float, projects: int) -> list[float]:
    """Latencies (s) of every request made by ``clients`` clients during ``seconds`` after a warm-up."""
    latencies: list[float] = []
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(
        base_url=base, cookies={"fu_session": cookie}, limits=limits, timeout=60
    ) as client:

        async def one(measure: bool, until: float) -> None:
            rng = random.Random()
            while time.perf_counter() < until:
                target = path.format(id=rng.randint(1, projects))
                started = time.perf_counter()
                response = await client.get(target)
                if response.status_code != 200:
                    raise SystemExit(f"{target}: HTTP {response.status_code}")
                if measure:
                    latencies.append(time.perf_counter() - started)

        warm = time.perf_counter() + min(3.0, seconds / 3)
        await asyncio.gather(*(one(False, warm) for _ in range(clients)))
        end = time.perf_counter() + seconds
        await asyncio.gather(*(one(True, end) for _ in range(clients)))
    return latencies


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_server(tmp: Path, url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FOLLOWUP_DATABASE_URL": url,
        "FOLLOWUP_DATA_DIR": str(tmp / "data"),
        "FOLLOWUP_WEB_URL": f"http://127.0.0.1:{port}",
    }
    exe = Path(sys.executable).with_name("followup")
    server = subprocess.Popen(
        [str(exe), "web", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx2.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the web app did not start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="followup-bench-web-") as folder:
        tmp = Path(folder)
        path = tmp / "web.db"
        url = f"sqlite:///{path}"
        started = time.perf_counter()
        rt, units, officials = make_org(url, tmp)
        bulk_load(path, args.projects, units, officials)
        organisation.add_official(
            rt, "op", name="操作员", email="op@example.gov.cn", unit="u0", roles=("operator",)
        )
        live = rt.at(utcnow())  # the server runs on the real clock: sign in at the real time
        made = access.request_sign_in(live, "op@example.gov.cn")
        assert made is not None
        real = access.redeem_sign_in(live, made.secret)
        print(f"built {args.projects:,} projects in {time.perf_counter() - started:.1f} s")
        port = free_port()
        server = start_server(tmp, url, port)
        base = f"http://127.0.0.1:{port}"
        try:
            results: dict[str, tuple[float, float, float]] = {}
            for page in PAGES:
                latencies = asyncio.run(load(base, real, page, args.clients, args.seconds, args.projects))
                rps = len(latencies) / args.seconds
                results[page] = (rps, quantile(latencies, 0.5), quantile(latencies, 0.95))
                print(
                    f"{page:<16} {rps:8.1f} req/s   p50 {results[page][1] * 1000:7.1f} ms   "
                    f"p95 {results[page][2] * 1000:7.1f} ms",
                    flush=True,
                )
            rss, peak = memory(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        cold = []
        for _ in range(3):  # the board's data made afresh, as each worker does every 30 s (uncached)
            begun = time.perf_counter()
            dashboard.board(live)
            cold.append(time.perf_counter() - begun)
        print(f"the board's data made afresh (in-process, uncached): best of 3 {min(cold) * 1000:.0f} ms")
    trivial = results["/ping"][2]
    for page in PAGES[1:]:
        print(f"p95 {page} / p95 /ping: {results[page][2] / trivial:.2f}×")
    print(f"web worker memory at {args.projects:,} projects: {rss} MB resident now, {peak} MB at peak")
    ratio = results["/"][2] / trivial
    print(f"board p95 / trivial page p95: {ratio:.2f}× (target ≤ {TARGET:.0f}×)")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
