"""Account import: parse and validate a file, stage it (keys encrypted), then import it.

A file is accepted whole or not at all: any file-level problem (too big, not UTF-8, not
JSON / CSV, wrong columns) or any row error (bad number, missing key, duplicate within
the file) rejects it with line numbers and stores nothing. Accounts that already exist
are flagged and left out. The import itself runs in chunks on the SLOW queue.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import BulkJob, BulkJobItem, ImportRow, WhatsAppAccount
from core.audit import audit_record
from core.crypto import Secret
from core.tasks import enqueue_on_commit

# Vendor field -> ImportRow field. The number may be spelled several ways (DESIGN s.4).
NUMBER_FIELDS = ("whatsApp", "whatsapp", "whatsId", "")
KEY_FIELDS = {
    "publicKey": "public_key",
    "privateKey": "private_key",
    "msgPublicKey": "msg_public_key",
    "msgPrivateKey": "msg_private_key",
    "accountId": "vendor_account_id",
    "nextKeyId": "next_key_id",
    "registrationId": "registration_id",
    "deviceParams": "device_params",
}
REQUIRED_KEYS = ("publicKey", "privateKey", "msgPublicKey", "msgPrivateKey", "accountId")
OTHER_FIELDS = ("name", "avatar", "whatsappType")
KNOWN = set(NUMBER_FIELDS) | set(KEY_FIELDS) | set(OTHER_FIELDS)
MAX_ROWS = 100_000
GET_KEYS, NEW_KEYS, UNCHANGED = "get_keys", "new_keys", "unchanged"
MAX_ERRORS_SHOWN = 200


class ImportFileError(Exception):
    """The file as a whole cannot be read (message is for the page)."""


@dataclass
class RowProblem:
    line: int
    message: str


@dataclass
class ParsedRow:
    line: int
    whatsapp: str
    name: str
    avatar: str
    whatsapp_type: int | None
    keys: dict[str, str] = field(repr=False)


@dataclass
class ParseResult:
    rows: list[ParsedRow]
    errors: list[RowProblem]
    existing: list[ParsedRow]
    # Per known account of the file: "get_keys" (none stored), "new_keys" (different keys
    # stored) or "unchanged" (the same keys stored).
    existing_state: dict[str, str] = field(default_factory=dict)
    # Every line whose number is already in the fleet (its row valid or not), in file
    # order: reported row by row in the first pass, before anything is applied.
    known_lines: list[tuple[int, str]] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for v in self.existing_state.values() if v == state)

    def keyed(self) -> list[ParsedRow]:
        """Known accounts whose keys an import with replace_keys sets or replaces."""
        return [r for r in self.existing if self.existing_state.get(r.whatsapp) != UNCHANGED]

    def summary(self, *, replace_keys: bool) -> dict[str, Any]:
        return {
            "new": len(self.rows),
            "get_keys": self.count(GET_KEYS),
            "new_keys": self.count(NEW_KEYS),
            "unchanged": self.count(UNCHANGED),
            "replace_keys": replace_keys,
        }

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows or self.existing)


def _read_text(upload: UploadedFile) -> str:
    size = upload.size or 0
    limit = int(settings.IMPORT_MAX_BYTES)
    if size > limit:
        raise ImportFileError(
            _(
                "The file is %(size).1f MiB; the limit is %(limit).0f MiB. "
                "Split it into smaller files."
            )
            % {"size": size / 1048576, "limit": limit / 1048576}
        )
    raw = upload.read(limit + 1)
    if len(raw) > limit:
        raise ImportFileError(_("The file is larger than the limit. Split it into smaller files."))
    if not raw.strip():
        raise ImportFileError(_("The file is empty."))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            _(
                "The file is not UTF-8 text (first bad byte on line %(line)s). "
                "Save it as UTF-8 and upload it again."
            )
            % {"line": line}
        ) from exc


def _records_from_json(text: str) -> list[tuple[int, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            _("The file is not valid JSON (line %(line)s, column %(col)s: %(msg)s).")
            % {"line": exc.lineno, "col": exc.colno, "msg": exc.msg}
        ) from exc
    if isinstance(data, dict) and "whatsAppList" in data:
        data = data["whatsAppList"]
    if not isinstance(data, list):
        raise ImportFileError(
            _('Expected {"whatsAppList": [...]} (the batchInsert shape) or a list of accounts.')
        )
    # Line numbers for JSON: the item's position (1-based) in whatsAppList.
    return [(i, rec) for i, rec in enumerate(data, start=1)]


def _records_from_csv(text: str) -> list[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    if not header:
        raise ImportFileError(_("The CSV file has no header row."))
    header = [h.strip() for h in header]
    reader.fieldnames = header
    unknown = [h for h in header if h not in KNOWN]
    has_number = any(h in header for h in NUMBER_FIELDS if h)
    missing = [k for k in REQUIRED_KEYS if k not in header]
    if unknown or missing or not has_number:
        parts = []
        if not has_number:
            parts.append(_("no whatsApp column"))
        if missing:
            parts.append(_("missing columns: %(c)s") % {"c": ", ".join(missing)})
        if unknown:
            parts.append(_("unknown columns: %(c)s") % {"c": ", ".join(unknown)})
        raise ImportFileError(
            _("Wrong columns (%(detail)s). Expected the batchInsert columns: %(cols)s.")
            % {"detail": "; ".join(parts), "cols": expected_columns()}
        )
    out = []
    try:
        for rec in reader:
            if None in rec:
                raise ImportFileError(
                    _("Line %(line)s has more values than the header has columns.")
                    % {"line": reader.line_num}
                )
            out.append((reader.line_num, rec))
    except csv.Error as exc:
        raise ImportFileError(
            _("The CSV file cannot be read (line %(line)s: %(msg)s).")
            % {"line": reader.line_num, "msg": exc}
        ) from exc
    return out


def expected_columns() -> str:
    return ", ".join(["whatsApp", "whatsappType", "name", "avatar", *KEY_FIELDS])


def normalise_number(value: Any) -> str | None:
    """Digits with the country code, or None when it cannot be a WhatsApp number."""
    text = str(value if value is not None else "").strip().replace(" ", "").replace("-", "")
    text = text.removeprefix("+")
    if not text.isdigit() or not 7 <= len(text) <= 15:
        return None
    try:
        parsed = phonenumbers.parse("+" + text, None)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.region_code_for_country_code(parsed.country_code or 0) == "ZZ":
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return text


def _record_number(rec: Any) -> str | None:
    """The normalised number of a record, when it has one (its other fields aside)."""
    if not isinstance(rec, dict):
        return None
    raw = next((rec[k] for k in NUMBER_FIELDS if rec.get(k) not in (None, "")), "")
    return normalise_number(raw) if raw else None


def _check(line: int, rec: Any, errors: list[RowProblem]) -> ParsedRow | None:
    if not isinstance(rec, dict):
        errors.append(RowProblem(line, _("Each account must be an object.")))
        return None
    unknown = [k for k in rec if k not in KNOWN]
    if unknown:
        errors.append(
            RowProblem(line, _("Unknown fields: %(f)s.") % {"f": ", ".join(map(str, unknown))})
        )
        return None
    raw_number = next((rec[k] for k in NUMBER_FIELDS if rec.get(k) not in (None, "")), "")
    number = normalise_number(raw_number)
    problems = []
    if not raw_number:
        problems.append(_("the number (whatsApp) is missing"))
    elif number is None:
        problems.append(
            _("“%(n)s” is not a phone number with its country code") % {"n": str(raw_number)[:32]}
        )
    missing = [k for k in REQUIRED_KEYS if not str(rec.get(k) or "").strip()]
    if missing:
        problems.append(_("empty %(f)s") % {"f": ", ".join(missing)})
    wtype: int | None = None
    if rec.get("whatsappType") not in (None, ""):
        try:
            wtype = int(rec["whatsappType"])
        except (TypeError, ValueError):
            wtype = -1
        if wtype not in (1, 2):
            problems.append(_("the whatsappType must be 1 (personal) or 2 (business)"))
    name = str(rec.get("name") or "")
    if len(name) > 150:
        problems.append(_("the name is longer than 150 characters"))
    avatar = str(rec.get("avatar") or "")
    if len(avatar) > 1000:
        problems.append(_("the avatar is longer than 1000 characters"))
    if problems:
        text = "; ".join(problems)
        # A sentence starts with a capital, but a field name leading it (as in Chinese,
        # "publicKey 为空") is a code and keeps its case.
        if not any(text.startswith(name) for name in KNOWN if name):
            text = text[:1].upper() + text[1:]
        errors.append(RowProblem(line, _("%(problems)s.") % {"problems": text}))
        return None
    assert number is not None
    return ParsedRow(
        line=line,
        whatsapp=number,
        name=name,
        avatar=avatar,
        whatsapp_type=wtype,
        keys={f: str(rec.get(k) or "") for k, f in KEY_FIELDS.items()},
    )


def import_parse(*, upload: UploadedFile) -> ParseResult:
    """Read and validate the whole file. Raises ImportFileError for file-level problems."""
    text = _read_text(upload)
    name = (upload.name or "").lower()
    stripped = text.lstrip()
    if name.endswith(".json") or stripped.startswith(("{", "[")):
        records = _records_from_json(text)
    else:
        records = _records_from_csv(text)
    return _parse_records(records)


def import_parse_data(*, data: Any) -> ParseResult:
    """Validate accounts sent as JSON (the API): `{"whatsAppList": [...]}` or a list.
    Raises ImportFileError when the shape is wrong."""
    if isinstance(data, dict) and "whatsAppList" in data:
        data = data["whatsAppList"]
    if not isinstance(data, list):
        raise ImportFileError(
            _('Expected {"whatsAppList": [...]} (the batchInsert shape) or a list of accounts.')
        )
    return _parse_records(list(enumerate(data, start=1)))


def _parse_records(records: list[tuple[int, Any]]) -> ParseResult:
    if not records:
        raise ImportFileError(_("The file holds no accounts."))
    if len(records) > MAX_ROWS:
        raise ImportFileError(
            _("The file holds %(n)s accounts; at most %(max)s per file.")
            % {"n": len(records), "max": MAX_ROWS}
        )
    errors: list[RowProblem] = []
    rows: list[ParsedRow] = []
    # A number's first line, whether or not that row is valid: a repeat is reported in the
    # same pass as the first row's own problems, not only after they are fixed.
    first_seen: dict[str, int] = {}
    numbered: list[tuple[int, str]] = []
    for line, rec in records:
        row = _check(line, rec, errors)
        number = row.whatsapp if row is not None else _record_number(rec)
        if number is not None and number in first_seen:
            errors.append(
                RowProblem(
                    line,
                    _("Duplicate of line %(first)s (%(n)s).")
                    % {"first": first_seen[number], "n": number},
                )
            )
            continue
        if number is not None:
            first_seen[number] = line
            numbered.append((line, number))
        if row is not None:
            rows.append(row)
    existing_numbers: set[str] = set()
    numbers = [n for _line, n in numbered]
    for i in range(0, len(numbers), 5000):
        existing_numbers.update(
            WhatsAppAccount.objects.filter(whatsapp__in=numbers[i : i + 5000]).values_list(
                "whatsapp", flat=True
            )
        )
    existing = [r for r in rows if r.whatsapp in existing_numbers]
    fresh = [r for r in rows if r.whatsapp not in existing_numbers]
    errors.sort(key=lambda p: p.line)
    return ParseResult(
        rows=fresh,
        errors=errors,
        existing=existing,
        existing_state=_key_states(existing),
        known_lines=[(line, n) for line, n in numbered if n in existing_numbers],
    )


def _clear(value: Any) -> str:
    return value.reveal() if isinstance(value, Secret) else str(value or "")


def _key_states(existing: list[ParsedRow]) -> dict[str, str]:
    """Compare the file's keys with the stored ones (decrypted in memory only)."""
    from accounts.models import AccountKeys

    states: dict[str, str] = {}
    by_number = {r.whatsapp: r for r in existing}
    numbers = list(by_number)
    for i in range(0, len(numbers), 2000):
        part = numbers[i : i + 2000]
        stored = {
            k.account.whatsapp: k
            for k in AccountKeys.objects.filter(account__whatsapp__in=part).select_related(
                "account"
            )
        }
        for number in part:
            keys = stored.get(number)
            if (
                keys is None
                or not all(
                    getattr(keys, f) for f in ("public_key", "private_key", "msg_public_key")
                )
                or not keys.msg_private_key
            ):
                states[number] = GET_KEYS
            elif all(
                _clear(getattr(keys, f)) == by_number[number].keys.get(f, "")
                for f in AccountKeys.SECRET_FIELDS
            ):
                states[number] = UNCHANGED
            else:
                states[number] = NEW_KEYS
    return states


