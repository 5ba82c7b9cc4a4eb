"""Quantiles of many groups at once, each grouping from one sort.

``percentile_cont`` grouped by a key sorts the rows by the key and then each group by
its value again: for a year of ten offices, half a million rows sorted twice per
grouping. Here a grouping's rows are ordered once, by one integer that holds the group
key in its high bits and the duration in microseconds in its low bits, and one
``percentile_disc`` over that order picks the ranks every group's quantiles need:
with the groups' sizes known, the k-th value of a group is the (offset + k)-th of the
whole order. The result is percentile_cont's (linear interpolation between the closest
ranks), exactly, to the microsecond.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Subquery,
    cast,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

SHIFT = 1 << 40  # a group's range in the order
ZERO = 1 << 39  # durations from -ZERO to ZERO microseconds (six days) fit in the range
KEYS = 1 << 22  # group keys (ids, ranks) from -KEYS to KEYS keep the order in a bigint

Key = int | None


def ordered(key: ColumnElement[Any] | None, seconds: ColumnElement[Any]) -> ColumnElement[int]:
    """Rows by the group ``key`` (a small integer, none: all rows one group), then by
    ``seconds``, as one bigint. NULL where either is NULL, which the quantiles skip.
    Every duration a report takes is within one day."""
    micros = cast(func.round(seconds * 1_000_000), BigInteger) + ZERO
    return micros if key is None else cast(key, BigInteger) * SHIFT + micros


class nth_values(FunctionElement[Any]):
    """``nth_values(order, ranks, total)``: an aggregate, the values at the 0-based
    ``ranks`` among the ``total`` non-null values of ``order``, sorted."""

    inherit_cache = False  # the ranks are written into the statement
    name = "nth_values"

    def __init__(self, order: ColumnElement[int], ranks: Sequence[int], total: int) -> None:
        self.ranks, self.total = list(ranks), total
        super().__init__(order)


@compiles(nth_values, "postgresql")
def _nth_pg(element: nth_values, compiler: SQLCompiler, **kw: Any) -> str:
    # percentile_disc(f) is the value at 1-based position ceil(f * total): the middle of
    # a position's share of the fraction picks that position whatever the rounding.
    fractions = ", ".join(repr((rank + 0.5) / element.total) for rank in element.ranks)
    return (
        f"percentile_disc(ARRAY[{fractions}]::float8[]) "
        f"WITHIN GROUP (ORDER BY {compiler.process(element.clauses, **kw)})"
    )


@compiles(nth_values, "sqlite")
def _nth_sqlite(element: nth_values, compiler: SQLCompiler, **kw: Any) -> str:
    ranks = json.dumps(element.ranks)  # integers only: safe to write into the statement
    return f"okienko_nth_values({compiler.process(element.clauses, **kw)}, '{ranks}')"


class NthValues:
    """SQLite's side of ``nth_values``: collects the values, picks the ranks at the end."""

    def __init__(self) -> None:
        self.values: list[int] = []
        self.ranks = "[]"

    def step(self, value: int | None, ranks: str) -> None:
        self.ranks = ranks
        if value is not None:
            self.values.append(value)

    def finalize(self) -> str:
        self.values.sort()
        found = self.values
        # A rank past the end (fewer rows than counted) is None; quantiles() says so.
        return json.dumps([found[r] if r < len(found) else None for r in json.loads(self.ranks)])


@dataclass(frozen=True)
class Grouping:
    """Which durations of a report's rows (the column ``seconds``) to take quantiles of,
    grouped by the column ``key`` (None: all rows one group), with each group's number
    of durations (the non-null ones, counted by the same key)."""

    seconds: str
    key: str | None
    sizes: Mapping[Key, int]


@dataclass
class _Group:
    key: Key
    offset: int  # how many values of the grouping's earlier groups come before its own
    positions: list[tuple[int, int, float]]  # per quantile: the ranks either side, how far

    @classmethod
    def of(cls, key: Key, offset: int, size: int, qs: Sequence[float]) -> _Group:
        positions = []
        for q in qs:  # percentile_cont's definition
            at = q * (size - 1)
            low = math.floor(at)
            positions.append((offset + low, offset + min(low + 1, size - 1), at - low))
        return cls(key, offset, positions)

    def quantiles(self, at_rank: Mapping[int, int]) -> list[float | None]:
        base = ZERO if self.key is None else self.key * SHIFT + ZERO
        out: list[float | None] = []
        for low, high, fraction in self.positions:
            first, second = (at_rank[low] - base) / 1e6, (at_rank[high] - base) / 1e6
            out.append(first + (second - first) * fraction)
        return out


