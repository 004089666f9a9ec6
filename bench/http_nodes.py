"""The list endpoint's varied mix (``http_mix.py``) against 1, 2 and 3 reckit nodes on one
PostgreSQL database, behind a round-robin load balancer (nginx) that the benchmark starts.

    bash -c 'source scripts/setup.sh && python bench/http_nodes.py'
    (needs PostgreSQL at 127.0.0.1:5432, user postgres, trust; wrk; nginx:
    apt-get install nginx-light)

What it does, and undoes (even on Ctrl-C):

1. creates a fresh database ``reckit_bench_<pid>`` and seeds it (``reckit seed``,
   RECORDINGS, 1,000,000 by default; the time it took is printed); dropped at the end;
2. starts NODES (3) ``reckit serve`` processes on it, one worker each, all roles on, each with a
   data dir of its own (its node ID) and one server key (``RECKIT_SECRET_KEY``). No bucket
   is shared: a list request reads no media, so each node keeps the local bucket of its data
   dir (a deployment shares an S3 bucket, ``docs/deploy.md``);
3. checks that every node, and the load balancer, answers the same first page and total;
4. starts one nginx (a generated config in a temp dir: one worker process, an ``upstream``
   per node count, round-robin, ``keepalive 64``) listening on one port per node count;
5. runs http_mix's mix (same URLs, same seed) with wrk at c64: node 1 directly (what the load
   balancer costs) and through the load balancer to 1, 2 and 3 nodes, in turns, ROUNDS times
   (the median run is shown) after WARMUP of the mix through each;
6. prints the table: req/s, p50, p99, non-2xx, socket errors, each node's share of the
   requests (from the nodes' ``/metrics``) and the load average at the end of the run shown.

All of it shares the machine's cores: on one machine more nodes cannot add throughput that
the cores do not have. The figure shows that the nodes serve one store consistently and what
the load balancer costs, not how reckit scales across machines.

Settings (environment): RECORDINGS (1000000), NODES (3), DURATION (10s), WARMUP (5s),
ROUNDS (3), SEED (1), PER_SHAPE (3000), POSTGRES (postgresql://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql

from http_mix import (
    BASE,
    DURATION,
    PER_SHAPE,
    ROUNDS,
    SEED,
    SHAPES,
    WARMUP,
    Run,
    lua_script,
    median,
    shape_paths,
    warm_up,
    wrk,
)

RECORDINGS = int(os.environ.get("RECORDINGS", "1000000"))
NODES = int(os.environ.get("NODES", "3"))
POSTGRES = os.environ.get("POSTGRES", "postgresql://postgres@127.0.0.1:5432").rstrip("/")
NODE_PORT = 18801  # node i listens on NODE_PORT + i
LB_PORT = 18810  # the load balancer to n nodes listens on LB_PORT + n
LIST_ROUTE = "/accounts/{account_id}/realtime/kit/{app_id}/recordings"
NGINX_HELP = (
    "nginx is not installed: the benchmark's load balancer. On Debian: "
    "apt-get install nginx-light (or nginx)"
)


def _nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise SystemExit(NGINX_HELP)
    return found


@contextmanager
def fresh_database() -> Iterator[str]:
    """``reckit_bench_<pid>``, created empty and dropped at the end (its connections cut)."""
    name = f"reckit_bench_{os.getpid()}"
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
            admin.execute(drop)
        print(f"dropped database {name}", file=sys.stderr)


def _reckit(env: dict[str, str], data: Path, *args: str) -> str:
    out = subprocess.run(
        ["reckit", *args, "--data-dir", str(data)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.stdout


def seed(env: dict[str, str], data: Path) -> tuple[dict[str, str], float]:
    """Schema, an account, an app, a token and RECORDINGS recordings: (IDs, seconds seeding)."""
    _reckit(env, data, "migrate")
    account = json.loads(_reckit(env, data, "accounts", "create", "--name", "bench", "--json"))
    account_id = account["account_id"]
    app = json.loads(
        _reckit(env, data, "apps", "create", "--account", account_id, "--name", "b", "--json")
    )
    token = json.loads(_reckit(env, data, "tokens", "create", "--account", account_id, "--json"))
    print(f"seeding {RECORDINGS:,} recordings into PostgreSQL", file=sys.stderr, flush=True)
    began = time.monotonic()
    subprocess.run(
        [
            *("reckit", "seed", "--app", app["app_id"]),
            *("--recordings", str(RECORDINGS), "--data-dir", str(data)),
        ],
        env=env,
        check=True,
        timeout=1800,
    )
    took = time.monotonic() - began
    print(f"seeded in {took:.1f} s", file=sys.stderr, flush=True)
    return {"account_id": account_id, "app_id": app["app_id"], "token": token["token"]}, took


def store_facts(url: str, app_id: str) -> tuple[int, int, list[str]]:
    """As http_mix.store_facts, from PostgreSQL: (first and last invoked_time, meetings with
    recordings)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT min(invoked_time), max(invoked_time) FROM recordings WHERE app_id = %s",
            (app_id,),
        ).fetchone()
        assert row is not None
        meetings = [
            str(r[0])
            for r in conn.execute(
                "SELECT id FROM meetings WHERE app_id = %s AND recording_count > 0 ORDER BY id",
                (app_id,),
            )
        ]
    return int(row[0]), int(row[1]), meetings


