"""The apps repository: an app's data version as each kind of transaction sees it, on both
engines (``owner_and_version`` reads it once per read-only transaction)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from reckit.apps import repository
from reckit.db.engine import Database
from tests.support.live import new_tenant


def test_a_write_sees_its_own_version_bump_a_read_keeps_its_snapshot(database: Database) -> None:
    tenant = new_tenant(database)
    with database.transaction() as before:
        found = repository.owner_and_version(before, tenant.app_id)
        assert found is not None and found[0] == tenant.account_id
        version = found[1]

        def write() -> list[tuple[str, int] | None]:
            with database.transaction(write=True) as tx:
                seen = [repository.owner_and_version(tx, tenant.app_id)]
                repository.touch(tx, tenant.app_id)
                return [*seen, repository.owner_and_version(tx, tenant.app_id)]

        # Another thread: SQLite's connections are per thread.
        with ThreadPoolExecutor(1) as other:
            seen = other.submit(write).result()
        assert seen == [(tenant.account_id, version), (tenant.account_id, version + 1)]
        # The read began before the write committed: its snapshot keeps the old version.
        assert repository.owner_and_version(before, tenant.app_id) == (tenant.account_id, version)
    with database.transaction() as after:
        assert repository.owner_and_version(after, tenant.app_id) == (
            tenant.account_id,
            version + 1,
        )
        assert repository.owner_and_version(after, "no-such-app") is None
        assert repository.owner_and_version(after, "no-such-app") is None
