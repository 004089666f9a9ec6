"""``format_ms`` (table lookups on the list's hot path) against datetime's own formatting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reckit import timestamps
from reckit.timestamps import DAY_MS, HOUR_MS, format_ms

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _reference(ms: int) -> str:
    at = EPOCH + timedelta(milliseconds=ms)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@settings(max_examples=2_000, deadline=None)
@given(
    st.one_of(
        st.integers(-DAY_MS * 365, 4_102_444_800_000),
        st.integers(0, 50_000).map(lambda d: d * DAY_MS - 1),
    )
)
def test_format_ms_matches_datetime(ms: int) -> None:
    assert format_ms(ms) == _reference(ms)


def test_format_ms_edges() -> None:
    assert format_ms(0) == "1970-01-01T00:00:00.000Z"
    assert format_ms(-1) == "1969-12-31T23:59:59.999Z"
    assert format_ms(1_790_000_000_004) == "2026-09-21T14:13:20.004Z"


def test_the_days_kept_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timestamps, "DAYS_KEPT", 3)
    monkeypatch.setattr(timestamps, "_days", {})
    for day in range(10):
        ms = 1_790_000_000_004 + day * DAY_MS + day * HOUR_MS
        assert format_ms(ms) == _reference(ms)
        assert len(timestamps._days) <= 3
    assert format_ms(1_790_000_000_004) == "2026-09-21T14:13:20.004Z"  # made again
