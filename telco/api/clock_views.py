"""`/api/v1/testClock`: the clock acceptance testing can move (see telco.clock), admins only.

`GET` tells where the clock stands; `POST` `{"advanceBy": "P40D"}` (an ISO 8601 duration) moves
it forward for every process; `POST .../reset` goes back to real time. With the test clock off
(`TEST_CLOCK_ENABLED`) the endpoint does not exist (404).
"""

from datetime import timedelta

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from telco import clock
from telco.roles import HasRole

LONGEST_STEP = timedelta(days=3660)


class AdvanceSerializer(serializers.Serializer):
    advanceBy = serializers.DurationField(help_text="ISO 8601 duration, e.g. P40D or PT6H.")

    def validate_advanceBy(self, value):  # noqa: N802 - the TMF-style field name
        if value <= timedelta(0):
            raise serializers.ValidationError("The clock only moves forward.")
        if value > LONGEST_STEP:
            raise serializers.ValidationError("At most ten years at a time.")
        return value


class TestClockSerializer(serializers.Serializer):
    now = serializers.DateTimeField()
    offsetSeconds = serializers.FloatField()
    movedAt = serializers.DateTimeField(allow_null=True)
    movedBy = serializers.CharField()


def clock_answer() -> dict:
    state = clock.clock_state()
    return {
        "now": state["now"],
        "offsetSeconds": state["offset_seconds"],
        "movedAt": state["moved_at"],
        "movedBy": state["moved_by"],
    }


class TestClockView(APIView):
    """Where the test clock stands, and moving it forward (admins)."""

    permission_classes = [HasRole]  # no roles named: admins only

    def initial(self, request, *args, **kwargs):
        if not settings.TEST_CLOCK_ENABLED:
            raise Http404("The test clock is off.")
        super().initial(request, *args, **kwargs)

    @extend_schema(responses=TestClockSerializer)
    def get(self, request):
        return Response(TestClockSerializer(clock_answer()).data)

    @extend_schema(request=AdvanceSerializer, responses=TestClockSerializer)
    def post(self, request):
        serializer = AdvanceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        step = serializer.validated_data["advanceBy"]
        clock.clock_advance(seconds=step.total_seconds(), by=request.user.get_username())
        return Response(TestClockSerializer(clock_answer()).data)


class TestClockResetView(TestClockView):
    """Back to real time (admins)."""

    @extend_schema(request=None, responses=TestClockSerializer)
    def post(self, request):
        clock.clock_reset(by=request.user.get_username())
        return Response(TestClockSerializer(clock_answer()).data)
