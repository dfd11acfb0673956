"""One webhook receipt's CPU beside the sign-in page's, in this process (no HTTP, no wrk).
Run: `.venv/bin/python bench/receipt.py [--requests N] [--profile]`.

The webhook bench's closed loop compares a delivery with the anonymous sign-in page over
HTTP; this measures the same two requests through the site's WSGI application
(config/wsgi.py, what gunicorn and a2wsgi call), process time only, which varies far less
with a shared machine's load: a signed onlineStatus delivery of one record (the callback
handler, the receiver, its service, the INSERT and what follows the commit) and GET /login/.
The deliveries are built and signed before the clock starts (the vendor's work).
--profile adds cProfile's cumulative view of the deliveries (where their time goes).

Database, broker and cache from the environment (DATABASE_URL, CELERY_BROKER_URL,
CACHE_URL), migrated first; the deliveries are left pending in the inbox. Prints figures
only, with the load average.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import load_line, wsgi_call


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("WEBHOOK_SECRETS", "bench-webhook-secret")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    os.environ.setdefault("DEBUG", "false")
    import django

    django.setup()
    from django.core.management import call_command

    from bench.webhooks import make_body, signed
    from config.wsgi import application

    call_command("migrate", verbosity=0)
    url = "/api/callback/whatsapp/onlineStatus"
    base = int(time.time()) % 10_000 * 10_000  # distinct records from run to run
    total = 100 + args.requests * (3 if args.profile else 2)
    deliveries = [(b, signed(b)) for b in (make_body(base + i, 1) for i in range(total))]

    def post(i: int) -> None:
        body, headers = deliveries[i]
        assert wsgi_call(application, url, method="POST", body=body, headers=headers).status == 200

    def get(_i: int) -> None:
        assert wsgi_call(application, "/login/").status == 200

    for f in (get, post):  # imports, caches, connections
        for i in range(50):
            f(i)
    offset = 50
    for name, f in (("sign-in page (GET /login/)", get), ("webhook delivery, 1 record", post)):
        t0 = time.process_time()
        for i in range(args.requests):
            f(offset + i)
        offset += args.requests
        ms = (time.process_time() - t0) / args.requests * 1000
        print(f"{name}: {ms:.2f} ms of CPU per request (n={args.requests}) [{load_line()}]")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for i in range(args.requests):
            post(offset + i)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
