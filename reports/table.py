"""What every report returns: tables of figures with their labels, and how to chart them.

The web page, the CSV and XLSX downloads and the JSON API all render the same
``Report``: the table is the accessible version, the chart is drawn from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from flask_babel import LazyString

# int: a count; share: a fraction 0..1 shown as a percentage; minutes: a duration in
# minutes (float, one decimal); text: a label (a service's name, a counter's);
# date: an ISO date (a day, or the first day of a week or month); hour: 0..23;
# weekday: 0 (Monday)..6; number: another figure with decimals (an average per day), one place.
Kind = Literal["int", "share", "minutes", "text", "date", "hour", "weekday", "number"]


@dataclass(frozen=True)
class Column:
    key: str  # stable, used in the JSON API and as the CSV/XLSX header's machine name
    label: LazyString | str  # translated, for the page and the files
    kind: Kind


@dataclass(frozen=True)
class Chart:
    type: Literal["bar", "line", "stacked"]
    x: str  # the column key on the x axis
    series: tuple[str, ...]  # the column keys drawn as bars or lines


@dataclass
class Table:
    key: str  # stable within the report, e.g. "by_service"
    title: LazyString | str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    chart: Chart | None = None


@dataclass
class Report:
    name: str  # the URL name: visitors, bookings, services, waiting, handling, load, today
    title: LazyString | str
    tables: list[Table]
