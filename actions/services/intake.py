"""Every way in (the form, a CSV upload, the API) reaches one service, `actions_intake`:
one validator, one pre-check, one decision, one function that queues. The CSV upload reads
its file once (`csv_read`) and hands the rows to the same service.

Nothing is queued unless every action of the submission is valid, or the user explicitly
chose to queue the valid ones of a CSV (draft batches)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.files import File
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.access import accounts_visible_to, agent_for_user
from accounts.choices import DetailStatus, OnlineStatus, Presence
from accounts.models import Agent, WhatsAppAccount
from actions import live as actions_live
from actions.models import Action, ActionBatch, Lane, State
from actions.services.dispatch.loop import wake_dispatcher
from core.access import acting_user, can, sees_everything
from core.audit import audit_record
from core.choices import label as code_label
from core.roles import Cap

NUMBER_RE = re.compile(r"\A[0-9]{6,20}\Z")  # ASCII digits only: `\d` also takes "٣"
CONTENT_MAX_LENGTH = 1000
CSV_MAX_BYTES = 2 * 1024 * 1024
CSV_MAX_ROWS = 10_000
CSV_COLUMNS = ("agentAccount", "whatsId", "friendWhatsId", "platformType", "content")
CSV_REQUIRED_COLUMNS = ("agentAccount", "whatsId", "friendWhatsId", "platformType")

ONLINE_STATUS_ONLINE = 2  # queryWhatsAppStatus / syncWhatsAppStatus onlineStatus
PRESENCE_ONLINE = 10  # onlineStatus webhook status
ONLINE_STATUS_LOGGING_IN = OnlineStatus.LOGGING_IN


@dataclass(frozen=True)
class ActionSpec:
    """One validated action, ready to queue."""

    agent_account: str
    whatsapp: str
    friend_whatsapp: str
    platform: int
    content: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Checked:
    """The outcome of validating one action: a spec, or field errors; plus warnings."""

    spec: ActionSpec | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    forbidden: bool = False  # an agent asked for someone else's agent account
    line: int = 0  # where it came from: a CSV's line (the header is line 1), else 0
    raw: str = ""  # a CSV line as read, for the report

    @property
    def ok(self) -> bool:
        return self.spec is not None and not self.errors


class NotAllowed(Exception):
    """The user may not queue actions for this agent account."""


# --- validation ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _number_error(value: str, label: str) -> str | None:
    if not value:
        return _("%(field)s is required.") % {"field": label}
    if not NUMBER_RE.match(value):
        return _(
            "%(field)s must be 6 to 20 digits, with no spaces, + or dashes (got %(value)r)."
        ) % {
            "field": label,
            "value": value[:40],
        }
    return None


def action_validate(
    *,
    user: Any,
    agent_account: Any,
    whatsapp: Any,
    friend_whatsapp: Any,
    platform: Any,
    content: Any,
    agents: Mapping[str, Agent] | None = None,
    visible: frozenset[str] | None = None,
) -> Checked:
    """Validate one action's fields for `user`. `agents` (agent_account -> Agent) and
    `visible` (`visible_numbers(user=...)`) may be passed by callers validating many rows,
    to avoid queries per row.

    Someone who does not see the whole fleet may only name WhatsApp accounts they see: any
    other number is refused with one message, whether or not it exists."""
    out = Checked()
    agent_account_s = _text(agent_account)
    whatsapp_s = _text(whatsapp)
    friend_s = _text(friend_whatsapp)
    content_s = "" if content is None else str(content)
    platform_s = _text(platform)

    if not agent_account_s:
        out.errors.setdefault("agent_account", []).append(_("The agent account is required."))
    elif "\x00" in agent_account_s:
        out.errors.setdefault("agent_account", []).append(
            _("The agent account contains a NUL character.")
        )
    elif len(agent_account_s) > 64:
        out.errors.setdefault("agent_account", []).append(
            _("The agent account is at most 64 characters.")
        )
    else:
        agent = (
            agents.get(agent_account_s)
            if agents is not None
            else Agent.objects.filter(agent_account=agent_account_s).first()
        )
        if agent is None:
            out.errors.setdefault("agent_account", []).append(
                _("Unknown agent account %(account)r: it is not in Switchboard's agent list.")
                % {"account": agent_account_s}
            )
        elif not can(user, Cap.MANAGE_ACTIONS) and agent.user_id != getattr(user, "pk", None):
            out.forbidden = True
            own = agent_for_user(user)
            out.errors.setdefault("agent_account", []).append(
                _("You may only queue actions for your own agent account (%(own)s).")
                % {"own": own.agent_account if own else _("none is linked to your user")}
            )

    for key, value, label in (
        ("whatsapp", whatsapp_s, _("The WhatsApp account")),
        ("friend_whatsapp", friend_s, _("The friend's number")),
    ):
        problem = _number_error(value, str(label))
        if problem:
            out.errors.setdefault(key, []).append(problem)
    if "whatsapp" not in out.errors and not sees_everything(user):
        mine = visible if visible is not None else visible_numbers(user=user, among=[whatsapp_s])
        if whatsapp_s not in mine:
            out.errors.setdefault("whatsapp", []).append(
                _(
                    "You may only name your own WhatsApp accounts; %(w)s is not one of the "
                    "accounts you can see."
                )
                % {"w": whatsapp_s}
            )
    if whatsapp_s and whatsapp_s == friend_s:
        out.errors.setdefault("friend_whatsapp", []).append(
            _("The friend's number must differ from the WhatsApp account.")
        )

    platform_i: int | None = None
    if platform_s in ("1", "2"):
        platform_i = int(platform_s)
    else:
        out.errors.setdefault("platform", []).append(
            _("The platform must be 1 (PC) or 2 (Android) (got %(value)r).")
            % {"value": platform_s[:20]}
        )

    if "\x00" in content_s:
        out.errors.setdefault("content", []).append(_("The message contains a NUL character."))
    elif len(content_s) > CONTENT_MAX_LENGTH:
        out.errors.setdefault("content", []).append(
            _("The message is at most %(max)d characters (it has %(n)d).")
            % {"max": CONTENT_MAX_LENGTH, "n": len(content_s)}
        )

    if not out.errors and platform_i is not None:
        out.spec = ActionSpec(
            agent_account=agent_account_s,
            whatsapp=whatsapp_s,
            friend_whatsapp=friend_s,
            platform=platform_i,
            content=content_s,
        )
    return out


def logging_in(account: WhatsAppAccount) -> bool:
    """A login under way: the seed's own onlineStatus example is `status: 1` (outside the
    10/20/30/40 table) with `detailStatus` 11 ("PC QR code login"), or the account status
    itself says "logging in" (onlineStatus 1)."""
    if account.online_status == ONLINE_STATUS_LOGGING_IN:
        return True
    documented = account.presence_status in Presence.values
    return not documented and account.detail_status == DetailStatus.PC_QR_LOGIN


def visible_numbers(*, user: Any, among: Iterable[str]) -> frozenset[str]:
    """Which of `among` name accounts `user` sees (one query)."""
    numbers = {n for n in among if n and "\x00" not in n}
    if not numbers:
        return frozenset()
    return frozenset(
        accounts_visible_to(user).filter(whatsapp__in=numbers).values_list("whatsapp", flat=True)
    )


def precheck(*, user: Any, specs: Iterable[ActionSpec]) -> dict[tuple[str, str], list[str]]:
    """Warnings per (agent account, WhatsApp account) pair that is not online by our state.

    Online means the account exists here and either its onlineStatus is 2 or its presence
    is 10. The vendor fails an action after a minute when the pair is not logged in.
    Only accounts `user` sees are read: a warning never tells about anyone else's."""
    pairs = {(s.agent_account, s.whatsapp) for s in specs}
    numbers = {w for _a, w in pairs}
    accounts = {a.whatsapp: a for a in accounts_visible_to(user).filter(whatsapp__in=numbers)}
    warnings: dict[tuple[str, str], list[str]] = {}
    for agent_account, whatsapp in sorted(pairs):
        account = accounts.get(whatsapp)
        found: list[str] = []
        if account is None:
            found.append(
                _(
                    "WhatsApp account %(w)s is not known to Switchboard, so it cannot be "
                    "confirmed online; the vendor fails the action after 1 minute if it is not "
                    "logged in."
                )
                % {"w": whatsapp}
            )
        else:
            online = (
                account.online_status == ONLINE_STATUS_ONLINE
                or account.presence_status == PRESENCE_ONLINE
            )
            if not online and logging_in(account):
                found.append(
                    _(
                        "WhatsApp account %(w)s is logging in (the vendor's latest word: "
                        "%(detail)s); the vendor fails the action after 1 minute if the login "
                        "does not finish."
                    )
                    % {"w": whatsapp, "detail": code_label(DetailStatus, account.detail_status)}
                )
            elif not online:
                found.append(
                    _(
                        "WhatsApp account %(w)s is not online by our latest status; the vendor "
                        "fails the action after 1 minute if it is not logged in."
                    )
                    % {"w": whatsapp}
                )
            elif account.agent_account and account.agent_account != agent_account:
                found.append(
                    _(
                        "WhatsApp account %(w)s is online under agent %(other)s, not "
                        "%(agent)s; the action fails if %(agent)s is not logged in with it."
                    )
                    % {"w": whatsapp, "other": account.agent_account, "agent": agent_account}
                )
        if found:
            warnings[(agent_account, whatsapp)] = found
    return warnings


