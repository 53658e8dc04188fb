"""SMS to customers through a pluggable gateway: `settings.SMS_GATEWAY` names the class.

A gateway has one method, `send(*, to, body, message_id) -> str` (the provider's reference),
and raises `SmsError` (a transient failure: the sender retries) when the provider refuses.
The lab gateway records each message in `crm.LabSmsMessage`; a real provider's adapter is a
class with the same method, named in the setting.
"""

from django.conf import settings
from django.utils.module_loading import import_string

from crm.models import LabSmsMessage


class SmsError(Exception):
    """The gateway did not take the message (try again later)."""


class LabSmsGateway:
    """The stand-in for an SMS provider: every message is a `LabSmsMessage` row."""

    def send(self, *, to: str, body: str, message_id: str = "") -> str:
        if not to.strip():
            raise SmsError("No number to send to.")
        message = LabSmsMessage.objects.create(to=to, body=body, message_id=message_id)
        return f"lab-{message.pk}"


def sms_gateway():
    """The gateway `settings.SMS_GATEWAY` names (default: the lab gateway)."""
    path = getattr(settings, "SMS_GATEWAY", "crm.sms.LabSmsGateway")
    return import_string(path)()
