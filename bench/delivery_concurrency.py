"""One unreachable destination beside a working one: how long the working delivery waits.

reckit (SQLite in a temporary directory, the ASGI app under uvicorn in a thread, its delivery
rounds running in the background once a second, real time) is handed two finished recordings
through the public and recorder APIs (``tests/support/flows.py`` ``Scripted``), one right after the
other: the first to Google Cloud Storage whose endpoint accepts connections and never answers
(tests/support/netgate.py's black hole), the second to SFTP (OpenSSH's sshd on 127.0.0.1).
Timed from
the moment the SFTP recording's files are in: until it is UPLOADED, and until the GCS job's
first attempt has been written off as failed.

Each row is one reckit with its own delivery settings: the default bounds (8 transfers at once,
2 per host), and one transfer at once (how deliveries ran before the runner, one after the
other); both with a 30-s attempt timeout (the default is 300) so that a run takes a minute or so.

    .venv/bin/python bench/delivery_concurrency.py [--size-mb 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.builders import add_meeting
from tests.support.flows import Scripted
from tests.support.live import new_tenant
from tests.support.netgate import Gate
from tests.support.storage_servers import gcs_config, service_account_json
from tests.support.storage_servers_az_sftp import SshdServer, closed_port, free_port, sshd_server
from tests.support.threaded import uvicorn_in_thread

from reckit.clock import SystemClock
from reckit.config import Settings
from reckit.db.engine import Database
from reckit.db.schema import migrate
from reckit.delivery import repository as jobs
from reckit.http.app import build_asgi_app
from reckit.recordings import live_repository as live

ROWS = ((8, 2, 30.0), (1, 2, 30.0))


@contextlib.contextmanager
def running_reckit(settings: Settings) -> Iterator[tuple[str, Database]]:
    db = Database(f"sqlite:///{settings.data_dir / 'reckit.sqlite3'}")
    migrate(db)
    try:
        with uvicorn_in_thread(build_asgi_app(settings, db, SystemClock()), settings.port) as url:
            yield url, db
    finally:
        db.close()


def one_row(
    ssh: SshdServer, work: Path, video: Path, concurrency: int, per_host: int, timeout_s: float
) -> tuple[float | None, float | None]:
    gate = Gate(closed_port())
    gate.black_hole()
    settings = Settings(
        host="127.0.0.1",
        port=free_port(),
        data_dir=work,
        sweep_interval_s=1.0,
        builtin_recorder=False,
        delivery_concurrency=concurrency,
        delivery_per_host=per_host,
        delivery_attempt_timeout_s=timeout_s,
        storage_endpoints={"gcs": f"http://127.0.0.1:{gate.port}"},
    )
    gcs = gcs_config("unreachable", secret=service_account_json())
    sftp = {
        "type": "sftp",
        "host": ssh.host,
        "port": ssh.port,
        "username": ssh.username,
        "auth_method": "PASSWORD",
        "password": ssh.password,
        "path": str(ssh.root / f"bench-{os.urandom(4).hex()}"),
    }
    if ssh.password is None:  # sshd not running as root: key auth
        pair = ssh.keys["ed25519"]
        sftp.update(auth_method="KEY", private_key=pair.private_pem, password="")
    try:
        with running_reckit(settings) as (url, db):
            tenant = new_tenant(db)
            recorder = Scripted.connect(url, db, SystemClock(), "bench")
            first, second = (add_meeting(db, tenant.app_id, t).id for t in ("gcs", "sftp"))
            try:
                stuck = recorder.record(
                    url, tenant, {"meeting_id": first, "storage_config": gcs}, {"video": video}
                )
                working = recorder.record(
                    url, tenant, {"meeting_id": second, "storage_config": sftp}, {"video": video}
                )
            finally:
                recorder.close()
            start = time.monotonic()
            uploaded: float | None = None
            failed: float | None = None
            while (uploaded is None or failed is None) and time.monotonic() - start < 300:
                with db.transaction() as tx:
                    rec = live.get_by_id(tx, working)
                    (job,) = jobs.for_recording(tx, stuck)
                now = time.monotonic() - start
                if uploaded is None and rec is not None and rec.status == "UPLOADED":
                    uploaded = now
                if failed is None and job.last_error is not None:
                    failed = now
                time.sleep(0.05)
            return uploaded, failed
    finally:
        gate.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reckit-bench-") as tmp, sshd_server() as ssh:
        video = Path(tmp) / "v.mp4"
        video.write_bytes(os.urandom(int(args.size_mb * 1_000_000)))
        print(
            "| transfers at once | per host | attempt timeout s | SFTP UPLOADED after s "
            "| GCS attempt 1 failed after s |"
        )
        print("|---|---|---|---|---|")
        for i, (concurrency, per_host, timeout_s) in enumerate(ROWS):
            uploaded, failed = one_row(
                ssh, Path(tmp) / f"run{i}", video, concurrency, per_host, timeout_s
            )
            cells = ["-" if v is None else f"{v:.2f}" for v in (uploaded, failed)]
            print(
                f"| {concurrency} | {per_host} | {timeout_s:g} | {cells[0]} | {cells[1]} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