def warnings_for(spec: ActionSpec, table: Mapping[tuple[str, str], list[str]]) -> list[str]:
    return list(table.get((spec.agent_account, spec.whatsapp), []))


# --- queueing -----------------------------------------------------------------------------


def _lanes_for(specs: Sequence[ActionSpec]) -> dict[tuple[str, str], Lane]:
    pairs = {(s.agent_account, s.whatsapp) for s in specs}
    existing = {
        (lane.agent_account, lane.whatsapp): lane
        for lane in Lane.objects.filter(
            agent_account__in={a for a, _w in pairs}, whatsapp__in={w for _a, w in pairs}
        )
    }
    missing = [Lane(agent_account=a, whatsapp=w) for (a, w) in pairs if (a, w) not in existing]
    if missing:
        Lane.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {
            (lane.agent_account, lane.whatsapp): lane
            for lane in Lane.objects.filter(
                agent_account__in={a for a, _w in pairs}, whatsapp__in={w for _a, w in pairs}
            )
        }
    return existing


def actions_queue(
    *,
    user: Any,
    specs: Sequence[ActionSpec],
    warnings: Mapping[tuple[str, str], list[str]] | None = None,
    batch: ActionBatch | None = None,
) -> list[Action]:
    """Queue validated actions (all or nothing) and wake the dispatcher on commit."""
    if not specs:
        return []
    table = warnings if warnings is not None else precheck(user=user, specs=specs)
    with transaction.atomic():
        lanes = _lanes_for(specs)
        agents = {
            a.agent_account: a
            for a in Agent.objects.filter(agent_account__in={s.agent_account for s in specs})
        }
        rows = [
            Action(
                lane=lanes[(s.agent_account, s.whatsapp)],
                batch=batch,
                agent=agents[s.agent_account],
                agent_account=s.agent_account,
                whatsapp=s.whatsapp,
                friend_whatsapp=s.friend_whatsapp,
                platform=s.platform,
                content=s.content,
                state=State.QUEUED,
                reason=str(_("Waiting for its turn in the lane.")),
                warnings=warnings_for(s, table),
                created_by=acting_user(user),
            )
            for s in specs
        ]
        created = Action.objects.bulk_create(rows, batch_size=1000)
        # Everyone's queued actions are audited, agents' too.
        audit_record(
            actor=user,
            action="actions.queue",
            target_type="action_batch" if batch else "action",
            target_id=str(batch.pk if batch else created[0].pk),
            after={"count": len(created), "pairs": len(lanes)},
        )
        actions_live.actions_changed(action_ids=[a.pk for a in created])
        wake_dispatcher()
    return created