def import_stage(
    *, actor: Any, result: ParseResult, filename: str, replace_keys: bool = False
) -> BulkJob:
    """Store the validated rows (keys encrypted) under a job waiting for confirmation.
    New accounts are always staged; with `replace_keys`, so are known accounts that get
    keys or new keys (known accounts with the same keys are left out)."""
    if result.errors:
        raise ImportFileError(_("Fix the errors first: nothing was imported."))
    staged = result.rows + (result.keyed() if replace_keys else [])
    if not staged:
        raise ImportFileError(_("Every account in this file already exists: nothing to import."))
    keyed = {r.whatsapp for r in result.keyed()} if replace_keys else set()
    left_out = [r.whatsapp for r in result.existing if r.whatsapp not in keyed]
    left_out_lines = [[r.line, r.whatsapp] for r in result.existing if r.whatsapp not in keyed]
    with transaction.atomic():
        job = BulkJob.objects.create(
            kind=BulkJob.Kind.IMPORT,
            state=BulkJob.State.PREVIEW,
            created_by=actor,
            total=len(staged),
            filename=filename[:255],
            params={
                "existing": left_out[:1000],
                "existing_lines": left_out_lines[:1000],
                "existing_count": len(left_out),
                "summary": result.summary(replace_keys=replace_keys),
                "replace_keys": replace_keys,
            },
        )
        ImportRow.objects.bulk_create(
            [
                ImportRow(
                    job=job,
                    line=r.line,
                    whatsapp=r.whatsapp,
                    name=r.name,
                    avatar=r.avatar,
                    whatsapp_type=r.whatsapp_type,
                    **r.keys,
                )
                for r in staged
            ],
            batch_size=1000,
        )
    return job


