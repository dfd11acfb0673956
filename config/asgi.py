"""The web server's one application (gunicorn with uvicorn workers; see deploy/).

Only the live stream (/live/) needs ASGI: it holds hundreds of pages open on one event
loop. Every other request is an ordinary synchronous Django request, and goes to the WSGI
application (config/wsgi.py: the pages through Django's handler, the vendor's callbacks
through their own) on a pool of threads (a2wsgi). Django's ASGI handler ran each of them in
a thread of its own, created for the request, with several hops between the event loop and
that thread: about twice the cost of the same request under WSGI (a 404 answered 183
against 380 req/s), and its database connection could not outlive the request. The pool's
threads keep theirs (CONN_MAX_AGE, or DB_POOL_MAX_SIZE). Measured in docs/operations.md.
"""

import gc
import os
from typing import Any

from a2wsgi import WSGIMiddleware
from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

streams = get_asgi_application()  # sets Django up first

from config.wsgi import application as wsgi_application  # noqa: E402 - after the set-up

# Django's WSGIHandler returns an HttpResponse, an iterable of bytes as WSGI wants; its
# stubs say so in their own words.
requests = WSGIMiddleware(wsgi_application, workers=settings.WEB_THREADS)
STREAM_PATH = "/live/"

# What is loaded by now (modules, classes, models, settings) lives as long as the worker:
# out of the collector's reach, a full collection no longer walks it. It walked about 150,000
# objects (35-45 ms with the GIL held, longer on busy cores) and stalled the requests in
# flight in that worker (bench/pages.py: rare 0.3 s answers). Python's docs recommend this
# for servers that load once and then serve.
gc.freeze()


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"] != scope.get("root_path", "") + STREAM_PATH:
        await requests(scope, receive, send)  # type: ignore[arg-type]
    else:
        await streams(scope, receive, send)
