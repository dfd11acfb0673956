"""Retention of the partitioned history (core.partitions): a month is written to a
compressed file, its row count checked, and only then dropped.

The file is `<dir>/<partition>.csv.gz` (COPY ... CSV with a header, its records counted
back from the file and checked against the table) and a manifest
`<partition>.csv.gz.json` with the row count and the file's SHA-256. A month is dropped
only when its manifest says as many rows as the table holds: the month is detached first
(a short lock on the parent), counted again now that nothing can write it, archived again
if a late row arrived in between, and then dropped. A detached month left by an
interrupted run is finished by the next one.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from core import partitions
from core.partitions import Partition

log = logging.getLogger(__name__)


class ArchiveError(Exception):
    """The file does not hold what the table holds: the month is kept."""


@dataclass(frozen=True)
class Archived:
    partition: str
    path: Path
    rows: int
    seconds: float
    bytes: int


def archive_dir() -> Path | None:
    value = settings.HISTORY_ARCHIVE_DIR
    return Path(value) if value else None


def _manifest(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def manifest_rows(directory: Path, name: str) -> int | None:
    """The row count of the month's archive, or None when there is none or its file is not
    the one the manifest describes (its SHA-256 differs: truncated, replaced)."""
    path = directory / f"{name}.csv.gz"
    m = _manifest(path)
    if not (m.exists() and path.exists()):
        return None
    manifest = json.loads(m.read_text())
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        for block in iter(lambda: raw.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != manifest.get("sha256"):
        return None
    return int(manifest["rows"])


def partition_archive(*, table: str, name: str, directory: Path) -> Archived:
    """Write the partition (attached or detached) to <directory>/<name>.csv.gz and check
    that the file holds as many records as the table counts once the copy is done."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.csv.gz"
    part = path.with_name(path.name + ".part")
    t0 = time.perf_counter()
    digest = hashlib.sha256()
    with transaction.atomic(), connection.cursor() as cur:
        sql = f'COPY (SELECT * FROM "{name}" ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)'  # noqa: S608
        with (
            part.open("wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
            cur.cursor.copy(sql) as copy,
        ):
            for chunk in copy:
                gz.write(chunk)
        # Counted after the copy: a row written in between makes the counts differ, and the
        # archive is refused (the next run writes it again); history rows are never deleted.
        cur.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608
        expected = int(cur.fetchone()[0])
    written = _records_in(part, digest)
    if written != expected:
        part.unlink(missing_ok=True)
        raise ArchiveError(f"{name}: the file holds {written} rows, the table {expected}")
    os.replace(part, path)
    manifest = {
        "table": table,
        "partition": name,
        "rows": expected,
        "sha256": digest.hexdigest(),
        "written_at": datetime.now(UTC).isoformat(),
    }
    _manifest(path).write_text(json.dumps(manifest, indent=1) + "\n")
    return Archived(name, path, expected, time.perf_counter() - t0, path.stat().st_size)


def _records_in(path: Path, digest: hashlib._Hash) -> int:
    """CSV records in the compressed file (a field may hold a newline), header excluded."""
    with path.open("rb") as raw:
        for block in iter(lambda: raw.read(1 << 20), b""):
            digest.update(block)
    with gzip.open(path, "rt", encoding="utf-8", newline="") as text:
        return sum(1 for _ in csv.reader(io.TextIOWrapper(text.buffer, newline=""))) - 1  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Retired:
    """A month archived (when a directory is set) and dropped. `steps` are in the order run,
    each with its time in ms: "archive check" (the file's digest and the month's count, when
    a directory is set), "archive" (when written by this run), "detach" (the only lock on
    the table in use; absent when a previous run detached it), "count" and "drop"."""

    partition: str
    rows: int
    archived: Path | None
    detach: partitions.Locked | None
    drop: partitions.Locked
    steps: tuple[tuple[str, float], ...]

    @property
    def ms(self) -> float:
        return sum(ms for _, ms in self.steps)


def month_retire(*, table: str, part: Partition, directory: Path | None) -> Retired:
    """Archive (when a directory is set), detach, check the count, drop."""
    steps: list[tuple[str, float]] = []
    rows = None
    if directory is not None:
        t0 = time.perf_counter()
        rows = manifest_rows(directory, part.name)
        fresh = partitions.row_count(part.name)
        steps.append(("archive check", (time.perf_counter() - t0) * 1000))
        if rows != fresh:
            archived = partition_archive(table=table, name=part.name, directory=directory)
            rows = archived.rows
            steps.append(("archive", archived.seconds * 1000))
    detached = partitions.partition_detach(table, part.name)
    steps.append(("detach", detached.ms))
    return _detached_finish(
        table=table, name=part.name, rows=rows, directory=directory, detach=detached, steps=steps
    )


def _detached_finish(
    *,
    table: str,
    name: str,
    rows: int | None,
    directory: Path | None,
    detach: partitions.Locked | None,
    steps: list[tuple[str, float]],
) -> Retired:
    """The month is detached: nothing writes it any more. Its count is checked against the
    archive (archived again if a row arrived since), then the table is dropped."""
    t0 = time.perf_counter()
    now = partitions.row_count(name)
    steps.append(("count", (time.perf_counter() - t0) * 1000))
    if directory is not None and rows != now:
        archived = partition_archive(table=table, name=name, directory=directory)
        steps.append(("archive", archived.seconds * 1000))
        if archived.rows != now:
            raise ArchiveError(f"{name}: archived {archived.rows} rows, the month holds {now}")
    dropped = partitions.detached_drop(table, name)
    steps.append(("drop", dropped.ms))
    log.info(
        "history: dropped %s (%s rows): %s",
        name,
        now,
        ", ".join(f"{step} {ms:.0f} ms" for step, ms in steps),
    )
    return Retired(
        name,
        now,
        directory / f"{name}.csv.gz" if directory else None,
        detach,
        dropped,
        tuple(steps),
    )


def retention_run(*, now: datetime | None = None, tables: list[str] | None = None) -> list[Retired]:
    """Retire every month past its table's retention; first finish any month a previous
    run detached and did not drop."""
    directory = archive_dir()
    done: list[Retired] = []
    for table in tables or list(partitions.TABLES):
        if not partitions.is_partitioned(table):
            continue
        for name in partitions.detached_months(table):
            rows = manifest_rows(directory, name) if directory else None
            done.append(
                _detached_finish(
                    table=table, name=name, rows=rows, directory=directory, detach=None, steps=[]
                )
            )
        for part in partitions.expired(table, now=now):
            done.append(month_retire(table=table, part=part, directory=directory))
    return done
