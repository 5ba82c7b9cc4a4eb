"""The reports' pages under /admin/reports/ and their downloads."""

from __future__ import annotations

from . import live as _live  # noqa: F401  registers its routes
from . import pages as _pages  # noqa: F401  registers its routes
from .blueprint import bp

__all__ = ["bp"]
