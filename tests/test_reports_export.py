"""The CSV and XLSX downloads: a report with every kind of figure rendered by
``reports.export``, then the known office's November downloaded on both databases."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from queueing.models import Role
from reports.export import BOM, report_csv, report_xlsx, sheet_names
from reports.table import Chart, Column, Report, Table
from tests.helpers.factories import MadeOffice, MakeOffice, MakeService
from tests.helpers.report_pages import KNOWN_OFFICE, known_office, signed_in

LONG = "Sprawy: [udział]/trend* w Łodzi? i Plzni\\ – bardzo długi tytuł"
COLUMNS = [
    Column("service", "Usługa", "text"),
    Column("served", "Obsłużeni", "int"),
    Column("share", "Udział", "share"),
    Column("median", "Mediana (min)", "minutes"),
    Column("day", "Dzień", "date"),
    Column("hour", "Godzina", "hour"),
    Column("weekday", "Dzień tygodnia", "weekday"),
    Column("per_day", "Na dzień", "number"),
]
ROWS = [
    {
        "service": "Zamiana lokalu – Łódź, Výměna bytu – Plzeň",
        "served": 1234,
        "share": 0.375,
        "median": 12.3,
        "day": date(2026, 11, 2),
        "hour": 9,
        "weekday": 0,
        "per_day": 1.5,
    },
    {
        "service": "Přihlášení k pobytu",
        "served": 0,
        "share": None,
        "median": None,
        "day": date(2026, 11, 3),
        "hour": 14,
        "weekday": 1,
        "per_day": 0.0,
    },
]
REPORT = Report(
    "services",
    "Najczęstsze sprawy – Nejčastější služby",
    [
        Table("first", LONG, COLUMNS, ROWS, Chart("bar", "service", ("served",))),
        Table("second", LONG, COLUMNS, ROWS[:1]),
        Table("empty", "Bez danych", [Column("count", "Liczba", "int")], []),
    ],
)
HEADING = [("Biura", "Okienko – Łódź"), ("Okres", "2026-11-01 – 2026-11-30")]
QUERY = f"office={KNOWN_OFFICE}&period=month&first=2026-11-01&grain=day"


def blocks(body: bytes) -> list[list[list[str]]]:
    """The CSV's blocks, split at its blank lines."""
    assert body.startswith(BOM.encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    found: list[list[list[str]]] = [[]]
    for row in rows:
        if row:
            found[-1].append(row)
        else:
            found.append([])
    return found


# --- The files, from a report --------------------------------------------------------


def test_the_csv_has_a_bom_a_block_per_table_and_plain_figures(app: Flask) -> None:
    with app.test_request_context():
        body = report_csv(REPORT, HEADING, locale="pl")
    assert body[:3] == b"\xef\xbb\xbf"
    assert b"\r\n" in body
    about, first, second, empty = blocks(body)
    assert about == [
        ["Najczęstsze sprawy – Nejčastější služby"],
        ["Biura", "Okienko – Łódź"],
        ["Okres", "2026-11-01 – 2026-11-30"],
    ]
    assert first == [
        [LONG],
        ["Usługa", "Obsłużeni", "Udział (%)", "Mediana (min)", "Dzień", "Godzina",
         "Dzień tygodnia", "Na dzień"],
        ["Zamiana lokalu – Łódź, Výměna bytu – Plzeň", "1234", "37.5", "12.3", "2026-11-02",
         "09:00", "Poniedziałek", "1.5"],
        ["Přihlášení k pobytu", "0", "", "", "2026-11-03", "14:00", "Wtorek", "0.0"],
    ]  # fmt: skip
    assert second[2] == first[2]
    assert empty == [["Bez danych"], ["Liczba"]]


def test_weekdays_are_named_in_the_readers_language(app: Flask) -> None:
    with app.test_request_context():
        body = report_csv(REPORT, HEADING, locale="cs")
    assert blocks(body)[1][2][6] == "Pondělí"


def test_sheet_names_are_what_excel_accepts() -> None:
    tables = [Table(str(n), title, []) for n, title in enumerate((LONG, LONG, "", "a" * 40))]
    names = sheet_names(tables)
    assert names == [
        "Sprawy   udział  trend  w Łodzi",
        "Sprawy   udział  trend  w Ł (2)",
        "3",
        "a" * 31,
    ]
    for name in names:
        assert len(name) <= 31 and not set(name) & set("[]:*?/\\")


def test_the_xlsx_has_a_sheet_per_table_with_numbers_dates_and_percentages(app: Flask) -> None:
    with app.test_request_context():
        body = report_xlsx(REPORT, HEADING, locale="pl")
    book = load_workbook(io.BytesIO(body))
    assert book.sheetnames == sheet_names(REPORT.tables)
    sheet = book.worksheets[0]
    assert sheet["A1"].value == LONG and sheet["A1"].font.b
    assert [sheet["A2"].value, sheet["A3"].value] == [
        "Biura: Okienko – Łódź",
        "Okres: 2026-11-01 – 2026-11-30",
    ]
    header = [cell.value for cell in sheet[5]]
    assert header[:3] == ["Usługa", "Obsłużeni", "Udział (%)"]
    assert all(cell.font.b for cell in sheet[5])
    assert sheet.freeze_panes == "A6"
    first = [cell.value for cell in sheet[6]]
    assert first == [
        "Zamiana lokalu – Łódź, Výměna bytu – Plzeň", 1234, 0.375, 12.3,
        datetime(2026, 11, 2), "09:00", "Poniedziałek", 1.5,
    ]  # fmt: skip
    formats = [cell.number_format for cell in sheet[6]]
    assert formats[1:5] == ["#,##0", "0.0%", "0.0", "yyyy-mm-dd"]
    assert sheet["E6"].is_date
    assert [cell.value for cell in sheet[7]][1:4] == [0, None, None]
    assert sheet.column_dimensions["A"].width > sheet.column_dimensions["B"].width >= 10
    assert [cell.value for cell in book.worksheets[2][5]] == ["Liczba"]
    assert book.worksheets[2].max_row == 5


def test_names_never_become_formulas(app: Flask) -> None:
    """A counter or service named like a formula stays a name in both files."""
    table = Table("t", "Stanowiska", [Column("counter", "Stanowisko", "text"),
                                      Column("change", "Zmiana", "share")],
                  [{"counter": "=HYPERLINK(\"http://x\")", "change": -0.25},
                   {"counter": "@Okno", "change": 0.5}])  # fmt: skip
    report = Report("handling", "Obsługa", [table])
    with app.test_request_context():
        csv_body = report_csv(report, [("Biura", "+Okno")], locale="pl")
        xlsx_body = report_xlsx(report, [("Biura", "+Okno")], locale="pl")
    about, rows = blocks(csv_body)
    assert about[1] == ["Biura", "'+Okno"]
    assert rows[2:] == [['\'=HYPERLINK("http://x")', "-25.0"], ["'@Okno", "50.0"]]
    sheet = load_workbook(io.BytesIO(xlsx_body)).worksheets[0]
    assert (sheet["A5"].value, sheet["A5"].data_type) == ('=HYPERLINK("http://x")', "s")
    assert (sheet["B5"].value, sheet["B5"].data_type) == (-0.25, "n")


def test_control_characters_in_names_do_not_break_the_xlsx(app: Flask) -> None:
    """A worksheet cannot hold most control characters: they are left out, not a 500."""
    table = Table("t", "Okna\x0b", [Column("counter", "Okno\x01", "text")],
                  [{"counter": "Okno\x0b1"}])  # fmt: skip
    with app.test_request_context():
        body = report_xlsx(
            Report("handling", "Obsługa", [table]), [("Biuro", "A\x02")], locale="pl"
        )
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    assert [sheet["A1"].value, sheet["A2"].value] == ["Okna", "Biuro: A"]
    assert [sheet["A4"].value, sheet["A5"].value] == ["Okno", "Okno1"]


# --- The downloads, from the known office --------------------------------------------


@pytest.fixture
def manager(any_app: Flask, make_office: MakeOffice, make_service: MakeService) -> FlaskClient:
    office: MadeOffice = known_office(any_app, make_office, make_service)
    return signed_in(any_app, "okno-manager", Role.MANAGER, manages=[office.slug])


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    """A fixed day after the known history; first, so sessions are signed at it too."""
    with time_machine.travel(datetime(2026, 12, 10, 9, 0, tzinfo=UTC), tick=False):
        yield


def test_the_visitors_csv_download(manager: FlaskClient) -> None:
    response = manager.get(f"/admin/reports/visitors.csv?{QUERY}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=visitors_{KNOWN_OFFICE}_2026-11-01_2026-11-30.csv"
    )
    assert response.headers["Cache-Control"] == "no-store"
    about, by_time, totals = blocks(response.get_data())
    assert about[0] == ["Visitors served"]
    assert about[2] == ["Period", "2026-11-01 – 2026-11-30"]
    header, *days = by_time[1:]
    assert header == ["Day", "Appointments", "Walk-ins", "In person", "Phone consultations",
                      "Total"]  # fmt: skip
    assert len(days) == 30
    assert days[1] == ["2026-11-02", "0", "2", "2", "0", "2"]
    assert days[2] == ["2026-11-03", "1", "1", "2", "0", "2"]
    assert totals[2] == ["1", "3", "4", "0", "4"]


def test_czech_letters_come_through_the_csv(manager: FlaskClient) -> None:
    body = manager.get(f"/admin/reports/services.csv?{QUERY}&lang=cs").get_data()
    served = {row[0]: row for block in blocks(body) for row in block[2:]}
    assert served["Přihlášení k pobytu"][2] == "2"
    assert served["Výměna bytu"][2] == "2"


def test_the_waiting_xlsx_download(manager: FlaskClient) -> None:
    response = manager.get(f"/admin/reports/waiting.xlsx?{QUERY}&lang=pl")
    assert response.status_code == 200
    assert response.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=waiting_{KNOWN_OFFICE}_2026-11-01_2026-11-30.xlsx"
    )
    book = load_workbook(io.BytesIO(response.get_data()))
    overall, by_service = book.worksheets[:2]  # title, 3 rows of what it covers, a gap, header
    assert [c.value for c in overall[7]] == [5, 10.0, 22.0, 0.8, 0.8, 1.0]  # under its header
    rows = {row[0]: row[1:] for row in by_service.iter_rows(min_row=7, values_only=True)}
    # Registration: waits of 10, 10 and 5 minutes; the flat exchange: 5 and 30.
    assert rows["Meldunek – zgłoszenie"] == (3, 10.0, 10.0, 1.0, 1.0, 1.0)
    assert rows["Zamiana lokalu"] == (2, 17.5, 27.5, 0.5, 0.5, 1.0)
    assert by_service["E7"].number_format == "0.0%"