def start_node(i: int, env: dict[str, str], data: Path) -> subprocess.Popen[bytes]:
    """``reckit serve`` (one worker, every role) in a session of its own, so that a Ctrl-C
    reaches the benchmark only, which stops it in turn."""
    data.mkdir(parents=True, exist_ok=True)
    log = (data / "serve.log").open("wb")
    return subprocess.Popen(
        [
            *("reckit", "serve", "--port", str(NODE_PORT + i), "--no-access-log"),
            *("--workers", "1", "--data-dir", str(data)),
        ],
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )


def nginx_config(where: Path, nodes: int) -> Path:
    """One worker process; per node count n an upstream of the first n nodes (round-robin,
    idle connections kept) and a server on LB_PORT + n."""
    blocks = []
    for n in range(1, nodes + 1):
        servers = "".join(f"    server 127.0.0.1:{NODE_PORT + i};\n" for i in range(n))
        blocks.append(
            f"  upstream nodes{n} {{\n{servers}    keepalive 64;\n  }}\n"
            f"  server {{\n    listen 127.0.0.1:{LB_PORT + n};\n"
            f"    location / {{\n      proxy_pass http://nodes{n};\n"
            "      proxy_http_version 1.1;\n"
            '      proxy_set_header Connection "";\n'
            "      proxy_set_header Host $http_host;\n"
            "    }\n  }\n"
        )
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temp = "".join(
        f"  {kind}_temp_path {where / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = where / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\ndaemon off;\npid {where / 'nginx.pid'};\n"
        f"error_log {where / 'error.log'} warn;\n"
        "events {\n  worker_connections 4096;\n}\n"
        f"http {{\n  access_log off;\n{temp}{''.join(blocks)}}}\n"
    )
    return conf


def start_nginx(binary: str, conf: Path) -> subprocess.Popen[bytes]:
    subprocess.run(
        [binary, "-t", "-q", "-c", str(conf), "-p", str(conf.parent)], check=True, timeout=30
    )
    return subprocess.Popen(
        [binary, "-c", str(conf), "-p", str(conf.parent)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes], grace: float = 60) -> None:
    """SIGTERM to the process's group (reckit serve drains and exits; nginx exits), then
    SIGKILL if it outstays ``grace``."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
    except ProcessLookupError:
        pass


def wait_up(url: str, headers: dict[str, str], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the process exited ({process.returncode})")
        try:
            if httpx.get(url, headers=headers, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not come up within 120 s")


def first_page(port: int, base: str, auth: dict[str, str]) -> tuple[int, tuple[str, ...]]:
    body = httpx.get(f"http://127.0.0.1:{port}{base}?per_page=25", headers=auth, timeout=30)
    body.raise_for_status()
    data = body.json()
    return int(data["paging"]["total_count"]), tuple(r["id"] for r in data["data"])


def list_requests(nodes: int) -> list[float]:
    """Each node's list requests answered so far (its ``/metrics``)."""
    counts = []
    for i in range(nodes):
        text = httpx.get(f"http://127.0.0.1:{NODE_PORT + i}/metrics", timeout=30).text
        counts.append(
            sum(
                s.value
                for f in text_string_to_metric_families(text)
                if f.name == "reckit_http_requests"
                for s in f.samples
                if s.name.endswith("_total") and s.labels.get("route") == LIST_ROUTE
            )
        )
    return counts


@dataclass
class Measured:
    run: Run
    load: float  # 1-min load average at the end of the run
    shares: list[float]  # each node's share of the run's requests, %


