"""``reckit storage check``: a small object round-tripped through a storage config read from
standard input, against real servers; failures say why, and never show a secret."""

from __future__ import annotations

import orjson
from click.testing import CliRunner

from reckit.cli import main
from tests.support.storage_servers import create_s3_bucket, s3_config
from tests.support.storage_servers_az_sftp import SshdServer

pytest_plugins = ("tests.support.storage_fixtures",)  # the servers, once per session


def check(config: dict[str, object], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["storage", "check", "--config", "-", *args], input=orjson.dumps(config)
    )
    return result.exit_code, result.output


def test_a_working_sftp_config_passes_and_leaves_nothing(sshd: SshdServer) -> None:
    where = sshd.root / "check"
    config = {
        "type": "sftp",
        "host": sshd.host,
        "port": sshd.port,
        "username": sshd.username,
        "auth_method": "PASSWORD",
        "password": sshd.password,
        "path": str(where),
    }
    code, out = check(config)
    assert code == 0, out
    assert "OK" in out and "reckit-check-" in out
    assert list(where.iterdir()) == []  # written, read back, deleted


def test_wrong_credentials_fail_without_showing_them(sshd: SshdServer) -> None:
    secret = "definitely-not-the-password-42"
    config = {
        "type": "sftp",
        "host": sshd.host,
        "port": sshd.port,
        "username": sshd.username,
        "auth_method": "PASSWORD",
        "password": secret,
        "path": "x",
    }
    code, out = check(config)
    assert code == 1 and "storage check failed" in out
    assert secret not in out


def test_s3_through_an_endpoint(moto: str) -> None:
    config = s3_config(create_s3_bucket(moto), path="checks")
    code, out = check(config, "--endpoint", moto)
    assert code == 0, out
    missing = {**config, "bucket": "no-such-bucket-here"}
    code, out = check(missing, "--endpoint", moto)
    assert code == 1 and "bucket" in out
    assert str(config["secret"]) not in out


def test_an_invalid_config_names_the_field() -> None:
    code, out = check({"type": "aws", "bucket": "b", "region": "r"})
    assert code == 1 and '"storage_config.access_key" is required' in out
    code, out = check({"type": "ftp"})
    assert code == 1 and "type" in out
