"""The administration's pages; each module adds its routes to ``bp``."""

from . import account as _account  # noqa: F401
from . import accounts as _accounts  # noqa: F401
from . import closures as _closures  # noqa: F401
from . import counters as _counters  # noqa: F401
from . import devices as _devices  # noqa: F401
from . import home  # noqa: F401
from . import hours as _hours  # noqa: F401
from . import office_settings as _office_settings  # noqa: F401
from . import regime as _regime  # noqa: F401
from . import services as _services  # noqa: F401
from . import tokens as _tokens  # noqa: F401
from . import transfer as _transfer  # noqa: F401
from .blueprint import bp

__all__ = ["bp"]
