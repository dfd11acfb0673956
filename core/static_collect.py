"""Static files are served under hashed names (ManifestStaticFilesStorage through WhiteNoise),
so a browser never runs last month's script after a deploy. Pages can name a file only once
`collectstatic` has written the manifest: production's release step runs it; the demo runner
and the test runner call `ensure_collected()`, which runs it when a source file is newer than
the manifest."""

from __future__ import annotations

from pathlib import Path


def _newest_source(dirs: list[Path]) -> float:
    newest = 0.0
    for root in dirs:
        for path in root.rglob("*"):
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    return newest


def ensure_collected() -> bool:
    """Run collectstatic when the manifest is missing or older than a file under
    STATICFILES_DIRS; True when it ran."""
    from django.conf import settings
    from django.core.management import call_command

    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    sources = [Path(d) for d in settings.STATICFILES_DIRS]
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source(sources):
        return False
    call_command("collectstatic", interactive=False, verbosity=0)
    return True
