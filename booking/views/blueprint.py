"""The one blueprint of the resident's pages, which every views module adds its routes to."""

from __future__ import annotations

from flask import Blueprint

# Endpoints are "booking.<function>" (booking.book, booking.manage...), whatever module holds them.
bp = Blueprint("booking", __name__)
