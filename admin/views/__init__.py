"""The administration's pages; each module adds its routes to ``bp``."""

from . import home  # noqa: F401
from .blueprint import bp

__all__ = ["bp"]
