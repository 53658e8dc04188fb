"""Reconciliation runs (/api/revenue-assurance/v1/reconciliationRun): list, one run with its
progress and the units it could not do, POST to start one on the workers (202), and
`{id}/resume` to carry a stopped or failed run on. Finance and risk staff (and admins)."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from billing.models import ReconciliationRun, ReconciliationUnit
from billing.services import reconciliation
from telco.api.views import TMFRouter, TMFViewSet
from telco.roles import FINANCE, RISK


class ReconciliationUnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReconciliationUnit
        fields = ["comparison", "key", "error"]


class ReconciliationRunSerializer(serializers.ModelSerializer):
    """A run and its progress. Input: an optional asOf (default now). `failedUnits` lists the
    units that could not be done (an element that did not answer): a resume tries them again."""

    asOf = serializers.DateTimeField(source="as_of", required=False)
    startedBy = serializers.CharField(source="started_by", read_only=True)
    unitsTotal = serializers.IntegerField(source="units_total", read_only=True)
    unitsDone = serializers.IntegerField(source="units_done", read_only=True)
    progress = serializers.SerializerMethodField(help_text="Percent of the units done.")
    foundByKind = serializers.JSONField(source="found_by_kind", read_only=True)
    casesOpened = serializers.IntegerField(source="cases_opened", read_only=True)
    casesClosed = serializers.IntegerField(source="cases_closed", read_only=True)
    failedUnits = serializers.SerializerMethodField()
    startedAt = serializers.DateTimeField(source="started_at", read_only=True)
    finishedAt = serializers.DateTimeField(source="finished_at", read_only=True)

    class Meta:
        model = ReconciliationRun
        fields = [
            "id",
            "asOf",
            "state",
            "startedBy",
            "unitsTotal",
            "unitsDone",
            "progress",
            "foundByKind",
            "casesOpened",
            "casesClosed",
            "error",
            "failedUnits",
            "startedAt",
            "finishedAt",
        ]
        read_only_fields = ["id", "state", "error"]

    def get_progress(self, run) -> int:
        return 100 * run.units_done // run.units_total if run.units_total else 100

    def get_failedUnits(self, run) -> list[dict]:  # noqa: N802 - the API's name
        failed = getattr(run, "failed_units", None)
        if failed is None:
            failed = run.units.filter(done_at__isnull=True).exclude(error="")
        return ReconciliationUnitSerializer(failed, many=True).data


class ReconciliationRunViewSet(mixins.CreateModelMixin, TMFViewSet):
    """Reconciliation runs with their progress; POST starts one on the workers (202)."""

    serializer_class = ReconciliationRunSerializer
    read_roles = (FINANCE, RISK)
    write_roles = (FINANCE, RISK)
    filter_attributes = {"state": "state"}

    def get_queryset(self):
        failed = ReconciliationUnit.objects.filter(done_at__isnull=True).exclude(error="")
        return ReconciliationRun.objects.prefetch_related(
            Prefetch("units", queryset=failed.order_by("id"), to_attr="failed_units")
        ).order_by("-started_at", "-id")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = reconciliation.reconciliation_start(
            by=request.user.get_username(), as_of=serializer.validated_data.get("as_of")
        )
        body = self.get_serializer(self.get_queryset().get(pk=run.pk)).data
        location = request.build_absolute_uri(f"{request.path.rstrip('/')}/{run.pk}")
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})

    @extend_schema(request=None, responses=ReconciliationRunSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        run = reconciliation.reconciliation_resume(self.get_object())
        body = self.get_serializer(self.get_queryset().get(pk=run.pk)).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


router = TMFRouter()
router.register("reconciliationRun", ReconciliationRunViewSet, basename="reconciliationRun")