def batch_create(*, user: Any, source: str, name: str = "") -> ActionBatch:
    return ActionBatch.objects.create(
        source=source,
        name=name[:255],
        created_by=acting_user(user),
    )


def agents_by_account(accounts: Iterable[str]) -> dict[str, Agent]:
    names = {a for a in accounts if "\x00" not in a}  # PostgreSQL text cannot hold NUL
    return {a.agent_account: a for a in Agent.objects.filter(agent_account__in=names)}


# --- one service for every way in ---------------------------------------------------------

# The fields of one action, by the name every way in uses after reading its input.
FIELDS = ("agent_account", "whatsapp", "friend_whatsapp", "platform", "content")


@dataclass(frozen=True)
class Row:
    """One submitted action before validation: its fields as given, and where it came from."""

    fields: Mapping[str, Any]
    line: int = 0  # a CSV's line number (the header is line 1)
    raw: str = ""  # a CSV line as read, for the report
    problem: str = ""  # the row could not be read at all (a CSV line with too few fields)


class Outcome:
    QUEUED = "queued"  # every action is queued (with a batch for a CSV or an API list)
    INVALID = "invalid"  # some rows are invalid: nothing queued (form, API)
    FORBIDDEN = "forbidden"  # an agent named another agent's account: nothing queued (API)
    CONFIRM = "confirm"  # valid, but some pairs are not online: ask first (form)
    DRAFT = "draft"  # a CSV with bad lines or unconfirmed warnings: kept for the user to decide
    FILE_ERROR = "file_error"  # the CSV file itself is unusable


