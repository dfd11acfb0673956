"""JSON API: `GET/POST /api/v1/actions/`, `GET /api/v1/actions/{id}/`,
`POST /api/v1/actions/{id}/cancel/`.

POST takes one action (an object) or several (a list, queued as one batch, all or nothing):
`agent_account, whatsapp, friend_whatsapp, platform, content`. Offline pairs are still
queued; the answer then carries `warnings` (DESIGN.md section 3)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.choices import Platform
from actions import selectors
from actions.models import Action, ActionBatch, ExecuteStatus, State
from actions.services import intake, manage
from core.access import HasCap
from core.api import ChoiceDisplayField
from core.roles import Cap

MAX_ITEMS = 1000


class ActionSerializer(serializers.ModelSerializer):
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    platform_display = ChoiceDisplayField("platform", Platform)
    execute_status_display = ChoiceDisplayField("execute_status", ExecuteStatus)
    batch: serializers.PrimaryKeyRelatedField[ActionBatch] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )

    class Meta:
        model = Action
        fields = [
            "id",
            "state",
            "state_display",
            "reason",
            "warnings",
            "agent_account",
            "whatsapp",
            "friend_whatsapp",
            "platform",
            "platform_display",
            "content",
            "batch",
            "callback_id",
            "execute_status",
            "execute_status_display",
            "execute_time",
            "attempts",
            "created_at",
            "sent_at",
            "finished_at",
        ]
        read_only_fields = fields


class ActionInputSerializer(serializers.Serializer):
    """The documented input (validation happens in `intake.action_validate`)."""

    agent_account = serializers.CharField()
    whatsapp = serializers.CharField(help_text="6-20 digits")
    friend_whatsapp = serializers.CharField(help_text="6-20 digits")
    platform = serializers.IntegerField(help_text="1 PC, 2 Android")
    content = serializers.CharField(required=False, allow_blank=True)


class ActionBatchCreatedSerializer(serializers.Serializer):
    """The answer to a list: the batch they were queued in, one row each, all warnings."""

    batch = serializers.IntegerField(allow_null=True)
    results = ActionSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())


ACTION_INPUT = PolymorphicProxySerializer(
    component_name="ActionInputOneOrMany",
    serializers=[ActionInputSerializer, ActionInputSerializer(many=True)],
    resource_type_field_name=None,
    many=False,
)
ACTION_CREATED = PolymorphicProxySerializer(
    component_name="ActionCreated",
    serializers=[ActionSerializer, ActionBatchCreatedSerializer],
    resource_type_field_name=None,
    many=False,
)


def _filtered(request: Request) -> Any:
    qs = selectors.action_list(request.user)
    p = request.query_params
    batch = p.get("batch", "")
    f = selectors.Filters(
        state=p.get("state", "") if p.get("state", "") in State.values else "",
        agent_account=p.get("agent_account", "").strip(),
        whatsapp=p.get("whatsapp", "").strip(),
        batch=int(batch) if batch.isdigit() else None,
    )
    return selectors.action_filter(qs, f)


class ActionListCreate(generics.ListAPIView):
    permission_classes = [HasCap.of(Cap.OWN_ACTIONS, Cap.MANAGE_ACTIONS)]
    serializer_class = ActionSerializer

    def get_queryset(self) -> Any:
        return _filtered(self.request)

    @extend_schema(
        request={
            "application/json": ACTION_INPUT,
            "application/x-www-form-urlencoded": ActionInputSerializer,
            "multipart/form-data": ActionInputSerializer,
        },
        responses={201: ACTION_CREATED},
    )
    def post(self, request: Request) -> Response:
        data = request.data
        many = isinstance(data, list)
        items = data if many else [data]
        if not items:
            return Response(
                {"detail": "Send one action (an object) or a non-empty list.", "code": 400},
                status=400,
            )
        if len(items) > MAX_ITEMS:
            return Response(
                {"detail": f"At most {MAX_ITEMS} actions per request.", "code": 400}, status=400
            )
        checked: list[intake.Checked] = []
        agents = intake.agents_by_account(
            str(i.get("agent_account", "")).strip() for i in items if isinstance(i, dict)
        )
        visible = intake.visible_numbers(
            user=request.user,
            among=(str(i.get("whatsapp", "")).strip() for i in items if isinstance(i, dict)),
        )
        for item in items:
            if not isinstance(item, dict):
                c = intake.Checked()
                c.errors["non_field_errors"] = ["Each action must be a JSON object."]
                checked.append(c)
                continue
            checked.append(
                intake.action_validate(
                    user=request.user,
                    agent_account=item.get("agent_account"),
                    whatsapp=item.get("whatsapp"),
                    friend_whatsapp=item.get("friend_whatsapp"),
                    platform=item.get("platform"),
                    content=item.get("content", ""),
                    agents=agents,
                    visible=visible,
                )
            )
        if any(c.forbidden for c in checked):
            first = next(c for c in checked if c.forbidden)
            return Response(
                {"detail": first.errors["agent_account"][0], "code": 403},
                status=status.HTTP_403_FORBIDDEN,
            )
        if any(not c.ok for c in checked):
            errors = [{k: [str(m) for m in v] for k, v in c.errors.items()} for c in checked]
            body: Any = (
                {"errors": [dict(e, index=i) for i, e in enumerate(errors) if e], "code": 400}
                if many
                else dict(errors[0], code=400)
            )
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        specs = [c.spec for c in checked if c.spec is not None]
        warnings = intake.precheck(user=request.user, specs=specs)
        batch = (
            intake.batch_create(user=request.user, source=ActionBatch.Source.API) if many else None
        )
        created = intake.actions_queue(
            user=request.user, specs=specs, warnings=warnings, batch=batch
        )
        rows = ActionSerializer(created, many=True).data
        all_warnings = sorted({str(w) for msgs in warnings.values() for w in msgs})
        if many:
            return Response(
                {"batch": batch.pk if batch else None, "results": rows, "warnings": all_warnings},
                status=status.HTTP_201_CREATED,
            )
        return Response(dict(rows[0], warnings=all_warnings), status=status.HTTP_201_CREATED)


class ActionDetail(generics.RetrieveAPIView):
    permission_classes = [HasCap.of(Cap.OWN_ACTIONS, Cap.MANAGE_ACTIONS)]
    serializer_class = ActionSerializer

    def get_object(self) -> Action:
        return selectors.action_get(self.request.user, int(self.kwargs["pk"]))


class ActionCancel(APIView):
    permission_classes = [HasCap.of(Cap.OWN_ACTIONS, Cap.MANAGE_ACTIONS)]

    @extend_schema(request=None, responses={200: ActionSerializer})
    def post(self, request: Request, pk: int) -> Response:
        action = selectors.action_get(request.user, int(pk))
        try:
            action = manage.action_cancel(user=request.user, action=action)
        except manage.NotAllowedNow as exc:
            return Response({"detail": str(exc), "code": 409}, status=status.HTTP_409_CONFLICT)
        return Response(ActionSerializer(action).data)
