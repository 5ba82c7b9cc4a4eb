"""The reports' blueprint: /admin/reports/, behind the administration's roles."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/admin/reports")