@dataclass
class Intake:
    """What became of one submission, whatever the way in."""

    outcome: str
    rows: list[Checked] = field(default_factory=list)
    warnings: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    created: list[Action] = field(default_factory=list)
    batch: ActionBatch | None = None
    file_error: str = ""

    @property
    def all_warnings(self) -> list[str]:
        return sorted({str(w) for msgs in self.warnings.values() for w in msgs})

    @property
    def first_forbidden(self) -> Checked | None:
        return next((c for c in self.rows if c.forbidden), None)


def rows_check(*, user: Any, rows: Sequence[Row], dedupe: bool = False) -> list[Checked]:
    """Validate many rows with two queries (agents, visible numbers). With `dedupe`, a row
    that repeats an earlier one is refused (a CSV's copy-paste slip)."""
    agents = agents_by_account(_text(r.fields.get("agent_account")) for r in rows)
    visible = visible_numbers(user=user, among=(_text(r.fields.get("whatsapp")) for r in rows))
    seen: dict[tuple[str, str, str, str], int] = {}
    out: list[Checked] = []
    for row in rows:
        if row.problem:
            out.append(Checked(errors={"non_field_errors": [row.problem]}, line=row.line))
        else:
            checked = action_validate(
                user=user, **{k: row.fields.get(k) for k in FIELDS}, agents=agents, visible=visible
            )
            checked.line = row.line
            spec = checked.spec
            if dedupe and checked.ok and spec is not None:
                key = (spec.agent_account, spec.whatsapp, spec.friend_whatsapp, spec.content)
                if key in seen:
                    checked.spec = None
                    checked.errors["non_field_errors"] = [
                        _("Same action as line %(line)d (queued once).") % {"line": seen[key]}
                    ]
                else:
                    seen[key] = row.line
            out.append(checked)
        out[-1].raw = row.raw
    return out


