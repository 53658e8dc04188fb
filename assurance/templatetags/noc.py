"""Template helpers of the NOC pages."""

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.filter
def customer_url(customer) -> str:
    """The agent portal's page of a customer (its plain path while that route is not named)."""
    try:
        return reverse("crm:customer-detail", kwargs={"pk": customer.pk})
    except NoReverseMatch:
        return f"/portal/customers/{customer.pk}/"
