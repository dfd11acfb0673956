"""JSON API for accounts, agents and registrations (docs/design.md section 3)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors
from accounts.access import accounts_visible_to, get_account_for_user
from accounts.choices import (
    AccountStatus,
    AccountType,
    OnlineStatus,
    Platform,
    Presence,
    VerifyType,
)
from accounts.models import Agent, BulkJob, ContactLookup, Registration, WhatsAppAccount
from accounts.services import contacts as contact_services
from accounts.services import fleet as fleet_services
from accounts.services import imports as import_services
from accounts.services import registration as registration_services
from accounts.services.agents import AgentExists, AgentInvalid, agent_create
from accounts.services.profile import profile_update_queue
from core.access import HasCap, can, sees_everything
from core.api import ChoiceDisplayField, ErrorSerializer, KeysetPagination, error, invalid
from core.roles import Cap

ERROR_BODY = ErrorSerializer
ROW_ERRORS = inline_serializer(
    "ImportRowErrors",
    fields={
        "detail": serializers.CharField(),
        "code": serializers.IntegerField(),
        "errors": inline_serializer(
            "ImportRowError",
            fields={"line": serializers.IntegerField(), "message": serializers.CharField()},
            many=True,
        ),
        "known": inline_serializer(
            "ImportKnownLine",
            fields={"line": serializers.IntegerField(), "whatsapp": serializers.CharField()},
            many=True,
            help_text="Lines whose number is already in the fleet (left out on import)",
        ),
    },
)
ACCEPTED = inline_serializer("Accepted", fields={"id": serializers.IntegerField()})
COMMON_ERRORS = {
    403: OpenApiResponse(ERROR_BODY, description="Not allowed for this user"),
    429: OpenApiResponse(ERROR_BODY, description="Too many requests"),
}


REG_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The registration id")


class AccountSerializer(serializers.ModelSerializer[WhatsAppAccount]):
    account_type_display = ChoiceDisplayField("account_type", AccountType)
    status_display = ChoiceDisplayField("status", AccountStatus)
    online_status_display = ChoiceDisplayField("online_status", OnlineStatus)
    platform_display = ChoiceDisplayField("platform", Platform)

    class Meta:
        model = WhatsAppAccount
        fields = [
            "whatsapp",
            "name",
            "account_type",
            "account_type_display",
            "status",
            "status_display",
            "online_status",
            "online_status_display",
            "agent_account",
            "platform",
            "platform_display",
            "last_event_at",
        ]


class AccountDetailSerializer(AccountSerializer):
    presence_status_display = ChoiceDisplayField("presence_status", Presence)
    detail_status_display = serializers.CharField(source="detail_status_label", read_only=True)

    class Meta(AccountSerializer.Meta):
        fields = [
            *AccountSerializer.Meta.fields,
            "avatar",
            "country",
            "source",
            "presence_status",
            "presence_status_display",
            "detail_status",
            "detail_status_display",
            "reason_code",
            "reason",
            "recycled",
            "online_status_at",
            "created_at",
            "updated_at",
        ]


class AccountKeyset(KeysetPagination):
    ordering = ("whatsapp",)


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter("whatsapp", str, description="exact number"),
            OpenApiParameter("status", int, description="1 normal, 2 banned"),
            OpenApiParameter("online_status", int, description="1-4"),
            OpenApiParameter("agent_account", str),
        ]
    )
)
class AccountList(generics.ListAPIView[WhatsAppAccount]):
    serializer_class = AccountSerializer
    pagination_class = AccountKeyset

    def get_queryset(self) -> QuerySet[WhatsAppAccount]:
        qs = accounts_visible_to(self.request.user)
        p = self.request.query_params
        if p.get("whatsapp"):
            qs = qs.filter(whatsapp=p["whatsapp"].lstrip("+"))
        for name in ("status", "online_status"):
            if p.get(name):
                try:
                    qs = qs.filter(**{name: int(p[name])})
                except ValueError:
                    raise serializers.ValidationError({name: "must be an integer"}) from None
        if p.get("agent_account"):
            qs = qs.filter(agent_account=p["agent_account"])
        return qs


class AccountDetail(generics.RetrieveAPIView[WhatsAppAccount]):
    serializer_class = AccountDetailSerializer
    lookup_field = "whatsapp"

    def get_object(self) -> WhatsAppAccount:
        return get_account_for_user(self.request.user, self.kwargs["whatsapp"])


class AgentSerializer(serializers.ModelSerializer[Agent]):
    user_id = serializers.CharField(source="upstream_user_id")
    whatsapps = serializers.SerializerMethodField()
    added_by_hand = serializers.SerializerMethodField()

    class Meta:
        model = Agent
        fields = [
            "user_id",
            "agent_account",
            "user_name",
            "whatsapps",
            "online",
            "last_seen_at",
            "added_by_hand",
        ]

    def get_whatsapps(self, obj: Agent) -> list[str]:
        return [a.whatsapp for a in obj.accounts.all()]

    def get_added_by_hand(self, obj: Agent) -> bool:
        return obj.added_by_id is not None


class AgentInputSerializer(serializers.Serializer[Any]):
    agent_account = serializers.CharField(max_length=200, allow_blank=True)
    user_id = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    user_name = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")


ERROR = inline_serializer(
    "AgentError",
    fields={
        "detail": serializers.CharField(),
        "code": serializers.IntegerField(),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()), required=False
        ),
    },
)


class AgentList(generics.ListAPIView[Agent]):
    serializer_class = AgentSerializer

    def get_queryset(self) -> QuerySet[Agent]:
        accounts = WhatsAppAccount.objects.only("id", "whatsapp", "agent_id").order_by("whatsapp")
        qs = Agent.objects.prefetch_related(Prefetch("accounts", queryset=accounts)).order_by(
            "agent_account"
        )
        if sees_everything(self.request.user):
            return qs
        return qs.filter(user_id=self.request.user.pk or 0)

    @extend_schema(
        request={"application/json": AgentInputSerializer},
        responses={201: AgentSerializer, 400: ERROR, 403: ERROR, 409: ERROR},
        description="A supervisor adds an agent the vendor has not reported yet.",
    )
    def post(self, request: Request) -> Response:
        if not can(request.user, Cap.MANAGE_ACCOUNTS):
            return Response(
                {"detail": "Only supervisors and admins may add agents.", "code": 403},
                status=status.HTTP_403_FORBIDDEN,
            )
        form = AgentInputSerializer(data=request.data)
        if not form.is_valid():
            errors = {k: [str(m) for m in v] for k, v in form.errors.items()}
            first = next(iter(errors.items()), ("", ["Invalid input."]))
            detail = f"{first[0]}: {first[1][0]}" if first[0] != "non_field_errors" else first[1][0]
            return Response(
                {"detail": detail, "code": 400, "errors": errors},
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            agent = agent_create(actor=request.user, **form.validated_data)
        except AgentExists as exc:
            return Response({"detail": str(exc), "code": 409}, status=status.HTTP_409_CONFLICT)
        except AgentInvalid as exc:
            return Response({"detail": str(exc), "code": 400}, status=status.HTTP_400_BAD_REQUEST)
        return Response(AgentSerializer(agent).data, status=status.HTTP_201_CREATED)


class RegistrationSerializer(serializers.ModelSerializer[Registration]):
    verify_type_display = ChoiceDisplayField("verify_type", VerifyType)
    account_type_display = ChoiceDisplayField("account_type", AccountType)
    state_display = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = Registration
        fields = [
            "id",
            "phone",
            "area_code",
            "country_code",
            "verify_type",
            "verify_type_display",
            "account_type",
            "account_type_display",
            "task_id",
            "state",
            "state_display",
            "error",
            "created_at",
            "updated_at",
            "completed_at",
        ]


class RegistrationInputSerializer(serializers.Serializer[Any]):
    """submitPhone's input, as on the register page."""

    country_code = serializers.CharField(min_length=2, max_length=2, help_text="e.g. CN")
    area_code = serializers.CharField(max_length=6, help_text="e.g. +86")
    phone = serializers.CharField(max_length=20)
    verify_type = serializers.ChoiceField(choices=VerifyType.choices, default=VerifyType.SMS)
    account_type = serializers.ChoiceField(
        choices=AccountType.choices, default=AccountType.PERSONAL
    )


class VerifyCodeInputSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=8, help_text="4 to 8 digits")


VENDOR_DOWN = OpenApiResponse(ErrorSerializer, description="The vendor did not answer: try again")


def _registration_id(pk: str) -> int:
    if not pk.isascii() or not pk.isdigit() or len(pk) > 18:
        raise NotFound()
    return int(pk)


class RegistrationList(generics.ListAPIView[Registration]):
    """Registrations, newest first (supervisors: all; others: their own). POST submits a
    phone number (submitPhone), as the register page does: 201 with the registration,
    `state` `failed` and `error` when the vendor refused it."""

    serializer_class = RegistrationSerializer
    parser_classes = [JSONParser]

    def get_queryset(self) -> QuerySet[Registration]:
        return selectors.registrations_visible_to(self.request.user).order_by("-created_at", "-id")

    @extend_schema(
        request=RegistrationInputSerializer,
        responses={201: RegistrationSerializer, 503: VENDOR_DOWN},
    )
    def post(self, request: Request) -> Response:
        if not can(request.user, Cap.MANAGE_ACCOUNTS):
            return error(403, "Only supervisors and admins may register numbers.")
        form = RegistrationInputSerializer(data=request.data)
        if not form.is_valid():
            return invalid(form.errors)
        try:
            reg = registration_services.registration_submit_phone(
                actor=request.user, **form.validated_data
            )
        except registration_services.RegistrationUnavailable as exc:
            return error(503, exc)
        except registration_services.RegistrationError as exc:
            return invalid({"phone": [str(exc)]}, str(exc))
        return Response(RegistrationSerializer(reg).data, status=status.HTTP_201_CREATED)