def actions_intake(
    *,
    user: Any,
    source: str,
    rows: Sequence[Row],
    confirm: bool,
    many: bool = False,
    name: str = "",
) -> Intake:
    """Validate, pre-check and queue one submission (a form row, an API object or list, a
    CSV's rows); `many` (an API list) queues them as one batch, as a CSV always is.

    - A CSV with bad lines, or with warnings the user did not confirm, becomes a draft
      batch holding its valid rows (`draft_confirm` queues them, `draft_discard` drops it).
    - Otherwise any invalid row refuses the whole submission (FORBIDDEN first: an agent
      named another agent's account), and unconfirmed warnings ask first (CONFIRM).
    The API confirms always: offline pairs are queued and their warnings returned."""
    if not rows:
        return Intake(Outcome.INVALID)
    is_csv = source == ActionBatch.Source.CSV
    checked = rows_check(user=user, rows=rows, dedupe=is_csv)
    specs = [c.spec for c in checked if c.ok and c.spec is not None]
    warnings = precheck(user=user, specs=specs)
    invalid = any(not c.ok for c in checked)
    if is_csv and (invalid or (warnings and not confirm)):
        draft = batch_create(user=user, source=source, name=name)
        draft.status = ActionBatch.Status.DRAFT
        draft.draft_rows = [
            {"line": c.line, **c.spec.as_dict()} for c in checked if c.ok and c.spec
        ]
        draft.draft_errors = [
            {
                "line": c.line,
                "messages": [str(m) for msgs in c.errors.values() for m in msgs],
                "raw": c.raw,
            }
            for c in checked
            if not c.ok
        ]
        draft.draft_warnings = [
            {"agent_account": a, "whatsapp": w, "messages": [str(m) for m in msgs]}
            for (a, w), msgs in sorted(warnings.items())
        ]
        draft.save()
        return Intake(Outcome.DRAFT, rows=checked, warnings=warnings, batch=draft)
    if any(c.forbidden for c in checked):
        return Intake(Outcome.FORBIDDEN, rows=checked)
    if invalid:
        return Intake(Outcome.INVALID, rows=checked)
    if warnings and not confirm:
        return Intake(Outcome.CONFIRM, rows=checked, warnings=warnings)
    batch = batch_create(user=user, source=source, name=name) if is_csv or many else None
    created = actions_queue(user=user, specs=specs, warnings=warnings, batch=batch)
    return Intake(Outcome.QUEUED, rows=checked, warnings=warnings, created=created, batch=batch)


def actions_intake_csv(*, user: Any, upload: File[Any], confirm: bool) -> Intake:
    """A CSV upload: the file is read once (one byte past the limit, enough for `csv_read`
    to tell it is too big), then its rows go through `actions_intake`."""
    read = csv_read(raw=upload.read(CSV_MAX_BYTES + 1))
    if read.file_error:
        return Intake(Outcome.FILE_ERROR, file_error=read.file_error)
    return actions_intake(
        user=user,
        source=ActionBatch.Source.CSV,
        rows=read.rows,
        confirm=confirm,
        name=upload.name or "upload.csv",
    )


# --- CSV ----------------------------------------------------------------------------------


@dataclass
class CsvRead:
    """A file read into rows (not yet validated), or the file-level error that stops it."""

    file_error: str = ""
    rows: list[Row] = field(default_factory=list)


# The CSV's column names (the vendor's words) as the intake's field names.
CSV_FIELDS = dict(zip(CSV_COLUMNS, FIELDS, strict=True))


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8-sig")


