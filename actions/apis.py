"""JSON API of the actions app, the same services as the pages:

- `GET/POST /api/v1/actions/`, `GET /api/v1/actions/{id}/`: POST takes one action (an
  object) or several (a list, queued as one batch, all or nothing): `agent_account,
  whatsapp, friend_whatsapp, platform, content`. Offline pairs are still queued; the answer
  then carries `warnings` (docs/design.md section 3).
- `POST /api/v1/actions/{id}/cancel/`, `.../resend/`, `.../mark-failed/`: what the action
  page does by hand.
- `GET/POST /api/v1/action-batches/` (POST: a CSV upload, as on the upload page),
  `GET /api/v1/action-batches/{id}/`, `POST .../confirm/`, `.../discard/`, `.../cancel/`.
- `GET /api/v1/lanes/`, `POST /api/v1/lanes/{id}/pause/`, `.../resume/`.

Serializers check the shape; `actions.services.intake.actions_intake` decides."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.choices import Platform
from actions import selectors
from actions.models import Action, ActionBatch, ExecuteStatus, Lane, State
from actions.services import intake, manage
from core.access import HasCap
from core.api import ChoiceDisplayField, ErrorSerializer, error, invalid
from core.roles import Cap

MAX_ITEMS = 1000
ACTIONS = HasCap.of(Cap.OWN_ACTIONS, Cap.MANAGE_ACTIONS)


def object_id(pk: Any) -> int:
    """An id from the path; anything else is a JSON 404."""
    text = str(pk)
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise NotFound()
    return int(text)


ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


class ActionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
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


class ActionInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """One action's shape; its rules (digits, own accounts, known agent) are the intake
    service's, the same for the form and the CSV upload."""

    agent_account = serializers.CharField()
    whatsapp = serializers.CharField(help_text="6-20 digits")
    friend_whatsapp = serializers.CharField(help_text="6-20 digits")
    platform = serializers.IntegerField(help_text="1 PC, 2 Android")
    content = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class ActionBatchCreatedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The answer to a list: the batch they were queued in, one row each, all warnings."""

    batch = serializers.IntegerField(allow_null=True)
    results = ActionSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())


class ActionErrorsSerializer(ErrorSerializer):
    """400: one object's errors are one key per field (a list of messages); a list's are
    in `errors`, by index."""

    errors = serializers.ListField(  # type: ignore[assignment]  # the answer's key
        child=serializers.DictField(),
        required=False,
        help_text="A list only: {index, <field>: [messages]} per row that is not valid",
    )


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
        batch=int(batch) if batch.isascii() and batch.isdigit() and len(batch) <= 18 else None,
    )
    return selectors.action_filter(qs, f)


def _row_errors(checked: intake.Checked) -> dict[str, list[str]]:
    return {k: [str(m) for m in v] for k, v in checked.errors.items()}


class ActionListCreate(generics.ListAPIView):  # type: ignore[type-arg]
    permission_classes = [ACTIONS]
    serializer_class = ActionSerializer

    def get_queryset(self) -> Any:
        return _filtered(self.request)

    @extend_schema(
        request={
            "application/json": ACTION_INPUT,
            "application/x-www-form-urlencoded": ActionInputSerializer,
            "multipart/form-data": ActionInputSerializer,
        },
        responses={
            201: ACTION_CREATED,
            400: OpenApiResponse(
                ActionErrorsSerializer,
                description="Not valid: nothing queued. One object: its field errors; a "
                "list: `errors` by index",
            ),
            403: OpenApiResponse(
                ErrorSerializer,
                description="No actions right, or an agent named another agent's account",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        many = isinstance(request.data, list)
        form: serializers.BaseSerializer[Any] = (
            ActionInputSerializer(  # type: ignore[call-arg]  # ListSerializer's kwargs
                data=request.data, many=True, allow_empty=False, max_length=MAX_ITEMS
            )
            if many
            else ActionInputSerializer(data=request.data)
        )
        if not form.is_valid():
            errors = form.errors
            if many and isinstance(errors, list):
                rows = [dict(e, index=i) for i, e in enumerate(errors) if e]
                return invalid({"errors": rows}, "Some actions are not valid: nothing queued.")
            return invalid(errors)
        items = form.validated_data if many else [form.validated_data]
        result = intake.actions_intake(
            user=request.user,
            source=ActionBatch.Source.API,
            rows=[intake.Row(item) for item in items],
            confirm=True,  # the API queues offline pairs too, and says so in `warnings`
            many=many,
        )
        forbidden = result.first_forbidden
        if forbidden is not None:
            return error(403, forbidden.errors["agent_account"][0])
        if result.outcome != intake.Outcome.QUEUED:
            if many:
                rows = [
                    dict(_row_errors(c), index=i) for i, c in enumerate(result.rows) if c.errors
                ]
                return invalid({"errors": rows}, "Some actions are not valid: nothing queued.")
            return invalid(_row_errors(result.rows[0]))
        answer = ActionSerializer(result.created, many=True).data
        if many:
            return Response(
                {
                    "batch": result.batch.pk if result.batch else None,
                    "results": answer,
                    "warnings": result.all_warnings,
                },
                status=status.HTTP_201_CREATED,
            )
        return Response(
            dict(answer[0], warnings=result.all_warnings), status=status.HTTP_201_CREATED
        )


class ActionDetail(generics.RetrieveAPIView):  # type: ignore[type-arg]
    permission_classes = [ACTIONS]
    serializer_class = ActionSerializer

    @extend_schema(parameters=[ID])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_object(self) -> Action:
        return selectors.action_get(self.request.user, object_id(self.kwargs["pk"]))


NOT_NOW = OpenApiResponse(ErrorSerializer, description="Not in a state that allows this")


class _ActionChange(APIView):
    """What the action page does by hand, on one action the user sees (agents: their own)."""

    permission_classes = [ACTIONS]

    def change(self, request: Request, action: Action) -> Action:
        raise NotImplementedError

    @extend_schema(request=None, parameters=[ID], responses={200: ActionSerializer, 409: NOT_NOW})
    def post(self, request: Request, pk: str) -> Response:
        action = selectors.action_get(request.user, object_id(pk))
        try:
            action = self.change(request, action)
        except manage.NotAllowedNow as exc:
            return error(409, exc)
        return Response(ActionSerializer(action).data)


class ActionCancel(_ActionChange):
    """Cancel a queued action (409 once it was sent)."""

    def change(self, request: Request, action: Action) -> Action:
        return manage.action_cancel(user=request.user, action=action)


class ActionResend(_ActionChange):
    """Queue an action of unknown outcome again (409 unless it is unknown)."""

    def change(self, request: Request, action: Action) -> Action:
        return manage.action_resend(user=request.user, action=action)


class MarkFailedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class ActionMarkFailed(_ActionChange):
    """Decide that an action of unknown outcome failed (409 unless it is unknown)."""

    parser_classes = [JSONParser]

    def change(self, request: Request, action: Action) -> Action:
        form = MarkFailedSerializer(data=request.data if isinstance(request.data, dict) else {})
        form.is_valid(raise_exception=True)
        return manage.action_mark_failed(
            user=request.user, action=action, note=form.validated_data["note"]
        )

    @extend_schema(
        request=MarkFailedSerializer,
        parameters=[ID],
        responses={200: ActionSerializer, 409: NOT_NOW},
    )
    def post(self, request: Request, pk: str) -> Response:
        return super().post(request, pk)


# --- batches: the CSV upload and its drafts -------------------------------------------------


class ActionBatchSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    source_display = serializers.CharField(source="get_source_display", read_only=True)
    draft_errors = serializers.JSONField(
        read_only=True, help_text="A draft's bad lines: [{line, messages, raw}]"
    )
    draft_warnings = serializers.JSONField(
        read_only=True,
        help_text="A draft's pairs not online: [{agent_account, whatsapp, messages}]",
    )
    draft_rows = serializers.SerializerMethodField(help_text="A draft's valid lines")
    progress = serializers.SerializerMethodField(help_text="Actions of the batch, per state")

    class Meta:
        model = ActionBatch
        fields = [
            "id",
            "source",
            "source_display",
            "status",
            "status_display",
            "name",
            "created_at",
            "draft_rows",
            "draft_errors",
            "draft_warnings",
            "progress",
        ]
        read_only_fields = fields

    def get_draft_rows(self, batch: ActionBatch) -> int:
        return len(batch.draft_rows)

    def get_progress(self, batch: ActionBatch) -> dict[str, int]:
        return selectors.batch_progress(self.context["request"].user, batch).counts


class CsvUploadSerializer(serializers.Serializer):  # type: ignore[type-arg]
    file = serializers.FileField(
        help_text="UTF-8, first line: agentAccount,whatsId,friendWhatsId,platformType,content"
    )
    confirm_offline = serializers.BooleanField(
        default=False, help_text="Queue even if some pairs are not online by our state"
    )

    def validate_file(self, upload: Any) -> Any:
        if upload.size > intake.CSV_MAX_BYTES:
            raise serializers.ValidationError(
                f"The file is {upload.size:,} bytes; the limit is {intake.CSV_MAX_BYTES:,}."
            )
        return upload


class ActionBatchListCreate(generics.ListAPIView):  # type: ignore[type-arg]
    """Batches (agents: their own), newest first. POST uploads a CSV, as the upload page
    does: 201 with the batch, `queued` when every line is valid and every pair online (or
    `confirm_offline`), else a `draft` naming its bad lines and warnings, to confirm or
    discard."""

    permission_classes = [ACTIONS]
    serializer_class = ActionBatchSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[ActionBatch]:
        return selectors.batch_list(self.request.user).order_by("-created_at", "-id")

    @extend_schema(
        request={"multipart/form-data": CsvUploadSerializer},
        responses={
            201: ActionBatchSerializer,
            400: OpenApiResponse(ErrorSerializer, description="The file itself is unusable"),
        },
    )
    def post(self, request: Request) -> Response:
        form = CsvUploadSerializer(data=request.data)
        if not form.is_valid():
            return invalid(form.errors)
        upload = form.validated_data["file"]
        result = intake.actions_intake_csv(
            user=request.user, upload=upload, confirm=form.validated_data["confirm_offline"]
        )
        if result.batch is None:
            return error(400, result.file_error, file=[result.file_error])
        data = ActionBatchSerializer(result.batch, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


class ActionBatchDetail(APIView):
    permission_classes = [ACTIONS]

    @extend_schema(parameters=[ID], responses={200: ActionBatchSerializer})
    def get(self, request: Request, pk: str) -> Response:
        batch = selectors.batch_get(request.user, object_id(pk))
        return Response(ActionBatchSerializer(batch, context={"request": request}).data)


class BatchCountSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    count = serializers.IntegerField(help_text="How many actions were queued or cancelled")


class _DraftChange(APIView):
    """What the draft's page does with a draft the user may see (409 once it is not one)."""

    permission_classes = [ACTIONS]

    def change(self, request: Request, batch: ActionBatch) -> int:
        """Do it; how many actions were queued."""
        raise NotImplementedError

    @extend_schema(request=None, parameters=[ID], responses={200: BatchCountSerializer})
    def post(self, request: Request, pk: str) -> Response:
        batch = selectors.draft_get(request.user, object_id(pk))
        if batch.status != ActionBatch.Status.DRAFT:
            return error(409, f"This batch is {batch.get_status_display()}, not a draft.")
        return Response({"id": batch.pk, "count": self.change(request, batch)})


