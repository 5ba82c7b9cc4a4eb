"""Flask extensions, created here and bound to the app in ``create_app``."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect

babel = Babel()
csrf = CSRFProtect()
migrate = Migrate()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
talisman = Talisman()

# Scripts, styles, images, streams and fetches from this site only; nothing inline (no
# 'unsafe-inline'), nothing evaluated, no plugins, no framing. The kiosk's camera picture
# goes to a <video> as a MediaStream and to a <canvas>, which no directive restricts;
# QR codes are images from this site; the display's EventSource and fetches go to it too.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "media-src": "'self'",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
