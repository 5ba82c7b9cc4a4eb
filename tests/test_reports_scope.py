"""The period a report compares with: the month, year or run of days before."""

from __future__ import annotations

from datetime import date

import pytest

from reports.scope import Period


@pytest.mark.parametrize(
    ("first", "last", "before"),
    [
        (date(2026, 11, 1), date(2026, 11, 30), date(2026, 10, 1)),  # 30 days after 31
        (date(2026, 3, 1), date(2026, 3, 31), date(2026, 2, 1)),  # 31 days after 28
        (date(2025, 1, 1), date(2025, 12, 31), date(2024, 1, 1)),  # a year after a leap year
        (date(2026, 1, 1), date(2026, 2, 28), date(2025, 11, 1)),  # two months over New Year
        (date(2026, 10, 19), date(2026, 10, 25), date(2026, 10, 12)),  # a week: 7 days
        (date(2026, 11, 2), date(2026, 11, 30), date(2026, 10, 4)),  # not whole: 29 days
        (date(2026, 11, 5), date(2026, 11, 5), date(2026, 11, 4)),  # a day
    ],
)
def test_the_period_before(first: date, last: date, before: date) -> None:
    assert Period(first, last).previous_first() == before
