"""The storage SDKs are optional extras (``reckit[s3]``, ``[azure]``, ``[gcs]``, ``[sftp]``,
``[all]``): reckit starts without any of them, and a config whose SDK is missing fails with a
non-retryable StorageError that says which extra to install. Each case runs in a fresh Python
where the SDK cannot be imported (``sys.modules[name] = None`` makes ``import name`` fail as if
it were not installed)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.storage_servers import s3_config

ROOT = Path(__file__).resolve().parents[2]
# The top-level package of each extra's SDK.
SDKS = {"s3": "boto3", "azure": "azure", "gcs": "google", "sftp": "paramiko"}


def run_without(blocked: list[str], code: str, *args: str, stdin: str = "") -> tuple[int, str]:
    """Run ``code`` in a new interpreter where ``blocked`` cannot be imported; its exit status
    and its output (stdout, then stderr)."""
    prelude = f"import sys\nfor _name in {blocked!r}:\n    sys.modules[_name] = None\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def message(extra: str, who: str) -> str:
    return f"{who} needs the reckit[{extra}] extra: pip install 'reckit[{extra}]'"


@pytest.mark.parametrize(
    ("kind", "extra"),
    [("aws", "s3"), ("digitalocean", "s3"), ("azure", "azure"), ("gcs", "gcs"), ("sftp", "sftp")],
)
def test_a_missing_sdk_names_the_extra_to_install(kind: str, extra: str) -> None:
    code, out = run_without(
        [SDKS[extra]],
        f"""
        import json
        from reckit.storage.base import StorageError
        from reckit.storage.registry import open_destination
        try:
            open_destination({{"type": {kind!r}}})
        except StorageError as exc:
            print(json.dumps({{"message": str(exc), "retryable": exc.retryable}}))
        """,
    )
    assert code == 0, out
    assert json.loads(out) == {
        "message": message(extra, f"storage type {kind}"),
        "retryable": False,
    }


def test_reckit_starts_without_any_storage_sdk() -> None:
    # Everything `reckit serve` imports, and reckit's own bucket on disk: no SDK needed.
    code, out = run_without(
        list(SDKS.values()),
        """
        import tempfile
        from pathlib import Path
        import reckit.cli, reckit.delivery.runner, reckit.delivery.service, reckit.http.app
        from reckit.config import Settings
        from reckit.storage.registry import open_bucket
        with tempfile.TemporaryDirectory() as tmp:
            print(type(open_bucket(Settings(data_dir=Path(tmp)))).__name__)
        """,
    )
    assert (code, out.strip()) == (0, "LocalBucket")


def test_reckits_own_bucket_in_s3_names_the_extra() -> None:
    code, out = run_without(
        ["boto3"],
        """
        import tempfile
        from pathlib import Path
        from reckit.config import Settings
        from reckit.storage.base import StorageError
        from reckit.storage.registry import open_bucket
        with tempfile.TemporaryDirectory() as tmp:
            try:
                open_bucket(Settings(data_dir=Path(tmp), bucket_url="s3://bucket/prefix"))
            except StorageError as exc:
                print(exc)
        """,
    )
    assert (code, out.strip()) == (0, message("s3", "RECKIT_BUCKET_URL (reckit's bucket in S3)"))


def test_storage_check_says_which_extra_is_missing() -> None:
    code, out = run_without(
        ["boto3"],
        "from reckit.cli import main\nmain()",
        "storage",
        "check",
        "--config",
        "-",
        stdin=json.dumps(s3_config("some-bucket")),
    )
    assert code == 1
    expected = message("s3", "storage type aws")
    assert out.strip() == f"Error: storage check failed: {expected}"
