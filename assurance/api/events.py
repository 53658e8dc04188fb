"""Assurance's TMF642 and TMF656 events (see telco.events): alarms, also raised in bulk by
set-based SQL (the triggers see those too), and incidents as service problems."""

from assurance.api.incident_views import ServiceProblemViewSet
from assurance.api.views import AlarmViewSet
from assurance.models import Alarm, Incident
from telco.events.registry import EventResource, register_resource

register_resource(EventResource("alarm", Alarm, AlarmViewSet))
register_resource(EventResource("serviceProblem", Incident, ServiceProblemViewSet))
