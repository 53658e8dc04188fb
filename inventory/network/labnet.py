"""The lab network: an element manager with latency, failure modes and persistent state."""

import time

from django.conf import settings
from django.db import transaction

from inventory.choices import LabFailureMode
from inventory.models import LabElement, LabElementConfig
from inventory.network.base import (
    NetworkDriver,
    NetworkTimeout,
    PermanentNetworkError,
    TransientNetworkError,
)
from telco import clock


def _travel() -> None:
    """Half the latency: the request reaching the element, or its answer coming back."""
    time.sleep(settings.LABNET_LATENCY_MS / 2000)


def _answer_or_fail(element: str) -> LabElement:
    """Wait for the request to arrive, then fail as the element's mode says or return its row.

    The answer travels back after the change is applied (see the driver): a caller that dies
    in between has changed the element without knowing it, as with a real element manager.
    """
    _travel()
    with transaction.atomic():
        lab_element, _ = LabElement.objects.get_or_create(name=element)
        lab_element = LabElement.objects.select_for_update().get(pk=lab_element.pk)
        mode = lab_element.failure_mode
        if mode == LabFailureMode.PERMANENT:
            raise PermanentNetworkError(f"{element}: configuration rejected by the element.")
        if mode == LabFailureMode.TRANSIENT and lab_element.transient_failures_left > 0:
            lab_element.transient_failures_left -= 1
            if lab_element.transient_failures_left == 0:
                lab_element.failure_mode = LabFailureMode.NONE
            lab_element.last_update = clock.now()
            lab_element.save(
                update_fields=["transient_failures_left", "failure_mode", "last_update"]
            )
            failures_left = lab_element.transient_failures_left
        else:
            failures_left = None
    # Raised after the block commits, so the element remembers it saw the call.
    if failures_left is not None:
        raise TransientNetworkError(f"{element}: element busy, try again.")
    if mode == LabFailureMode.TIMEOUT:
        time.sleep(settings.LABNET_TIMEOUT_SECONDS)
        raise NetworkTimeout(f"{element}: no answer within {settings.LABNET_TIMEOUT_SECONDS}s.")
    return lab_element


class LabNetDriver(NetworkDriver):
    """Drives the lab elements (LabElement rows, created on first use)."""

    def activate(self, *, element, idempotency_key, service_ref, payload):
        return self._apply(element, idempotency_key, service_ref, "activate", payload)

    def modify(self, *, element, idempotency_key, service_ref, payload):
        return self._apply(element, idempotency_key, service_ref, "modify", payload)

    def deactivate(self, *, element, idempotency_key, service_ref):
        return self._apply(element, idempotency_key, service_ref, "deactivate", {})

    def status(self, *, element, service_ref):
        lab_element = _answer_or_fail(element)
        configured = LabElementConfig.objects.filter(
            element=lab_element, service_ref=service_ref, is_active=True
        ).exists()
        _travel()
        return {"element": element, "configured": configured}

    def _apply(self, element, idempotency_key, service_ref, operation, payload):
        """Record the operation once per idempotency key; a modify or deactivate replaces the
        configuration the element held for the service (one per service)."""
        lab_element = _answer_or_fail(element)
        with transaction.atomic():
            config, created = LabElementConfig.objects.get_or_create(
                idempotency_key=idempotency_key,
                defaults={
                    "element": lab_element,
                    "operation": operation,
                    "service_ref": service_ref,
                    "payload": payload,
                    "is_active": operation != "deactivate",
                },
            )
            if created and operation != "activate":
                LabElementConfig.objects.filter(
                    element=lab_element, service_ref=service_ref, is_active=True
                ).exclude(pk=config.pk).update(is_active=False)
        _travel()
        return {"element": element, "applied": created}