def import_confirm(*, actor: Any, job: BulkJob) -> BulkJob:
    with transaction.atomic():
        job = BulkJob.objects.select_for_update().get(pk=job.pk)
        if job.kind != BulkJob.Kind.IMPORT or job.state != BulkJob.State.PREVIEW:
            return job
        numbers = list(job.import_rows.order_by("line").values_list("whatsapp", flat=True))
        BulkJobItem.objects.bulk_create(
            [BulkJobItem(job=job, whatsapp=n) for n in numbers], batch_size=1000
        )
        job.state = BulkJob.State.QUEUED
        job.total = len(numbers)
        job.save(update_fields=["state", "total"])
        audit_record(
            actor=actor,
            action="accounts.import",
            target_type="bulk_job",
            target_id=str(job.pk),
            before={"state": BulkJob.State.PREVIEW},
            after={
                "state": BulkJob.State.QUEUED,
                "count": len(numbers),
                "filename": job.filename,
                "whatsapps": numbers[:200],
                "replace_keys": bool(job.params.get("replace_keys")),
                "summary": job.params.get("summary", {}),
            },
        )
        enqueue_on_commit("accounts.tasks.fleet.import_run", job.pk)
    return job


def import_cancel(*, actor: Any, job: BulkJob) -> None:
    with transaction.atomic():
        if job.state == BulkJob.State.PREVIEW:
            rows = job.import_rows.count()
            job.import_rows.all().delete()
            job.state = BulkJob.State.CANCELLED
            job.save(update_fields=["state"])
            audit_record(
                actor=actor,
                action="accounts.import.cancel",
                target_type="bulk_job",
                target_id=str(job.pk),
                before={"state": BulkJob.State.PREVIEW, "rows": rows, "filename": job.filename},
                after={"state": BulkJob.State.CANCELLED},
            )