class ActionBatchConfirm(_DraftChange):
    """Queue a draft's valid lines (its uploader or a supervisor)."""

    def change(self, request: Request, batch: ActionBatch) -> int:
        return intake.draft_confirm(user=request.user, batch=batch)


class ActionBatchDiscard(_DraftChange):
    """Drop a draft: nothing is queued (its uploader or a supervisor)."""

    def change(self, request: Request, batch: ActionBatch) -> int:
        intake.draft_discard(user=request.user, batch=batch)
        return 0


class ActionBatchCancel(APIView):
    """Cancel a batch's queued actions (agents: their own of it)."""

    permission_classes = [ACTIONS]

    @extend_schema(request=None, parameters=[ID], responses={200: BatchCountSerializer})
    def post(self, request: Request, pk: str) -> Response:
        batch = selectors.batch_get(request.user, object_id(pk))
        count = manage.batch_cancel(user=request.user, batch=batch)
        return Response({"id": batch.pk, "count": count})


# --- lanes ----------------------------------------------------------------------------------


class LaneSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    queued = serializers.IntegerField(read_only=True, default=0)
    in_flight = serializers.IntegerField(read_only=True, default=0)
    unknown = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Lane
        fields = [
            "id",
            "agent_account",
            "whatsapp",
            "paused",
            "paused_at",
            "next_allowed_at",
            "queued",
            "in_flight",
            "unknown",
        ]
        read_only_fields = fields


class LaneList(generics.ListAPIView):  # type: ignore[type-arg]
    """Lanes, one per (agent account, WhatsApp account) pair (agents: their own)."""

    permission_classes = [ACTIONS]
    serializer_class = LaneSerializer

    def get_queryset(self) -> QuerySet[Lane]:
        return selectors.lane_list(self.request.user).order_by("agent_account", "whatsapp", "id")


class _LaneChange(APIView):
    permission_classes = [ACTIONS]

    def change(self, request: Request, lane: Lane) -> Lane:
        raise NotImplementedError

    @extend_schema(request=None, parameters=[ID], responses={200: LaneSerializer})
    def post(self, request: Request, pk: str) -> Response:
        lane = self.change(request, selectors.lane_get(request.user, object_id(pk)))
        return Response(LaneSerializer(selectors.lane_get(request.user, lane.pk)).data)


class LanePause(_LaneChange):
    """Hold a lane: its queued actions wait until it is resumed."""

    def change(self, request: Request, lane: Lane) -> Lane:
        return manage.lane_pause(user=request.user, lane=lane)


class LaneResume(_LaneChange):
    """Let a paused lane send again."""

    def change(self, request: Request, lane: Lane) -> Lane:
        return manage.lane_resume(user=request.user, lane=lane)
