"""An office file (TOML) for tests that set an office up through `flask offices import`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from click.testing import Result
from flask import Flask

OFFICE = """
[[office]]
slug = "test-office"
name = "Urząd testowy"
address = "ul. Testowa 1, 00-001 Warszawa"
timezone = "{timezone}"
country = "PL"
slot_minutes = {slot_minutes}
{settings}

[[office.hours]]
days = [{days}]
open = "{opens}"
close = "{closes}"

[[office.services]]
key = "raty"
prefix = "R"
duration = 30
name = {{ pl = "Raty", cs = "Splátky", en = "Instalments" }}
documents = {{ pl = ["Dowód osobisty"] }}

[[office.counters]]
name = "Stanowisko 1"
services = "*"
"""


def office_file(
    *,
    timezone: str = "Europe/Warsaw",
    slot_minutes: int | str = 15,
    days: Sequence[str] = ("mon", "thu"),
    opens: str = "08:00",
    closes: str = "16:00",
    settings: str = "",
) -> str:
    """One office "test-office" with one service and one counter; ``settings`` are more
    lines of its ``[[office]]`` table, such as ``public_holidays = false``."""
    return OFFICE.format(
        timezone=timezone,
        slot_minutes=slot_minutes,
        settings=settings,
        days=", ".join(f'"{day}"' for day in days),
        opens=opens,
        closes=closes,
    )


def import_office(app: Flask, folder: Path, **values: Any) -> Result:
    """Write ``office_file(**values)`` into ``folder`` and import it with the CLI."""
    path = folder / "office.toml"
    path.write_text(office_file(**values), encoding="utf-8")
    return app.test_cli_runner().invoke(args=["offices", "import", str(path)])
