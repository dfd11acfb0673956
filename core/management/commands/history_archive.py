"""Write months of a partitioned table to compressed files, row count checked, and with
--drop retire them (docs/operations.md, "History")."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core import history, partitions


class Command(BaseCommand):
    help = (
        "Archive a month of a partitioned history table to <dir>/<partition>.csv.gz (row count"
        " checked); without --month, every month past the table's retention. --drop then"
        " detaches and drops each month whose archive holds all its rows."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--table",
            default="accounts_statusevent",
            choices=sorted(partitions.TABLES),
            help="the partitioned table (default: the status history)",
        )
        parser.add_argument("--month", help="YYYY-MM: this month, whether expired or not")
        parser.add_argument("--dir", help="where the files go (default: HISTORY_ARCHIVE_DIR)")
        parser.add_argument("--drop", action="store_true", help="drop each month once archived")

    def handle(self, *args: Any, **opts: Any) -> None:
        table: str = opts["table"]
        if not partitions.is_partitioned(table):
            raise CommandError(f"{table} is not partitioned (run migrate)")
        directory = Path(opts["dir"]) if opts["dir"] else history.archive_dir()
        if directory is None:
            raise CommandError("no directory: give --dir or set HISTORY_ARCHIVE_DIR")
        if opts["month"]:
            try:
                month = partitions.month_start(partitions.month_parse(opts["month"]))
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            wanted = [p for p in partitions.partitions(table) if p.lo == month]
            if not wanted:
                raise CommandError(f"{table} has no partition for {opts['month']}")
        else:
            wanted = partitions.expired(table)
            if not wanted:
                self.stdout.write(f"{table}: no month past its retention")
        for part in wanted:
            try:
                if opts["drop"]:
                    done = history.month_retire(table=table, part=part, directory=directory)
                    steps = ", ".join(f"{step} {ms:.0f} ms" for step, ms in done.steps)
                    self.stdout.write(
                        f"{part.name}: {done.rows} rows archived to {done.archived}, dropped"
                        f" ({steps}; the parent table's lock held or awaited at most"
                        f" {done.detach.longest_ms if done.detach else 0:.0f} ms)"
                    )
                else:
                    a = history.partition_archive(table=table, name=part.name, directory=directory)
                    self.stdout.write(
                        f"{part.name}: {a.rows} rows -> {a.path} ({a.bytes:,} bytes,"
                        f" {a.seconds:.1f} s), count checked"
                    )
            except history.ArchiveError as exc:
                raise CommandError(str(exc)) from None