def quantiles(
    session: Session,
    rows: Select[*tuple[Any, ...]],
    groupings: Mapping[str, Grouping],
    qs: Sequence[float],
) -> dict[str, dict[Key, list[float | None]]]:
    """Each group's ``qs`` quantiles, for each of the ``groupings`` of ``rows``, from one
    statement: grouping → key → quantiles. A group without durations has none."""
    source = rows.subquery("ranked")
    plans: dict[str, tuple[list[_Group], list[int], int]] = {}
    picks: list[_Pick] = []
    for name, grouping in groupings.items():
        groups: list[_Group] = []
        total = 0
        # The order sorts the groups by key; rows with a NULL key are NULL in it.
        keys = [k for k in grouping.sizes if k is not None] if grouping.key else [None]
        if any(k is not None and not -KEYS < k < KEYS for k in keys):
            raise ValueError(f"{name}: a group key beyond ±{KEYS} cannot be ordered")
        for key in sorted(keys, key=lambda k: k or 0):
            if size := grouping.sizes.get(key, 0):
                groups.append(_Group.of(key, total, size, qs))
                total += size
        ranks = sorted(
            {rank for g in groups for low, high, _ in g.positions for rank in (low, high)}
        )
        plans[name] = groups, ranks, total
        if ranks:
            by = None if grouping.key is None else source.c[grouping.key]
            picks.append(_Pick(name, ordered(by, source.c[grouping.seconds]), ranks, total))
    found = _read(session, source, picks)
    result: dict[str, dict[Key, list[float | None]]] = {}
    for name, (groups, ranks, total) in plans.items():
        values, read = found.get(name, ([], 0))
        if ranks and read != total:
            # Sizes from rows other than these would pick other groups' values.
            raise RuntimeError(f"{name}: {total} durations counted, {read} read")
        at_rank = dict(zip(ranks, values, strict=True))
        result[name] = {g.key: g.quantiles(at_rank) for g in groups}
    return result


@dataclass(frozen=True)
class _Pick:
    """The ranks to pick from one grouping's order of its ``total`` durations."""

    name: str
    order: ColumnElement[int]
    ranks: list[int]
    total: int


def _read(
    session: Session, source: Subquery, picks: Sequence[_Pick]
) -> dict[str, tuple[list[Any], int]]:
    """Each pick's values at its ranks and the number of durations it read, from one
    statement. On PostgreSQL the picks are split in two halves of about as many rows, the
    branches of a UNION ALL that two processes can each take (an ordered-set aggregate
    has no parallel form of its own): each half reads the rows once and sorts them once
    per grouping, side by side on two cores."""
    if not picks:
        return {}
    if session.get_bind().dialect.name != "postgresql" or len(picks) < 2:
        columns = []
        for pick in picks:
            columns += [
                nth_values(pick.order, pick.ranks, pick.total).label(pick.name),
                func.count(pick.order).label(f"{pick.name}_total"),
            ]
        row = session.execute(select(*columns)).one()._asdict()
        found = {}
        for pick in picks:
            values = row[pick.name]
            if isinstance(values, str):  # SQLite's side answers in JSON
                values = json.loads(values)
            found[pick.name] = (values, row[f"{pick.name}_total"])
        return found
    halves: tuple[list[_Pick], list[_Pick]] = ([], [])
    for pick in sorted(picks, key=lambda p: -p.total):  # the larger sorts first, greedily
        min(halves, key=lambda half: sum(p.total for p in half)).append(pick)
    branches = []
    for index, half in enumerate(halves):
        values = [nth_values(p.order, p.ranks, p.total) for p in half]
        joined = values[0]
        for more in values[1:]:
            joined = joined.op("||")(more)
        totals = postgresql.array([func.count(p.order) for p in half])
        branches.append(select(literal(index).label("half"), joined, totals).select_from(source))
    found = {}
    for index, values, totals in session.execute(union_all(*branches)):
        at = 0
        for pick, read in zip(halves[index], totals, strict=True):
            # A half that read none of its rows has no values at all (NULL || ... is
            # NULL): its count says so, which quantiles() reports.
            found[pick.name] = ((values or [])[at : at + len(pick.ranks)], read)
            at += len(pick.ranks)
    return found
