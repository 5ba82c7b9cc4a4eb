"""What the information notice (Art. 13 GDPR) names besides the office: the authority a
resident may complain to, by the office's country."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Authority:
    name: str  # in the country's language, as the authority calls itself
    address: str
    website: str


SUPERVISORY_AUTHORITIES = {
    "PL": Authority(
        "Prezes Urzędu Ochrony Danych Osobowych (UODO)",
        "ul. Stawki 2, 00-193 Warszawa",
        "https://uodo.gov.pl",
    ),
    "CZ": Authority(
        "Úřad pro ochranu osobních údajů (ÚOOÚ)",
        "Pplk. Sochora 27, 170 00 Praha 7",
        "https://uoou.gov.cz",
    ),
}


def supervisory_authority(country: str | None) -> Authority | None:
    """The data protection authority of ``country``; None where none is on record."""
    return SUPERVISORY_AUTHORITIES.get((country or "").upper())
