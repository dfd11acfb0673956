"""JSON API for accounts, agents and registrations (DESIGN.md section 3)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.choices import (
    AccountStatus,
    AccountType,
    OnlineStatus,
    Platform,
    Presence,
    VerifyType,
)
from accounts.models import Agent, Registration, WhatsAppAccount
from accounts.services.agents import AgentExists, AgentInvalid, agent_create
from core.access import accounts_visible_to, can, get_account_for_user, sees_everything
from core.api import ChoiceDisplayField, KeysetPagination
from core.roles import Cap


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
            agent = agent_create(
                agent_account=form.validated_data["agent_account"],
                user_id=form.validated_data["user_id"],
                user_name=form.validated_data["user_name"],
                actor=request.user,
            )
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


class RegistrationList(generics.ListAPIView[Registration]):
    serializer_class = RegistrationSerializer

    def get_queryset(self) -> QuerySet[Registration]:
        qs = Registration.objects.all()
        if sees_everything(self.request.user):
            return qs
        return qs.filter(created_by_id=self.request.user.pk or 0)
