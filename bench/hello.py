"""A Flask hello-world: the limit that bench/http_ratio.py measures the project against.

Served by the same gunicorn command as the project (``gunicorn ... bench.hello:app``
from the project root); one route, a short text, nothing else.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
