"""Grouped quantiles from one sort (reports/ranks.py) against percentile_cont's definition.

Random durations to the microsecond, negative ones (an appointment called early) among
them, in groups of one, two and many values, with rows without a group or a duration,
on SQLite and PostgreSQL. On PostgreSQL also against ``percentile_cont`` itself.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Column, Float, Integer, MetaData, Table, func, insert, select, text

from okienko.database import db
from reports.ranks import Grouping, quantiles
from reports.sql import interpolated, quantile, snapshot
from tests.helpers.apps import make_app

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


def test_sizes_that_are_not_the_rows_are_refused(
    any_app: Flask, rows: list[tuple[int | None, float | None]]
) -> None:
    """Sizes counted from other rows (say, before a ticket was called) would pick other
    groups' values: the statement counts its own rows and the mismatch is an error."""
    durations = sum(1 for _k, s in rows if s is not None)
    with any_app.app_context():
        for wrong in (durations - 1, durations + 1):
            with pytest.raises(RuntimeError, match="durations counted"):
                quantiles(
                    db.session(),
                    select(sample.c.k, sample.c.s),
                    {"all": Grouping("s", None, {None: wrong})},
                    QS,
                )
            db.session.rollback()


@pytest.fixture
def pg_app(request: pytest.FixtureRequest, tmp_path: Path) -> Flask:
    return make_app(request, tmp_path, "postgres")


@pytest.mark.postgres
def test_a_report_reads_one_read_only_snapshot_without_jit(pg_app: Flask) -> None:
    """On PostgreSQL the counts and the quantiles are separate statements: a row committed
    between them by another connection must not be seen (REPEATABLE READ)."""
    with pg_app.app_context():
        sample.create(db.engine)
        try:
            db.session.execute(insert(sample), [{"k": 1, "s": 1.0}])
            db.session.commit()
            with snapshot(db.session()) as session:
                assert session.scalar(text("SHOW transaction_read_only")) == "on"
                assert session.scalar(text("SHOW transaction_isolation")) == "repeatable read"
                assert session.scalar(text("SHOW jit")) == "off"
                before = session.scalar(select(func.count()).select_from(sample))
                with db.engine.begin() as other:
                    other.execute(insert(sample), [{"k": 2, "s": 2.0}])
                assert session.scalar(select(func.count()).select_from(sample)) == before == 1
            # After the report the session reads the database as it is, and may write again.
            assert db.session.scalar(select(func.count()).select_from(sample)) == 2
            assert db.session.scalar(text("SHOW transaction_read_only")) == "off"
        finally:
            db.session.rollback()
            sample.drop(db.engine)
