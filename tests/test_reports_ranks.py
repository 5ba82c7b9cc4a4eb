"""Grouped quantiles from one sort (reports/ranks.py) against percentile_cont's definition.

Random durations to the microsecond, negative ones (an appointment called early) among
them, in groups of one, two and many values, with rows without a group or a duration,
on SQLite and PostgreSQL. On PostgreSQL also against ``percentile_cont`` itself.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import Column, Float, Integer, MetaData, Table, insert, select

from okienko.database import db
from reports.ranks import Grouping, quantiles
from reports.sql import interpolated, quantile

QS = (0.5, 0.9)
sample = Table("rank_sample", MetaData(), Column("k", Integer), Column("s", Float))


@pytest.fixture
def rows(any_app: Flask) -> Iterator[list[tuple[int | None, float | None]]]:
    rng = random.Random(13)
    data: list[tuple[int | None, float | None]] = [(3, 42.0), (5, -90.5), (5, 120.25)]
    for _ in range(3000):
        key = rng.choice([0, 1, 2, 7, 23, None])
        seconds = round(rng.uniform(-3600, 20000), 6) if rng.random() > 0.05 else None
        data.append((key, seconds))
    data.append((9, None))  # a group without a duration
    with any_app.app_context():
        sample.create(db.engine)
        db.session.execute(insert(sample), [{"k": k, "s": s} for k, s in data])
        db.session.commit()
        yield data
        db.session.rollback()
        sample.drop(db.engine)


def test_every_group_s_quantiles_are_percentile_cont_s(
    any_app: Flask, rows: list[tuple[int | None, float | None]]
) -> None:
    by_key: dict[int | None, list[float]] = defaultdict(list)
    for key, seconds in rows:
        by_key[key]  # every key has its group, the one without durations too
        if seconds is not None:
            by_key[key].append(seconds)
    everything = [s for _k, s in rows if s is not None]
    with any_app.app_context():
        found = quantiles(
            db.session(),
            select(sample.c.k, sample.c.s),
            {
                "all": Grouping("s", None, {None: len(everything)}),
                "by_key": Grouping("s", "k", {k: len(v) for k, v in by_key.items()}),
            },
            QS,
        )
        assert found["all"][None] == pytest.approx(
            [interpolated(everything, q) for q in QS], abs=1e-6
        )
        # Rows without a key are no group; a group without durations has no quantiles.
        expected: dict[int | None, list[float | None]] = {
            k: [interpolated(v, q) for q in QS] for k, v in by_key.items() if k is not None
        }
        assert set(found["by_key"]) == {k for k, v in expected.items() if by_key[k]}
        for key, values in found["by_key"].items():
            assert values == pytest.approx(expected[key], abs=1e-6), key
        assert found["by_key"][3] == [42.0, 42.0]
        assert found["by_key"][5] == pytest.approx([14.875, 99.175])

        # The database's own aggregate agrees (percentile_cont on PostgreSQL).
        for q, column in zip(QS, (0, 1), strict=True):
            own: dict[int | None, float] = dict(
                db.session.execute(
                    select(sample.c.k, quantile(sample.c.s, q)).group_by(sample.c.k)
                ).all()
            )
            for key, values in found["by_key"].items():
                assert values[column] == pytest.approx(own[key], abs=1e-6)


def test_no_rows_no_quantiles(any_app: Flask) -> None:
    with any_app.app_context():
        sample.create(db.engine)
        try:
            found = quantiles(
                db.session(),
                select(sample.c.k, sample.c.s),
                {"all": Grouping("s", None, {None: 0}), "by_key": Grouping("s", "k", {})},
                QS,
            )
            assert found == {"all": {}, "by_key": {}}
        finally:
            db.session.rollback()
            sample.drop(db.engine)