def measure(url: str, nginx: str, tmp: Path) -> tuple[dict[str, list[Measured]], int, float]:
    """Seed, start the nodes and the load balancer, check them, measure; every process it
    started is stopped before it returns or raises (before the database is dropped)."""
    processes: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, "RECKIT_DATABASE_URL": url}
    ids, seeded_s = seed(env, tmp / "seed")
    try:
        key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        node_env = {
            **env,
            "RECKIT_SECRET_KEY": key,
            "RECKIT_PUBLIC_URL": f"http://127.0.0.1:{LB_PORT + NODES}",
            "RECKIT_METRICS": "1",
        }
        token = ids["token"]
        auth = {"Authorization": f"Bearer {token}"}
        base = BASE.format(a=ids["account_id"], p=ids["app_id"])
        for i in range(NODES):
            processes.append(start_node(i, node_env, tmp / f"node{i + 1}"))
        for i, process in enumerate(processes):
            wait_up(f"http://127.0.0.1:{NODE_PORT + i}{base}?per_page=25", auth, process)
        lb = start_nginx(nginx, nginx_config(tmp, NODES))
        processes.append(lb)
        for n in range(1, NODES + 1):
            wait_up(f"http://127.0.0.1:{LB_PORT + n}{base}?per_page=25", auth, lb)

        # One store: every node, and the balancer in turn to each, answers alike.
        seen = {first_page(NODE_PORT + i, base, auth) for i in range(NODES)}
        seen |= {first_page(LB_PORT + NODES, base, auth) for _ in range(2 * NODES)}
        if len(seen) != 1:
            raise SystemExit(f"the nodes answer differently: {seen}")
        total = next(iter(seen))[0]
        print(f"every node answers the same first page, total_count {total:,}", flush=True)

        facts = store_facts(url, ids["app_id"])
        rng = random.Random(SEED)
        by_shape = {s: shape_paths(s, rng, base, facts, PER_SHAPE) for s in SHAPES}
        mix = [p for paths in by_shape.values() for p in paths]
        rng.shuffle(mix)
        mix_lua = lua_script(mix, tmp / "mix.lua")

        targets = {"1 node, direct (no load balancer)": (NODE_PORT, 1)}
        for n in range(1, NODES + 1):
            targets[f"{n} node{'s' if n > 1 else ''}, nginx round-robin"] = (LB_PORT + n, n)
        for name, (port, _) in targets.items():
            print(f"{name}: warm-up", file=sys.stderr, flush=True)
            warm_up(port, token, mix_lua)
        runs: dict[str, list[Measured]] = {name: [] for name in targets}
        for round_no in range(ROUNDS):
            for name, (port, n) in targets.items():
                print(f"round {round_no + 1}: {name}, c64", file=sys.stderr, flush=True)
                before = list_requests(NODES)
                run = wrk(port, token, 64, mix_lua, DURATION)
                after = list_requests(NODES)
                done = [a - b for a, b in zip(after, before, strict=True)]
                shares = [100 * d / max(1.0, sum(done)) for d in done[:n]]
                runs[name].append(Measured(run, os.getloadavg()[0], shares))
                print(f"  {run}", file=sys.stderr, flush=True)
        return runs, len(mix), seeded_s
    finally:
        for process in reversed(processes):
            stop(process)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM as Ctrl-C: the finally blocks stop everything


def main() -> None:
    nginx = _nginx()  # before anything is created
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
    tmp = Path(tempfile.mkdtemp(prefix="reckit-nodes-"))
    load_start = os.getloadavg()[0]
    try:
        with fresh_database() as url:
            runs, mix_size, seeded_s = measure(url, nginx, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_end = os.getloadavg()[0]

    print(
        f"\nList endpoint, http_mix's varied mix ({len(SHAPES)} shapes, {mix_size:,} URLs, "
        f"seed {SEED}) on PostgreSQL, {RECORDINGS:,} recordings (seeded in {seeded_s:.0f} s); "
        f"reckit serve with one worker per node; nginx with one worker process; wrk -t2 -c64 "
        f"-d{DURATION}, median of {ROUNDS} taken in turns after {WARMUP} of warm-up; "
        f"{os.cpu_count()} cores for all of it; load average {load_start:.1f} at the start, "
        f"{load_end:.1f} at the end\n"
    )
    print("| nodes | req/s | p50 ms | p99 ms | non-2xx | socket errors | share per node % | load |")
    print("|---|---|---|---|---|---|---|---|")
    for name, each in runs.items():
        mid = median([m.run for m in each])
        shown = next(m for m in each if m.run.rps == mid.rps)
        shares = " / ".join(f"{s:.0f}" for s in shown.shares)
        print(
            f"| {name} | {mid.rps:,.0f} | {mid.p50_ms:.1f} | {mid.p99_ms:.1f} | {mid.non_2xx} | "
            f"{mid.errors} | {shares} | {shown.load:.1f} |"
        )


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted: everything the benchmark started is stopped", file=sys.stderr)
        sys.exit(130)
