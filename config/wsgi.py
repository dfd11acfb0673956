"""The site's WSGI application: the pages through Django's handler, the vendor's callbacks
through their own (config/callbacks.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
pages = get_wsgi_application()  # sets Django up first

from config.callbacks import CallbackHandler, routed  # noqa: E402

application = routed(pages, CallbackHandler())
