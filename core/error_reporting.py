"""Optional error reporting to Sentry (or any Sentry-protocol service, e.g. GlitchTip):
on when `SENTRY_DSN` is set. Events are scrubbed like the logs (core/logging.py): secret
fields and configured secret values masked, the webhook path token masked in URLs, no
personal data (`send_default_pii` off), no request bodies."""

from __future__ import annotations

from typing import Any

from core.logging import mask_path, redact


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return mask_path(redact(value)) if value.startswith("/hooks/") else redact(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def scrub_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        url = request.get("url")
        if isinstance(url, str) and "/hooks/" in url:
            scheme, _, rest = url.partition("://")
            host, _, path = rest.partition("/")
            request["url"] = f"{scheme}://{host}{mask_path('/' + path)}"
    return _scrub(event)  # type: ignore[no-any-return]


def init_error_reporting(*, dsn: str, environment: str, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,  # type: ignore[arg-type]
    )