class RegistrationDetail(APIView):
    """One registration (supervisors and admins), as its page shows it."""

    permission_classes = [HasCap.of(Cap.MANAGE_ACCOUNTS)]

    @extend_schema(parameters=[REG_ID], responses={200: RegistrationSerializer})
    def get(self, request: Request, pk: str) -> Response:
        reg = get_object_or_404(
            selectors.registrations_visible_to(request.user), pk=_registration_id(pk)
        )
        return Response(RegistrationSerializer(reg).data)


class RegistrationCode(APIView):
    """Submit the verification code (submitVerifyCode); the result arrives by webhook."""

    permission_classes = [HasCap.of(Cap.MANAGE_ACCOUNTS)]
    parser_classes = [JSONParser]

    @extend_schema(
        parameters=[REG_ID],
        request=VerifyCodeInputSerializer,
        responses={
            200: RegistrationSerializer,
            409: OpenApiResponse(ErrorSerializer, description="The registration is finished"),
            503: VENDOR_DOWN,
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        reg = get_object_or_404(
            selectors.registrations_visible_to(request.user), pk=_registration_id(pk)
        )
        form = VerifyCodeInputSerializer(data=request.data)
        if not form.is_valid():
            return invalid(form.errors)
        try:
            reg = registration_services.registration_submit_code(
                actor=request.user, registration=reg, code=form.validated_data["code"]
            )
        except registration_services.RegistrationFinished as exc:
            return error(409, exc)
        except registration_services.RegistrationUnavailable as exc:
            return error(503, exc)
        except registration_services.RegistrationError as exc:
            return invalid({"code": [str(exc)]}, str(exc))
        return Response(RegistrationSerializer(reg).data)


# --- avatar and nickname, contact look-ups: the account page's tools -----------------------


class ProfileInputSerializer(serializers.Serializer[Any]):
    device_type = serializers.ChoiceField(
        choices=[(0, "Physical device"), (1, "Cloud port (must be online)")], default=0
    )
    avatar = serializers.URLField(
        required=False, allow_blank=True, max_length=1000, default="",
        help_text="A reachable image, square: 16, 32, 64 or 128 px",
    )  # fmt: skip
    nickname = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


class BulkProfileInputSerializer(ProfileInputSerializer):
    whatsapps = serializers.ListField(
        child=serializers.CharField(max_length=32), min_length=1, max_length=5000
    )


def _profile_job(
    request: Request, accounts: list[WhatsAppAccount], data: dict[str, Any]
) -> Response:
    try:
        job = profile_update_queue(
            actor=request.user,
            accounts=accounts,
            device_type=int(data["device_type"]),
            avatar=data["avatar"],
            nickname=data["nickname"],
        )
    except fleet_services.JobError as exc:
        return invalid({"avatar": [str(exc)]} if data["avatar"] else {}, str(exc))
    return Response({"id": job.pk}, status=status.HTTP_202_ACCEPTED)


class AccountProfile(APIView):
    """Set one account's avatar and/or nickname (updateAvatarOrNickname), as its page does:
    the image is checked first; 202 with the job id."""

    permission_classes = [HasCap.of(Cap.MANAGE_ACCOUNTS)]
    parser_classes = [JSONParser]

    @extend_schema(request=ProfileInputSerializer, responses={202: ACCEPTED})
    def post(self, request: Request, whatsapp: str) -> Response:
        account = get_account_for_user(request.user, whatsapp)
        form = ProfileInputSerializer(data=request.data)
        if not form.is_valid():
            return invalid(form.errors)
        return _profile_job(request, [account], dict(form.validated_data))


class ProfileUpdates(APIView):
    """Avatar and/or nickname for several accounts at once (the fleet page's selection)."""

    permission_classes = [HasCap.of(Cap.MANAGE_ACCOUNTS)]
    parser_classes = [JSONParser]

    @extend_schema(request=BulkProfileInputSerializer, responses={202: ACCEPTED})
    def post(self, request: Request) -> Response:
        form = BulkProfileInputSerializer(data=request.data)
        if not form.is_valid():
            return invalid(form.errors)
        numbers = sorted(set(form.validated_data["whatsapps"]))
        accounts = list(accounts_visible_to(request.user).filter(whatsapp__in=numbers))
        unknown = sorted(set(numbers) - {a.whatsapp for a in accounts})
        if unknown:
            return invalid({"whatsapps": ["Unknown accounts: " + ", ".join(unknown[:50])]})
        return _profile_job(request, accounts, dict(form.validated_data))


class ContactLookupSerializer(serializers.ModelSerializer[ContactLookup]):
    whatsapp = serializers.CharField(source="account.whatsapp", read_only=True)

    class Meta:
        model = ContactLookup
        fields = ["id", "whatsapp", "kind", "phone", "state", "results", "error", "created_at",
                  "fetched_at"]  # fmt: skip
        read_only_fields = fields


class ContactLookupInputSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=ContactLookup.Kind.choices)
    phone = serializers.CharField(
        required=False, allow_blank=True, max_length=32, default="",
        help_text="`single`: the contact's number with its country code",
    )  # fmt: skip
    confirm = serializers.BooleanField(
        help_text="true: you understand the look-up may trigger WhatsApp's risk control"
    )


class AccountContactLookups(APIView):
    """An account's latest contact look-ups; POST asks for one (selectContact or
    contact/info, run in the background): confirm first, one per account every
    CONTACT_LOOKUP_INTERVAL seconds (429 otherwise)."""

    permission_classes = [HasCap.of(Cap.MANAGE_ACCOUNTS)]
    parser_classes = [JSONParser]

    @extend_schema(responses={200: ContactLookupSerializer(many=True)})
    def get(self, request: Request, whatsapp: str) -> Response:
        account = get_account_for_user(request.user, whatsapp)
        rows = selectors.contact_lookups(account=account)
        return Response(ContactLookupSerializer(rows, many=True).data)

    @extend_schema(
        request=ContactLookupInputSerializer,
        responses={
            202: ContactLookupSerializer,
            429: OpenApiResponse(ErrorSerializer, description="A look-up ran too recently"),
        },
    )
    def post(self, request: Request, whatsapp: str) -> Response:
        account = get_account_for_user(request.user, whatsapp)
        form = ContactLookupInputSerializer(data=request.data)
        if not form.is_valid():
            return invalid(form.errors)
        try:
            lookup = contact_services.contact_lookup_request(
                actor=request.user,
                account=account,
                kind=form.validated_data["kind"],
                phone=form.validated_data["phone"],
                confirmed=form.validated_data["confirm"],
            )
        except contact_services.LookupTooSoon as exc:
            return error(429, exc)
        except contact_services.LookupError_ as exc:
            return error(400, exc)
        return Response(ContactLookupSerializer(lookup).data, status=status.HTTP_202_ACCEPTED)


# --- imports and bulk jobs: the same services as the pages -------------


class JobItemSerializer(serializers.Serializer):  # type: ignore[type-arg]
    whatsapp = serializers.CharField()
    state = serializers.CharField()
    reason = serializers.CharField(source="error")


class JobSerializer(serializers.ModelSerializer[BulkJob]):
    action = serializers.CharField(source="kind")
    done = serializers.IntegerField(source="ok_count")
    failed = serializers.IntegerField(source="failed_count")
    items = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()

    class Meta:
        model = BulkJob
        fields = ["id", "action", "state", "total", "done", "failed", "summary", "items"]
        read_only_fields = fields

    def get_items(self, job: BulkJob) -> list[dict[str, Any]]:
        rows = job.items.order_by("id").values("whatsapp", "state", "error")[:5000]
        return [
            {"whatsapp": r["whatsapp"], "state": r["state"], "reason": r["error"]} for r in rows
        ]

    def get_summary(self, job: BulkJob) -> dict[str, Any]:
        return dict(job.params.get("summary") or {})


def _job_id(pk: str) -> int:
    """A job id from the path; anything else is a JSON 404 (never the HTML one)."""
    if not pk.isascii() or not pk.isdigit() or len(pk) > 18:
        raise NotFound()
    return int(pk)


JOB_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The job id")


class ImportInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    whatsAppList = serializers.ListField(child=serializers.DictField())
    replace_keys = serializers.BooleanField(
        default=False, help_text="Set or replace the keys of accounts already known."
    )


class ImportCreate(APIView):
    """Import accounts in the batchInsert shape. 202 with the job id, or 400 with the
    errors per row (nothing is staged)."""

    permission_classes = [HasCap.of(Cap.MANAGE_ACCOUNTS)]
    parser_classes = [JSONParser]

    @extend_schema(
        request={"application/json": ImportInputSerializer},
        responses={
            202: ACCEPTED,
            400: OpenApiResponse(ROW_ERRORS, description="Bad shape or rows: nothing imported"),
            **COMMON_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        data = request.data
        replace_keys = bool(isinstance(data, dict) and data.get("replace_keys") is True)
        try:
            result = import_services.import_parse_data(data=data)
        except import_services.ImportFileError as exc:
            return Response(
                {"detail": str(exc), "code": 400, "errors": [], "known": []}, status=400
            )
        if result.errors:
            return Response(
                {
                    "detail": "Some rows are not valid: nothing was imported.",
                    "code": 400,
                    "errors": [{"line": p.line, "message": p.message} for p in result.errors],
                    "known": [{"line": ln, "whatsapp": n} for ln, n in result.known_lines],
                },
                status=400,
            )
        try:
            with transaction.atomic():
                job = import_services.import_stage(
                    actor=request.user, result=result, filename="api", replace_keys=replace_keys
                )
                job = import_services.import_confirm(actor=request.user, job=job)
        except import_services.ImportFileError as exc:
            return Response({"detail": str(exc), "code": 400, "errors": []}, status=400)
        return Response({"id": job.pk}, status=status.HTTP_202_ACCEPTED)


# One job by its path id among `jobs`. No docstring: drf-spectacular would describe every
# subclass with it.
class _JobRead(APIView):
    permission_classes = [HasCap.of(Cap.MANAGE_ACCOUNTS)]
    jobs: QuerySet[BulkJob]

    @extend_schema(
        parameters=[JOB_ID],
        responses={200: JobSerializer, 404: OpenApiResponse(ERROR_BODY), **COMMON_ERRORS},
    )
    def get(self, request: Request, pk: str) -> Response:
        job = get_object_or_404(self.jobs, pk=_job_id(pk))
        return Response(JobSerializer(job).data)


class ImportDetail(_JobRead):
    jobs = BulkJob.objects.filter(kind=BulkJob.Kind.IMPORT)


JOB_ACTIONS = {
    "online": BulkJob.Kind.ONLINE,
    "recycle": BulkJob.Kind.RECYCLE,
    "offline": BulkJob.Kind.PORT_OFFLINE,
    "logout": BulkJob.Kind.PORT_LOGOUT,
}


class JobInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    action = serializers.ChoiceField(choices=sorted(JOB_ACTIONS))
    whatsapps = serializers.ListField(
        child=serializers.CharField(max_length=32), min_length=1, max_length=5000
    )
    override = serializers.BooleanField(default=False)
    skip_unready = serializers.BooleanField(
        default=False,
        help_text="online: leave out the accounts without keys and the banned ones (as the "
        "page does once you confirm) instead of refusing with 409",
    )


NOT_READY = inline_serializer(
    "JobNotReady",
    fields={
        "detail": serializers.CharField(),
        "code": serializers.IntegerField(),
        "without_keys": serializers.ListField(child=serializers.CharField()),
        "banned": serializers.ListField(child=serializers.CharField()),
    },
)


class JobCreate(APIView):
    """Bulk work on accounts: online (batchOnline), recycle, offline / logout (the cloud
    port operations). 202 with the job id."""

    permission_classes = [HasCap.of(Cap.MANAGE_ACCOUNTS)]
    parser_classes = [JSONParser]

    @extend_schema(
        request={"application/json": JobInputSerializer},
        responses={
            202: ACCEPTED,
            400: OpenApiResponse(ERROR_BODY, description="Bad input or unknown numbers"),
            409: OpenApiResponse(
                NOT_READY, description="online: some accounts have no keys or are banned"
            ),
            **COMMON_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        form = JobInputSerializer(data=request.data)
        if not form.is_valid():
            return Response(
                {**form.errors, "detail": "Invalid input: see the fields.", "code": 400},
                status=400,
            )
        numbers = sorted(set(form.validated_data["whatsapps"]))
        accounts = list(accounts_visible_to(request.user).filter(whatsapp__in=numbers))
        unknown = sorted(set(numbers) - {a.whatsapp for a in accounts})
        if unknown:
            return Response(
                {"detail": "Unknown accounts: " + ", ".join(unknown[:50]), "code": 400},
                status=400,
            )
        kind = JOB_ACTIONS[form.validated_data["action"]]
        params: dict[str, Any] = {}
        if kind == BulkJob.Kind.ONLINE:
            check = fleet_services.bulk_online_precheck(accounts=accounts)
            if form.validated_data["skip_unready"] and check.ready:
                accounts = list(check.ready)
            elif not check.clean:  # before anything is sent, as on the page
                return Response(
                    {
                        "detail": "Some accounts cannot be brought online: import the keys of "
                        "those without keys (POST /api/v1/imports/ with replace_keys) and "
                        "leave the banned ones out.",
                        "code": 409,
                        "without_keys": [a.whatsapp for a in check.without_keys],
                        "banned": [a.whatsapp for a in check.banned],
                    },
                    status=status.HTTP_409_CONFLICT,
                )
            params["override"] = form.validated_data["override"]
        try:
            job = fleet_services.bulk_job_create(
                actor=request.user, kind=kind, accounts=accounts, params=params
            )
        except fleet_services.JobError as exc:
            return Response({"detail": str(exc), "code": 400}, status=400)
        return Response({"id": job.pk}, status=status.HTTP_202_ACCEPTED)


class JobDetail(_JobRead):
    jobs = BulkJob.objects.exclude(kind=BulkJob.Kind.IMPORT)
