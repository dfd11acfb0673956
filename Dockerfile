# Switchboard's production image: the Procfile's processes on a slim Debian base.
# Build: docker build -t switchboard .   Run: see compose.yaml and docs/containers.md.
FROM python:3.11-slim-bookworm AS build
ENV UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
# The production dependencies only: no dev tools, no embedded PostgreSQL (the demo group).
RUN uv sync --frozen --no-default-groups --no-install-project
COPY . .
# collectstatic needs no database and no secrets beyond placeholders that never leave the build.
RUN DATABASE_URL=postgres://build@127.0.0.1/build CACHE_URL=locmemcache:// \
    .venv/bin/python manage.py collectstatic --noinput

FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --uid 10001 switchboard
WORKDIR /app
COPY --from=build --chown=switchboard:switchboard /app /app
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 SWITCHBOARD_ENV=production LOG_JSON=true \
    WEB_BIND=0.0.0.0 HOOKS_BIND=0.0.0.0
USER switchboard
EXPOSE 8000 8002
ENTRYPOINT ["/app/deploy/container/run-process"]
CMD ["web"]