def csv_read(*, raw: bytes, max_bytes: int = CSV_MAX_BYTES) -> CsvRead:
    """Read an upload into rows (no database): encoding, columns, size and shape.
    Line numbers are the file's (the header is line 1)."""
    out = CsvRead()
    if len(raw) > max_bytes:
        out.file_error = _(
            "The file is %(size)s bytes; the limit is %(max)s bytes (about %(rows)s lines). "
            "Split it into smaller files."
        ) % {"size": f"{len(raw):,}", "max": f"{max_bytes:,}", "rows": f"{CSV_MAX_ROWS:,}"}
        return out
    if not raw.strip():
        out.file_error = _("The file is empty. The first line must name the columns: %s.") % (
            ", ".join(CSV_COLUMNS)
        )
        return out
    try:
        text = _decode(raw)
    except UnicodeDecodeError as exc:
        out.file_error = _(
            "The file is not UTF-8 text (byte 0x%(byte)02x at position %(pos)d). Save it as "
            "'CSV UTF-8' and upload it again."
        ) % {"byte": raw[exc.start], "pos": exc.start}
        return out
    if "\x00" in text:
        out.file_error = _("The file contains NUL bytes: it is not a CSV text file.")
        return out
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        out.file_error = _("The first line could not be read: %s") % exc
        return out
    names = [h.strip() for h in header]
    index = {n: i for i, n in enumerate(names) if n}
    missing = [c for c in CSV_REQUIRED_COLUMNS if c not in index]
    unknown = [n for n in names if n and n not in CSV_COLUMNS]
    if missing or unknown or len(index) != len([n for n in names if n]):
        parts = []
        if missing:
            parts.append(_("missing %s") % ", ".join(missing))
        if unknown:
            parts.append(_("unexpected %s") % ", ".join(unknown[:10]))
        if len(index) != len([n for n in names if n]):
            parts.append(_("a column is named twice"))
        out.file_error = _(
            "Wrong columns (%(problems)s). The first line must be: %(expected)s "
            "(content may be left out)."
        ) % {"problems": "; ".join(str(p) for p in parts), "expected": ",".join(CSV_COLUMNS)}
        return out

    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue  # blank line
            text_line = ",".join(record)[:200]
            if len(record) != len(names):
                problem = _("Expected %(want)d fields, found %(got)d.") % {
                    "want": len(names),
                    "got": len(record),
                }
                out.rows.append(Row({}, line=line, raw=text_line, problem=problem))
            else:
                fields = {CSV_FIELDS[n]: record[i] for n, i in index.items()}
                out.rows.append(Row(fields, line=line, raw=text_line))
            if len(out.rows) > CSV_MAX_ROWS:
                out.file_error = _(
                    "The file has more than %(max)s lines of actions. Split it into smaller files."
                ) % {"max": f"{CSV_MAX_ROWS:,}"}
                return out
    except csv.Error as exc:
        out.file_error = _("Line %(line)d could not be read as CSV: %(error)s") % {
            "line": reader.line_num,
            "error": exc,
        }
        return out
    if not out.rows:
        out.file_error = _("The file has a header line but no actions.")
    return out


@dataclass
class CsvLineError:
    line: int
    messages: list[str]
    raw: str = ""


@dataclass
class CsvReport:
    """A dry run of an upload: valid rows (with their line numbers) and per-line errors,
    or a file-level error (encoding, columns, size) that stops everything."""

    file_error: str = ""
    rows: list[tuple[int, ActionSpec]] = field(default_factory=list)
    errors: list[CsvLineError] = field(default_factory=list)
    warnings: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    @property
    def lines(self) -> int:
        return len(self.rows) + len(self.errors)


def csv_parse(*, user: Any, raw: bytes, max_bytes: int = CSV_MAX_BYTES) -> CsvReport:
    """Read and validate an upload without queueing anything (the same checks as
    `actions_intake_csv`)."""
    read = csv_read(raw=raw, max_bytes=max_bytes)
    report = CsvReport(file_error=read.file_error)
    if read.file_error:
        return report
    for c in rows_check(user=user, rows=read.rows, dedupe=True):
        if c.ok and c.spec is not None:
            report.rows.append((c.line, c.spec))
        else:
            messages = [m for msgs in c.errors.values() for m in msgs]
            report.errors.append(CsvLineError(c.line, messages, c.raw))
    report.warnings = precheck(user=user, specs=[spec for _line, spec in report.rows])
    return report


def draft_confirm(*, user: Any, batch: ActionBatch) -> int:
    """The user chose to queue a draft's valid rows (the invalid lines are skipped).
    Rows are validated again: an agent account may have been removed meanwhile."""
    with transaction.atomic():
        locked = ActionBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status != ActionBatch.Status.DRAFT:
            return 0
        rows = [Row(r, line=int(r.get("line") or 0)) for r in locked.draft_rows]
        specs = [c.spec for c in rows_check(user=user, rows=rows) if c.ok and c.spec is not None]
        locked.status = ActionBatch.Status.QUEUED
        locked.draft_rows = []
        locked.save(update_fields=["status", "draft_rows"])
        actions_queue(user=user, specs=specs, batch=locked)
    return len(specs)


def draft_discard(*, user: Any, batch: ActionBatch) -> None:
    ActionBatch.objects.filter(pk=batch.pk, status=ActionBatch.Status.DRAFT).update(
        status=ActionBatch.Status.DISCARDED, draft_rows=[]
    )
