"""What a crash leaves half-made in reckit's bucket is deleted once nothing has touched it for a
while; finished files and uploads under way are kept."""

from __future__ import annotations

import os
import time
from pathlib import Path

from reckit.storage.local import LocalBucket


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_stale_partial_uploads_go_and_the_rest_stays(tmp_path: Path) -> None:
    bucket = LocalBucket(tmp_path)
    done = bucket.upload("app/rec/done.mp4")
    done.write(b"finished")
    done.commit(None)
    crashed = bucket.upload("app/rec/crashed.mp4")  # the process died mid-upload
    crashed.write(b"half")
    crashed._file.close()
    live = bucket.upload("app/other/live.mp4")  # still receiving
    live.write(b"streaming")
    _age(crashed.part, 7 * 3600)
    _age(bucket.path("app/rec/done.mp4"), 30 * 86400)  # old, but finished: kept

    assert bucket.remove_stale(6 * 3600) == 1
    assert not crashed.part.exists()
    assert live.part.exists()
    assert bucket.path("app/rec/done.mp4").read_bytes() == b"finished"
    live.write(b" on")
    assert live.commit(None).size == len(b"streaming on")
    assert LocalBucket(tmp_path / "never-made").remove_stale(0) == 0
